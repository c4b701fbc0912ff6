"""Two configurations side by side: which fields changed, and every node of the shape tree that differs.

The trees are matched by ``Node.key`` (stable paths such as "layer1.reverse.h_n"),
so the app can highlight each differing node in both panes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..core.config import FIELD_NAMES, GRUConfig
from ..core.report import Node, Report, format_shape


@dataclass(frozen=True)
class Difference:
    key: str
    kind: Literal["only_a", "only_b", "shape", "layout", "label"]
    a: Node | None
    b: Node | None

    def describe(self) -> str:
        if self.kind == "only_a":
            return f"{self.a.label}: only in A"
        if self.kind == "only_b":
            return f"{self.b.label}: only in B"
        if self.kind == "label":
            return f"{self.a.label}  vs  {self.b.label}"
        return f"{self.a.label}: {_shape_text(self.a)}  vs  {_shape_text(self.b)}"


def compare(report_a: Report, report_b: Report) -> list[Difference]:
    """Every node present in one tree only, or whose shape (or the meaning of its dims) differs.

    Nodes without a shape (batch_sizes, lengths) differ when their text does. The
    root is left out: ``config_differences`` says how the configurations differ.
    In tree A's order, then the nodes only B has, in B's order.
    """
    nodes_a = _by_key(report_a.tree())
    nodes_b = _by_key(report_b.tree())
    differences = []
    for key, a in nodes_a.items():
        b = nodes_b.get(key)
        if b is None:
            differences.append(Difference(key, "only_a", a, None))
        elif a.shape != b.shape:
            differences.append(Difference(key, "shape", a, b))
        elif a.dims != b.dims:
            differences.append(Difference(key, "layout", a, b))
        elif a.shape is None and a.label != b.label:
            differences.append(Difference(key, "label", a, b))
    differences += [Difference(key, "only_b", None, b) for key, b in nodes_b.items() if key not in nodes_a]
    return differences


def config_differences(a: GRUConfig, b: GRUConfig) -> list[tuple[str, Any, Any]]:
    """(field, value in a, value in b) for each field that differs, in the form's order.

    A kind's own option (an LSTM's proj_size, an RNN's nonlinearity) is compared only between two of that kind:
    the other kind has no such argument, and the mode's difference already says so.
    """
    return [
        (name, getattr(a, name), getattr(b, name))
        for name in FIELD_NAMES
        if getattr(a, name) != getattr(b, name) and a.applies(name) and b.applies(name)
    ]


SUMMARY_FIGURES = (("parameters", "total_params"), ("mult-adds", "mult_adds"))


def summary_differences(report_a: Report, report_b: Report) -> list[tuple[str, int, int]]:
    """(figure, in A, in B) for the parameter and mult-add counts that differ: a GRU's 3 gates against an LSTM's 4."""
    return [
        (label, report_a.summary[key], report_b.summary[key])
        for label, key in SUMMARY_FIGURES
        if report_a.summary[key] != report_b.summary[key]
    ]


def describe_figure(label: str, a: int, b: int) -> str:
    ratio = f" ({b / a:.2f}x)" if a else ""
    return f"{label}: {a:,}  vs  {b:,}{ratio}"


def _by_key(root: Node) -> dict[str, Node]:
    return {node.key: node for node in root.walk() if node.key != "root"}


def _shape_text(node: Node) -> str:
    if node.shape is None:
        return "-"
    return format_shape(node.shape) + (f" ({', '.join(node.dims)})" if node.dims else "")
