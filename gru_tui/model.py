"""Your own model: import a person's model file, run one forward with hooks on every submodule, report every shape.

``trace_model(spec)`` imports ``FILE.py`` (its folder on ``sys.path``, so it may import its
neighbours), calls ``NAME`` to get the ``nn.Module`` (a function or a class called with no
arguments, or a module object), builds the inputs (``--input`` shapes, or a function of the
file that returns the arguments), and runs the model once, in eval mode without gradients,
with a pre-hook and a hook on every submodule. Each module's inputs and outputs (tensors,
tuples, dicts, PackedSequence, None) are kept as plain data (``Value``), never tensors.

Every nn.GRU, nn.LSTM and nn.RNN inside gets the per-layer, per-direction and per-gate
detail of an assembled configuration: its ``GRUConfig`` is read from the module's attributes
and the input it received, ``shapes.derive`` gives the detail (no second forward: its cost
does not grow with the sequence), and the derived output, h_n and c_n are checked against
the ones the forward measured.

A forward that fails keeps the tree up to the module that failed (the innermost module
entered and not left), marked with torch's own message and the shapes it received, and
``diagnose`` says why: for a Linear after a recurrent layer, the mismatch in one sentence
and a fix that is run before it is shown; for a recurrent layer, the explainer's rules
and its checked fix. An error in the file itself (SyntaxError, ImportError, a missing
NAME) is reported with its file and line.

torch is imported inside the functions that need it: the app reads these dataclasses
(the report crosses from the worker pickled, as plain data) without loading torch.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .config import DTYPES, ConfigError, GRUConfig
from .report import Node, Report, RunStats, format_runs, format_shape

INPUT_DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")
MAX_INPUT_ELEMENTS = 1 << 34  # a typo (an extra zero) must not ask for terabytes
INPUTS_FUNCTION = "example_inputs"  # used when the file defines it and no --input or --inputs is given
RECURRENT_MODES = {"GRU": ("gru", "tanh"), "LSTM": ("lstm", "tanh"), "RNN_TANH": ("rnn", "tanh"), "RNN_RELU": ("rnn", "relu")}
MAX_TEXT = 600  # characters of an error message kept


# -- what the person asks for ---------------------------------------------------------------
@dataclass(frozen=True)
class InputSpec:
    """One positional tensor given by its shape: ``4x35:int64`` (the dtype defaults to float32)."""

    shape: tuple[int, ...]
    dtype: str = "float32"

    def text(self) -> str:
        return "x".join(map(str, self.shape)) + f":{self.dtype}"


@dataclass(frozen=True)
class ModelSpec:
    """A model file and the name in it (``FILE.py:NAME``), its inputs, and the device to run on. Hashable: a Job's args."""

    file: str  # absolute
    name: str
    inputs: tuple[InputSpec, ...] = ()
    inputs_function: tuple[str, str] | None = None  # (file, function) returning the forward's arguments
    device: str = "cpu"

    @property
    def ref(self) -> str:
        return f"{self.file}:{self.name}"

    @property
    def short(self) -> str:
        return f"{Path(self.file).name}:{self.name}"

    @property
    def folder(self) -> str:
        return str(Path(self.file).parent)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "inputs": [{"shape": list(i.shape), "dtype": i.dtype} for i in self.inputs],
            "inputs_function": ":".join(self.inputs_function) if self.inputs_function else None,
            "device": self.device,
        }


def parse_ref(text: str, field: str = "model") -> tuple[str, str]:
    """``path/to/file.py:NAME`` as (absolute path, NAME); ConfigError naming ``field`` (the flag) otherwise."""
    path, sep, name = text.rpartition(":")
    if not sep or not path or not name:
        raise ConfigError(field, f"must be FILE.py:NAME (a function or class in the file), got {text!r}")
    if not name.isidentifier():
        raise ConfigError(field, f"{name!r} after the ':' is not a Python name; give FILE.py:NAME, got {text!r}")
    if not path.endswith(".py"):
        raise ConfigError(field, f"{path} is not a .py file; give FILE.py:NAME")
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise ConfigError(field, f"{path}: no such file")
    return str(resolved), name


