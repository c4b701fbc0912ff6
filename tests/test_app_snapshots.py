"""Snapshots of the app's screens (pytest-textual-snapshot). Review snapshot_report.html before --snapshot-update.

The app runs in snapshot mode (no timings, peak memory or cursor blink on screen)
and each picture is taken once the device run has landed, so it is the same on every run.
"""

import pytest

from app_helpers import settle
from gru_tui.app import make_app
from gru_tui.config import FIRST_EXAMPLE

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
