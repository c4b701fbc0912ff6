"""A model's cost: matmul mult-adds (FlopCounterMode on the traced forward) and torchinfo's four memory sizes.

Mult-adds: FlopCounterMode's count / 2 as it counts with oneDNN off, where CPU recurrent layers
run as the matmuls it counts: a dispatch mode applies FlopCounterMode's own formulas
(``torch.utils.flop_counter.flop_registry``) to each operator the forward runs, without its
module tracking and decomposition attempts, which would cost more than a small model's forward
(the tests compare with FlopCounterMode itself). Inside an nn.GRU / nn.LSTM / nn.RNN the counter is paused: its
steps would go through Python one small matmul at a time, many times slower than the layer
(and oneDNN's own kernel, when on, is not counted at all); ``recurrent_macs`` adds exactly what
the counter counts there with oneDNN off (the tests compare, on generated models). Elsewhere
oneDNN does not change what it counts (a Linear or a convolution is counted before a kernel is
chosen), so the person's setting is left as it is and the layers run at their own speed.

Sizes, as torchinfo names them, in bytes: the input (every tensor the model is given), the
forward/backward pass (every output of each call of a leaf module with parameters, twice:
kept for backward and its gradient), the parameters, and their total. torchinfo counts only
the first tensor of an output (an LSTM's output, not h_n and c_n): its figure is kept beside
ours, by its rule, where they differ; so is its input size (``sys.getsizeof`` of each input
tensor's storage: the whole storage, and Python's object around it).
"""

from __future__ import annotations

import functools
from typing import Any

from .values import Value

DTYPE_BYTES = {
    "float64": 8,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
    "complex64": 8,
    "complex128": 16,
}


@functools.cache
def _counting_mode():
    """The dispatch mode class (made once: a class costs a millisecond to build)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    class Counting(TorchDispatchMode):
        def __init__(self, counter: MatmulCounter):
            super().__init__()
            self.counter = counter

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None:
                self.counter.flops += formula(*args, **kwargs, out_val=out)
            return out

    return Counting


class MatmulCounter:
    """FlopCounterMode's formulas around the forward, paused inside recurrent modules (their mult-adds added by formula)."""

    def __init__(self):
        self.flops = 0
        self.added = 0  # the recurrent modules' mult-adds, counted by formula while the counter is paused
        self.paused: list[Any] = []  # the mode stack set aside, per recurrent call under way
        self.mode = _counting_mode()(self)

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        self.resume_all()
        self.mode.__exit__(*exc)

    def macs(self) -> int:
        """The matmul mult-adds so far."""
        return self.flops // 2 + self.added

    def pause(self, macs: int) -> None:
        """Entering a recurrent module: its ``macs`` added, the counter off until ``resume``."""
        from torch.utils._python_dispatch import _disable_current_modes

        self.added += macs
        modes = _disable_current_modes()
        modes.__enter__()
        self.paused.append(modes)

    def resume(self) -> None:
        if self.paused:
            self.paused.pop().__exit__(None, None, None)

    def resume_all(self) -> None:
        """After a forward that failed inside a recurrent module (its hook never ran)."""
        while self.paused:
            self.resume()


def value_bytes(value: Value) -> int:
    """The bytes of every tensor in a value (a PackedSequence's data)."""
    return sum(_bytes(leaf) for leaf in value.leaves())


def torchinfo_bytes(value: Value) -> int:
    """torchinfo's rule: a tuple or list counts only its first item (recursively)."""
    while value.kind in ("tuple", "list") and value.items:
        value = value.items[0]
    if value.kind == "dict":
        return sum(torchinfo_bytes(v) for v in value.items)
    return _bytes(value) if value.shape is not None else 0


def _bytes(leaf: Value) -> int:
    elements = 1
    for n in leaf.shape:
        elements *= n
    return elements * DTYPE_BYTES.get(leaf.dtype or "", 4)


def storage_bytes(obj: Any) -> int:
    """torchinfo's input rule: ``sys.getsizeof`` of each input tensor's storage (the whole storage, and Python's object)."""
    import sys

    import torch

    if isinstance(obj, torch.Tensor):
        return sys.getsizeof(obj.untyped_storage())
    if isinstance(obj, (tuple, list)):
        return sum(storage_bytes(o) for o in obj)
    if isinstance(obj, dict):
        return sum(storage_bytes(o) for o in obj.values())
    return 0


def sizes(inputs_bytes: int, passes: int, param_bytes: int, torchinfo_inputs: int, torchinfo_passes: int) -> dict[str, int]:
    """torchinfo's four sizes in bytes, and torchinfo's own figures where its rules give others."""
    figures = {
        "input_bytes": inputs_bytes,
        "forward_backward_bytes": passes,
        "param_bytes": param_bytes,
        "total_bytes": inputs_bytes + passes + param_bytes,
    }
    if torchinfo_inputs != inputs_bytes:
        figures["torchinfo_input_bytes"] = torchinfo_inputs
    if torchinfo_passes != passes:
        figures["torchinfo_forward_backward_bytes"] = torchinfo_passes
    if torchinfo_inputs != inputs_bytes or torchinfo_passes != passes:
        figures["torchinfo_total_bytes"] = torchinfo_inputs + torchinfo_passes + param_bytes
    return figures
