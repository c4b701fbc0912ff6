"""GruTuiApp: the form, the live shape tree, and the device run in the background.

Every valid edit shows the derived report at once (``shapes.derive``: no torch,
cost independent of seq_len), then, after a short pause in typing, runs the real
module on the device in a worker process (``runner``, ``pool``: torch never loads
in the app's process, and a run that must stop is killed, not waited for). Each run's messages
carry the configuration they belong to; one that is not the form's current
configuration is dropped, so a result never lands on a newer configuration's tree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding
from textual.timer import Timer

from ..core.config import FIRST_EXAMPLE, GRUConfig
from ..core.report import Packed, Report, format_shape
from ..core.shapes import derive
from ..core.tree import gru_call
from .screens.main import MainScreen
from .teaching import LESSON_BINDINGS, TeachingMixin
from .widgets.form import ConfigForm
from .widgets.note_line import NoteLine
from .widgets.panes import COPY_CODE_TOOLTIP, LogPane
from .widgets.summary_strip import SummaryStrip, run_text
from .widgets.trace_tree import TraceTree

if TYPE_CHECKING:  # the messages come with the runner, after the first frame; handlers are found by name
    from textual.widgets import Button

    from .messages import (
        PoolLost,
        TorchFailed,
        TorchLoaded,
        TraceFailed,
        TraceFinished,
        TraceProgress,
        TraceRefused,
        TraceStarted,
    )
    from .runner import DeviceRunner

DEBOUNCE_SECONDS = 0.15  # a pause in typing before the device run starts; the derived tree does not wait
RUNNING_SHOWN_AFTER = 0.15  # a run still computing after this shows its progress, clock and how to stop it
PANE_FOCUS = {"form": "#input_size", "tree": "#trace-tree", "summary": "#torchinfo", "code": "#code", "log": "#log"}


def _commands_provider():
    """The palette's list of the app's actions and presets, loaded when the palette first opens."""
    from .commands import GruTuiCommands

    return GruTuiCommands


class GruTuiApp(TeachingMixin, App[None]):
    TITLE = "gru-tui"
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute, so subclasses defined elsewhere find it too
    COMMANDS = App.COMMANDS | {_commands_provider}
    BINDINGS = [
        Binding("f1", "help", "Help", id="help", tooltip="The shape rules and every key"),
        # Priority, so ? opens help from a form field too (FieldInput leaves ? to the app).
        Binding(
            "question_mark",
            "help",
            "Help",
            id="help.question_mark",
            show=False,
            priority=True,
            tooltip="The shape rules and every key",
        ),
        # The pane keys are named by the tab bar; in the footer too they cut its last keys at 80 columns.
        Binding("f2", "show_pane('form')", "Form", id="pane.form", show=False, tooltip="Jump to the configuration form"),
        Binding("f3", "show_pane('tree')", "Tree", id="pane.tree", show=False, tooltip="Jump to the shape tree"),
        Binding(
            "f4",
            "show_pane('summary')",
            "Summary",
            id="pane.summary",
            show=False,
            tooltip="The torchinfo summary: parameters, mult-adds, sizes",
        ),
        Binding(
            "f5",
            "show_pane('code')",
            "Code",
            id="pane.code",
            show=False,
            tooltip="The equivalent PyTorch code and the shapes it prints",
        ),
        Binding("f6", "show_pane('log')", "Log", id="pane.log", show=False, tooltip="The log of trace events"),
        Binding("ctrl+r", "rerun", "Re-run", id="rerun", tooltip="Run the configuration on its device again"),
        Binding(
            "ctrl+g",
            "run_anyway",
            "Run anyway",
            id="run_anyway",
            tooltip="Run although the memory estimate exceeds what the device has free",
        ),
        Binding("y", "copy_code", "Copy code", id="copy_code", show=False, tooltip=COPY_CODE_TOOLTIP),
        # Not "Theme": the palette has Textual's own "Theme" command (pick any theme) beside it.
        Binding(
            "ctrl+t",
            "toggle_theme",
            "Dark / light theme",
            id="toggle_theme",
            show=False,
            tooltip="Switch between the dark and the light theme",
        ),
        Binding("ctrl+q", "quit", "Quit", id="quit", tooltip="Leave gru-tui", priority=True),
        # Over SSH people press ctrl+c to stop things: it stops the run; with none under way, it quits.
        Binding(
            "ctrl+c",
            "stop_or_quit",
            "Stop run",
            id="stop",
            priority=True,
            tooltip="Stop the device run under way; when none is, quit",
        ),
        # Priority, so the focus moves as the app reads the key: keys typed ahead (over a slow SSH link
        # they arrive together) land in the next field, not in the one the Tab left.
        Binding(
            "tab",
            "focus_next",
            "Next field",
            id="focus.next",
            show=False,
            priority=True,
            tooltip="Move the cursor to the next field or pane",
        ),
        Binding(
            "shift+tab",
            "focus_previous",
            "Previous field",
            id="focus.previous",
            show=False,
            priority=True,
            tooltip="Move the cursor to the previous field or pane",
        ),
        *LESSON_BINDINGS,
    ]

    def __init__(
        self, config: GRUConfig | None = None, *, present: bool = False, follow: bool = False, snapshot_mode: bool = False
    ) -> None:
        """``present``: publish each configuration to followers; ``follow``: show the presenter's, read-only.
        ``snapshot_mode``: no timings, peak memory or cursor blink on screen, for tests and screenshots."""
        super().__init__()
        self.config = (config or FIRST_EXAMPLE).validate(check_device=False)  # what the tree shows: the last valid form
        self.present = present  # `gru-tui --present`: followers show what this copy shows
        self.follow = follow  # a copy served by `gru-tui serve --follow`
        self.snapshot_mode = snapshot_mode
        self.report: Report = derive(self.config)
        self.form_errors: dict[str, str] = {}
        self.torch_version: str | None = None
        self.log_lines: list[str] = []  # the log pane's lines, kept here too: the pane mounts after the first frame
        self._debounce: Timer | None = None
        self._refused: GRUConfig | None = None  # the configuration the memory guard stopped, until it changes
        self._run_state: tuple[str, str, float | None, bool] = ("", "info", None, False)  # text, kind, progress, offer_force
        self._runner: DeviceRunner | None = None
        self._run_clock: float | None = None  # when the worker took the current run
        self._run_step, self._run_fraction = "", 0.0  # what the run said it is doing, and how far it is
        self._run_estimate: tuple[float, float, float] | None = None  # (received at, seconds, fraction): its estimate
        self._ticker: Timer | None = None

    @property
    def runner(self) -> DeviceRunner:
        """The device worker pool's client, started with the app's first run (torch loads in the worker)."""
        if self._runner is None:
            from .runner import DeviceRunner  # after the first frame: multiprocessing and friends are not free to import

            self._runner = DeviceRunner(self.post_message, can_force=not self.served)
        return self._runner

    def get_default_screen(self) -> MainScreen:
        # A blinking cursor is two frames a second: in a served class, every idle tab sends them all the time.
        return MainScreen(
            self.config,
            show_timings=not self.snapshot_mode,
            cursor_blink=not (self.snapshot_mode or self.served),
            when_mounted=self._screen_mounted,
        )

    # -- start ------------------------------------------------------------------------
    def _screen_mounted(self) -> None:
        """Called by the main screen once its widgets are mounted, before its first layout and paint:
        filled here, the first frame already shows the shapes."""
        self.sub_title = gru_call(self.config)
        self._show(self.report)
        self.config_shown()
        self._status("loading torch…", progress=0.0)
        # The first frame is painted before torch starts loading.
        self.call_after_refresh(self._start_background)

    def _start_background(self) -> None:
        if not gc.isenabled():  # paused for the start (cli.load_app): what the start made lives as long as the app
            gc.freeze()  # so later collections, while the user types, skip it
            gc.enable()
        if self.screen.focused is None:  # AUTO_FOCUS found the form not yet focusable: it is now, after the first frame
            for field in self.query("#input_size"):
                field.focus()
        self.start_teaching()
        self._start_run()

    def on_load(self) -> None:
        # Before the terminal is taken over: a signal at any moment of the start ends the app (see quit_on_signals).
        quit_on_signals(self._exit_on_signal)

    def _exit_on_signal(self, signum: int) -> None:
        self._stop_workers()
        self.exit(return_code=128 + signum)

    def _stop_workers(self) -> None:
        if self._runner is not None:
            self._runner.close()

    def on_unmount(self) -> None:
        self._stop_workers()  # every worker process ends with the app, however it ends

    async def action_quit(self) -> None:
        self._stop_workers()  # first: a run's process ends while the interface closes
        self.exit()

    # -- edits ------------------------------------------------------------------------
    def on_config_form_edited(self, event: ConfigForm.Edited) -> None:
        self.form_errors = event.errors
        self.refresh_bindings()  # while the form is invalid, ctrl+g cannot act: it leaves the footer
        if event.config is None:
            self._mark_stale()
            return
        if event.config == self.config:  # back to what the tree shows (e.g. a typo undone)
            self._mark_stale()
            return
        self.config = event.config
        self._refused = None
        self.refresh_bindings()  # "run anyway" belonged to the previous configuration
        self._stop_run("run cancelled: the configuration changed")  # its result would be for an older configuration
        self.sub_title = gru_call(self.config)
        self._show(derive(self.config))
        self.config_shown()
        self._log(f"edit: {gru_call(self.config)}, {self._input_text()}")
        self._status(f"not yet run on {self.config.device}")
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_SECONDS, self._start_run)

    def _start_run(self, force: bool = False, *, reuse: bool = True) -> None:
        """Ask the worker pool to run the form's configuration; ``reuse``: an equal recent run's report will do."""
        self._debounce = None
        self.refresh_bindings()
        where = self.config.device
        # No progress bar yet: most runs land before it would have anything to show.
        self._status(f"waiting to run on {where}…" if self.torch_version else f"loading torch, then running on {where}…")
        self._log(f"run asked on {where}" + (" (memory guard overridden)" if force else ""))
        self._run_clock, self._run_step, self._run_fraction, self._run_estimate = None, "", 0.0, None
        self.runner.trace(self.config, force, reuse=reuse)

    def _stop_run(self, why: str) -> bool:
        """Stop the run under way or waiting (its worker is killed at once); True when there was one."""
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        self._stop_ticker()
        if self._runner is None or not self._runner.busy:
            return False
        self._runner.cancel("main")
        self._log(why)
        return True

    async def action_stop_or_quit(self) -> None:
        if self._stop_run("run cancelled (ctrl+c)"):
            self._status("run stopped — ctrl+r runs it again, ctrl+c again quits", kind="warning")
        else:
            await self.action_quit()

    # -- results ------------------------------------------------------------------------
    def on_trace_started(self, message: TraceStarted) -> None:
        if message.config == self.config and self._runner is not None and self._runner.busy:
            self._run_clock, self._run_fraction = time.monotonic(), 0.0
            self._stop_ticker()
            # Most runs land within this: they go from "waiting" to "traced" without frames between (each one
            # is a layout of the whole screen, which a served class pays in every tab).
            self._ticker = self.set_timer(RUNNING_SHOWN_AFTER, self._start_ticking)

    def _start_ticking(self) -> None:
        self._show_running()
        self._ticker = self.set_interval(1.0, self._show_running)

    def on_trace_progress(self, message: TraceProgress) -> None:
        if message.config == self.config:
            self._run_step, self._run_fraction = message.text, message.fraction
            self._run_estimate = None if message.estimate is None else (time.monotonic(), *message.estimate)
            if self._run_clock is not None and time.monotonic() - self._run_clock >= RUNNING_SHOWN_AFTER:
                self._show_running()

    def _show_running(self) -> None:
        """What the run is doing, how long it has taken so far, and how to stop it."""
        fraction = self._run_fraction
        step = f": {self._run_step}" if self._run_step else "…"
        timing = ""
        if not self.snapshot_mode and self._run_clock is not None:
            now = time.monotonic()
            elapsed = now - self._run_clock
            timing = f" · {elapsed:.0f} s"
            if self._run_estimate is not None:  # the run's own estimate: the bar moves at its pace within a layer
                fraction, left = along_estimate(fraction, self._run_estimate, now)
                timing += f", about {left:.0f} s left" if left >= 0.5 else ", taking longer than estimated"
            elif fraction and fraction >= 0.1 and elapsed >= 2:  # a layer done: the rest at the same pace
                timing += f", about {elapsed * (1 - fraction) / fraction:.0f} s left"
        self._status(f"running on {self.config.device}{step}{timing} · ctrl+c stops", progress=fraction)

    def _stop_ticker(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None

    def on_trace_finished(self, message: TraceFinished) -> None:
        if not self._is_current(message.config):
            return
        self._stop_ticker()
        self._show(message.report)
        state = run_text(message.report, show_timings=not self.snapshot_mode)
        self._status(state, kind="traced")
        self._log(state)

    def on_trace_refused(self, message: TraceRefused) -> None:
        if not self._is_current(message.config):
            return
        self._stop_ticker()
        self._refused = message.config
        self.refresh_bindings()
        self._status(message.text, kind="warning", offer_force=not self.served)
        self._log(f"memory guard: {message.text}")

    def on_trace_failed(self, message: TraceFailed) -> None:
        if not self._is_current(message.config):
            return
        self._stop_ticker()
        text = f"{message.field}: {message.text}" if message.field else message.text
        if message.field:
            self.query_one(ConfigForm).show_field_error(message.field, message.text)
        self._status(f"run failed: {text}", kind="error")
        self._log(f"run failed: {text}")

    def on_torch_loaded(self, message: TorchLoaded) -> None:
        self.torch_version = message.torch_version
        self.query_one(ConfigForm).set_devices(message.devices)
        took = "" if self.snapshot_mode else f" in {message.seconds:.1f} s"
        self._log(f"torch {message.torch_version} loaded{took}; devices: {', '.join(name for _d, name in message.devices)}")

    def on_torch_failed(self, message: TorchFailed) -> None:
        self._status(message.text, kind="error")
        self._log(message.text)

    def on_pool_lost(self, message: PoolLost) -> None:
        self._stop_ticker()
        self._status(message.text, kind="error")
        self._log(message.text)

    def _is_current(self, config: GRUConfig) -> bool:
        """Only results for the configuration the tree shows may land; older ones are dropped."""
        if config == self.config:
            return True
        self._log(f"dropped a result for an older configuration ({gru_call(config)}, {config.device})")
        return False

    # -- showing ------------------------------------------------------------------------
    def _show(self, report: Report) -> None:
        """Put one report on every pane at once: tree, strip, torchinfo summary, code."""
        self.report = report
        self.query_one("#trace-tree", TraceTree).show(report.tree())
        for pane in self.query("TorchinfoPane, CodePane"):  # absent until mounted; then they read self.report
            pane.show(report)
        self._mark_stale()

    def _mark_stale(self) -> None:
        """When the form has errors, the tree and strip keep the last good report, marked as not matching."""
        # The fields only: each shows its own message under it, and the strip stays short at 80 columns.
        note = f"fix {', '.join(self.form_errors)}; each says why in the form" if self.form_errors else ""
        tree = self.query_one("#trace-tree", TraceTree)
        tree.set_class(bool(note), "-stale")
        tree.border_title = "⚠ not matching the form" if note else None
        strip = self.query_one(SummaryStrip)
        if note:
            strip.show(self.report, f"⚠ not matching the form — {note}", kind="warning")
        else:
            text, kind, progress, offer_force = self._run_state
            strip.show(self.report, text, kind=kind, progress=progress, offer_force=offer_force)

    @property
    def stale(self) -> bool:
        """True while the tree shows a configuration the form no longer holds."""
        return bool(self.form_errors)

    def _status(self, text: str, *, kind: str = "info", progress: float | None = None, offer_force: bool = False) -> None:
        """The run's state, shown under the shapes; a traced report says so, a derived one says it is derived."""
        if kind != "traced":
            shown = "derived" if self.report.derived else f"traced on {self.report.config.device}"
            text = f"{shown} — {text}"
        self._run_state = (text, kind, progress, offer_force)
        self._mark_stale()

    def _log(self, text: str) -> None:
        self.log_lines.append(text)
        for pane in self.query(LogPane):
            pane.catch_up()

    def _input_text(self) -> str:
        inp = self.report.input
        shape = inp.padded.shape if isinstance(inp, Packed) else inp.shape
        return f"input {format_shape(shape)}, {self.config.dtype}, on {self.config.device}"

    @property
    def busy(self) -> bool:
        """A device run (or a lesson's) is waiting to start or under way."""
        return self._debounce is not None or self._runner is None or self._runner.busy

    # -- actions ------------------------------------------------------------------------
    def command_bindings(self) -> list[Binding]:
        """The app's actions, one per action with all its keys, for the command palette and the help screen."""
        by_action: dict[str, Binding] = {}
        for binding in [*self.BINDINGS, *TraceTree.BINDINGS]:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            first = by_action.get(binding.action)
            by_action[binding.action] = binding if first is None else dataclasses.replace(first, key=f"{first.key},{binding.key}")
        return list(by_action.values())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_anyway":  # only when it can act: never in a served copy (a browser tab must not push the
            # server past its memory), nor while the form is invalid or a dialog or lesson screen is open
            can_act = (
                not self.served
                and not self.stale
                and isinstance(self.screen, MainScreen)
                and self._refused is not None
                and self._refused == self.config
            )
            return can_act  # False: left out of the footer (None would show it dimmed)
        return self.check_teaching_action(action)

    def form_ready(self, what: str) -> bool:
        """Actions that need the form's configuration (runs, lessons, saving) say what to fix, never use an older one."""
        if not self.form_errors:
            return True
        fields = ", ".join(self.form_errors)
        self.notify(f"fix {fields} first: {what} needs a valid configuration", severity="warning", timeout=6)
        return False

    def notify(
        self, message: str, *, title: str = "", severity: str = "information", timeout: float | None = None, markup: bool = True
    ) -> None:
        """On the main screen, a note line under the shapes: toasts covered the tree at 80x24 and stacked."""
        screen = self.screen
        if isinstance(screen, MainScreen):
            screen.query_one(NoteLine).say(message, title=title, severity=severity, timeout=timeout or self.NOTIFICATION_TIMEOUT)
        else:
            super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def action_help(self) -> None:
        from .screens.help import HelpScreen  # Markdown: loaded when first asked for, not at start

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.command_bindings()))

    def action_show_pane(self, pane: str) -> None:
        screen = self.screen
        if isinstance(screen, MainScreen):
            screen.show_pane(pane)
            # After the refresh that shows the pane (a hidden widget takes no focus); lazy panes may not be there yet.
            self.call_after_refresh(lambda: [widget.focus() for widget in self.query(PANE_FOCUS[pane])[:1]])

    def action_rerun(self) -> None:
        if not self.form_ready("a run"):
            return
        if self._debounce is not None:
            self._debounce.stop()
        if not self.form_errors:
            self._start_run(reuse=False)  # again, on the device: not an earlier run's report

    def action_run_anyway(self) -> None:
        if self.served or not self.form_ready("a run"):
            return
        if self._refused is not None and self._refused == self.config:
            self._refused = None
            self._start_run(force=True)

    def action_expand_all(self) -> None:
        self.action_show_pane("tree")
        self.query_one(TraceTree).action_expand_all()

    def action_collapse_all(self) -> None:
        self.action_show_pane("tree")
        self.query_one(TraceTree).action_collapse_all()

    def action_copy_code(self) -> None:
        """The code pane's code, to the terminal's clipboard (OSC 52: over SSH too, where the terminal allows it)."""
        from ..core.code import pytorch_code

        code = pytorch_code(self.report.config, self.report)
        self.copy_to_clipboard(code)
        self.notify(
            f"copied the PyTorch code ({len(code.splitlines())} lines) to the clipboard "
            "(through the terminal: if nothing arrives, your terminal does not allow it)",
            timeout=6,
        )

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "run-anyway":
            self.action_run_anyway()