_INPUT = re.compile(r"\s*([0-9]+(?:\s*[x×,]\s*[0-9]+)*)\s*(?::\s*([a-z0-9]+))?\s*")


def parse_input(text: str) -> InputSpec:
    """``4x80x50:float32`` (or ``4x35:int64``; the dtype defaults to float32) as an InputSpec; ConfigError otherwise."""
    match = _INPUT.fullmatch(text)
    if not match:
        raise ConfigError("input", f"must be a shape such as 4x80x50 or 4x35:int64 (sizes joined by x, then :dtype), got {text!r}")
    shape = tuple(int(n) for n in re.split(r"\s*[x×,]\s*", match[1]))
    dtype = match[2] or "float32"
    if dtype not in INPUT_DTYPES:
        raise ConfigError("input", f"{dtype!r} is not a dtype here; one of {', '.join(INPUT_DTYPES)}")
    if any(n < 1 for n in shape):
        raise ConfigError("input", f"every size must be 1 or more, got {text!r}")
    elements = 1
    for n in shape:
        elements *= n
    if elements > MAX_INPUT_ELEMENTS:
        raise ConfigError("input", f"{text!r} has {elements:,} elements; at most {MAX_INPUT_ELEMENTS:,}")
    return InputSpec(shape, dtype)


def model_spec(model: str, inputs: list[str] | None = None, inputs_function: str | None = None, device: str = "cpu") -> ModelSpec:
    """The spec the flags describe (``--model``, ``--input`` ..., ``--inputs``, ``--device``); ConfigError naming the flag."""
    file, name = parse_ref(model, "model")
    if inputs and inputs_function:
        raise ConfigError("inputs", "give either --input (one per tensor) or --inputs FILE.py:FUNCTION, not both")
    function = parse_ref(inputs_function, "inputs") if inputs_function else None
    specs = tuple(parse_input(text) for text in inputs or ())
    return ModelSpec(file, name, specs, function, device)


# -- what a forward measured, as plain data ----------------------------------------------------
@dataclass(frozen=True)
class Value:
    """What a module took or gave: a tensor, a PackedSequence, a tuple / list / dict of values, None, or anything else."""

    kind: str  # "tensor", "packed", "tuple", "list", "dict", "none", "other"
    shape: tuple[int, ...] | None = None  # a tensor's; a PackedSequence's data
    dtype: str | None = None
    device: str | None = None
    items: tuple["Value", ...] = ()
    keys: tuple[str, ...] = ()  # a dict's, beside its items
    text: str = ""  # "other": its type and a short repr
    batch_size_runs: tuple[tuple[int, int], ...] = ()  # a PackedSequence's batch_sizes, run-length
    lengths: tuple[int, ...] = ()  # a PackedSequence's lengths, in the batch's own order

    def to_dict(self) -> Any:
        """JSON: a tensor is {"shape": [...], "dtype": ...}; a tuple or list a JSON list; a dict an object; None null."""
        if self.kind == "tensor":
            return {"shape": list(self.shape), "dtype": self.dtype, "device": self.device}
        if self.kind == "packed":
            return {"PackedSequence": {"data": list(self.shape), "batch_sizes": [list(r) for r in self.batch_size_runs],
                                       "lengths": list(self.lengths), "dtype": self.dtype, "device": self.device}}
        if self.kind in ("tuple", "list"):
            return [item.to_dict() for item in self.items]
        if self.kind == "dict":
            return {key: item.to_dict() for key, item in zip(self.keys, self.items)}
        if self.kind == "none":
            return None
        return {"value": self.text}

    def show(self) -> str:
        """As the tree writes it: [4, 35] (int64 when not float32), (a, b) for a tuple, PackedSequence(data [...])."""
        if self.kind == "tensor":
            return format_shape(self.shape) + ("" if self.dtype == "float32" else f" {self.dtype}")
        if self.kind == "packed":
            return f"PackedSequence(data {format_shape(self.shape)}, batch_sizes {format_runs(self.batch_size_runs)})"
        if self.kind in ("tuple", "list"):
            inner = ", ".join(item.show() for item in self.items)
            return f"({inner}{',' if len(self.items) == 1 else ''})" if self.kind == "tuple" else f"[{inner}]"
        if self.kind == "dict":
            return "{" + ", ".join(f"{k}: {v.show()}" for k, v in zip(self.keys, self.items)) + "}"
        return "None" if self.kind == "none" else self.text

    def tensors(self) -> list[tuple[int, ...]]:
        """Every tensor shape in it, in order (a PackedSequence's data)."""
        if self.shape is not None:
            return [self.shape]
        return [shape for item in self.items for shape in item.tensors()]


