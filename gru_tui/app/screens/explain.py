"""The shape-error explainer: type a (wrong) input or h0 shape (and an LSTM's c0); the real module runs it, PyTorch's
own message is shown as it is, with what the shape broke and a fix that has been run too (``lessons.explain``)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from ...core.config import ConfigError, GRUConfig
from ...core.report import format_shape
from ...core.shapes import derive
from ...core.tree import gru_call
from ...lessons import parse_shape
from ..messages import Explained
from ..widgets.keys_footer import KeysFooter
from ..widgets.title_bar import TitleBar
from . import SCREENS_CSS

FIELDS = {"input_shape": "#explain-input", "h0_shape": "#explain-h0", "c0_shape": "#explain-c0"}


class ExplainScreen(Screen[None]):
    CSS_PATH = SCREENS_CSS
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="explain.back", tooltip="Back to the form"),
    ]

    def __init__(self, config: GRUConfig) -> None:
        super().__init__()
        self.config = config
        self._request: tuple | None = None
        self.result = ""  # what the explainer said, as plain text (what tests read)

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(
            Text(f"{gru_call(self.config)}: type the shapes you would pass; enter runs them", style="bold"), id="explain-config"
        )
        with Horizontal(id="explain-fields"):
            yield Label("input", classes="quiz-label")
            # The right shape to start from (a packed batch is explained on its padded tensor, as explain() runs it).
            right = derive(self.config.replace(lengths=None)).input.shape
            yield Input(
                format_shape(right), id="explain-input", compact=True, tooltip="The input tensor's shape, e.g. [35, 1, 10]"
            )
            yield Label("h0", classes="quiz-label")
            yield Input(placeholder="none", id="explain-h0", compact=True, tooltip="h0's shape; empty: no h0")
            # An LSTM's state is the pair (h0, c0): leave c0 empty to pass h0 alone, the mistake torch names hidden[1] for.
            c0 = (
                Label("c0", classes="quiz-label"),
                Input(
                    placeholder="none: h0 alone",
                    id="explain-c0",
                    compact=True,
                    tooltip="c0's shape: h0 and c0 are passed as the pair (h0, c0); empty: h0 alone",
                ),
            )
            for widget in c0:
                widget.display = self.config.kind.has_cell
                yield widget
            yield Button(
                "Run (enter)", id="explain-run", compact=True, tooltip=f"Run nn.{self.config.kind.module} on these shapes"
            )
        with VerticalScroll(id="explain-body"):
            yield Static("", id="explain-result")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#explain-h0", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.run_shapes()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "explain-run":
            event.stop()
            self.run_shapes()

    def run_shapes(self) -> None:
        try:
            input_shape = parse_shape(self.query_one("#explain-input", Input).value, "input_shape")
            h0_shape, c0_shape = (self._shape(name) for name in ("h0", "c0"))
        except ConfigError as error:
            self._show(f"{error.field}: {error.message}", error=True)
            return
        self._request = (self.config, input_shape, h0_shape, c0_shape)
        self._show(f"running nn.{self.config.kind.module}…", error=False)
        self.explain(self._request)

    def _shape(self, name: str) -> tuple[int, ...] | None:
        """h0's or c0's shape as typed; None when empty (c0's field is an LSTM's only)."""
        field = self.query_one(f"#explain-{name}", Input)
        text = field.value if field.display else ""
        return parse_shape(text, f"{name}_shape") if text.strip() else None

    def explain(self, request: tuple) -> None:
        self.app.runner.explain(request, self.post_message)

    def on_unmount(self) -> None:
        self.app.runner.cancel("explain")

    def on_explained(self, message: Explained) -> None:
        message.stop()
        if message.request != self._request:
            return  # an older run
        if message.explanation is None:
            where = f"{message.field}: " if message.field else ""
            self._show(f"{where}{message.error}", error=True)
            if message.field in FIELDS:
                self.query_one(FIELDS[message.field], Input).focus()
            return
        self._show("\n".join(message.explanation.lines()), error=not message.explanation.ran)

    def _show(self, text: str, error: bool) -> None:
        self.result = text
        result = self.query_one("#explain-result", Static)
        result.update(Text(text))
        result.set_class(error, "-wrong")
