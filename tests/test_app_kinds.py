"""The app's form with the three kinds: the kind is the first choice, and only the fields that apply are shown.

Every expected shape comes from torch (``run_module``) or from the tracing core run on the same
configuration (``trace``), never from a literal.
"""

from __future__ import annotations

import pytest
from app_helpers import open_quiz, settle, type_into
from textual.widgets import Input
from torch_reference import run_module

from gru_tui import trace
from gru_tui.app import make_app
from gru_tui.app.widgets.choice import Choice
from gru_tui.core.config import FIRST_EXAMPLE
from gru_tui.core.report import format_shape

pytestmark = pytest.mark.usefixtures("shared_pool")  # one torch-loaded worker pool for the file's apps (conftest.py)


def shown(app, field: str) -> bool:
    return app.query_one(f"#{field}").display


async def test_the_kind_is_the_first_choice_and_picking_lstm_shows_proj_size():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        form = app.query_one("#form-column")
        first = next(w for w in form.query("Input, Switch, Choice"))
        assert first.id == "mode" and first.value == "gru"
        assert not shown(app, "proj_size") and not shown(app, "nonlinearity")
        mode = app.query_one("#mode", Choice)
        mode.focus()
        await pilot.press("enter", "l", "s", "enter")  # typed letters jump to nn.LSTM
        await settle(pilot)
        assert shown(app, "proj_size") and not shown(app, "nonlinearity")
        await type_into(pilot, "proj_size", "8")
        await settle(pilot)
        config = FIRST_EXAMPLE.replace(mode="lstm", proj_size=8)
        assert app.config == config and not app.report.derived
        assert app.report.shapes() == trace(config).shapes()
        _out, h_n, c_n, _params = run_module(config)
        strip = app.query_one("#summary-strip").plain
        assert f"h_n {format_shape(tuple(h_n.shape))}" in strip and f"c_n {format_shape(tuple(c_n.shape))}" in strip


async def test_switching_away_from_lstm_keeps_its_proj_size_for_later_and_refuses_nothing():
    config = FIRST_EXAMPLE.replace(mode="lstm", proj_size=8)
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.config == config and shown(app, "proj_size")
        mode = app.query_one("#mode", Choice)
        mode.focus()
        await pilot.press("enter", "r", "n", "n", "enter")
        await settle(pilot)
        # proj_size is hidden and not read: the RNN gets its default, not an error on a field no one sees
        assert app.config == FIRST_EXAMPLE.replace(mode="rnn") and not shown(app, "proj_size") and shown(app, "nonlinearity")
        assert "c_n" not in app.query_one("#summary-strip").plain
        nonlinearity = app.query_one("#nonlinearity", Choice)
        nonlinearity.focus()
        await pilot.press("enter", "r", "e", "enter")
        await settle(pilot)
        assert app.config == FIRST_EXAMPLE.replace(mode="rnn", nonlinearity="relu")
        assert any("relu(" in label for label in app.query_one("#trace-tree").labels())
        mode.focus()
        await pilot.press("enter", "l", "s", "enter")
        await settle(pilot)
        assert app.config == config and app.query_one("#proj_size", Input).value == "8"


async def test_a_proj_size_torch_refuses_is_named_under_its_field():
    app = make_app(FIRST_EXAMPLE.replace(mode="lstm"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "proj_size", str(FIRST_EXAMPLE.hidden_size))
        await settle(pilot)
        message = str(app.query_one("#proj_size-error").render())
        assert "smaller than hidden_size" in message
        typed = str(FIRST_EXAMPLE.hidden_size)
        # the last good tree stays: the one for the text before the last key (3 of 32)
        assert app.report.config == FIRST_EXAMPLE.replace(mode="lstm", proj_size=int(typed[:-1]))


async def test_a_preset_without_a_key_loads_from_the_command_palette():
    from textual.command import CommandPalette

    from gru_tui.lessons import PRESETS

    preset = next(p for p in PRESETS.values() if not p.key)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*f"Load preset: {preset.title}")
        await pilot.pause(0.3)  # the palette searches in the background; this waits, it asserts no timing
        await pilot.press("enter")
        await settle(pilot)
        assert app.config == preset.config and preset.title in app.title


async def test_the_quiz_asks_for_c_n_beside_h_n_for_an_lstm_and_grades_it():
    from gru_tui.lessons import PRESETS

    config = PRESETS["lstm-proj"].config
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_quiz(pilot)
        assert screen.query_one("#predict-c_n").display
        out, h_n, c_n, _params = run_module(config)
        wrong_c_n = (*c_n.shape[:-1], config.proj_size)  # projected, as h_n is: the usual mistake
        screen.query_one("#predict-output", Input).focus()
        # enter moves to the next empty field, the last one grades
        await pilot.press(
            *format_shape(tuple(out.shape)), "enter", *format_shape(tuple(h_n.shape)), "enter", *format_shape(wrong_c_n), "enter"
        )
        await pilot.pause()
        assert "c_n: you wrote" in screen.feedback and "never the cell state" in screen.feedback
        assert "output: " in screen.feedback and "h_n: " in screen.feedback


async def test_the_explainer_names_h0_alone_where_an_lstm_takes_the_pair():
    import torch
    from test_app_lessons import screen_settled
    from torch_reference import build

    from gru_tui.app.screens.explain import ExplainScreen

    config = FIRST_EXAMPLE.replace(mode="lstm", num_layers=2)
    app = make_app(config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "w")
        await screen_settled(pilot)
        screen = app.screen
        assert isinstance(screen, ExplainScreen) and screen.query_one("#explain-c0").display
        _out, h_n, c_n, _params = run_module(config.replace(with_h0=True))
        try:  # torch's own words for h0 alone, computed here
            build(config)(torch.zeros(1, config.seq_len, config.input_size), torch.zeros(h_n.shape))
        except Exception as error:
            torch_message = str(error)
        await pilot.press(*format_shape(tuple(h_n.shape)), "enter")  # h0 typed, c0 left empty
        for _ in range(600):  # the run may go to another process: wait for its answer (a bound, not a timing)
            await screen_settled(pilot)
            if not screen.result.startswith("running"):
                break
            await pilot.pause(0.05)
        assert torch_message in screen.result and "the pair (h0, c0)" in screen.result
        assert f"(h0, c0) ({format_shape(tuple(h_n.shape))}, {format_shape(tuple(c_n.shape))})" in screen.result
        assert "Checked: nn.LSTM runs it" in screen.result


async def test_compare_a_gru_with_an_lstm_lists_c_n_and_the_parameter_counts():
    from test_app_lessons import screen_settled

    from gru_tui.app.screens.compare import CompareScreen
    from gru_tui.lessons import summary_differences

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "a")  # pin the GRU as A
        mode = app.query_one("#mode", Choice)
        mode.focus()
        await pilot.press("enter", "l", "s", "enter")
        await settle(pilot)
        await pilot.press("f3", "v")
        await screen_settled(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert "c_n" in screen.marked["b"] and "c_n" not in screen.marked["a"]
        text = str(screen.query_one("#compare-differences").render())
        a, b = trace(FIRST_EXAMPLE), trace(FIRST_EXAMPLE.replace(mode="lstm"))
        (label, count_a, count_b), *_ = summary_differences(a, b)
        assert label == "parameters" and f"{count_a:,}" in text and f"{count_b:,}" in text
        assert "mode: gru → lstm" in str(screen.query_one("#compare-configs").render())
