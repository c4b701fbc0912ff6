"""An nn.GRU / nn.LSTM / nn.RNN met inside a model: its configuration, its per-layer detail, its matmul mult-adds.

The configuration is read from the module's attributes and the input it received;
``shapes.derive`` gives the detail (no second forward), checked against the output measured.
"""

from __future__ import annotations

from typing import Any

from ..core.config import DTYPES, ConfigError, GRUConfig
from ..core.shapes import derive
from .report import Recurrent
from .values import batch_size_runs, dtype_name, packed_lengths, value_of

RECURRENT_MODES = {"GRU": ("gru", "tanh"), "LSTM": ("lstm", "tanh"), "RNN_TANH": ("rnn", "tanh"), "RNN_RELU": ("rnn", "relu")}
GATES = {"GRU": 3, "LSTM": 4, "RNN_TANH": 1, "RNN_RELU": 1}


def is_recurrent(module) -> bool:
    """An nn.GRU, nn.LSTM or nn.RNN (or a subclass): the modules whose per-layer detail the tree opens."""
    import torch

    return isinstance(module, torch.nn.RNNBase) and getattr(module, "mode", None) in RECURRENT_MODES


def input_of(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """A recurrent module's (input, hx) from its call's arguments."""
    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    return x, hx


def module_config(module, x, hx) -> GRUConfig:
    """The GRUConfig of an nn.GRU / nn.LSTM / nn.RNN and the input it received (a tensor or a PackedSequence)."""
    import torch
    from torch.nn.utils.rnn import PackedSequence

    mode, nonlinearity = RECURRENT_MODES[module.mode]
    values: dict[str, Any] = dict(
        mode=mode,
        input_size=module.input_size,
        hidden_size=module.hidden_size,
        num_layers=module.num_layers,
        bias=bool(module.bias),
        batch_first=bool(module.batch_first),
        dropout=float(module.dropout),
        bidirectional=bool(module.bidirectional),
        proj_size=int(getattr(module, "proj_size", 0) or 0),
        nonlinearity=nonlinearity,
        with_h0=hx is not None,
    )
    data = x.data if isinstance(x, PackedSequence) else x
    if isinstance(data, torch.Tensor):
        dtype = dtype_name(data)
        values["dtype"] = dtype if dtype in DTYPES else "float32"
        values["device"] = str(data.device)
    if isinstance(x, PackedSequence):
        unsorted = x.unsorted_indices.tolist() if x.unsorted_indices is not None else None
        lengths = packed_lengths(batch_size_runs(x.batch_sizes), unsorted)
        values.update(lengths=lengths, batch_size=len(lengths), seq_len=max(lengths))
    elif isinstance(x, torch.Tensor) and x.dim() == 2:
        values.update(unbatched=True, seq_len=x.shape[0], batch_size=1)
    elif isinstance(x, torch.Tensor) and x.dim() == 3:
        batch, seq = (x.shape[0], x.shape[1]) if module.batch_first else (x.shape[1], x.shape[0])
        values.update(batch_size=batch, seq_len=seq)
    return GRUConfig(**values).validate(check_device=False)


def recurrent_detail(module, args, kwargs, output) -> Recurrent:
    """The per-layer detail of a recurrent module that ran: derived from its configuration, checked against its output."""
    x, hx = input_of(args, kwargs)
    config = module_config(module, x, hx)
    report = derive(config)
    out, state = output
    h_n, c_n = state if isinstance(state, tuple) else (state, None)
    measured = [value_of(out).shape, tuple(h_n.shape)] + ([tuple(c_n.shape)] if c_n is not None else [])
    derived_out = report.output.data.shape if config.packed else report.output.shape
    derived = [derived_out, report.h_n.shape] + ([report.c_n.shape] if report.c_n is not None else [])
    names = "output, h_n and c_n" if c_n is not None else "output and h_n"
    if measured != derived:
        raise ConfigError("shapes", f"the rules give {names} {derived}, the forward gave {measured}")
    return Recurrent(config, report, f"{names} as derived from the module's configuration equal the forward's")


def recurrent_macs(module, x) -> int:
    """The matmul mult-adds of one call, as FlopCounterMode counts them with oneDNN off (each step's products, per layer and direction).

    Each step of each layer and direction multiplies its input by W_ih, its state by W_hh and,
    with proj_size, the hidden state by W_hr; a packed input runs sum(lengths) steps in all.
    """
    import torch
    from torch.nn.utils.rnn import PackedSequence

    if isinstance(x, PackedSequence):
        steps = int(x.data.shape[0])
    elif isinstance(x, torch.Tensor) and x.dim() in (2, 3):
        steps = x.shape[0] * (x.shape[1] if x.dim() == 3 else 1)
    else:
        return 0
    hidden, proj = module.hidden_size, int(getattr(module, "proj_size", 0) or 0)
    state = proj or hidden
    gates = GATES[module.mode] * hidden
    directions = 2 if module.bidirectional else 1
    total = 0
    for layer in range(module.num_layers):
        features = module.input_size if layer == 0 else directions * state
        total += directions * steps * (features * gates + state * gates + (hidden * proj if proj else 0))
    return total
