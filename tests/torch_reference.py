"""Plain torch, for the tests: what nn.GRU itself gives for a configuration."""

import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from gru_tui import GRUConfig


def run_gru(c: GRUConfig):
    """What plain torch gives for the configuration: (output or packed output, h_n, named parameter shapes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gru = nn.GRU(
            c.input_size, c.hidden_size, c.num_layers, bias=c.bias, batch_first=c.batch_first,
            dropout=c.dropout, bidirectional=c.bidirectional, dtype=getattr(torch, c.dtype), device=c.device,
        )
    D = 2 if c.bidirectional else 1
    dtype = getattr(torch, c.dtype)
    if c.unbatched:
        x = torch.randn(c.seq_len, c.input_size, dtype=dtype, device=c.device)
    elif c.batch_first:
        x = torch.randn(c.batch_size, c.seq_len, c.input_size, dtype=dtype, device=c.device)
    else:
        x = torch.randn(c.seq_len, c.batch_size, c.input_size, dtype=dtype, device=c.device)
    if c.lengths is not None:
        x = pack_padded_sequence(x, torch.tensor(c.lengths), batch_first=c.batch_first, enforce_sorted=False)
    h0 = None
    if c.with_h0:
        shape = (D * c.num_layers, c.hidden_size) if c.unbatched else (D * c.num_layers, c.batch_size, c.hidden_size)
        h0 = torch.randn(shape, dtype=dtype, device=c.device)
    with torch.no_grad():
        out, h_n = gru(x, h0)
    return out, h_n, {name: list(p.shape) for name, p in gru.named_parameters()}


def torch_shapes(c: GRUConfig) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(output, h_n) shapes as torch gives them; a PackedSequence's output is its data."""
    out, h_n, _params = run_gru(c)
    out = out.data if c.lengths is not None else out
    return tuple(out.shape), tuple(h_n.shape)
