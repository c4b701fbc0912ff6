"""Shared by the app's pilot, snapshot and terminal tests."""

from __future__ import annotations

import warnings

import torch
from torch import nn
from textual.pilot import Pilot
from textual.widgets import Input

from gru_tui.app.pilot import settle  # noqa: F401  (the tests import it from here)
from gru_tui.config import GRUConfig
from gru_tui.report import format_shape


async def type_into(pilot: Pilot, field: str, text: str) -> None:
    """Put the cursor in a form field the way a person does (focus selects its text) and type over it."""
    widget = pilot.app.query_one(f"#{field}", Input)
    widget.focus()
    await pilot.pause()
    widget.select_all()
    await pilot.press(*(text or ["backspace"]))


def torch_shapes(c: GRUConfig) -> tuple[str, str]:
    """output and h_n shapes of plain nn.GRU for the configuration, written as the app writes them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gru = nn.GRU(c.input_size, c.hidden_size, c.num_layers, bias=c.bias, batch_first=c.batch_first,
                     dropout=c.dropout, bidirectional=c.bidirectional)
    D = 2 if c.bidirectional else 1
    if c.unbatched:
        x = torch.randn(c.seq_len, c.input_size)
    elif c.batch_first:
        x = torch.randn(c.batch_size, c.seq_len, c.input_size)
    else:
        x = torch.randn(c.seq_len, c.batch_size, c.input_size)
    h0 = None
    if c.with_h0:
        h0 = torch.randn((D * c.num_layers, c.hidden_size) if c.unbatched else (D * c.num_layers, c.batch_size, c.hidden_size))
    with torch.no_grad():
        out, h_n = gru(x, h0)
    return format_shape(tuple(out.shape)), format_shape(tuple(h_n.shape))
