"""The help screen: the shape rules (help.md) and every key, listed from the app's own bindings."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from importlib import resources

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from . import SCREENS_CSS


def help_markdown(bindings: list[Binding], key_display: Callable[[Binding], str]) -> str:
    """help.md with its {keys} replaced by a table of the bindings, and {screen_keys} by one of each other
    screen's own keys (the quiz's ctrl+n, esc back, this help's close), keys written as the footer writes them."""
    from .compare import CompareScreen
    from .explain import ExplainScreen
    from .quiz import QuizScreen

    def keys(binding: Binding) -> str:
        return ", ".join(key_display(dataclasses.replace(binding, key=key.strip())) for key in binding.key.split(","))

    text = resources.files("gru_tui.app").joinpath("help.md").read_text(encoding="utf-8")
    rows = ["| key | action |", "| --- | --- |"]
    rows += [f"| `{keys(binding)}` | {binding.description}: {binding.tooltip} |" for binding in bindings]
    screens = {"quiz": QuizScreen, "compare": CompareScreen, "why error?": ExplainScreen, "this help": HelpScreen}
    screen_rows = ["| screen | key | action |", "| --- | --- | --- |"]
    screen_rows += [
        f"| {name} | `{keys(binding)}` | {binding.description}: {binding.tooltip} |"
        for name, screen in screens.items()
        for binding in screen.BINDINGS
        if isinstance(binding, Binding)
    ]
    return text.replace("{keys}", "\n".join(rows)).replace("{screen_keys}", "\n".join(screen_rows))


class HelpScreen(ModalScreen[None]):
    CSS_PATH = SCREENS_CSS
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
