"""The shape tree: a report turned into labelled nodes, and a plain-text rendering of them.

The CLI prints ``render_text(report.tree())``; the app fills its Tree widget from
the same nodes, so both always say the same thing.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from .kinds import KINDS, equation
from .report_types import C_N_NOTE, H_N_NOTE, Node, Packed, Tensor, format_runs, format_shape
from .results import Results, Use

if TYPE_CHECKING:  # report imports this module (Report.tree()): only the type checker reads this one
    from .report import Report

ASCII_REPLACEMENTS = {
    "σ": "sigmoid",
    "⊙": "*",
    "−": "-",
    "×": "x",
    "→": "->",
    "—": "-",
    "·": "|",
    "…": "...",
    "✓": "OK",
    "✗": "X",
}


def _tensor_node(key: str, label: str, t: Tensor, note: str = "", children: tuple[Node, ...] = ()) -> Node:
    return Node(key=key, label=label, shape=t.shape, dims=t.dims, note=note, device=t.device, children=children)


def _seq_node(key: str, label: str, t: Tensor | Packed, note: str = "", padded: str = "pad_packed_sequence gives") -> Node:
    if isinstance(t, Tensor):
        return _tensor_node(key, label, t, note)
    return Node(
        key=key,
        label=f"{label} (PackedSequence)",
        shape=t.data.shape,
        dims=t.data.dims,
        note=note or "data holds only the real steps: (sum of lengths, features)",
        device=t.data.device,
        children=(
            Node(
                f"{key}.batch_sizes",
                f"batch_sizes {format_runs(t.batch_size_runs)}",
                note="sequences still running at each step (size×steps)",
            ),
            Node(f"{key}.lengths", f"lengths {format_shape(t.lengths)}"),
            _tensor_node(f"{key}.padded", padded, t.padded),
        ),
    )


def build_tree(report: Report) -> Node:
    c = report.config
    children: list[Node] = []
    input_children = ()
    if report.input_view is not None:
        why = "unbatched input gets a batch of one" if c.unbatched else "batch_first is set: the layers work seq-first"
        input_children = (_tensor_node("input.view", "seq-first view the layers compute on", report.input_view, why),)
    inp = _seq_node("input", "input", report.input, padded="packed from the padded tensor")
    children.append(Node(inp.key, inp.label, inp.shape, inp.dims, inp.note, inp.device, inp.children + input_children))
    if report.h0 is not None:
        children.append(_tensor_node("h0", "h0", report.h0, "initial hidden state, laid out like h_n"))
    if report.c0 is not None:
        children.append(_tensor_node("c0", "c0", report.c0, "initial cell state, laid out like c_n; passed as (h0, c0)"))

    for join in report.joins:
        layer_children: list[Node] = []
        for d in (d for d in report.directions if d.layer == join.layer):
            key = f"layer{d.layer}.{d.direction}"
            weights = tuple(_tensor_node(f"{key}.{name}", name, t, _weight_note(c, name)) for name, t in d.weights.items())
            step = tuple(
                _tensor_node(f"{key}.step.{name}", _step_label(c, name), t, _step_note(c, name)) for name, t in d.step.items()
            )
            check = (
                f"h_t checked against the {c.kind.module} kernel's output (max error {d.step_error:.2g})"
                if d.step_error is not None
                else ""
            )
            c_n = (_tensor_node(f"{key}.c_n", f"final cell state → c_n[{d.h_n_index}]", d.c_n),) if d.c_n is not None else ()
            layer_children.append(
                Node(
                    key=key,
                    label=f"{d.direction} → h_n[{d.h_n_index}]",
                    note=f"features in: {d.input_features}",
                    children=weights
                    + (Node(f"{key}.step", f"one step, t = {d.step_index}", note=check, children=step),)
                    + (
                        _tensor_node(f"{key}.output", "output over the sequence", d.output),
                        _tensor_node(f"{key}.h_n", f"final state → h_n[{d.h_n_index}]", d.h_n),
                    )
                    + c_n,
                )
            )
        if c.bidirectional:
            layer_children.append(_tensor_node(f"layer{join.layer}.concat", "concat(forward, reverse)", join.output))
        if join.dropout:
            what = (
                "training mode only: zeroes all of it; shape unchanged"
                if join.dropout == 1
                else "training mode only; shape unchanged"
            )
            layer_children.append(_tensor_node(f"layer{join.layer}.dropout", f"dropout p={join.dropout:g}", join.output, what))
        children.append(
            Node(
                f"layer{join.layer}",
                f"layer {join.layer}",
                note=f"{report.config.layer_input_size(join.layer)} → {join.output.shape[-1]} features",
                children=tuple(layer_children),
            )
        )

    children.append(_seq_node("output", "output", report.output, "every time step of the last layer"))
    children.append(_tensor_node("h_n", "h_n", report.h_n, f"last step of every layer and direction; {H_N_NOTE}"))
    if report.c_n is not None:
        children.append(_tensor_node("c_n", "c_n", report.c_n, f"last cell state of every layer and direction; {C_N_NOTE}"))
    if report.results is not None:
        children.append(results_node(report.results))
    for i, warning in enumerate(report.warnings):
        children.append(Node(f"warning{i}", f"warning: {warning}"))
    for i, note in enumerate(report.notes):
        children.append(Node(f"note{i}", f"note: {note}"))

    state = "derived from the rules, not yet run" if report.derived else f"traced on {c.device}"
    title = f"{gru_call(c)} · {c.dtype} · {state}"
    return Node("root", title, children=tuple(children))


def results_node(results: Results) -> Node:
    """The "using the results" branch: the setup line of a packed batch, then one line per use."""
    setup = ()
    if results.setup is not None:
        setup = (Node("using.setup", results.setup, note="padded: zeros past each sequence's length"),)
    uses = tuple(Node(f"using.{u.id}", use_label(u), u.shape, u.dims, use_note(u)) for u in results.uses)
    return Node("using", f"using the results · {results.checked}", note=results.note, children=setup + uses)


def use_label(use: Use) -> str:
    """'✓ a == b' or '✗ a != b' once a run compared them, 'a vs b' before; the expression alone when nothing is compared."""
    if use.compared_with is None:
        return use.expression
    if use.equal is None:
        return f"{use.expression} vs {use.compared_with}"
    return f"✓ {use.expression} == {use.compared_with}" if use.equal else f"✗ {use.expression} != {use.compared_with}"


def use_note(use: Use) -> str:
    return f"max difference {use.max_difference:.3g}; {use.note}" if use.equal is False else use.note


def gru_call(c) -> str:
    """The nn.GRU(...) (or nn.LSTM, nn.RNN) call for a configuration, with only the arguments that differ from torch's defaults."""
    args = [str(c.input_size), str(c.hidden_size)]
    if c.num_layers != 1:
        args.append(f"num_layers={c.num_layers}")
    if not c.bias:
        args.append("bias=False")
    if c.batch_first:
        args.append("batch_first=True")
    if c.dropout:
        args.append(f"dropout={c.dropout:g}")
    if c.bidirectional:
        args.append("bidirectional=True")
    if c.proj_size:
        args.append(f"proj_size={c.proj_size}")
    if c.nonlinearity != "tanh":
        args.append(f"nonlinearity={c.nonlinearity!r}")
    return f"nn.{c.kind.module}({', '.join(args)})"


