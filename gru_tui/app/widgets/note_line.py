"""The app's notes (a preset loaded, A pinned, a file saved, "fix hidden_size first") on a line of their own.

Textual's toasts float over the right of the screen and stack: at 80x24 they covered half the
tree for seconds. A note here takes its own rows under the shapes, wrapped to the width, and a
new note replaces the last one.
"""

from __future__ import annotations

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static


class NoteLine(Static):
    DEFAULT_CSS = """
    NoteLine {
        display: none;
        height: auto;
        padding: 0 1;
        background: $boost;
        border-left: thick $primary;
    }
    NoteLine.-warning { border-left: thick $warning; color: $text-warning; }
    NoteLine.-error { border-left: thick $error; color: $text-error; }
    """

    _timer: Timer | None = None
    plain = ""  # what the note says, as plain text (what tests read)

    def say(self, message: str, *, title: str = "", severity: str = "information", timeout: float | None = None) -> None:
        """Show one note, wrapped, in place of the last; it goes after ``timeout`` seconds (never when None)."""
        text = Text(f"{title}: ", style="bold") if title else Text()
        text.append(message)
        self.plain = text.plain
        self.update(text)
        for name in ("warning", "error"):
            self.set_class(severity == name, f"-{name}")
        self.display = True
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(timeout, self.clear) if timeout else None

    def clear(self) -> None:
        self.plain = ""
        self.display = False
