"""What is typed is what is used (issue #14): every key lands in its field, a text that is not a value is
refused with its own message, every bad field says so at once, and nothing runs on an older configuration."""

from __future__ import annotations

import pytest
from app_helpers import settle, type_into
from textual.widgets import Input

from gru_tui.app import make_app
from gru_tui.app.screens.main import MainScreen
from gru_tui.app.widgets.note_line import NoteLine
from gru_tui.app.widgets.trace_tree import TraceTree
from gru_tui.core.config import FIRST_EXAMPLE

pytestmark = pytest.mark.usefixtures("shared_pool")  # one torch-loaded worker pool for the file's apps (conftest.py)


def error_of(app, field: str) -> str:
    rows = app.query(f"#{field}-error")
    return str(rows.first().render()) if rows and rows.first().display else ""


@pytest.mark.parametrize(
    "field, text, was",
    [
        ("hidden_size", "3.5", 35),  # the . was dropped
        ("hidden_size", "1e9", 19),  # and e expanded the tree
        ("input_size", "1a2", 12),  # and a pinned A
        ("seq_len", "0x10", 10),  # and x opened the export dialog
        ("dropout", "3,5", 35.0),
    ],
)
async def test_a_number_field_keeps_every_key_and_refuses_text_that_is_not_a_number(field, text, was):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree_lines = len(app.query_one(TraceTree).labels())
        await type_into(pilot, field, text)
        await settle(pilot)
        assert app.query_one(f"#{field}", Input).value == text  # nothing dropped
        assert f"got {text!r}" in error_of(app, field)
        assert app.stale and getattr(app.config, field) != was  # the tree is not for a value nobody typed
        # No letter reached the app's keys: no dialog, no pin, the tree as it was.
        assert isinstance(app.screen, MainScreen) and app.pinned is None
        assert len(app.query_one(TraceTree).labels()) == tree_lines


async def test_a_letter_in_a_number_field_says_where_the_letter_keys_work():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "input_size", "q")
        assert "keys such as q work outside the form" in error_of(app, "input_size")


@pytest.mark.parametrize("text, was", [("7,,5", (7, 5)), ("7 5 2", (752,)), ("7;5", None)])
async def test_lengths_are_whole_numbers_between_commas_and_nothing_else(text, was):
    app = make_app(FIRST_EXAMPLE.replace(seq_len=7))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "lengths", text)
        await settle(pilot)
        assert "whole numbers separated by commas" in error_of(app, "lengths")
        assert app.stale and app.config.lengths != was


async def test_lengths_longer_than_seq_len_leave_batch_size_alone():
    app = make_app(FIRST_EXAMPLE.replace(seq_len=7))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "lengths", "9,5,2")
        await settle(pilot)
        assert "from 1 to seq_len (7)" in error_of(app, "lengths")
        assert app.query_one("#batch_size", Input).value == "1"  # invalid lengths leave batch_size alone
        await type_into(pilot, "lengths", "7, 5, 2")  # a space after a comma is fine
        await settle(pilot)
        assert app.query_one("#batch_size", Input).value == "3" and not app.stale
        assert app.config.lengths == (7, 5, 2)


async def test_every_invalid_field_shows_its_own_message_at_once():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "input_size", "")
        await type_into(pilot, "hidden_size", "0")
        await type_into(pilot, "num_layers", "-1")
        await type_into(pilot, "dropout", "1.5")
        assert "empty" in error_of(app, "input_size")
        assert "1 or more" in error_of(app, "hidden_size")
        assert "1 or more" in error_of(app, "num_layers")
        assert "[0, 1]" in error_of(app, "dropout")
        assert set(app.form_errors) == {"input_size", "hidden_size", "num_layers", "dropout"}
        await type_into(pilot, "hidden_size", "32")  # fixing one clears its message only
        assert not error_of(app, "hidden_size") and error_of(app, "num_layers")


async def test_actions_that_need_a_valid_form_say_what_to_fix_instead_of_using_an_older_configuration(tmp_path):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "hidden_size", "0")
        await settle(pilot)
        await pilot.press("f3")  # the tree: letter keys are the app's there
        for key in ("s", "x", "q", "w", "a", "v", "ctrl+r"):  # ctrl+g is not even offered
            app.query_one(NoteLine).clear()
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, MainScreen), key  # no dialog, no lesson screen on the old configuration
            assert "fix hidden_size first" in app.query_one(NoteLine).plain, key
        assert app.pinned is None and app.report.config == FIRST_EXAMPLE and app.stale
