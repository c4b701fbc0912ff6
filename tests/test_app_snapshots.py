"""Snapshots of the app's screens (pytest-textual-snapshot). Review snapshot_report.html before --snapshot-update.

The app runs in snapshot mode (no timings, peak memory or cursor blink on screen)
and each picture is taken once the device run has landed, so it is the same on every run.
"""

from pathlib import Path

import pytest
from app_helpers import settle

from gru_tui.app import make_app
from gru_tui.core.config import FIRST_EXAMPLE

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
pytestmark = pytest.mark.usefixtures("shared_pool")  # one torch-loaded worker pool for the file's apps (conftest.py)


def test_main_screen_80x24(snap_compare):
    assert snap_compare(make_app(snapshot_mode=True), terminal_size=(80, 24), run_before=settle)


def test_tree_tab_80x24(snap_compare):
    async def tree_tab(pilot):
        await settle(pilot)
        await pilot.press("f3")

    assert snap_compare(make_app(snapshot_mode=True), terminal_size=(80, 24), run_before=tree_tab)


def test_main_screen_120x40(snap_compare):
    assert snap_compare(make_app(snapshot_mode=True), terminal_size=(120, 40), run_before=settle)


def test_bidirectional_two_layers_expanded_120x40(snap_compare):
    config = FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True)

    async def expanded(pilot):
        await settle(pilot)
        await pilot.press("f3", "e")

    assert snap_compare(make_app(config, snapshot_mode=True), terminal_size=(120, 40), run_before=expanded)


def test_invalid_field_80x24(snap_compare):
    async def invalid(pilot):
        await settle(pilot)
        await pilot.press("tab", "0")  # hidden_size, its text selected on focus, becomes 0

    assert snap_compare(make_app(snapshot_mode=True), terminal_size=(80, 24), run_before=invalid)


# Issue #21's states: nothing cut at 80 columns, and the same states at 120x40.
LSTM_PACKED = FIRST_EXAMPLE.replace(
    mode="lstm", hidden_size=64, proj_size=16, num_layers=3, bidirectional=True, batch_size=3, lengths=(7, 5, 2)
)


async def _export_dialog_over_the_tree(pilot):
    await settle(pilot)
    await pilot.press("f3", "x")
    await pilot.pause()
    pilot.app.screen.query_one("#save-path").cursor_blink = False  # the same picture every time
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_lstm_packed_export_dialog_over_the_tree(snap_compare, size):
    """The footer under the dialog keeps whole keys; the strip keeps `c_n [6, 3, 64]` on one line."""
    assert snap_compare(make_app(LSTM_PACKED, snapshot_mode=True), terminal_size=size, run_before=_export_dialog_over_the_tree)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_code_pane_wraps_long_lines(snap_compare, size):
    async def code_pane(pilot):
        await settle(pilot)
        await pilot.press("f5")
        await pilot.pause()

    config = LSTM_PACKED.replace(dropout=0.5)
    assert snap_compare(make_app(config, snapshot_mode=True), terminal_size=size, run_before=code_pane)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_model_error_panel_shows_the_fix_first(snap_compare, size):
    from gru_tui.app.model_app import make_model_app
    from gru_tui.model import model_spec

    async def traced(pilot):
        while pilot.app.traces == 0:  # a wait for the worker's answer, not a timing
            await pilot.pause(0.05)
        await pilot.pause()

    spec = model_spec(str(EXAMPLES / "classifier_bug.py") + ":make_model", ["4x35:int64"])
    assert snap_compare(make_model_app(spec, watch=False, snapshot_mode=True), terminal_size=size, run_before=traced)
