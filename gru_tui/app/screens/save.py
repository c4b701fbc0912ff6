"""The save dialog: a handout (Markdown, JSON or SVG) or the configuration (TOML).

In a terminal it writes to the path the user types, atomically (``files.write_atomic``).
An existing file is refused first; the dialog then offers "Overwrite", which applies to
that path only (typing another path takes the offer back).

Served to a browser (``gru-tui serve``) the app runs on the server, so a path typed
there would be a path on the server: the dialog asks for a file name only and hands
the file to the browser as a download (``App.deliver_text``, through textual-serve).
Nothing is written on the server, and there is nothing to overwrite.

A handout's format follows the file name's extension when it names one, and the
dialog says so (``handout.handout_format``, as ``gru-tui trace --handout`` does).
Errors are shown in the dialog, never as a traceback.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from ...core.files import FileExistsRefused, write_atomic
from ...lessons.handout import FORMATS, handout_format
from . import SCREENS_CSS

# render(fmt) -> the file's text in that format (fmt is "" when the dialog offers no formats).
Render = Callable[[str], str]

MAX_PATH = 4096  # characters: Linux's PATH_MAX
# A download's name goes into an HTTP header unquoted (textual-serve): plain characters only.
DOWNLOAD_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


class SaveDialog(ModalScreen[str | None]):
    """Dismissed with what was done (the file's absolute path, or "name.md: sent to your browser"), or None."""

    CSS_PATH = SCREENS_CSS

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="save.cancel", tooltip="Close without writing"),
    ]

    def __init__(
        self, title: str, default_name: str, render: Render, formats: tuple[str, ...] = (), download: bool = False
    ) -> None:
        super().__init__()
        self._title = title
        self._default = default_name
        self._content = render
        self._formats = formats
        self.download = download  # served to a browser: a download, never a file on the server
        self._refused: Path | None = None  # the existing file the user may now choose to overwrite
        self.message = ""  # what the dialog says, as plain text (what tests read)

    def compose(self) -> ComposeResult:
        with Vertical(id="save-body"):
            yield Static(Text(self._title, style="bold"))
            with Horizontal(classes="save-row"):
                yield Label("name" if self.download else "file", classes="quiz-label")
                tooltip = (
                    "The file's name: it goes to your browser's downloads; nothing is written on the server"
                    if self.download
                    else "Where to write; relative to where gru-tui started"
                )
                yield Input(self._default, id="save-path", compact=True, tooltip=tooltip)
            if self._formats:
                with Horizontal(classes="save-row"):
                    yield Label("format", classes="quiz-label")
                    fmt = Path(self._default).suffix.lstrip(".")
                    yield Select([(f, f) for f in self._formats], value=fmt, allow_blank=False, id="save-format", compact=True)
            yield Static("", id="save-message")
            with Horizontal(classes="save-row"):
                yield Button("Download (enter)" if self.download else "Save (enter)", id="save", compact=True, variant="primary")
                if not self.download:
                    yield Button(
                        "Overwrite", id="overwrite", compact=True, variant="warning", tooltip="Replace the existing file"
                    )
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        for button in self.query("#overwrite"):
            button.display = False
        if self.download:
            self._say("Served to a browser: the file is a download to your computer, not written on the server.", error=False)
        self.query_one("#save-path", Input).focus()

    @property
    def fmt(self) -> str:
        return str(self.query_one("#save-format", Select).value) if self._formats else ""

    def on_select_changed(self, event: Select.Changed) -> None:
        """A format chosen: the file name's extension follows, when it names a format."""
        field = self.query_one("#save-path", Input)
        path = Path(field.value)
        if path.suffix.lstrip(".") in FORMATS:
            field.value = str(path.with_suffix(f".{event.value}"))

    def on_input_changed(self, event: Input.Changed) -> None:
        if self._refused is not None and Path(event.value) != self._refused:
            self._offer_overwrite(None)
        suffix = Path(event.value.strip()).suffix.lstrip(".").lower()
        if self._formats and suffix in self._formats and suffix != self.fmt:  # the extension decides the format
            self.query_one("#save-format", Select).value = suffix
            self._say(f"format: {suffix}, from the file name's extension", error=False)

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
            self._say(f"{'name' if self.download else 'file'}: type a file name", error=True)
            return
        if len(text) > MAX_PATH:
            self._say(f"file: at most {MAX_PATH:,} characters, got {len(text):,}", error=True)
            return
        if self.download and not DOWNLOAD_NAME.fullmatch(text):
            self._say(
                "name: a file name only, of letters, digits, '.', '-' and '_' (it goes to your browser's downloads)", error=True
            )
            return
        path = Path(text).expanduser()
        try:
            content = self._content(handout_format(path, self.fmt) if self._formats else "")
            if self.download:
                self.app.deliver_text(io.StringIO(content), save_filename=path.name)
                done = f"{path.name}: sent to your browser (see its downloads)"
            else:
                done = str(write_atomic(path, content, overwrite=overwrite and path == self._refused).resolve())
        except FileExistsRefused:
            self._offer_overwrite(path)
            self._say(f"{path} exists: choose Overwrite to replace it, or type another name", error=True)
        except ValueError as error:
            self._say(str(error), error=True)
        except OSError as error:
            self._say(f"cannot write {path}: {error.strerror or error}", error=True)
        else:
            self.dismiss(done)

    def _offer_overwrite(self, path: Path | None) -> None:
        self._refused = path
        for button in self.query("#overwrite"):
            button.display = path is not None

    def _say(self, text: str, error: bool) -> None:
        self.message = text
        message = self.query_one("#save-message", Static)
        message.update(Text(text))
        message.set_class(error, "-wrong")
