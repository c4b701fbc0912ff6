"""Every text a person types has a length cap with a message naming its field, never a crash (issue #9).

A whole number of more than 4,300 digits made Python's int() raise a ValueError that was not the
field's message: the explainer's input shape closed the app.
"""

from __future__ import annotations

import pytest
from app_helpers import settle
from textual.widgets import Input

from gru_tui.app import make_app
from gru_tui.core.config import MAX_FIELD_TEXT, ConfigError, parse_lengths, parse_number
from gru_tui.lessons.quiz import parse_shape

LONG = ("9" * 1_000_000, "1," * 500_000, " " * (MAX_FIELD_TEXT + 1))


@pytest.mark.parametrize("text", LONG)
def test_long_texts_are_refused_by_field(text):
    for parse, field in (
        (lambda t: parse_number("hidden_size", t), "hidden_size"),
        (parse_lengths, "lengths"),
        (lambda t: parse_shape(t, "input_shape"), "input_shape"),
    ):
        with pytest.raises(ConfigError) as refused:
            parse(text)
        assert refused.value.field == field and f"at most {MAX_FIELD_TEXT:,}" in refused.value.message


def test_the_longest_allowed_number_is_read_or_refused_as_a_number():
    with pytest.raises(ConfigError, match="hidden_size"):
        from gru_tui import GRUConfig

        GRUConfig(hidden_size=parse_number("hidden_size", "9" * MAX_FIELD_TEXT)).validate(check_device=False)


async def test_the_app_survives_megabytes_in_every_text_field():
    app = make_app(snapshot_mode=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for field in ("hidden_size", "lengths"):
            app.query_one(f"#{field}", Input).value = "9" * 1_000_000
            await pilot.pause()
            assert f"at most {MAX_FIELD_TEXT:,}" in app.form_errors[field]
            app.query_one(f"#{field}", Input).value = "32" if field == "hidden_size" else ""
            await pilot.pause()
        await settle(pilot)
        await pilot.press("f3")
        for key, fields in (("w", ["#explain-input"]), ("q", ["#predict-h_n", "#predict-output"])):
            await pilot.press(key)
            await settle(pilot)
            screen = app.screen
            for field in fields:
                screen.query_one(field, Input).value = "9" * 1_000_000
            screen.query_one(fields[-1], Input).focus()
            await pilot.press("enter")
            await pilot.pause()
            assert app.is_running and app.screen is screen
            assert f"at most {MAX_FIELD_TEXT:,}" in " ".join(str(w.render()) for w in screen.query("Static"))
            await pilot.press("escape")
            await pilot.pause()
