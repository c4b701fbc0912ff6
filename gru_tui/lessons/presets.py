"""The worked examples a lesson starts from, for the three kinds; the app loads them by key (1-9, 0) or palette.

Keys 1-5 are the GRU's, as they always were; 6-9 and 0 the LSTM's and RNN's most telling
ones; the rest (stacked LSTM and RNN) are in the command palette.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.config import FIRST_EXAMPLE, GRUConfig


@dataclass(frozen=True)
class Preset:
    id: str
    title: str
    description: str
    config: GRUConfig
    key: str | None = None  # the app's key for it; None: the command palette only


def _presets(*presets: Preset) -> dict[str, Preset]:
    return {p.id: p for p in presets}


def _as(mode: str, preset: Preset, key: str | None, description: str) -> Preset:
    """One of the GRU's worked examples as another kind: the same input, the same sizes."""
    module = {"lstm": "LSTM", "rnn": "RNN"}[mode]
    return Preset(f"{mode}-{preset.id}", f"{module}, {preset.title}", description, preset.config.replace(mode=mode), key)


# The three worked examples of the write-up share input (1, 35, 10) and hidden 32.
_GRU: dict[str, Preset] = _presets(
    Preset(
        "one-layer",
        "1 layer",
        "The first worked example: input (1, 35, 10), hidden 32, batch_first.",
        FIRST_EXAMPLE,
        "1",
    ),
    Preset(
        "stacked",
        "2 stacked layers",
        "Layer 1 reads layer 0's output: h_n gains a slot per layer, the output does not change.",
        FIRST_EXAMPLE.replace(num_layers=2),
        "2",
    ),
    Preset(
        "bidirectional",
        "2 layers, bidirectional",
        "Both directions concatenate in the output (D*hidden = 64); h_n keeps D x num_layers = 4 slots.",
        FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True),
        "3",
    ),
    Preset(
        "packed",
        "packed batch, uneven lengths",
        "Three sequences of lengths 7, 5, 2 packed: the data holds only the 14 real steps.",
        FIRST_EXAMPLE.replace(batch_size=3, seq_len=7, lengths=(7, 5, 2)),
        "4",
    ),
    Preset(
        "unbatched",
        "unbatched input",
        "One sequence without a batch dimension: input (35, 10), output (35, 32), h_n (1, 32).",
        FIRST_EXAMPLE.replace(batch_first=False, unbatched=True),
        "5",
    ),
)
PRESETS: dict[str, Preset] = {
    **_GRU,
    **_presets(
        _as(
            "lstm",
            _GRU["one-layer"],
            "6",
            "Four gates (4*hidden = 128 rows in weight_ih) and a cell state: h_n and c_n are both (1, 1, 32).",
        ),
        _as("lstm", _GRU["bidirectional"], "7", "As the GRU: output (1, 35, 64), h_n (4, 1, 32); and c_n (4, 1, 32) beside it."),
        Preset(
            "lstm-proj",
            "LSTM with proj_size 16, 2 layers, bidirectional",
            "proj_size 16 shrinks h, not c: output (1, 35, 32), h_n (4, 1, 16), c_n (4, 1, 32); weight_hr (16, 32).",
            _GRU["bidirectional"].config.replace(mode="lstm", proj_size=16),
            "8",
        ),
        _as(
            "rnn",
            _GRU["one-layer"],
            "9",
            "No gates: one hidden_size block of rows, h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh).",
        ),
        _as(
            "rnn",
            _GRU["bidirectional"],
            "0",
            "The shapes of the GRU's, with a third of its parameters: output (1, 35, 64), h_n (4, 1, 32).",
        ),
        _as("lstm", _GRU["stacked"], None, "Layer 1 reads layer 0's output; h_n and c_n gain a slot per layer."),
        _as("rnn", _GRU["stacked"], None, "Layer 1 reads layer 0's output; h_n gains a slot per layer."),
    ),
}
