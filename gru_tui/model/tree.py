"""A model's report as the shape tree's nodes: the CLI prints them, the app shows them, handouts draw them.

Each module: its name and class, what it received and returned, its parameters and matmul
mult-adds (and its other paths, when shared); children in the order they were first called,
those never called after them, marked. The title says the device and the mode (eval or train);
the summary closes with the mult-adds and torchinfo's four sizes. A recurrent
module adds its configuration and the tree of an assembled one (every layer, direction and
gate: ``tree.build_tree`` on the derived report), keyed under the module so a view keeps
what was open across re-traces. The module that failed is marked with torch's message, what
it received, and the diagnosis.
"""

from __future__ import annotations

import dataclasses

from ..core.display import FAILED
from ..core.report import Node
from ..core.tree import build_tree, gru_call

# From an assembled configuration's tree, what a module inside a model shows (its input is the module's line).
RECURRENT_PARTS = ("h0", "c0", "output", "h_n", "c_n")
CALLS_SHOWN = 12  # calls of one module listed in the tree


def build_model_tree(report) -> Node:
    failure = report.failure
    children: list[Node] = []
    if report.inputs is not None:
        children.append(Node("model.input", f"input {report.inputs.inputs_text()}", note="what the model was given"))
    if report.root is not None:
        children.append(_module_node(report.root, report, is_root=True))
    if report.output is not None:
        children.append(Node("model.output", f"output {report.output.show()}", note="what the model returned"))
    if failure is not None:
        children.append(failure_node(failure))
    summary = report.summary
    if summary:
        children.append(
            Node(
                "model.params",
                f"{summary['total_params']:,} parameters",
                note=f"{summary['trainable_params']:,} trainable, {summary['param_bytes'] / 1e6:.2f} MB",
            )
        )
    if "matmul_macs" in summary:
        children.append(Node("model.cost", f"{summary['matmul_macs']:,} matmul mult-adds", note="FlopCounterMode's count / 2"))
        children.append(Node("model.sizes", "sizes (as torchinfo names them)", children=tuple(_size_nodes(summary))))
    for i, warning in enumerate(report.warnings):
        children.append(Node(f"model.warning{i}", f"warning: {warning}"))
    return Node("model", title(report), children=tuple(children))


SIZES = (
    ("input_bytes", "input size"),
    ("forward_backward_bytes", "forward/backward pass size"),
    ("param_bytes", "params size"),
    ("total_bytes", "estimated total size"),
)


WHY = {
    "input_bytes": " (it counts each input's whole storage and Python's object)",
    "forward_backward_bytes": " (it counts only the first tensor of each output)",
}


def _size_nodes(summary) -> list[Node]:
    nodes = []
    for key, label in SIZES:
        theirs = summary.get(f"torchinfo_{key}")
        note = f"torchinfo: {_megabytes(theirs)}" + WHY.get(key, "") if theirs is not None else ""
        nodes.append(Node(f"model.sizes.{key}", f"{label}: {_megabytes(summary[key])}", note=note))
    return nodes


def _megabytes(n: int) -> str:
    """MB as torchinfo writes them; below 0.01 MB, in kB (else a difference would not show)."""
    return f"{n / 1e6:.2f} MB" if n >= 10_000 else f"{n / 1e3:.2f} kB"


def title(report) -> str:
    kind = report.root.type if report.root is not None else "?"
    if report.ok:
        state = f"traced on {report.device} in {report.mode} mode"
    elif report.failure.stage == "forward":
        state = f"{FAILED} the forward failed in {report.failure.module or 'the model'}"
    else:
        state = f"{FAILED} {report.failure.stage} failed"
    if report.ok or report.failure.stage != "forward":
        return f"{report.name} · {kind} · {state}"
    return f"{report.name} · {kind} · {state} ({report.mode} mode)"


def failure_node(failure) -> Node:
    lines = failure.lines()
    return Node(
        "model.failure",
        f"{FAILED} {lines[0]}",
        children=tuple(Node(f"model.failure.{i}", line.strip()) for i, line in enumerate(lines[1:])),
    )


def call_text(call) -> str:
    out = call.output.show() if call.output is not None else FAILED
    return f"{call.inputs_text()} → {out}"


def _module_node(m, report, *, is_root: bool = False) -> Node:
    key = f"m:{m.path}"
    failure = report.failure
    label = m.type if is_root else f"{m.name} ({m.type})"
    notes = (
        [f"{m.params:,} params"]
        + ([f"{m.matmul_macs:,} matmul mult-adds"] if m.matmul_macs else [])
        + ([f"shared with {', '.join(m.shared)}"] if m.shared else [])
        + ([m.note] if m.note else [])
    )
    if m.calls:
        label += f"  {call_text(m.calls[0])}"
    if m.error is not None:
        label = f"{FAILED} {label}"
        notes.insert(0, f"failed: {m.error.strip().splitlines()[0] if m.error.strip() else 'error'}")
    elif any(call.output is None for call in m.calls):
        notes.insert(0, f"failed inside {failure.module}" if failure is not None and failure.module else "failed")
    elif m.calls:
        if len(m.calls) > 1:
            notes.insert(0, f"called {len(m.calls)} times")
    else:
        notes.insert(0, "not reached" if failure is not None and failure.stage == "forward" else "not called")
    children: list[Node] = []
    if len(m.calls) > 1:  # a decoder called step by step: the first calls, then how many more (--json has them all)
        children += [Node(f"{key}.call{i}", f"call {i + 1}: {call_text(call)}") for i, call in enumerate(m.calls[:CALLS_SHOWN])]
        if len(m.calls) > CALLS_SHOWN:
            children.append(Node(f"{key}.more", f"… {len(m.calls) - CALLS_SHOWN:,} more calls", note="--json lists every call"))
    if m.recurrent is not None:
        children += _recurrent_nodes(key, m.recurrent, len(m.calls))
    children += [_module_node(child, report) for child in m.children]
    return Node(key, label, note="; ".join(notes), children=tuple(children))


def _recurrent_nodes(key: str, recurrent, calls: int) -> list[Node]:
    """An assembled configuration's tree for the module (its first call): configuration, layers, output, h_n, c_n."""
    c = recurrent.config
    inner = build_tree(recurrent.report)
    which = "; the detail is its first call's" if calls > 1 else ""
    config = Node(f"{key}.config", gru_call(c), note=f"read from the module; {recurrent.checked}{which}")
    parts = [_rekey(node, key) for node in inner.children if node.key.startswith("layer") or node.key in RECURRENT_PARTS]
    return [config, *parts]


def _rekey(node: Node, prefix: str) -> Node:
    return dataclasses.replace(node, key=f"{prefix}/{node.key}", children=tuple(_rekey(c, prefix) for c in node.children))
