"""The trace report: every tensor shape of one GRU, LSTM or RNN forward pass, as plain immutable data.

Both the instant derived report (``shapes.derive``) and the measured one
(``tracing.trace``) are this type, so the CLI, the app and the tests read one
structure. ``tree()`` turns it into labelled nodes that the CLI prints and the
app shows in its Tree widget; ``to_dict()`` is what ``gru-tui trace --json`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import GRUConfig
from .display import Displayable
from .report_types import C_N_NOTE, H_N_NOTE, Node, Packed, Tensor, format_runs, format_shape  # noqa: F401 (imported from here too)
from .results import Results


@dataclass(frozen=True)
class Direction:
    """One layer in one direction: its weights, one time step's gates, its output."""

    layer: int
    direction: str  # "forward" or "reverse"
    h_n_index: int
    input_features: int
    weights: dict[str, Tensor]  # weight_ih_lK[_reverse] and friends, by their torch name
    step_index: int  # the time step whose gate tensors are shown (the first this direction takes)
    step: dict[str, Tensor]  # x_t, h_prev (and an LSTM's c_prev), then the kind's step tensors up to h_t
    output: Tensor  # this direction's hidden states over the whole sequence
    h_n: Tensor  # its slot h_n[h_n_index]
    step_error: float | None = None  # max |h_t(instrumented) - module output|, None when not measured
    c_n: Tensor | None = None  # an LSTM's slot c_n[h_n_index]

    def weight(self, kind: str) -> Tensor | None:
        suffix = "_reverse" if self.direction == "reverse" else ""
        return self.weights.get(f"{kind}_l{self.layer}{suffix}")

    def to_dict(self) -> dict[str, Any]:
        def shape(t: Tensor | None) -> list[int] | None:
            return list(t.shape) if t is not None else None

        return {
            "layer": self.layer,
            "direction": self.direction,
            "h_n_index": self.h_n_index,
            "input_features": self.input_features,
            "weight_ih": shape(self.weight("weight_ih")),
            "weight_hh": shape(self.weight("weight_hh")),
            "bias_ih": shape(self.weight("bias_ih")),
            "bias_hh": shape(self.weight("bias_hh")),
            **({"weight_hr": shape(self.weight("weight_hr"))} if self.weight("weight_hr") is not None else {}),
            "step_index": self.step_index,
            "step": {name: t.to_dict() for name, t in self.step.items()},
            "output": self.output.to_dict(),
            "h_n": self.h_n.to_dict(),
            **({"c_n": self.c_n.to_dict()} if self.c_n is not None else {}),
        }


@dataclass(frozen=True)
class LayerJoin:
    """What happens after a layer: its directions concatenated, dropout before the next layer."""

    layer: int
    output: Tensor  # the layer's output over the sequence, directions concatenated
    dropout: float  # p applied to that output before the next layer (0 when none)


@dataclass(frozen=True)
class RunStats:
    """How the device run went. Not part of to_dict: it differs from run to run."""

    seconds: float
    peak_memory_bytes: int | None


@dataclass(frozen=True, repr=False)
class Report(Displayable):
    """Shows as its tree: ``print(report)``, ``rich.print(report)``, and as HTML in Jupyter (see ``display``)."""

    config: GRUConfig
    derived: bool  # True: shapes from the rules, not yet confirmed by a run on the device
    input: Tensor | Packed
    input_view: Tensor | None  # the (seq, batch, feature) view the layers compute on, when it differs
    h0: Tensor | None
    parameters: dict[str, tuple[int, ...]]
    directions: tuple[Direction, ...]
    joins: tuple[LayerJoin, ...]
    output: Tensor | Packed
    h_n: Tensor
    summary: dict[str, Any]
    warnings: tuple[str, ...] = ()
    checks: dict[str, Any] = field(default_factory=dict)
    run: RunStats | None = None
    c0: Tensor | None = None  # an LSTM's initial cell state, beside h0
    c_n: Tensor | None = None  # an LSTM's final cell state, beside h_n: hidden_size wide even with proj_size
    results: Results | None = None  # using the results: the slices people take, equality measured after a run
    notes: tuple[str, ...] = ()  # what torch's rules mean here (a batch of 0, dropout 1): shapes.config_notes

    @property
    def device(self) -> str:
        return self.config.device

    def to_dict(self) -> dict[str, Any]:
        """Every key a GRU's report had; an LSTM's adds c0 and c_n beside h0 and h_n; using_results: see ``results``."""
        cell = {}
        if self.config.kind.has_cell:
            cell = {"c0": self.c0.to_dict() if self.c0 else None, "c_n": {**self.c_n.to_dict(), "note": C_N_NOTE}}
        return {
            "config": self.config.to_dict(),
            "derived": self.derived,
            "device": self.config.device,
            "dtype": self.config.dtype,
            "input": _input_dict(self.input),
            "input_view": self.input_view.to_dict() if self.input_view else None,
            "h0": self.h0.to_dict() if self.h0 else None,
            "parameters": {name: list(shape) for name, shape in self.parameters.items()},
            "layers": [d.to_dict() for d in self.directions],
            "layer_outputs": [
                {"layer": j.layer, "shape": list(j.output.shape), "dims": list(j.output.dims), "dropout_after": j.dropout}
                for j in self.joins
            ],
            "output": self.output.to_dict(),
            "h_n": {**self.h_n.to_dict(), "note": H_N_NOTE},
            **cell,
            "summary": dict(self.summary),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "checks": dict(self.checks),
            "using_results": self.results.to_dict() if self.results is not None else None,
        }

    def shapes(self) -> dict[str, Any]:
        """Every shape in the report and nothing else: derived and traced reports must agree on it."""
        d = self.to_dict()
        for key in ("derived", "summary", "warnings", "checks"):
            d.pop(key)
        if d["using_results"] is not None:  # what a run measured (equality) is not a shape
            d["using_results"].pop("checked")
            for use in d["using_results"]["uses"]:
                use.pop("equal"), use.pop("max_difference")
        return d

    def tree(self) -> Node:
        from .tree import build_tree

        return build_tree(self)

    def _footer(self) -> list[str]:
        """``gru-tui trace`` prints the summary under the tree."""
        from .summary import summary_lines

        return ["\n".join(summary_lines(self))]


def _input_dict(inp: Tensor | Packed) -> dict[str, Any]:
    """A packed input is still passed as a padded tensor first: its shape is that tensor's."""
    if isinstance(inp, Packed):
        return {"shape": list(inp.padded.shape), "dims": list(inp.padded.dims), **inp.to_dict()}
    return inp.to_dict()
