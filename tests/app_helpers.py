"""Shared by the app's pilot, snapshot and terminal tests."""

from __future__ import annotations

import torch_reference
from textual.pilot import Pilot
from textual.widgets import Input

from gru_tui.app.pilot import settle  # noqa: F401  (the tests import it from here)
from gru_tui.core.config import GRUConfig
from gru_tui.core.report import format_shape


async def type_into(pilot: Pilot, field: str, text: str) -> None:
    """Put the cursor in a form field the way a person does (focus selects its text) and type over it."""
    widget = pilot.app.query_one(f"#{field}", Input)
    widget.focus()
    await pilot.pause()
    widget.select_all()
    await pilot.press(*(text or ["backspace"]))


def torch_shapes(c: GRUConfig) -> tuple[str, str]:
    """output and h_n shapes of plain nn.GRU for the configuration, written as the app writes them."""
    output, h_n = torch_reference.torch_shapes(c)
    return format_shape(output), format_shape(h_n)


def screen_lines(app) -> list[str]:
    """The screen as plain text, one string a row: what a person sees."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


async def open_quiz(pilot: Pilot):
    """From the app's first screen: wait for its run, open the quiz from the tree (f3, q), wait for the question's run."""
    await settle(pilot)
    await pilot.press("f3", "q")
    await settle(pilot)
    return pilot.app.screen