MAX_NESTING = 32  # tuples in tuples deeper than this are shown as one item: a 10,000-deep result is not a failure


def value_of(obj: Any, depth: int = 0) -> Value:
    """A forward's argument or result as plain data: shapes and dtypes, never the values of tensors.

    Nesting past MAX_NESTING is one ``other`` item: the report is walked, shown and pickled recursively."""
    import torch
    from torch.nn.utils.rnn import PackedSequence

    if isinstance(obj, PackedSequence):
        runs = _runs(obj.batch_sizes)
        return Value("packed", tuple(obj.data.shape), _dtype(obj.data), str(obj.data.device),
                     batch_size_runs=runs, lengths=_packed_lengths(obj, runs))
    if isinstance(obj, torch.Tensor):
        return Value("tensor", tuple(obj.shape), _dtype(obj), str(obj.device))
    if isinstance(obj, (tuple, list, dict)) and depth >= MAX_NESTING:
        return Value("other", text=f"{type(obj).__name__} nested deeper than {MAX_NESTING} levels")
    if isinstance(obj, (tuple, list)):
        return Value("tuple" if isinstance(obj, tuple) else "list", items=tuple(value_of(o, depth + 1) for o in obj))
    if isinstance(obj, dict):
        return Value("dict", items=tuple(value_of(v, depth + 1) for v in obj.values()), keys=tuple(str(k) for k in obj))
    if obj is None:
        return Value("none")
    text = repr(obj)
    return Value("other", text=f"{type(obj).__name__} {text[:40]}{'…' if len(text) > 40 else ''}")


def _dtype(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def _runs(batch_sizes) -> tuple[tuple[int, int], ...]:
    import torch

    sizes, counts = torch.unique_consecutive(batch_sizes, return_counts=True)
    return tuple(zip(sizes.tolist(), counts.tolist()))


def _packed_lengths(packed, runs) -> tuple[int, ...]:
    """Each sequence's length, in the batch's own order (batch_sizes counts the sequences still running at each step)."""
    lengths, steps = [], 0
    previous = 0
    for size, count in reversed(runs):  # the shortest runs last: walk from the longest steps back
        steps += count
        lengths.extend([steps] * (size - previous))
        previous = size
    lengths.reverse()  # sorted: longest first
    if packed.unsorted_indices is not None:
        order = packed.unsorted_indices.tolist()
        return tuple(lengths[i] for i in order)
    return tuple(lengths)


# -- the report ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """One call of a module: its positional arguments, its keyword arguments, what it returned (None: it failed)."""

    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...] = ()
    output: Value | None = None

    def inputs_text(self) -> str:
        parts = [a.show() for a in self.args] + [f"{k}={v.show()}" for k, v in self.kwargs]
        return ", ".join(parts) if parts else "nothing"

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": [a.to_dict() for a in self.args],
            "kwargs": {k: v.to_dict() for k, v in self.kwargs},
            "output": self.output.to_dict() if self.output is not None else None,
        }


