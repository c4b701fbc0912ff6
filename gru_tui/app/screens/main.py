"""The main screen's layout, and how it adapts to the terminal's size.

Below 120 columns every pane is a tab (Form | Tree | Summary | Code | Log); from
120 columns the form is a column beside the tabs. The form is one widget in both
layouts (it is shown in place of the panes when the Form tab is active), so
nothing typed is lost when the terminal is resized. Below 60x16 a plain message
replaces the screen. Which pane shows is a class on ``#panes`` (``-tree``...), so
a pane mounted later (the lazy ones) is shown or hidden by the stylesheet alone.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events
from textual.app import ComposeResult
from textual.containers import Container
from textual.lazy import Lazy
from textual.screen import Screen
from textual.widgets import Static

from ...core.config import GRUConfig
from ..widgets.form import ConfigForm
from ..widgets.keys_footer import KeysFooter
from ..widgets.note_line import NoteLine
from ..widgets.pane_tabs import PANES, PaneTabs
from ..widgets.panes import CodePane, LogPane, TorchinfoPane
from ..widgets.summary_strip import SummaryStrip
from ..widgets.title_bar import TitleBar
from ..widgets.trace_tree import TraceTree

MIN_WIDTH, MIN_HEIGHT = 60, 16
WIDE = 120  # from here the form and the tree are side by side


def breakpoint_class(size: int, breakpoints: list[tuple[int, str]]) -> str:
    """The class Textual gives a screen of this size: the one of the largest breakpoint not above it."""
    return max((point, name) for point, name in breakpoints if size >= point)[1]


class MainScreen(Screen):
    AUTO_FOCUS = "#input_size"  # the cursor starts in the form's first field
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (MIN_WIDTH, "-narrow"), (WIDE, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (MIN_HEIGHT, "-tall")]

    def __init__(self, config: GRUConfig, *, show_timings: bool, cursor_blink: bool, when_mounted: Callable[[], None]) -> None:
        super().__init__()
        self._config = config
        self._when_mounted = when_mounted
        self._show_timings = show_timings
        self._cursor_blink = cursor_blink
        self._resumed = False
        # The breakpoint classes Textual would add at the first resize, added now: otherwise every
        # widget is styled twice before the first frame.
        width, height = self.app.size
        self.add_class(breakpoint_class(width, self.HORIZONTAL_BREAKPOINTS), breakpoint_class(height, self.VERTICAL_BREAKPOINTS))
        self.pane = "tree" if width >= WIDE else "form"  # narrow terminals start on the form

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(f"terminal too small (need {MIN_WIDTH}x{MIN_HEIGHT})", id="too-small")
        yield SummaryStrip(id="summary-strip")
        yield NoteLine(id="note")
        with Container(id="main", classes="-form-active" if self.pane == "form" else ""):
            tabs = PaneTabs(id="pane-tabs")
            tabs.show(self.pane, self._tab_names())
            yield tabs
            with Container(id="panes", classes="-tree"):  # shown when the form tab is left
                yield TraceTree(id="trace-tree")
                # Panes that start hidden are mounted just after the first frame; they fill themselves from the app.
                yield Lazy(TorchinfoPane(show_timings=self._show_timings, id="torchinfo"))
                yield Lazy(CodePane(id="code"))
                yield Lazy(LogPane(id="log"))
            yield ConfigForm(self._config, cursor_blink=self._cursor_blink, id="form-column")
        yield KeysFooter()

    def on_mount(self) -> None:
        # Called, not posted: a message would be handled after the first layout and paint, of empty panes.
        self._when_mounted()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Runs before Textual's own handler. At the first resume every widget was styled a moment ago, as it
        # mounted, and no CSS has changed since: restyling them all again cost a third of the first frame.
        # Later resumes (back from help, after a theme change in a dialog) restyle as usual.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    @property
    def wide(self) -> bool:
        return self.app.size.width >= WIDE  # the screen's own size is not known yet while it composes

    def _tab_names(self) -> list[str]:
        """Wide, the form is always on screen: it has no tab."""
        return [pane for pane in PANES if pane != "form" or not self.wide]

    def on_resize(self) -> None:
        self.arrange_panes()

    def arrange_panes(self) -> None:
        """Wide: form column + the other panes. Narrow: the Form tab shows the form column in place of the panes."""
        if self.wide and self.pane == "form":
            self.pane = "tree"
        if self.pane != "form":  # the form is shown in place of #panes, which keeps its last pane
            panes = self.query_one("#panes")
            panes.remove_class(*(f"-{pane}" for pane in PANES))
            panes.add_class(f"-{self.pane}")
        self.query_one("#main").set_class(self.pane == "form", "-form-active")
        self.query_one(PaneTabs).show(self.pane, self._tab_names())

    def show_pane(self, pane: str) -> None:
        """Bring a pane to the front: 'form', 'tree', 'summary', 'code' or 'log'."""
        if pane != "form" or not self.wide:
            self.pane = pane
        self.arrange_panes()
