"""The plain values a Report is made of: a tensor's shape (Tensor, Packed), a line of the shape tree (Node), and how shapes are written.

Below both ``report`` and ``tree``: ``Report.tree()`` asks ``tree`` for its nodes, and ``tree`` builds them
from these types without importing ``report``. ``gru_tui.core.report`` re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

H_N_NOTE = "batch_first never applies to h_n"
C_N_NOTE = "hidden_size wide even with proj_size; batch_first never applies to c_n"


@dataclass(frozen=True)
class Tensor:
    """One tensor: its shape, what each dimension means, where it lives."""

    shape: tuple[int, ...]
    dims: tuple[str, ...]
    dtype: str
    device: str

    def to_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dims": list(self.dims), "dtype": self.dtype, "device": self.device}


@dataclass(frozen=True)
class Packed:
    """A PackedSequence: its data, and the run-length form of batch_sizes ((size, count), ...).

    Run lengths keep the live tree's cost independent of the sequence length.
    """

    data: Tensor
    batch_size_runs: tuple[tuple[int, int], ...]
    padded: Tensor  # the input: the padded tensor packed (seq_len steps); the output: what pad_packed_sequence gives back (the longest length)
    lengths: tuple[int, ...]

    @property
    def batch_sizes(self) -> list[int]:
        return [size for size, count in self.batch_size_runs for _ in range(count)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_shape": list(self.data.shape),
            "data_dims": list(self.data.dims),
            "batch_sizes": self.batch_sizes,
            "padded_shape": list(self.padded.shape),
            "padded_dims": list(self.padded.dims),
            "lengths": list(self.lengths),
            "dtype": self.data.dtype,
            "device": self.data.device,
        }


@dataclass(frozen=True)
class Node:
    """One line of the shape tree: a label, an optional shape with the meaning of its dims, children."""

    key: str  # stable path such as "layer0.forward.step.r_t", so a view can keep nodes open across updates
    label: str
    shape: tuple[int, ...] | None = None
    dims: tuple[str, ...] = ()
    note: str = ""
    device: str | None = None
    children: tuple[Node, ...] = ()

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()


def format_shape(shape: tuple[int, ...] | list[int]) -> str:
    """Shapes written as the original write-up does: [1, 35, 64]."""
    return "[" + ", ".join(str(n) for n in shape) + "]"


def format_runs(runs: tuple[tuple[int, int], ...]) -> str:
    """batch_sizes in run-length form: [3×5, 2×15, 1×15] (size × steps)."""
    return "[" + ", ".join(f"{size}×{count}" if count > 1 else str(size) for size, count in runs) + "]"
