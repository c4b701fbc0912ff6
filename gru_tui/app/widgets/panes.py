"""The panes beside the tree: the torchinfo summary, the equivalent PyTorch code, the log of trace events."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Log, Static

from ...core.report import Report

COPY_CODE_TOOLTIP = "Copy the PyTorch code to your clipboard (through the terminal: works over SSH)"


class DrawnWhenShown(VerticalScroll):
    """A pane drawn while on screen and when shown: hidden, each update would lay the whole screen out again."""

    def redraw(self) -> None:
        if self.is_on_screen:
            self._draw()

    def on_show(self) -> None:
        self._draw()

    def _draw(self) -> None:
        raise NotImplementedError


class TorchinfoPane(DrawnWhenShown):
    """Parameters, mult-adds and sizes, read from torchinfo's result once the device run has landed."""

    def __init__(self, *, show_timings: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self._show_timings = show_timings
        self.plain = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="torchinfo-text")

    def on_mount(self) -> None:
        self.show(self.app.report)

    def show(self, report: Report) -> None:
        if not self._show_timings:
            report = dataclasses.replace(report, run=None)
        from ...core.summary import summary_lines  # the panes mount after the first frame: so do their imports

        self.plain = "\n".join(summary_lines(report))
        self.redraw()

    def _draw(self) -> None:
        self.query_one("#torchinfo-text", Static).update(self.plain)


class CodePane(DrawnWhenShown):
    """The PyTorch code (nn.GRU, nn.LSTM or nn.RNN) a learner would write for this configuration, with the shapes it prints."""

    # Shown in the footer while the pane has the cursor; the app's own binding (any pane, the palette, help) does the work.
    BINDINGS = [Binding("y", "app.copy_code", "Copy code", id="code.copy", tooltip=COPY_CODE_TOOLTIP)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.code = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="code-text")

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.redraw())
        self.show(self.app.report)

    def show(self, report: Report) -> None:
        from ...core.code import pytorch_code

        self.code = pytorch_code(report.config, report)
        self.redraw()

    def _draw(self) -> None:
        from rich.syntax import Syntax  # pygments: loaded when the pane is, after the first frame

        theme = "ansi_dark" if self.app.current_theme.dark else "ansi_light"
        # Wrapped: a long line (the constructor's keywords) was cut at 80 and at 120 columns.
        syntax = Syntax(self.code, "python", theme=theme, background_color="default", word_wrap=True)
        self.query_one("#code-text", Static).update(syntax)


class LogPane(Log):
    """Trace events, newest last: edits, runs started, landed, dropped, refused, failed."""

    _written = 0  # how many of the app's log lines the pane holds

    def on_show(self) -> None:
        self.catch_up()

    @property
    def lines(self) -> Sequence[str]:
        """Every line of the log, shown or not yet."""
        self.catch_up(hidden_too=True)
        return super().lines

    def catch_up(self, hidden_too: bool = False) -> None:
        """Write the app's log lines the pane does not hold yet; none while hidden: a write lays the screen out again."""
        lines = self.app.log_lines
        if self._written < len(lines) and (hidden_too or self.is_on_screen):
            new, self._written = lines[self._written :], len(lines)
            self.write_lines(new)
