"""A model's cost: matmul mult-adds (FlopCounterMode on the traced forward) and torchinfo's four memory sizes.

Mult-adds: FlopCounterMode's count / 2, with oneDNN off so CPU layers run as the matmuls it
counts. Inside an nn.GRU / nn.LSTM / nn.RNN the counter is paused (and oneDNN back on): its
steps would go through Python one small matmul at a time, many times slower than the layer;
``recurrent_macs`` adds exactly what the counter would have counted there (tests compare).

Sizes, as torchinfo names them, in bytes: the input (every tensor the model is given), the
forward/backward pass (every output of each call of a leaf module with parameters, twice:
kept for backward and its gradient), the parameters, and their total. torchinfo counts only
the first tensor of an output (an LSTM's output, not h_n and c_n): its figure is kept beside
ours, by its rule, where they differ; so is its input size (``sys.getsizeof`` of each input
tensor's storage: the whole storage, and Python's object around it).
"""

from __future__ import annotations

from typing import Any

from .values import Value

DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4, "int16": 2, "int8": 1,
               "uint8": 1, "bool": 1, "complex64": 8, "complex128": 16}


class MatmulCounter:
    """FlopCounterMode around the forward (oneDNN off), paused inside recurrent modules; ``macs()`` so far."""

    def __init__(self):
        from torch.utils.flop_counter import FlopCounterMode

        self.counter = FlopCounterMode(display=False)
        self.added = 0  # the recurrent modules' mult-adds, counted by formula while the counter is paused
        self.paused: list[Any] = []  # the mode stack set aside, per recurrent call under way

    def __enter__(self):
        import torch

        self.onednn = torch._C._get_mkldnn_enabled()
        torch._C._set_mkldnn_enabled(False)  # not torch.backends.mkldnn.flags: it also sets TF32 and warns
        self.counter.__enter__()
        return self

    def __exit__(self, *exc):
        import torch

        self.resume_all()
        try:
            self.counter.__exit__(*exc)
        finally:
            torch._C._set_mkldnn_enabled(self.onednn)

    def macs(self) -> int:
        return self.counter.get_total_flops() // 2 + self.added

    def pause(self, macs: int) -> None:
        """Entering a recurrent module: its ``macs`` added, the counter and oneDNN off until ``resume``."""
        import torch
        from torch.utils._python_dispatch import _disable_current_modes

        self.added += macs
        modes = _disable_current_modes()
        modes.__enter__()
        self.paused.append(modes)
        torch._C._set_mkldnn_enabled(self.onednn)

    def resume(self) -> None:
        import torch

        if self.paused:
            torch._C._set_mkldnn_enabled(False)
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