@dataclass(frozen=True)
class Recurrent:
    """An nn.GRU / nn.LSTM / nn.RNN inside the model: its configuration read from the module, and the detail derived."""

    config: GRUConfig
    report: Report  # shapes.derive(config): every layer, direction and gate
    checked: str  # what was checked against the forward


@dataclass(frozen=True)
class ModelNode:
    """One module of the model and the calls the forward made to it."""

    path: str  # "" for the model itself, "encoder.gru" inside
    name: str  # its attribute name (the model's: NAME)
    type: str  # its class name
    params: int  # its parameters and its children's, each counted once
    trainable: int
    extra: str  # its extra_repr, first line
    calls: tuple[Call, ...] = ()
    children: tuple["ModelNode", ...] = ()
    recurrent: Recurrent | None = None  # for an nn.GRU, nn.LSTM or nn.RNN that ran
    error: str | None = None  # torch's own message, on the module that failed
    note: str = ""  # why a recurrent module that ran has no per-layer detail

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
            "error": self.error,
            "note": self.note,
        }
        if self.recurrent is not None:
            detail = self.recurrent.report.shapes()
            detail.pop("using_results", None)
            d["recurrent"] = {"config": self.recurrent.config.to_dict(), "checked": self.recurrent.checked, **detail}
        d["children"] = [child.to_dict() for child in self.children]
        return d


@dataclass(frozen=True)
class Failure:
    """Why there is no complete tree: the file (import, NAME, inputs) or the forward, where, and what to do."""

    stage: str  # "file", "build", "inputs", "forward"
    error_type: str
    message: str  # the exception's own words (torch's, Python's)
    file: str | None = None
    line: int | None = None
    code: str | None = None  # that line's text
    module: str | None = None  # the module that failed (its path; "" the model itself)
    module_type: str | None = None
    received: Call | None = None  # what that module was given
    explanation: tuple[str, ...] = ()  # why, and the fix (checked: ``fix_checked``)
    fix_checked: bool = False

    @property
    def where(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def headline(self) -> str:
        """One line: where, what."""
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        if self.stage == "forward" and self.module is not None:
            at = f" (at {Path(self.file).name}:{self.line})" if self.file and self.line else ""
            return f"{_module_name(self.module)} ({self.module_type}) failed{at}: {self.error_type}: {first}"
        where = f"{self.where}: " if self.where else ""
        return f"{where}{self.error_type}: {first}"

    def lines(self) -> list[str]:
        """What the terminal prints: the headline, what the failed module received, the explanation."""
        lines = [self.headline()]
        if self.code:
            lines.append(f"    {self.code}")
        if self.received is not None:
            lines.append(f"{_module_name(self.module)} received {self.received.inputs_text()}")
        lines += list(self.explanation)
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "error_type": self.error_type,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "code": self.code,
            "module": self.module,
            "module_type": self.module_type,
            "received": self.received.to_dict() if self.received is not None else None,
            "explanation": list(self.explanation),
            "fix_checked": self.fix_checked,
        }


@dataclass(frozen=True)
class ModelReport:
    spec: ModelSpec
    root: ModelNode | None  # None when the file failed before there was a model
    inputs: Call | None  # what the model was given
    output: Value | None  # what it returned (None when it failed)
    failure: Failure | None
    summary: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    run: RunStats | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    def node(self, path: str) -> ModelNode:
        for node in self.root.walk() if self.root is not None else ():
            if node.path == path:
                return node
        raise KeyError(path)

    def to_dict(self) -> dict[str, Any]:
        """``gru-tui trace --model ... --json``: every module with its calls, every shape a list of integers."""
        return {
            "model": self.spec.to_dict(),
            "ok": self.ok,
            "input": self.inputs.to_dict() if self.inputs is not None else None,
            "output": self.output.to_dict() if self.output is not None else None,
            "tree": self.root.to_dict() if self.root is not None else None,
            "failure": self.failure.to_dict() if self.failure is not None else None,
            "summary": dict(self.summary),
            "warnings": list(self.warnings),
        }

    def tree(self) -> Node:
        from .model_tree import build_model_tree

        return build_model_tree(self)


