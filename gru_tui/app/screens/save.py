"""The save dialog: a handout (Markdown, JSON or SVG) or the configuration (TOML), to a path the user types.

Writes are atomic (``files.write_atomic``). An existing file is refused first; the
dialog then offers "Overwrite", which applies to that path only (typing another
path takes the offer back). Errors are shown in the dialog, never as a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from ...files import FileExistsRefused
from ...handout import FORMATS

# write(path, fmt, overwrite) -> the path written; raises FileExistsRefused, ValueError or OSError.
Writer = Callable[[Path, str, bool], Path]


class SaveDialog(ModalScreen[Path | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="save.cancel", tooltip="Close without writing"),
    ]

    def __init__(self, title: str, default_path: str, write: Writer, formats: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._title = title
        self._default = default_path
        self._write = write
        self._formats = formats
        self._refused: Path | None = None  # the existing file the user may now choose to overwrite
        self.message = ""  # what the dialog says, as plain text (what tests read)

    def compose(self) -> ComposeResult:
        with Vertical(id="save-body"):
            yield Static(Text(self._title, style="bold"))
            with Horizontal(classes="save-row"):
                yield Label("file", classes="quiz-label")
                yield Input(self._default, id="save-path", compact=True, tooltip="Where to write; relative to where gru-tui started")
            if self._formats:
                with Horizontal(classes="save-row"):
                    yield Label("format", classes="quiz-label")
                    fmt = Path(self._default).suffix.lstrip(".")
                    yield Select([(f, f) for f in self._formats], value=fmt, allow_blank=False, id="save-format", compact=True)
            yield Static("", id="save-message")
            with Horizontal(classes="save-row"):
                yield Button("Save (enter)", id="save", compact=True, variant="primary")
                yield Button("Overwrite", id="overwrite", compact=True, variant="warning",
                             tooltip="Replace the existing file")
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#overwrite").display = False
        self.query_one("#save-path", Input).focus()

    @property
    def fmt(self) -> str:
        return str(self.query_one("#save-format", Select).value) if self._formats else ""

    def on_select_changed(self, event: Select.Changed) -> None:
        """A format chosen: the file name's suffix follows, when it is one of the formats."""
        field = self.query_one("#save-path", Input)
        path = Path(field.value)
        if path.suffix.lstrip(".") in FORMATS:
            field.value = str(path.with_suffix(f".{event.value}"))

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._refused is not None and Path(event.value) != self._refused:
            self._offer_overwrite(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.save(overwrite=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.save(overwrite=event.button.id == "overwrite")

    def save(self, overwrite: bool) -> None:
        text = self.query_one("#save-path", Input).value.strip()
        if not text:
            self._say("file: type a file name", error=True)
            return
        path = Path(text).expanduser()
        try:
            written = self._write(path, self.fmt, overwrite and path == self._refused)
        except FileExistsRefused:
            self._offer_overwrite(path)
            self._say(f"{path} exists: choose Overwrite to replace it, or type another name", error=True)
        except ValueError as error:
            self._say(str(error), error=True)
        except OSError as error:
            self._say(f"cannot write {path}: {error.strerror or error}", error=True)
        else:
            self.dismiss(written)

    def _offer_overwrite(self, path: Path | None) -> None:
        self._refused = path
        self.query_one("#overwrite").display = path is not None

    def _say(self, text: str, error: bool) -> None:
        self.message = text
        message = self.query_one("#save-message", Static)
        message.update(Text(text))
        message.set_class(error, "-wrong")
