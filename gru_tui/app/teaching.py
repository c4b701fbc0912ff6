"""The app's teaching side: presets, quiz, compare, the shape-error explainer, handouts, saving, follow mode.

A mixin for GruTuiApp: the lesson core (``gru_tui.lessons``, ``handout``, ``files``,
``follow``) does the work; this wires it to keys, screens and the form. Presets and
the presenter's configuration reach the form through ``ConfigForm.load``, so they
take the same path as an edit typed by hand (derived tree at once, then the device run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.widgets import Static

from ..core.config import GRUConfig
from ..lessons import PRESETS, Preset

if TYPE_CHECKING:
    from ..lessons import QuizSession
from .screens.main import MainScreen
from .widgets.form import ConfigForm

FOLLOW_BANNER = "following the presenter — read-only"

# Keys 1-9 and 0 load the presets that have one (the rest are in the command palette, GruTuiCommands);
# letters work outside text fields (and from whole-number fields).
LESSON_BINDINGS = [
    *(
        Binding(
            preset.key,
            f"load_preset('{preset.id}')",
            f"Load preset: {preset.title}",
            id=f"preset.{preset.id}",
            show=False,
            tooltip=preset.description,
        )
        for preset in PRESETS.values()
        if preset.key
    ),
    Binding("q", "quiz", "Quiz", id="quiz", tooltip="Predict the output and h_n shapes; the app grades them and keeps score"),
    Binding(
        "a",
        "pin",
        "Pin as A",
        id="compare.pin_a",
        show=False,
        tooltip="Keep the form's configuration as A, to compare with what the form shows next",
    ),
    Binding("v", "compare", "Compare", id="compare", tooltip="The pinned A beside the form's B, every differing shape marked"),
    Binding(
        "w",
        "explain",
        "Why error?",
        id="explain",
        show=False,
        tooltip="Shape-error explainer: run wrong input or h0 shapes, see PyTorch's message and the fix",
    ),
    Binding(
        "x,ctrl+s",
        "export",
        "Export",
        id="export",
        show=False,
        tooltip="Write the lesson as a handout: Markdown, JSON or an SVG screenshot",
    ),
    Binding(
        "s",
        "save_config",
        "Save config",
        id="save_config",
        show=False,
        tooltip="Save the configuration as TOML (gru-tui --config FILE loads it)",
    ),
]

TEACHING_ACTIONS = {binding.action.split("(")[0] for binding in LESSON_BINDINGS}


def preset_of(config: GRUConfig) -> Preset | None:
    """The preset a configuration is (on whatever device), if any."""
    for preset in PRESETS.values():
        if preset.config == config.replace(device=preset.config.device):
            return preset
    return None


class TeachingMixin:
    """Needs the app's ``config``, ``report``, ``present``, ``follow`` and ``query_one``."""

    pinned: GRUConfig | None = None  # the A of compare
    quiz_session: QuizSession | None = None  # one per app run: the score is the session's
    _publisher = None
    _follower = None

    # -- hooks the app calls --------------------------------------------------------
    def start_teaching(self) -> None:
        """After the first frame: the presenter publishes, a follower starts polling, read-only."""
        from ..share import follow

        if self.present:
            self._publisher = follow.Publisher()
            self._publish()
        if self.follow:
            self._follower = follow.Follower()
            self.query_one(ConfigForm).set_read_only(True)
            self.screen.mount(Static(FOLLOW_BANNER, id="follow-banner"), before="#summary-strip")
            self.set_interval(follow.POLL_SECONDS, self._poll_presenter, name="follow")
            self._poll_presenter()

    def config_shown(self) -> None:
        """A new valid configuration is on screen: name its preset, tell the followers."""
        preset = preset_of(self.config)
        role = " · following" if self.follow else " · presenting" if self.present else ""
        self.title = f"gru-tui{role}" + (f" · {preset.title}" if preset else "")
        self._publish()

    def _publish(self) -> None:
        if self._publisher is None:
            return
        try:
            self._publisher.publish(self.config)
        except OSError as error:  # the lesson goes on; the log says why followers do not see it
            self._log(f"follow: could not publish to {self._publisher.path}: {error.strerror or error}")

    def _poll_presenter(self) -> None:
        before = self._follower.last_error
        config = self._follower.poll()
        if config is not None and config != self.config:
            self.query_one(ConfigForm).load(config)
        reason = self._follower.last_error
        if reason and reason != before:  # once, as the log says it: the follower keeps what it shows
            self.notify(reason, title="ignored the presenter's file", severity="warning", timeout=10, markup=False)

    # -- actions --------------------------------------------------------------------
    def action_load_preset(self, preset_id: str) -> None:
        preset = PRESETS[preset_id]
        self.query_one(ConfigForm).load(preset.config.replace(device=self.config.device))
        self.query_one("#trace-tree").scroll_home(animate=False)  # a new example is read from its top
        self.notify(preset.description, title=f"Preset: {preset.title}", timeout=4)

    def action_quiz(self) -> None:
        from .screens.quiz import QuizScreen

        if not self.form_ready("the quiz"):
            return
        if self.quiz_session is None:
            from ..lessons import QuizSession  # the quiz's core: loaded when first asked for

            self.quiz_session = QuizSession()
        self.push_screen(QuizScreen(self.quiz_session, self.config))

    def action_pin(self) -> None:
        if not self.form_ready("pinning A"):
            return
        self.pinned = self.config
        self.notify("Change the form, then press v to compare it with A.", title="Pinned as A", timeout=4)

    def action_compare(self) -> None:
        if not self.form_ready("compare"):
            return
        if self.pinned is None:
            self.action_pin()
            return
        from .screens.compare import CompareScreen

        self.push_screen(CompareScreen(self.pinned, self.config))

    def action_explain(self) -> None:
        from .screens.explain import ExplainScreen

        if not self.form_ready("the explainer"):
            return
        self.push_screen(ExplainScreen(self.config))

    def action_export(self) -> None:
        from ..lessons.handout import FORMATS, handout_text
        from .screens.save import SaveDialog

        if not self.form_ready("the handout"):
            return
        report = self.report  # the lesson as it is now, before the dialog covers the screen
        screenshot = self.export_screenshot()

        def render(fmt: str) -> str:
            return handout_text(report, fmt, screenshot)

        title = "Download the lesson as a handout" if self.served else "Export the lesson as a handout"
        self.push_screen(SaveDialog(title, "gru-lesson.md", render, FORMATS, download=self.served), self._saved)

    def action_save_config(self) -> None:
        from ..core.files import config_toml
        from .screens.save import SaveDialog

        if not self.form_ready("saving"):
            return
        config = self.config
        title = f"{'Download' if self.served else 'Save'} the configuration (TOML; gru-tui --config FILE loads it)"
        self.push_screen(SaveDialog(title, "gru.toml", lambda _fmt: config_toml(config), download=self.served), self._saved)

    @property
    def served(self) -> bool:
        """Served to a browser (gru-tui serve): files go to the browser as downloads, never onto the server."""
        from ..share.served import served_to_browser

        return served_to_browser()

    def _saved(self, done: str | None) -> None:
        if done is not None:
            self.notify(done, title="Download" if self.served else "Saved", timeout=4)
            self._log(f"{'download' if self.served else 'saved'}: {done}")

    def check_teaching_action(self, action: str) -> bool:
        """Lessons open from the main screen (not one over the other); a follower's form is the presenter's: no presets."""
        if action not in TEACHING_ACTIONS:
            return True
        return isinstance(self.screen, MainScreen) and not (self.follow and action == "load_preset")
