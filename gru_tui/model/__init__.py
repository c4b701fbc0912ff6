"""Your own model: one forward of a person's nn.Module with hooks on every module, every shape, the failure, the cost.

The package by role (each imports only those before it; none imports torch at import time):

- ``spec``: what is asked for (``ModelSpec``, ``--model FILE.py:NAME(literals)``, ``--input``);
- ``values``: what a forward took and gave, as plain data (``Value``, ``Call``, packed lengths);
- ``failure``: ``Failure``, placed at the person's file and line;
- ``report``: ``ModelReport`` and its ``ModelNode`` tree (plain data: crosses from the worker);
- ``recurrent``: an nn.GRU / nn.LSTM / nn.RNN inside: configuration, per-layer detail, mult-adds;
- ``cost``: matmul mult-adds (FlopCounterMode) and torchinfo's four sizes;
- ``hooks``: the watchers on the forward (calls by path, the failing torch function);
- ``load``: a model file imported, NAME built, the inputs made;
- ``diagnose``: why it failed, with a checked fix;
- ``tree``: the report as the shape tree's nodes;
- ``trace``: ``trace_model`` (a live module) and ``trace_file`` (``--model``), one core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .failure import Failure, ModelTraceError
    from .report import ModelNode, ModelReport
    from .spec import InputSpec, ModelSpec, model_spec, parse_input

# Loaded when first asked for: the command line imports ``flags`` from here for every start, the app's
# first frame included, and needs none of these.
_LAZY = {
    "Failure": "failure",
    "ModelTraceError": "failure",
    "ModelNode": "report",
    "ModelReport": "report",
    "InputSpec": "spec",
    "ModelSpec": "spec",
    "model_spec": "spec",
    "parse_input": "spec",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Failure",
    "InputSpec",
    "ModelNode",
    "ModelReport",
    "ModelSpec",
    "ModelTraceError",
    "model_spec",
    "parse_input",
    "trace_model",
    "trace_file",
]


def trace_model(model, *args, **kwargs) -> ModelReport:
    """One forward of a live nn.Module (see ``gru_tui.model.trace.trace_model``); loads torch when called."""
    from .trace import trace_model as _trace_model

    return _trace_model(model, *args, **kwargs)


def trace_file(spec: ModelSpec, progress=None) -> ModelReport:
    """``gru-tui trace --model`` (see ``gru_tui.model.trace.trace_file``)."""
    from .trace import trace_file as _trace_file

    return _trace_file(spec, progress)