def _module_name(path: str | None) -> str:
    return path if path else "the model"


# -- loading the file ---------------------------------------------------------------------------
class _FileFailure(Exception):
    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.failure = failure


def _failure_from(error: BaseException, stage: str, folder: str, message: str | None = None) -> Failure:
    """An exception as a Failure, placed at the innermost line of the person's own files (their folder)."""
    import linecache
    import traceback

    file = line = None
    if isinstance(error, SyntaxError) and error.filename:
        file, line = error.filename, error.lineno
    else:
        for frame, lineno in traceback.walk_tb(error.__traceback__):
            name = frame.f_code.co_filename
            if _in_folder(name, folder):
                file, line = name, lineno
    code = linecache.getline(file, line).strip() if file and line else None
    return Failure(stage, type(error).__name__, _cut(message if message is not None else _message(error)), file, line, code or None)


def _message(error: BaseException) -> str:
    if isinstance(error, SyntaxError):
        return error.msg or str(error)
    return str(error) or type(error).__name__


def _in_folder(file: str, folder: str) -> bool:
    try:
        return Path(file).resolve().parent == Path(folder)
    except (OSError, ValueError):
        return False


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


_loaded = 0


def load_file(file: str):
    """Import the person's file as a new module (its folder first on sys.path, for its own imports)."""
    import importlib.util

    global _loaded
    folder = str(Path(file).parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    _loaded += 1
    name = f"_gru_tui_model_{_loaded}_{re.sub(r'[^0-9A-Za-z_]', '_', Path(file).stem)}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise _FileFailure(Failure("file", "ImportError", f"cannot import {file}", file))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException as error:  # noqa: BLE001 - a SystemExit in the file is its error too
        sys.modules.pop(name, None)
        if isinstance(error, KeyboardInterrupt):
            raise
        raise _FileFailure(_failure_from(error, "file", folder)) from None
    return module


def _named(module, file: str, name: str, what: str):
    if not hasattr(module, name):
        defined = sorted(n for n, v in vars(module).items() if not n.startswith("_") and callable(v)
                         and getattr(v, "__module__", None) == module.__name__)
        offer = f"; it defines {', '.join(defined[:12])}" if defined else ""
        raise _FileFailure(Failure("file", "NameError", f"{file} has no {what} named {name!r}{offer}", file))
    return getattr(module, name)


def build_model(spec: ModelSpec, module=None):
    """The nn.Module NAME gives: a module object, or what calling NAME (a function or class) with no arguments returns."""
    import torch

    module = module if module is not None else load_file(spec.file)
    target = _named(module, spec.file, spec.name, "function, class or module")
    if isinstance(target, torch.nn.Module):
        return module, target
    if not callable(target):
        raise _FileFailure(Failure("build", "TypeError", f"{spec.name} is a {type(target).__name__}, not a function, class or nn.Module", spec.file))
    try:
        model = target()
    except BaseException as error:  # noqa: BLE001
        if isinstance(error, KeyboardInterrupt):
            raise
        message = _message(error)
        if isinstance(error, TypeError) and "argument" in message:
            message += f" (gru-tui calls {spec.name}() with no arguments: give defaults, or a function that builds the model)"
        raise _FileFailure(_failure_from(error, "build", spec.folder, message)) from None
    if not isinstance(model, torch.nn.Module):
        raise _FileFailure(Failure("build", "TypeError", f"{spec.name}() returned a {type(model).__name__}, not an nn.Module", spec.file))
    return module, model


def build_inputs(spec: ModelSpec, model, module, device) -> tuple[tuple, dict]:
    """The forward's (args, kwargs): random tensors of the --input shapes, or what the inputs function returns."""
    import torch

    function = spec.inputs_function
    if function is None and not spec.inputs and hasattr(module, INPUTS_FUNCTION):
        function = (spec.file, INPUTS_FUNCTION)
    if function is not None:
        source = module if function[0] == spec.file else load_file(function[0])
        fn = _named(source, function[0], function[1], "function")
        try:
            given = fn()
        except BaseException as error:  # noqa: BLE001
            if isinstance(error, KeyboardInterrupt):
                raise
            raise _FileFailure(_failure_from(error, "inputs", str(Path(function[0]).parent))) from None
        if isinstance(given, dict):
            return (), {k: _to(v, device) for k, v in given.items()}
        if isinstance(given, (tuple, list)):
            return tuple(_to(v, device) for v in given), {}
        return (_to(given, device),), {}
    if not spec.inputs:
        raise _FileFailure(Failure(
            "inputs", "ConfigError",
            f"no input: give --input SHAPE[:dtype] for each positional tensor of {spec.name}'s forward (e.g. --input 4x35:int64), "
            f"or --inputs FILE.py:FUNCTION, or define {INPUTS_FUNCTION}() in {Path(spec.file).name}",
            spec.file,
        ))
    high = _token_bound(model)
    args = []
    for inp in spec.inputs:
        dtype = getattr(torch, inp.dtype)
        if inp.dtype == "bool":
            args.append(torch.ones(inp.shape, dtype=dtype, device=device))
        elif dtype.is_floating_point:
            args.append(torch.randn(inp.shape, dtype=dtype, device=device))
        else:  # token ids: valid for every embedding of the model
            args.append(torch.randint(0, high, inp.shape, dtype=dtype, device=device))
    return tuple(args), {}


def _token_bound(model) -> int:
    import torch

    sizes = [m.num_embeddings for m in model.modules() if isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag))]
    return max(1, min(sizes)) if sizes else 2


