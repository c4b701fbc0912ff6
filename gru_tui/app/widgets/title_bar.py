"""The top line: the app's title and subtitle, centred."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class TitleBar(Static):
    """Textual's Header without its icon and clock: three widgets fewer to build before the first frame
    (the command palette has ctrl+p and the footer's entry)."""

    DEFAULT_CSS = """
    TitleBar {
        dock: top;
        width: 100%;
        height: 1;
        background: $panel;
        color: $foreground;
        content-align: center middle;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def on_mount(self) -> None:
        for node in (self.app, self.screen):
            self.watch(node, "title", self._show_title)
            self.watch(node, "sub_title", self._show_title)

    def _show_title(self, _value: object = None) -> None:
        screen = self.screen  # a screen's own title, where it has one, as Header shows it
        title, sub_title = screen.title or self.app.title, screen.sub_title or self.app.sub_title
        self.update(Text.assemble(title, (" — ", "dim"), (sub_title, "dim")) if sub_title else Text(title))
