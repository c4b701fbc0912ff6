"""A model's report as plain data: ``ModelReport`` (frozen), its ``ModelNode`` tree and each recurrent layer's detail.

No torch: the report crosses from the worker pickled and the app, the CLI and handouts read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.config import GRUConfig
from ..core.display import Displayable
from ..core.report import Node, Report, RunStats
from .failure import Failure, ModelTraceError
from .spec import ModelSpec
from .values import Call, Value


@dataclass(frozen=True)
class Recurrent:
    """An nn.GRU / nn.LSTM / nn.RNN inside the model: its configuration read from the module, and the detail derived."""

    config: GRUConfig
    report: Report  # shapes.derive(config): every layer, direction and gate
    checked: str  # what was checked against the forward


@dataclass(frozen=True)
class ModelNode:
    """One module of the model and the calls the forward made to it through this path."""

    path: str  # "" for the model itself, "encoder.gru" inside
    name: str  # its attribute name (the model's: its class or NAME)
    type: str  # its class name
    params: int  # its parameters and its children's, each counted once
    trainable: int
    extra: str  # its extra_repr, first line
    calls: tuple[Call, ...] = ()
    children: tuple[ModelNode, ...] = ()  # in the order they were first called; those never called after them
    recurrent: Recurrent | None = None  # for an nn.GRU, nn.LSTM or nn.RNN that ran
    error: str | None = None  # torch's own message, on the module that failed
    note: str = ""  # why a recurrent module that ran has no per-layer detail
    matmul_macs: int | None = None  # the matmul mult-adds of its calls, its children's included (None: not measured)
    shared: tuple[str, ...] = ()  # the other paths of the same module object (a module shared by several parents)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "path": self.path,
            "name": self.name,
            "type": self.type,
            "params": self.params,
            "trainable_params": self.trainable,
            "extra": self.extra,
            "calls": [call.to_dict() for call in self.calls],
            "matmul_macs": self.matmul_macs,
            "shared_with": list(self.shared),
            "error": self.error,
            "note": self.note,
        }
        if self.recurrent is not None:
            detail = self.recurrent.report.shapes()
            detail.pop("using_results", None)
            d["recurrent"] = {"config": self.recurrent.config.to_dict(), "checked": self.recurrent.checked, **detail}
        d["children"] = [child.to_dict() for child in self.children]
        return d


@dataclass(frozen=True, repr=False)
class ModelReport(Displayable):
    """One forward of a model: the file it came from (``spec``; None for a live module), its tree, its failure, its cost."""

    spec: ModelSpec | None
    root: ModelNode | None  # None when the file failed before there was a model
    inputs: Call | None  # what the model was given
    output: Value | None  # what it returned (None when it failed)
    failure: Failure | None
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    run: RunStats | None = None
    name: str = ""  # what the tree's title calls it: FILE.py:NAME, or a live module's class
    device: str = "cpu"
    train: bool = False

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def mode(self) -> str:
        return "train" if self.train else "eval"

    def raise_for_failure(self) -> ModelReport:
        """Raise ``ModelTraceError`` (its ``failure``, its message the failure's lines) when the forward failed; else the report."""
        if self.failure is not None:
            raise ModelTraceError(self.failure)
        return self

    def node(self, path: str) -> ModelNode:
        for node in self.root.walk() if self.root is not None else ():
            if node.path == path:
                return node
        raise KeyError(path)

    def to_dict(self) -> dict[str, Any]:
        """``gru-tui trace --model ... --json``: every module with its calls, every shape a list of integers."""
        model = (
            self.spec.to_dict()
            if self.spec is not None
            else {"file": None, "name": self.name, "device": self.device, "mode": self.mode}
        )
        return {
            "model": model,
            "ok": self.ok,
            "input": self.inputs.to_dict() if self.inputs is not None else None,
            "output": self.output.to_dict() if self.output is not None else None,
            "tree": self.root.to_dict() if self.root is not None else None,
            "failure": self.failure.to_dict() if self.failure is not None else None,
            "summary": dict(self.summary),
            "warnings": list(self.warnings),
        }

    def tree(self) -> Node:
        from .tree import build_model_tree

        return build_model_tree(self)