def _to(value, device):
    """Tensors moved to the run's device, inside tuples, lists and dicts too."""
    import torch
    from torch.nn.utils.rnn import PackedSequence

    if isinstance(value, (torch.Tensor, PackedSequence)):
        return value.to(device)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_to(v, device) for v in value)
    if isinstance(value, list):
        return [_to(v, device) for v in value]
    if isinstance(value, dict):
        return {k: _to(v, device) for k, v in value.items()}
    return value


# -- the forward ----------------------------------------------------------------------------------
@dataclass
class _Record:
    calls: list[Call] = field(default_factory=list)
    started: list[tuple[tuple, dict]] = field(default_factory=list)  # calls entered and not left: their inputs
    recurrent: "Recurrent | None" = None
    recurrent_note: str = ""


class _Hooks:
    """Pre-hooks and hooks on every submodule: what each call received and returned, and which calls are open."""

    def __init__(self, model):
        self.names = {id(m): path for path, m in model.named_modules(remove_duplicate=True)}
        self.records: dict[str, _Record] = {path: _Record() for path in self.names.values()}
        self.open: list[str] = []  # the modules whose forward is under way, outermost first
        self.order: list[str] = []  # completed calls, in order: the last recurrent layer before a failure
        self.handles = []
        self.failed_path: str | None = None  # set once the forward failed: the innermost open call's module
        self.failed_message: str | None = None
        for path, m in model.named_modules():
            self.handles.append(m.register_forward_pre_hook(self._before, with_kwargs=True))
            self.handles.append(m.register_forward_hook(self._after, with_kwargs=True))
        self.modules = dict(model.named_modules())

    def _before(self, module, args, kwargs):
        path = self.names.get(id(module))
        if path is not None:
            self.open.append(path)
            self.records[path].started.append((args, kwargs))

    def _after(self, module, args, kwargs, output):
        path = self.names.get(id(module))
        if path is None:
            return
        while self.open and self.open.pop() != path:  # a call the model caught an error of
            pass
        record = self.records[path]
        record.started.pop()
        record.calls.append(call_of(args, kwargs, output, returned=True))
        self.order.append(path)
        if is_recurrent(module) and record.recurrent is None and not record.recurrent_note:
            try:
                record.recurrent = recurrent_detail(module, args, kwargs, output)
            except Exception as error:  # noqa: BLE001 - a subclass with a forward of its own: its calls still show
                record.recurrent_note = f"no per-layer detail: {error}"

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def is_recurrent(module) -> bool:
    """An nn.GRU, nn.LSTM or nn.RNN (or a subclass): the modules whose per-layer detail the tree opens."""
    import torch

    return isinstance(module, torch.nn.RNNBase) and getattr(module, "mode", None) in RECURRENT_MODES


