"""Predict the shape: the tree without output and h_n (and an LSTM's c_n), a field for each, the grade and the score.

The question is traced on its device first (the expected shapes are torch's, never
the rules'); the fields take answers once it has landed. The first question is the
form's configuration; "next question" takes the session's next one (the presets, then
random small configurations).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from ...core.config import ConfigError, GRUConfig
from ...core.report import Report
from ...core.tree import gru_call
from ...lessons import QuizSession, grade_slices, quiz_tree, slice_question
from ...lessons.quiz import NEXT, SLICE_TARGET, SliceQuestion, questions, verdict
from ..messages import LessonTraced
from ..widgets.keys_footer import KeysFooter
from ..widgets.title_bar import TitleBar
from ..widgets.trace_tree import TraceTree
from . import SCREENS_CSS


class QuizScreen(Screen[None]):
    CSS_PATH = SCREENS_CSS
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="quiz.back", tooltip="Back to the form; the score is kept"),
        Binding("ctrl+n", "next_question", "Next question", id="quiz.next", tooltip="Ask about the next configuration"),
    ]

    def __init__(self, session: QuizSession, first: GRUConfig) -> None:
        super().__init__()
        self.session = session
        self._first = first
        self.report: Report | None = None  # the current question, traced
        self.feedback = ""  # the last grade, as plain text (what tests read)
        self.slices: SliceQuestion | None = None  # asked once the shapes are graded

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("", id="quiz-question")
        yield TraceTree(id="quiz-tree")
        with Horizontal(id="quiz-answers"):
            yield Label("output", classes="quiz-label")
            yield Input(
                placeholder="a shape, e.g. 3, 7, 16",
                id="predict-output",
                compact=True,
                tooltip="The output's shape (a PackedSequence's .data when packed)",
            )
            yield Label("h_n", classes="quiz-label")
            yield Input(placeholder="a shape", id="predict-h_n", compact=True, tooltip="h_n's shape")
            yield Label("c_n", classes="quiz-label", id="label-c_n")
            yield Input(placeholder="a shape", id="predict-c_n", compact=True, tooltip="An LSTM's c_n: its shape")
            yield Button("Next (ctrl+n)", id="quiz-next", compact=True, tooltip="Ask about the next configuration")
        with Horizontal(id="quiz-slices"):
            yield Label(f"which equal {SLICE_TARGET}?", classes="quiz-label")
            yield Input(
                placeholder="numbers, e.g. 2 or 1, 3; 0 for none",
                id="predict-slices",
                compact=True,
                tooltip="The numbers of the slices of output that torch.equal found equal to h_n[-1] on the run",
            )
        yield Static("", id="quiz-feedback")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.ask(self.session.ask(self._first))

    # -- questions -----------------------------------------------------------------
    def ask(self, config: GRUConfig) -> None:
        self.report = None
        self.feedback = ""
        self.slices = None
        self.query_one("#quiz-slices").display = False
        self.query_one("#quiz-feedback", Static).update("")
        for field in self.query(Input):
            field.value = ""
            field.disabled = True  # until torch has given the answer to compare with
        asked = "c_n" in questions(config)  # an LSTM's: its own field, beside h_n
        self.query_one("#label-c_n").display = self.query_one("#predict-c_n").display = asked
        self._show_question("tracing the question…")
        self.trace_question(config)

    def trace_question(self, config: GRUConfig) -> None:
        self.app.runner.trace_lesson("quiz", (config,), self.post_message)

    def on_unmount(self) -> None:
        self.app.runner.cancel("quiz")  # closed: nobody waits for the question's run

    def on_lesson_traced(self, message: LessonTraced) -> None:
        message.stop()
        if message.configs != (self.session.current,):
            return  # an older question's run
        if message.reports is None:
            self._show_question(f"could not run this question: {message.error}")
            return
        self.report = message.reports[0]
        self.query_one("#quiz-tree", TraceTree).show(quiz_tree(self.report))
        for field in self.query(Input):
            field.disabled = False
        self.query_one("#predict-output", Input).focus()
        names = questions(self.report.config)
        self._show_question(f"predict the shapes of {', '.join(names[:-1])} and {names[-1]}, then press enter")

    def _show_question(self, state: str) -> None:
        config = self.session.current
        assert config is not None
        score = f" · score {self.session.score}" if self.session.answered else ""  # none before a first answer
        text = Text(f"Question {self.session.asked}{score}\n", style="bold")
        text.append(f"{gru_call(config)} — {state}")
        self.query_one("#quiz-question", Static).update(text)

    # -- answers -------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "predict-slices":
            self.check_slices()
            return
        fields = [self.query_one(f"#predict-{name}", Input) for name in questions(self.session.current)]
        later = fields[fields.index(event.input) + 1 :] if event.input in fields else []
        empty = next((field for field in later if not field.value.strip()), None)
        if empty is not None:
            empty.focus()  # the next empty field, as a form would
            return
        self.check()

    def check(self) -> None:
        if self.report is None:
            return
        answers = [self.query_one(f"#predict-{name}", Input).value for name in questions(self.report.config)]
        try:
            result = self.session.answer(self.report, *answers)
        except ConfigError as error:
            self._show_feedback(f"{error.field}: {error.message}", correct=False)
            self.query_one(f"#predict-{error.field}", Input).focus()
            return
        self._show_feedback("\n".join(result.feedback()), correct=result.correct)
        self.query_one("#quiz-tree", TraceTree).show(self.report.tree())  # the answer, as torch gave it
        self.slices = slice_question(self.report)
        if self.slices is None:
            self._show_question(verdict(result.correct, NEXT))
            return
        self._show_question(verdict(result.correct, f"Now: {self.slices.prompt}"))
        self.query_one("#quiz-slices").display = True
        self.query_one("#predict-slices", Input).focus()

    def check_slices(self) -> None:
        """Which slices of output equal h_n[-1]: graded against torch.equal on this question's run."""
        if self.slices is None:
            return
        try:
            result = grade_slices(self.slices, self.query_one("#predict-slices", Input).value)
        except ConfigError as error:
            self._show_feedback(f"{error.field}: {error.message}", correct=False)
            return
        self._show_feedback("\n".join(result.feedback()), correct=result.correct)
        self._show_question(verdict(result.correct, NEXT))

    def _show_feedback(self, text: str, correct: bool) -> None:
        self.feedback = text
        panel = self.query_one("#quiz-feedback", Static)
        panel.update(Text(text))
        panel.set_class(correct, "-right")
        panel.set_class(not correct, "-wrong")

    def action_next_question(self) -> None:
        self.ask(self.session.next_config())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "quiz-next":
            event.stop()
            self.action_next_question()