def along_estimate(fraction: float, estimate: tuple[float, float, float], now: float) -> tuple[float, float]:
    """(the fraction to show, seconds left) ``now``, for a run at ``fraction`` when its estimate came: it said it
    would reach ``target`` in ``seconds``. The bar moves at that pace, short of the target until the run says so."""
    since, seconds, target = estimate
    done = min((now - since) / seconds, 0.99) if seconds > 0 else 0.99
    return fraction + (target - fraction) * done, seconds - (now - since)


def quit_on_signals(exit_on_signal) -> None:
    """SIGTERM, SIGHUP (an SSH session closing) and SIGINT end the app as a quit does, the terminal restored,
    with the status a shell expects (128 + the signal): ``exit_on_signal(signum)`` stops the workers and exits.

    Installed as the app loads, before Textual takes the terminal over (until then the CLI's own handlers
    end the process: ``lifetime.end_on_signals``). An app that has not ended ``EXIT_GRACE_SECONDS`` after
    the signal (its terminal gone mid-start, say) is ended anyway: a signal never leaves it running."""
    from ..run.lifetime import exit_soon

    def on_signal(signum: int) -> None:
        exit_soon(128 + signum)
        exit_on_signal(signum)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such signal here
            pass


def make_app(
    config: GRUConfig | None = None, present: bool = False, follow: bool = False, *, snapshot_mode: bool = False
) -> GruTuiApp:
    """The one way the CLI, the tests and the screenshot script build the app."""
    return GruTuiApp(config, present=present, follow=follow, snapshot_mode=snapshot_mode)
