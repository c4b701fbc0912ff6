"""Plain torch, for the tests: what nn.GRU, nn.LSTM or nn.RNN itself gives for a configuration."""

import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from gru_tui import GRUConfig

MODULES = {"gru": nn.GRU, "lstm": nn.LSTM, "rnn": nn.RNN}  # written out here, not read from gru_tui's kinds


def build(c: GRUConfig, **overrides) -> nn.Module:
    """The module as a person writes it for the configuration (each kind's own argument only where it applies)."""
    own = {"lstm": {"proj_size": c.proj_size}, "rnn": {"nonlinearity": c.nonlinearity}}.get(c.mode, {})
    args = dict(
        bias=c.bias,
        batch_first=c.batch_first,
        dropout=c.dropout,
        bidirectional=c.bidirectional,
        dtype=getattr(torch, c.dtype),
        device=c.device,
        **own,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MODULES[c.mode](c.input_size, c.hidden_size, c.num_layers, **{**args, **overrides})


def run_module(c: GRUConfig):
    """What plain torch gives: (output or packed output, h_n, c_n or None, named parameter shapes)."""
    module = build(c)
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
    hx = None
    if c.with_h0:

        def state(size):
            shape = (D * c.num_layers, size) if c.unbatched else (D * c.num_layers, c.batch_size, size)
            return torch.randn(shape, dtype=dtype, device=c.device)

        h_size = c.proj_size if c.mode == "lstm" and c.proj_size else c.hidden_size
        hx = (state(h_size), state(c.hidden_size)) if c.mode == "lstm" else state(h_size)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LSTM with projections warns that oneDNN does not take them
        out, final = module(x, hx)
    h_n, c_n = final if c.mode == "lstm" else (final, None)
    return out, h_n, c_n, {name: list(p.shape) for name, p in module.named_parameters()}


def torch_shapes(c: GRUConfig) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(output, h_n) shapes as torch gives them; a PackedSequence's output is its data."""
    out, h_n, _c_n, _params = run_module(c)
    out = out.data if c.lengths is not None else out
    return tuple(out.shape), tuple(h_n.shape)