def module_config(module, x, hx) -> GRUConfig:
    """The GRUConfig of an nn.GRU / nn.LSTM / nn.RNN and the input it received (a tensor or a PackedSequence)."""
    import torch
    from torch.nn.utils.rnn import PackedSequence

    mode, nonlinearity = RECURRENT_MODES[module.mode]
    values: dict[str, Any] = dict(
        mode=mode, input_size=module.input_size, hidden_size=module.hidden_size, num_layers=module.num_layers,
        bias=bool(module.bias), batch_first=bool(module.batch_first), dropout=float(module.dropout),
        bidirectional=bool(module.bidirectional), proj_size=int(getattr(module, "proj_size", 0) or 0),
        nonlinearity=nonlinearity, with_h0=hx is not None,
    )
    data = x.data if isinstance(x, PackedSequence) else x
    if isinstance(data, torch.Tensor):
        dtype = _dtype(data)
        values["dtype"] = dtype if dtype in DTYPES else "float32"
        values["device"] = str(data.device)
    if isinstance(x, PackedSequence):
        lengths = _packed_lengths(x, _runs(x.batch_sizes))
        values.update(lengths=lengths, batch_size=len(lengths), seq_len=max(lengths))
    elif isinstance(x, torch.Tensor) and x.dim() == 2:
        values.update(unbatched=True, seq_len=x.shape[0], batch_size=1)
    elif isinstance(x, torch.Tensor) and x.dim() == 3:
        batch, seq = (x.shape[0], x.shape[1]) if module.batch_first else (x.shape[1], x.shape[0])
        values.update(batch_size=batch, seq_len=seq)
    return GRUConfig(**values).validate(check_device=False)


def recurrent_detail(module, args, kwargs, output) -> Recurrent:
    """The per-layer detail of a recurrent module that ran: derived from its configuration, checked against its output."""
    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    config = module_config(module, x, hx)
    from .shapes import derive

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


# -- the run --------------------------------------------------------------------------------------
Progress = Callable[[float, str], None]


def trace_model(spec: ModelSpec, progress: Progress | None = None) -> ModelReport:
    """Import, build, run once with hooks, and report; every failure is in the report (``failure``), never raised."""
    import torch

    say = progress or (lambda fraction, text: None)
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # the person's prints must not mix with --json on stdout
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with torch.random.fork_rng(devices=[torch.device(spec.device)] if spec.device.startswith("cuda") else []):
                if spec.device.startswith("cuda"):
                    torch.manual_seed(0)
                else:  # torch.manual_seed also queues a CUDA seeding, formatting a stack trace: most of a millisecond
                    torch.default_generator.manual_seed(0)
                try:
                    report = _trace(spec, say)
                except Exception as error:  # noqa: BLE001 - a bug of ours, or a model that breaks the hooks: a message
                    failure = Failure("internal", type(error).__name__, _cut(f"gru-tui could not trace this model: {_message(error)}"),
                                      spec.file)
                    report = ModelReport(spec, None, None, None, failure)
    from .tracing import NOT_THE_USERS

    messages = tuple(dict.fromkeys(m for m in (str(w.message) for w in caught) if not any(n in m for n in NOT_THE_USERS)))
    import dataclasses

    return dataclasses.replace(report, warnings=messages[:20], run=RunStats(time.perf_counter() - started, None))


