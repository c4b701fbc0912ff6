"""What a forward took and gave, as plain data (``Value``, ``Call``): shapes and dtypes, never the values of tensors.

``value_of`` reads tensors, PackedSequences (with each sequence's length), tuples, lists, dicts,
and objects holding tensors (a namespace, a dataclass, a dict-like batch: the shapes inside).
torch is imported only by the functions that read tensors: the app unpickles these without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.report import format_runs, format_shape

MAX_DEPTH = 6  # objects inside objects: deeper ones are named, not opened


@dataclass(frozen=True)
class Value:
    """What a module took or gave: a tensor, a PackedSequence, a tuple / list / dict / object of values, None, or anything else."""

    kind: str  # "tensor", "packed", "tuple", "list", "dict", "object", "none", "other"
    shape: tuple[int, ...] | None = None  # a tensor's; a PackedSequence's data
    dtype: str | None = None
    device: str | None = None
    items: tuple[Value, ...] = ()
    keys: tuple[str, ...] = ()  # a dict's or an object's, beside its items
    text: str = ""  # "other": its type (and a number's or a string's short repr); "object": its type
    batch_size_runs: tuple[tuple[int, int], ...] = ()  # a PackedSequence's batch_sizes, run-length
    lengths: tuple[int, ...] = ()  # a PackedSequence's lengths, in the caller's order

    def to_dict(self) -> Any:
        """JSON: a tensor is {"shape": [...], "dtype": ...}; a tuple or list a JSON list; a dict an object; None null."""
        if self.kind == "tensor":
            return {"shape": list(self.shape), "dtype": self.dtype, "device": self.device}
        if self.kind == "packed":
            return {
                "PackedSequence": {
                    "data": list(self.shape),
                    "batch_sizes": [list(r) for r in self.batch_size_runs],
                    "lengths": list(self.lengths),
                    "dtype": self.dtype,
                    "device": self.device,
                }
            }
        if self.kind in ("tuple", "list"):
            return [item.to_dict() for item in self.items]
        if self.kind == "dict":
            return {key: item.to_dict() for key, item in zip(self.keys, self.items)}
        if self.kind == "object":
            return {"object": self.text, "fields": {key: item.to_dict() for key, item in zip(self.keys, self.items)}}
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
        if self.kind == "object":
            return f"{self.text}(" + ", ".join(f"{k}={v.show()}" for k, v in zip(self.keys, self.items)) + ")"
        return "None" if self.kind == "none" else self.text

    def tensors(self) -> list[tuple[int, ...]]:
        """Every tensor shape in it, in order (a PackedSequence's data)."""
        if self.shape is not None:
            return [self.shape]
        return [shape for item in self.items for shape in item.tensors()]

    def leaves(self) -> list[Value]:
        """Every tensor (or PackedSequence) in it, in order."""
        if self.shape is not None:
            return [self]
        return [leaf for item in self.items for leaf in item.leaves()]


@dataclass(frozen=True)
class Call:
    """One call of a module: its positional arguments, its keyword arguments, what it returned (None: it failed)."""

    args: tuple[Value, ...]
    kwargs: tuple[tuple[str, Value], ...] = ()
    output: Value | None = None

    def inputs_text(self) -> str:
        parts = [a.show() for a in self.args] + [f"{k}={v.show()}" for k, v in self.kwargs]
        return ", ".join(parts) if parts else "nothing"

    def values(self) -> list[Value]:
        return [*self.args, *(v for _k, v in self.kwargs)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": [a.to_dict() for a in self.args],
            "kwargs": {k: v.to_dict() for k, v in self.kwargs},
            "output": self.output.to_dict() if self.output is not None else None,
        }


def call_of(args, kwargs, output: Any = None, returned: bool = False) -> Call:
    """A call as plain data; one not ``returned`` was entered and not left (the forward failed inside it)."""
    return Call(
        tuple(value_of(a) for a in args),
        tuple((k, value_of(v)) for k, v in kwargs.items()),
        value_of(output) if returned else None,
    )


def value_of(obj: Any, depth: int = 0) -> Value:
    """A forward's argument or result as plain data: shapes and dtypes, never the values of tensors."""
    import torch
    from torch.nn.utils.rnn import PackedSequence

    if isinstance(obj, PackedSequence):
        runs = batch_size_runs(obj.batch_sizes)
        unsorted = obj.unsorted_indices.tolist() if obj.unsorted_indices is not None else None
        return Value(
            "packed",
            tuple(obj.data.shape),
            dtype_name(obj.data),
            str(obj.data.device),
            batch_size_runs=runs,
            lengths=packed_lengths(runs, unsorted),
        )
    if isinstance(obj, torch.Tensor):
        return Value("tensor", tuple(obj.shape), dtype_name(obj), str(obj.device))
    if obj is None:
        return Value("none")
    if isinstance(obj, (bool, int, float, str)):
        text = repr(obj)
        return Value("other", text=f"{type(obj).__name__} {text[:40]}{'…' if len(text) > 40 else ''}")
    if depth >= MAX_DEPTH:  # a 10,000-deep result is not a failure: the report is walked, shown and pickled recursively
        return Value("other", text=f"{type(obj).__name__} nested deeper than {MAX_DEPTH} levels")
    if isinstance(obj, (tuple, list)):
        return Value("tuple" if isinstance(obj, tuple) else "list", items=tuple(value_of(o, depth + 1) for o in obj))
    if isinstance(obj, dict):
        return Value("dict", items=tuple(value_of(v, depth + 1) for v in obj.values()), keys=tuple(str(k) for k in obj))
    fields = _fields(obj)
    if fields is not None:  # a namespace, a dataclass, a dict-like batch: the shapes inside, never the values
        held = Value(
            "object",
            items=tuple(value_of(v, depth + 1) for v in fields.values()),
            keys=tuple(map(str, fields)),
            text=type(obj).__name__,
        )
        if held.leaves():  # an object holding no tensor (a tokenizer, a config) is named, not listed
            return held
    return Value("other", text=type(obj).__name__)


def _fields(obj: Any) -> dict | None:
    """The named values of an object that holds some: a Mapping's items, else its attributes (None: a plain object)."""
    from collections.abc import Mapping

    if isinstance(obj, Mapping):
        try:
            return dict(obj.items())
        except Exception:  # noqa: BLE001 - a mapping that cannot list itself is shown by its type
            return None
    attributes = getattr(obj, "__dict__", None)
    if isinstance(attributes, dict) and not callable(obj) and not isinstance(obj, type):
        return {k: v for k, v in attributes.items() if not k.startswith("_")}
    return None


def dtype_name(t) -> str:
    return str(t.dtype).removeprefix("torch.")


def batch_size_runs(batch_sizes) -> tuple[tuple[int, int], ...]:
    """A PackedSequence's batch_sizes as (size, how many steps in a row)."""
    runs: list[list[int]] = []
    for size in batch_sizes.tolist():  # a few hundred steps at most in a row: plain Python beats a torch call here
        if runs and runs[-1][0] == size:
            runs[-1][1] += 1
        else:
            runs.append([size, 1])
    return tuple((size, count) for size, count in runs)


def packed_lengths(runs: tuple[tuple[int, int], ...], unsorted_indices: list[int] | None = None) -> tuple[int, ...]:
    """Each sequence's length, in the caller's order.

    batch_sizes[t] counts the sequences still running at step t, longest first: sorted sequence i
    runs while batch_sizes[t] > i, so its length is the number of entries greater than i;
    unsorted_indices[j] is where the caller's sequence j sits in that sorted order.
    """
    batch = runs[0][0] if runs else 0
    ordered = [sum(count for size, count in runs if size > i) for i in range(batch)]
    if unsorted_indices is not None:
        return tuple(ordered[i] for i in unsorted_indices)
    return tuple(ordered)
