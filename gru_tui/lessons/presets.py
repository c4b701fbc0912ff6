"""The worked examples a lesson starts from; keys 1..5 load them in the app, in this order."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import FIRST_EXAMPLE, GRUConfig


@dataclass(frozen=True)
class Preset:
    id: str
    title: str
    description: str
    config: GRUConfig


def _presets(*presets: Preset) -> dict[str, Preset]:
    return {p.id: p for p in presets}


# The three worked examples of the write-up share input (1, 35, 10) and hidden 32.
PRESETS: dict[str, Preset] = _presets(
    Preset(
        "one-layer",
        "1 layer",
        "The first worked example: input (1, 35, 10), hidden 32, batch_first.",
        FIRST_EXAMPLE,
    ),
    Preset(
        "stacked",
        "2 stacked layers",
        "Layer 1 reads layer 0's output: h_n gains a slot per layer, the output does not change.",
        FIRST_EXAMPLE.replace(num_layers=2),
    ),
    Preset(
        "bidirectional",
        "2 layers, bidirectional",
        "Both directions concatenate in the output (D*hidden = 64); h_n keeps D x num_layers = 4 slots.",
        FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True),
    ),
    Preset(
        "packed",
        "packed batch, uneven lengths",
        "Three sequences of lengths 7, 5, 2 packed: the data holds only the 14 real steps.",
        FIRST_EXAMPLE.replace(batch_size=3, seq_len=7, lengths=(7, 5, 2)),
    ),
    Preset(
        "unbatched",
        "unbatched input",
        "One sequence without a batch dimension: input (35, 10), output (35, 32), h_n (1, 32).",
        FIRST_EXAMPLE.replace(batch_first=False, unbatched=True),
    ),
)