def _trace(spec: ModelSpec, say: Progress) -> ModelReport:
    import torch

    device = torch.device(spec.device)
    model = None
    try:
        say(0.0, f"importing {Path(spec.file).name}")
        module, model = build_model(spec)
        model = model.to(device).eval()
        say(0.2, "building the inputs")
        args, kwargs = build_inputs(spec, model, module, device)
    except _FileFailure as error:
        root = _tree(model, None, error.failure.stage) if model is not None else None
        return ModelReport(spec, root, None, None, error.failure, _summary(model) if model is not None else {})
    given = call_of(args, kwargs)
    hooks = _Hooks(model)
    say(0.3, "running the forward")
    try:
        with torch.no_grad():
            output = model(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 - whatever the forward raised is the report's
        if isinstance(error, KeyboardInterrupt):
            raise
        failure = _forward_failure(error, spec, model, hooks, args, kwargs)
        hooks.remove()
        return ModelReport(spec, _tree(model, hooks, "forward"), given, None, failure, _summary(model))
    hooks.remove()
    say(0.95, "writing the tree")
    return ModelReport(spec, _tree(model, hooks, None), given, value_of(output), None, _summary(model))


def _summary(model) -> dict[str, Any]:
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return {
        "total_params": total,
        "trainable_params": trainable,
        "non_trainable_params": total - trainable,
        "param_bytes": sum(p.numel() * p.element_size() for p in params),
    }


def _tree(model, hooks: _Hooks | None, failed_stage: str | None) -> ModelNode:
    """The module tree with the calls the hooks saw; the module that failed gets torch's message (set by the caller)."""
    counted: dict[int, tuple[int, int]] = {}

    def counts(m) -> tuple[int, int]:
        if id(m) not in counted:
            params = list(m.parameters())
            counted[id(m)] = (sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad))
        return counted[id(m)]

    def node(path: str, name: str, m) -> ModelNode:
        record = hooks.records.get(path) if hooks is not None else None
        children = tuple(
            node(f"{path}.{child_name}" if path else child_name, child_name, child)
            for child_name, child in m.named_children()
        )
        params, trainable = counts(m)
        extra = m.extra_repr().splitlines()[0] if m.extra_repr() else ""
        return ModelNode(
            path=path, name=name, type=type(m).__name__, params=params, trainable=trainable, extra=extra,
            calls=tuple(record.calls) + tuple(call_of(a, k) for a, k in record.started) if record else (), children=children,
            recurrent=record.recurrent if record else None,
            error=hooks.failed_message if hooks is not None and hooks.failed_path == path else None,
            note=record.recurrent_note if record else "",
        )

    return node("", type(model).__name__, model)


def call_of(args, kwargs, output: Any = None, returned: bool = False) -> Call:
    """A call as plain data; one not ``returned`` was entered and not left (the forward failed inside it)."""
    return Call(tuple(value_of(a) for a in args), tuple((k, value_of(v)) for k, v in kwargs.items()),
                value_of(output) if returned else None)


def _forward_failure(error: BaseException, spec: ModelSpec, model, hooks: _Hooks, args, kwargs) -> Failure:
    from .diagnose import diagnose

    located = _failure_from(error, "forward", spec.folder)
    path = hooks.open[-1] if hooks.open else ""
    record = hooks.records.get(path)
    received_args, received_kwargs = record.started[-1] if record and record.started else (args, kwargs)
    received = call_of(received_args, received_kwargs)
    failed = hooks.modules[path]
    hooks.failed_path, hooks.failed_message = path, located.message
    hooks.remove()  # the checked fix runs the model again, without them
    try:
        explanation, checked = diagnose(path, failed, received_args, received_kwargs, hooks, model, args, kwargs)
    except Exception as error:  # noqa: BLE001 - the failure itself is still reported, with torch's message
        explanation, checked = [f"(no diagnosis: {type(error).__name__}: {_message(error)})"], False
    import dataclasses

    return dataclasses.replace(
        located, module=path, module_type=type(failed).__name__, received=received,
        explanation=tuple(explanation), fix_checked=checked,
    )
