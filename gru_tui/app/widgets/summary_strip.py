"""The strip that is always on screen: output and h_n (and an LSTM's c_n) in large plain text, and their state.

Line one: ``output [1, 35, 64]    h_n [4, 1, 32]`` (then ``c_n [4, 1, 32]`` for an LSTM). Line two: derived, running (with
progress), traced, refused by the memory guard (with "run anyway"), failed, or
not matching the form.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from ...core.report import Packed, Report, format_shape
from ...core.summary import human_bytes


def output_text(report: Report) -> str:
    out = report.output
    if isinstance(out, Packed):
        return f"output (packed) data {format_shape(out.data.shape)} · padded {format_shape(out.padded.shape)}"
    return f"output {format_shape(out.shape)}"


def run_text(report: Report, show_timings: bool) -> str:
    """'derived — not yet run on cpu' or 'traced on cuda:0 in 12.3 ms, peak 1.2 MiB'."""
    device = report.config.device
    if report.derived:
        return f"derived — not yet run on {device}"
    if report.run is None or not show_timings:
        return f"traced on {device}"
    peak = f", peak {human_bytes(report.run.peak_memory_bytes)}" if report.run.peak_memory_bytes is not None else ""
    return f"traced on {device} in {report.run.seconds * 1000:,.1f} ms{peak}"


ITEM_GAP = "    "
STRIP_GUTTER = 3  # the strip's border and padding, in cells


def shape_items(report: Report) -> list[str]:
    """``output [1, 35, 64]``, ``h_n [4, 1, 32]``, and an LSTM's ``c_n [4, 1, 32]``: each one item on the strip."""
    return [output_text(report)] + [
        f"{name} {format_shape(t.shape)}" for name, t in (("h_n", report.h_n), ("c_n", report.c_n)) if t is not None
    ]


def lay_out(items: list[str], width: int) -> str:
    """The items on lines of ``width`` cells, ITEM_GAP between them; one too long for a line alone is wrapped."""
    lines: list[str] = []
    for item in items:
        if lines and cell_len(lines[-1] + ITEM_GAP + item) <= width:
            lines[-1] += ITEM_GAP + item
        else:
            lines.append(item)
    return "\n".join(lines)


PROGRESS_WIDTH = 24  # cells: the bar, then the percentage


def progress_bar(fraction: float, width: int) -> Content:
    """``━━━━━━╺━━━━  45%``: done in the accent colour, the rest dim; the percentage stays readable without colour."""
    cells = width - 5
    done = round(max(0.0, min(1.0, fraction)) * cells)
    return Content.from_markup(f"[$accent]{'━' * done}[/][$foreground 20%]{'━' * (cells - done)}[/] {fraction:4.0%}")


class SummaryStrip(Vertical):
    def compose(self) -> ComposeResult:
        # Plain Statics, and the button only once it is offered: the strip is part of the first frame.
        yield Static("", id="shapes")
        with Horizontal(id="status"):
            yield Static("", id="status-text")
            yield Static("", id="progress")

    def show(
        self, report: Report, state: str, *, kind: str = "info", progress: float | None = None, offer_force: bool = False
    ) -> None:
        """The report's output, h_n and c_n; ``state`` below, in the style of ``kind`` (info, traced, warning, error)."""
        self._items = shape_items(report)
        self._lay_out_shapes()
        if state != self._state_shown:
            status = self.query_one("#status-text", Static)
            width = status.content_size.width
            # A state that stays on one line (the running clock's each second) needs no new layout.
            one_line = 0 < width and cell_len(state) <= width and cell_len(self._state_shown or "") <= width
            status.update(Text(state), layout=not one_line)
            self._state_shown = state
        self.plain = f"{ITEM_GAP.join(self._items)}\n{state}"
        for name in ("info", "traced", "warning", "error"):
            self.set_class(kind == name, f"-{name}")
        bar = self.query_one("#progress", Static)
        bar.display = progress is not None
        if progress is not None:
            bar.update(progress_bar(progress, PROGRESS_WIDTH), layout=False)  # its size is fixed
        buttons = self.query("#run-anyway")
        if buttons:
            buttons.set(display=offer_force)
        elif offer_force:
            from textual.widgets import Button  # offered rarely: not loaded for the first frame

            self.query_one("#status").mount(
                Button(
                    "Run anyway (ctrl+g)",
                    id="run-anyway",
                    compact=True,
                    variant="warning",
                    tooltip="Run on the device although the memory estimate exceeds what is free",
                )
            )

    def on_resize(self) -> None:
        self._lay_out_shapes()

    def _lay_out_shapes(self) -> None:
        """One line per row of "name shape" items that fit, an item never split over two lines."""
        shapes = self.query_one("#shapes", Static)
        width = self.content_size.width or self.app.size.width - STRIP_GUTTER  # not laid out yet: the screen's
        text = lay_out(self._items, width)
        # Only what changed: each update lays the screen out again, and the state changes several times a run.
        if text != self._shapes_shown:
            shapes.update(Text(text, style="bold"))
            self._shapes_shown = text

    plain = ""  # what the strip says, as plain text
    _items: list[str] = []
    _shapes_shown: str | None = None
    _state_shown: str | None = None
