"""The PyTorch code a learner would write for a configuration, the way the original write-up teaches it.

Shared by the app's code pane, the handouts and the CLI; the tests run it with
torch and compare what it prints with the report.
"""

from __future__ import annotations

from .config import GRUConfig
from .report import Packed, Report, format_shape
from .results import Results, using_results
from .shapes import derive
from .tree import gru_call


def pytorch_code(config: GRUConfig, report: Report | None = None) -> str:
    """Runnable code building the module (GRU, LSTM or RNN), its input and initial state, running it, printing the shapes.

    The expected shapes are written as comments, from ``report`` (measured) when
    given, else from the rules.
    """
    c = config
    report = report or derive(config)
    lines = ["import torch", "from torch import nn"]
    if c.packed:
        lines.append("from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence")
    device = f', device="{c.device}"' if c.device != "cpu" else ""
    dtype = f", dtype=torch.{c.dtype}" if c.dtype != "float32" else ""
    name = c.mode  # the module's variable: gru, lstm or rnn
    lines += ["", f"{name} = {gru_call(c)[:-1]}{device}{dtype})"]

    inp = report.input
    padded_input = inp.padded if isinstance(inp, Packed) else inp
    lines.append(f"x = torch.randn({', '.join(map(str, padded_input.shape))}{device}{dtype})  # {_dims(padded_input)}")
    if c.packed:
        lines.append(
            f"x = pack_padded_sequence(x, torch.tensor({list(c.lengths or ())}), "
            f"batch_first={c.batch_first}, enforce_sorted=False)"
        )
    # An LSTM's state is the pair (h, c), in and out; a tensor alone where the pair belongs is torch's error.
    states = [("h0", report.h0), ("c0", report.c0)]
    for state, t in states:
        if t is not None:
            lines.append(f"{state} = torch.randn({', '.join(map(str, t.shape))}{device}{dtype})  # {_dims(t)}")
    cell = c.kind.has_cell
    hx = ("(h0, c0)" if cell else "h0") if report.h0 is not None else ""
    lines.append(f"output, {'(h_n, c_n)' if cell else 'h_n'} = {name}(x{', ' + hx if hx else ''})")
    lines.append("")
    if isinstance(report.output, Packed):
        padded = report.output.padded
        lines += [
            f"print(list(output.data.shape))  # {format_shape(report.output.data.shape)}  {_dims(report.output.data)}",
            using_results(c).setup,  # from here on, output is the padded tensor
            f"print(list(output.shape))  # {format_shape(padded.shape)}  {_dims(padded)}",
        ]
    else:
        lines.append(f"print(list(output.shape))  # {format_shape(report.output.shape)}  {_dims(report.output)}")
    for state, t in (("h_n", report.h_n), ("c_n", report.c_n)):
        if t is not None:
            lines.append(f"print(list({state}.shape))  # {format_shape(t.shape)}  {_dims(t)}")
    lines += results_code(report.results or using_results(c), values=c.device != "meta")
    return "\n".join(lines) + "\n"


def results_code(results: Results, values: bool = True) -> list[str]:
    """Using the results: each slice a person takes next, as a line to paste (a REPL shows its value).

    Comments give the shape and, once a run compared the two sides, what torch.equal said on it.
    Without ``values`` (the meta device, where torch.equal cannot run) the two sides are written as a pair.
    """
    lines = ["", f"# using the results — {results.checked}", f"# {results.note}"]
    for use in results.uses:
        comment = f"{format_shape(use.shape)}  {_dims(use)}"
        if use.equal is not None:  # first, so that a narrow pane shows it
            run = "True on the run" if use.equal else f"False on the run (max difference {use.max_difference:.3g})"
            comment = f"{run}; {comment}"
        elif use.compared_with is None:
            comment += f": {use.note}"
        line = use.check if values else use.compared_with and f"{use.expression}, {use.compared_with}"
        lines.append(f"{line or use.expression}  # {comment}")
    return lines


def _dims(t) -> str:
    dims = t.data.dims if isinstance(t, Packed) else t.dims
    return "(" + ", ".join(dims) + ")"
