"""The recurrent modules gru-tui knows (nn.GRU, nn.LSTM, nn.RNN) as data: one row per kind.

Shapes, tree, code and lessons read the kind's row instead of branching on its
name; the hand-computed step for each kind lives beside the trace
(``tracing.STEPS``). Adding a fourth kind means a row here and a step there.
No torch import: the derived tree needs this before torch has loaded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    mode: str  # the configuration's value: "gru", "lstm", "rnn"
    module: str  # the torch.nn class name
    gates: tuple[str, ...]  # the row blocks of weight_ih / weight_hh, top to bottom, by gate letter
    gate_names: dict[str, str]  # step tensor -> what it is ("reset gate", ...)
    equations: dict[str, str]  # step tensor -> its equation; {act} is the RNN's nonlinearity
    has_cell: bool = False  # an LSTM carries c besides h: h0 is (h0, c0), it returns (h_n, c_n)
    option: str | None = None  # the one constructor argument only this kind takes

    @property
    def gate_count(self) -> int:
        return len(self.gates)

    @property
    def step_names(self) -> tuple[str, ...]:
        """The tensors computed at one step, in order (x_t and the previous state come before them)."""
        return tuple(self.equations)

    def stacked(self, prefix: str) -> str:
        """How a weight's rows are stacked: 'W_ir | W_iz | W_in'."""
        return " | ".join(f"{prefix}{g}" for g in self.gates)


KINDS = {
    "gru": Kind(
        mode="gru",
        module="GRU",
        gates=("r", "z", "n"),
        gate_names={"r_t": "reset gate", "z_t": "update gate", "n_t": "new gate", "h_t": "hidden state"},
        equations={
            "r_t": "σ(W_ir x_t + b_ir + W_hr h_(t-1) + b_hr)",
            "z_t": "σ(W_iz x_t + b_iz + W_hz h_(t-1) + b_hz)",
            "n_t": "tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_(t-1) + b_hn))",
            "h_t": "(1 − z_t) ⊙ n_t + z_t ⊙ h_(t-1)",
        },
    ),
    "lstm": Kind(
        mode="lstm",
        module="LSTM",
        gates=("i", "f", "g", "o"),
        gate_names={
            "i_t": "input gate",
            "f_t": "forget gate",
            "g_t": "cell candidate",
            "o_t": "output gate",
            "c_t": "cell state",
            "m_t": "before the projection",
            "h_t": "hidden state",
        },
        equations={
            "i_t": "σ(W_ii x_t + b_ii + W_hi h_(t-1) + b_hi)",
            "f_t": "σ(W_if x_t + b_if + W_hf h_(t-1) + b_hf)",
            "g_t": "tanh(W_ig x_t + b_ig + W_hg h_(t-1) + b_hg)",
            "o_t": "σ(W_io x_t + b_io + W_ho h_(t-1) + b_ho)",
            "c_t": "f_t ⊙ c_(t-1) + i_t ⊙ g_t",
            "m_t": "o_t ⊙ tanh(c_t)",  # only with proj_size > 0; the name is Sak et al.'s (2014), who added the projection
            "h_t": "o_t ⊙ tanh(c_t)",
        },
        has_cell=True,
        option="proj_size",
    ),
    "rnn": Kind(
        mode="rnn",
        module="RNN",
        gates=("h",),  # one block, no gate: the notes read W_ih, W_hh as torch's documentation writes them
        gate_names={"h_t": "hidden state"},
        equations={"h_t": "{act}(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)"},
        option="nonlinearity",
    ),
}
MODES = tuple(KINDS)
# With a projection, an LSTM's h_t is the projected m_t; what each tensor is, and its equation, says so.
PROJECTED_H_T = "W_hr m_t"
NONLINEARITIES = ("tanh", "relu")


def step_names(config) -> tuple[str, ...]:
    """The step tensors a configuration computes: m_t only where an LSTM projects it."""
    return _step_names(config.mode, bool(config.proj_size))


def equation(config, name: str) -> str:
    """The equation of one step tensor for this configuration (the RNN's nonlinearity, an LSTM's projection)."""
    return _equation(config.mode, config.nonlinearity, bool(config.proj_size), name)


# Cached: the live tree asks for them at every edit, for every layer and direction.
@functools.cache
def _step_names(mode: str, projected: bool) -> tuple[str, ...]:
    return tuple(n for n in KINDS[mode].step_names if n != "m_t" or projected)


@functools.cache
def _equation(mode: str, nonlinearity: str, projected: bool, name: str) -> str:
    if name == "h_t" and projected:
        return PROJECTED_H_T
    return KINDS[mode].equations[name].replace("{act}", nonlinearity)