STATE_LABELS = {
    "x_t": "x_t (input at this step)",
    "h_prev": "h_(t-1) (previous state)",
    "c_prev": "c_(t-1) (previous cell state)",
}


def _step_label(c, name: str) -> str:
    return STATE_LABELS.get(name) or f"{name} = {equation(c, name)}"


def _step_note(c, name: str) -> str:
    note = c.kind.gate_names.get(name, "")
    if name == "h_t" and c.proj_size:
        return "hidden state, projected to proj_size: the output at this step"
    return note


def _weight_note(c, name: str) -> str:
    return _weight_notes(c.mode)[name.split("_l")[0]]


@functools.cache
def _weight_notes(mode: str) -> dict[str, str]:
    """What each parameter holds: each gate's matrix stacked by rows (a GRU's r, z, n; an LSTM's i, f, g, o)."""
    kind = KINDS[mode]
    notes = {"weight_hr": "the projection: h_t = W_hr m_t"}
    for name, prefix in (("weight_ih", "W_i"), ("weight_hh", "W_h"), ("bias_ih", "b_i"), ("bias_hh", "b_h")):
        stacked = kind.stacked(prefix)
        notes[name] = f"{stacked} stacked" if name.startswith("weight") and kind.gate_count > 1 else stacked
    return notes


def node_line(node: Node) -> str:
    """One node as text: label, shape, what its dims mean, its note."""
    parts = [node.label]
    if node.shape is not None:
        parts.append(format_shape(node.shape))
        if node.dims:
            parts.append("(" + ", ".join(node.dims) + ")")
    if node.note:
        parts.append("— " + node.note)
    return "  ".join(parts)


def render_text(root: Node, ascii_only: bool = False) -> str:
    lines = [node_line(root)]
    branch, last, pipe, space = ("|- ", "`- ", "|  ", "   ") if ascii_only else ("├─ ", "└─ ", "│  ", "   ")

    def walk(node: Node, prefix: str) -> None:
        for i, child in enumerate(node.children):
            is_last = i == len(node.children) - 1
            lines.append(prefix + (last if is_last else branch) + node_line(child))
            walk(child, prefix + (space if is_last else pipe))

    walk(root, "")
    text = "\n".join(lines)
    if ascii_only:
        for uni, asc in ASCII_REPLACEMENTS.items():
            text = text.replace(uni, asc)
    return text
