"""``gru-tui --model FILE.py:NAME``: your own model's shape tree, traced again each time its folder's code is saved.

A thin view: the person's code runs only in a device worker (``runner.trace_model``: a fresh
process for each trace, so a saved file is imported anew and a model that hangs or crashes takes
nothing with it); the app shows the report's tree (``model.tree``) and watches the file's folder
with watchfiles. A version that fails keeps the last good tree on screen, marked stale, with the
new error under it (``v`` shows the failing version's own tree). ``ctrl+c`` stops a run; with
``--timeout`` a run that takes longer is stopped by itself. Only the command line names the file:
nothing in the app, nor in a browser tab of ``gru-tui serve``, can choose another one.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.timer import Timer
from textual.widgets import Static

from ..model.failure import Failure
from ..model.report import ModelReport
from ..model.spec import ModelSpec
from .messages import ModelRunEvent, PoolLost, TorchFailed, TorchLoaded
from .widgets.keys_footer import KeysFooter
from .widgets.trace_tree import TraceTree

WATCH_DEBOUNCE_MS = 300  # an editor's save (write, rename) lands as one change
WATCH_STOP_MS = 500  # how often the watcher's thread looks whether the app is closing


class ModelApp(App[None]):
    TITLE = "gru-tui"
    CSS = """
    #model-title { height: 1; background: $primary; color: $text; padding: 0 1; }
    #model-tree { height: 1fr; }
    #model-tree.-stale { border: heavy $warning; }
    #model-status-box { height: auto; max-height: 8; padding: 0 1; background: $panel; }
    #model-status.-error { color: $error; }
    #model-status.-warning { color: $warning; }
    """
    BINDINGS = [
        Binding("ctrl+r", "retrace", "Re-trace", id="model.retrace", tooltip="Import the file again and run the forward"),
        Binding(
            "v",
            "toggle_version",
            "Failing version",
            id="model.toggle",
            tooltip="Switch between the last good tree and the failing version's own tree",
        ),
        Binding(
            "x,ctrl+s",
            "export",
            "Export",
            id="model.export",
            tooltip="The tree shown as a handout: Markdown, JSON, or an SVG of the screen",
        ),
        Binding(
            "ctrl+c",
            "stop_or_quit",
            "Stop run",
            id="model.stop",
            priority=True,
            tooltip="Stop the run under way; when none is, quit",
        ),
        Binding("ctrl+q", "quit", "Quit", id="model.quit", priority=True, tooltip="Leave gru-tui"),
    ]

    def __init__(self, spec: ModelSpec, *, timeout: float | None = None, watch: bool = True, snapshot_mode: bool = False):
        super().__init__()
        self.spec = spec
        self.timeout = timeout
        self.watching = watch
        self.snapshot_mode = snapshot_mode
        self.good: ModelReport | None = None  # the last version that traced
        self.latest: ModelReport | None = None  # the last report, good or not
        self.showing_latest = False  # v: the failing version's own tree instead of the last good one
        self.traces = 0  # reports received, for tests
        self.status_text = ""
        self._runner = None
        self._limit: Timer | None = None
        self._asked = 0.0
        self._stop_watch = asyncio.Event()

    @property
    def runner(self):
        if self._runner is None:
            from .runner import DeviceRunner

            self._runner = DeviceRunner(self.post_message, can_force=False)
        return self._runner

    @property
    def busy(self) -> bool:
        return self._runner is None or self._runner.busy

    def compose(self) -> ComposeResult:
        yield Static(f"gru-tui · {Path(self.spec.file).parent.name}/{self.spec.short} · your own model", id="model-title")
        yield TraceTree(id="model-tree")
        with VerticalScroll(id="model-status-box"):
            yield Static("", id="model-status")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = self.spec.short
        self._status(f"loading torch, then tracing {self.spec.short} on {self.spec.device}…")
        self.call_after_refresh(self._start)

    def on_load(self) -> None:
        from .app import quit_on_signals

        quit_on_signals(self._exit_on_signal)  # before the terminal is taken over: see quit_on_signals

    def _start(self) -> None:
        self.retrace("start")
        if self.watching:
            self.watch_folder()

    # -- runs ------------------------------------------------------------------------------
    def retrace(self, why: str) -> None:
        self._asked = time.monotonic()
        self.runner.trace_model(self.spec)
        self._status(f"{why}: tracing {self.spec.short} in a fresh worker… · ctrl+c stops")
        self._arm_limit()

    def _arm_limit(self) -> None:
        if self._limit is not None:
            self._limit.stop()
            self._limit = None
        if self.timeout is not None:
            self._limit = self.set_timer(self.timeout, self._past_limit)

    def _past_limit(self) -> None:
        self._limit = None
        if self._runner is not None and self._runner.busy:
            self._runner.cancel("model")
            self._status(
                f"stopped after {self.timeout:g} s (--timeout): the forward took too long; ctrl+r runs it again", kind="error"
            )

    def on_model_run_event(self, event: ModelRunEvent) -> None:
        if event.spec != self.spec:
            return
        if event.kind == "progress":
            self._status(f"{event.text}… · ctrl+c stops")
        elif event.kind == "failed":
            self._disarm()
            self._status(f"the run failed: {event.text}", kind="error")
        elif event.kind == "done":
            self._disarm()
            self._show_report(event.report)

    def _disarm(self) -> None:
        if self._limit is not None:
            self._limit.stop()
            self._limit = None

    def _show_report(self, report: ModelReport) -> None:
        self.traces += 1
        self.latest = report
        took = "" if self.snapshot_mode or report.run is None else f" in {report.run.seconds * 1000:.0f} ms"
        watching = f" · watching {Path(self.spec.file).parent.name}/ for saves" if self.watching else ""
        if report.ok:
            self.good, self.showing_latest = report, False
            self._status(f"traced on {self.spec.device}{took}{watching}", kind="ok")
        elif self.good is None:
            self.showing_latest = True
            self._status("\n".join(fix_first(report.failure)), kind="error")
        else:
            self.showing_latest = False
            self._status(
                "⚠ stale: the last good tree; the saved version fails (v shows it):\n" + "\n".join(fix_first(report.failure)),
                kind="warning",
            )
        self._draw()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_version":
            return True if self.stale else None  # shown dimmed while there is no failing version to show
        return True

    def _draw(self) -> None:
        shown = self.latest if self.showing_latest or self.good is None else self.good
        if shown is None:
            return
        tree = self.query_one("#model-tree", TraceTree)
        tree.show(shown.tree())
        stale = shown is self.good and self.latest is not self.good
        tree.set_class(stale, "-stale")
        tree.border_title = "⚠ stale: the saved version fails" if stale else None

    @property
    def stale(self) -> bool:
        return self.good is not None and self.latest is not self.good

    def _status(self, text: str, kind: str = "info") -> None:
        self.status_text = text
        status = self.query_one("#model-status", Static)
        status.update(text)
        for name in ("error", "warning"):
            status.set_class(kind == name, f"-{name}")

    # -- watching ----------------------------------------------------------------------------
    @work(exclusive=True, group="watch", exit_on_error=False, description="watching the model's folder")
    async def watch_folder(self) -> None:
        from watchfiles import awatch

        folder = Path(self.spec.file).parent

        def relevant(change, path: str) -> bool:  # the file and the files it may import from its folder
            return path.endswith(".py") and Path(path).parent == folder

        async for changes in awatch(
            folder,
            watch_filter=relevant,
            debounce=WATCH_DEBOUNCE_MS,
            recursive=False,
            stop_event=self._stop_watch,
            rust_timeout=WATCH_STOP_MS,
        ):
            names = ", ".join(sorted({Path(path).name for _change, path in changes}))
            self.retrace(f"saved: {names}")

    # -- actions -----------------------------------------------------------------------------
    def action_retrace(self) -> None:
        self.retrace("ctrl+r")

    def action_export(self) -> None:
        from ..lessons.handout import FORMATS, model_handout_text
        from ..share.served import served_to_browser
        from .screens.save import SaveDialog

        shown = self.latest if self.showing_latest or self.good is None else self.good
        if shown is None:
            self.notify("nothing traced yet: the handout needs a tree", severity="warning")
            return
        screenshot = self.export_screenshot()
        served = served_to_browser()  # a download then: nothing is written on the server
        name = f"{Path(self.spec.file).stem}-{self.spec.name}.md"
        self.push_screen(
            SaveDialog(
                "Download the model's handout" if served else "Export the model's handout",
                name,
                lambda fmt: model_handout_text(shown, fmt, screenshot),
                FORMATS,
                download=served,
            ),
            self._saved,
        )

    def _saved(self, done: str | None) -> None:
        if done is not None:
            self.notify(done, title="Saved", timeout=4)

    def action_toggle_version(self) -> None:
        if self.stale:
            self.showing_latest = not self.showing_latest
            self._draw()

    async def action_stop_or_quit(self) -> None:
        if self._runner is not None and self._runner.busy:
            self._runner.cancel("model")
            self._disarm()
            self._status("run stopped — ctrl+r runs it again, ctrl+c again quits", kind="warning")
        else:
            await self.action_quit()

    async def action_quit(self) -> None:
        self._stop()
        self.exit()

    def _exit_on_signal(self, signum: int) -> None:
        self._stop()
        self.exit(return_code=128 + signum)

    def _stop(self) -> None:
        self._stop_watch.set()
        if self._runner is not None:
            self._runner.close()

    def on_unmount(self) -> None:
        self._stop()

    def on_torch_failed(self, message: TorchFailed) -> None:
        self._status(message.text, kind="error")

    def on_torch_loaded(self, message: TorchLoaded) -> None:
        pass

    def on_pool_lost(self, message: PoolLost) -> None:
        self._status(message.text, kind="error")


def fix_first(failure: Failure) -> list[str]:
    """The failure's lines for the panel under the tree: the headline, then the checked fix (the explanation's
    last line), then the rest; at 80x24 the panel shows its first lines, and the fix must be among them."""
    lines = failure.lines()
    if failure.fix_checked and failure.explanation:
        return [lines[0], lines[-1], *lines[1:-1]]
    return lines


def make_model_app(spec: ModelSpec, *, timeout: float | None = None, watch: bool = True, snapshot_mode: bool = False) -> ModelApp:
    """The one way the CLI, the tests and the screenshot script build the model view."""
    return ModelApp(spec, timeout=timeout, watch=watch, snapshot_mode=snapshot_mode)
