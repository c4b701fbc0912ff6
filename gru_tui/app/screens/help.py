"""The help screen: the shape rules (help.md) and every key, listed from the app's own bindings."""

from __future__ import annotations

import dataclasses
from importlib import resources
from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown


def help_markdown(bindings: list[Binding], key_display: Callable[[Binding], str]) -> str:
    """help.md with its {keys} replaced by a table of the bindings, keys written as the footer writes them."""
    text = resources.files("gru_tui.app").joinpath("help.md").read_text(encoding="utf-8")
    rows = ["| key | action |", "| --- | --- |"]
    for binding in bindings:
        keys = ", ".join(key_display(dataclasses.replace(binding, key=key.strip())) for key in binding.key.split(","))
        rows.append(f"| `{keys}` | {binding.description}: {binding.tooltip} |")
    return text.replace("{keys}", "\n".join(rows))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close help", id="help.close", tooltip="Back to the app"),
    ]

    def __init__(self, bindings: list[Binding]) -> None:
        super().__init__()
        self._listed_bindings = bindings

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(help_markdown(self._listed_bindings, self.app.get_key_display), id="help-text")

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
