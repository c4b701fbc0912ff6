"""The shape-error explainer: run the real nn.GRU (nn.LSTM, nn.RNN) on the learner's (wrong) shapes and say what to change.

PyTorch's own message is shown as it is; the explanation says which rule the shape
broke, and the suggested fix is run too, so it is known to work before it is shown.

torch's rules are about the pair itself: batch and seq may be anything, h0 must match
the input as torch reads it (its batch, not the configuration's batch_size). So the
explainer names a *problem* exactly when torch refuses the pair (the tests check this
against torch over random configurations and shapes), and otherwise only *notes* how
torch read an input the configuration did not mean. A fix changes only what was wrong.

An LSTM takes its initial state as the pair (h0, c0), a GRU or an RNN h0 alone: h0 alone
given to an LSTM, or a pair given to the others, is a problem of its own (``_pair_problems``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from ..core.config import ConfigError, GRUConfig
from ..core.report import format_shape
from ..core.shapes import count_summary, derive

# The learner types shapes by hand: a slip (an extra zero) must not allocate gigabytes.
MAX_ELEMENTS = 1 << 22
MAX_PARAMETERS = 1 << 24

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Explanation:
    config: GRUConfig
    input_shape: Shape
    h0_shape: Shape | None
    error: str | None  # PyTorch's exact message; None when the module ran
    output_shape: Shape | None
    h_n_shape: Shape | None
    problems: tuple[str, ...]  # why torch refuses the pair, rule by rule: empty exactly when it runs
    notes: tuple[str, ...]  # how torch read an input this configuration does not mean
    fix_input_shape: Shape
    fix_h0_shape: Shape | None
    fix_output_shape: Shape | None  # measured by running the fix
    fix_h_n_shape: Shape | None
    fix_error: str | None = None  # set only if the suggested fix failed too (a bug in these rules)
    c0_shape: Shape | None = None  # given: the state was passed as the pair (h0, c0), as an LSTM takes it
    fix_c0_shape: Shape | None = None
    c_n_shape: Shape | None = None  # an LSTM's, when it ran
    fix_c_n_shape: Shape | None = None

    @property
    def ran(self) -> bool:
        return self.error is None

    @property
    def findings(self) -> tuple[str, ...]:
        return self.problems + self.notes

    @property
    def needs_fix(self) -> bool:
        given = (self.input_shape, self.h0_shape, self.c0_shape)
        return given != (self.fix_input_shape, self.fix_h0_shape, self.fix_c0_shape)

    @property
    def fix_checked(self) -> bool:
        return self.fix_error is None and self.fix_output_shape is not None

    def lines(self) -> list[str]:
        given = f"input {format_shape(self.input_shape)}" + _state_text(" and ", self.h0_shape, self.c0_shape)
        if self.error is not None:
            lines = [f"PyTorch refused {given}:", f"  {self.error}"]
        else:
            c_n = f", c_n {format_shape(self.c_n_shape)}" if self.c_n_shape else ""
            lines = [f"PyTorch ran {given}: output {format_shape(self.output_shape)}, h_n {format_shape(self.h_n_shape)}{c_n}."]
            if self.notes:
                lines.append("It ran, but not as this configuration means it:")
        lines += [f"- {finding}" for finding in self.findings]
        if self.needs_fix:
            fix = f"input {format_shape(self.fix_input_shape)}" + _state_text(", ", self.fix_h0_shape, self.fix_c0_shape)
            # Refused: the nearest pair torch runs. Ran, read otherwise: the pair this configuration means.
            what = "Fix" if self.error is not None else "For this configuration"
            if self.fix_checked:
                c_n = f", c_n {format_shape(self.fix_c_n_shape)}" if self.fix_c_n_shape else ""
                lines.append(
                    f"{what}: {fix}. Checked: nn.{self.config.kind.module} runs it and gives output "
                    f"{format_shape(self.fix_output_shape)}, h_n {format_shape(self.fix_h_n_shape)}{c_n}."
                )
            else:
                lines.append(f"Expected {fix}, but PyTorch refused that too: {self.fix_error}")
        elif not self.findings:
            lines.append("These are the right shapes for this configuration.")
        return lines


def _state_text(join: str, h0: Shape | None, c0: Shape | None) -> str:
    """' and h0 [4, 1, 32]', or the pair ' and (h0, c0) ([4, 1, 16], [4, 1, 32])'."""
    if c0 is not None:
        return f"{join}(h0, c0) ({format_shape(h0) if h0 else 'None'}, {format_shape(c0)})"
    return f"{join}h0 {format_shape(h0)}" if h0 else ""


def explain(
    config: GRUConfig, input_shape: Shape | None = None, h0_shape: Shape | None = None, c0_shape: Shape | None = None
) -> Explanation:
    """Run ``config``'s module (on the CPU, float32) with the given shapes and explain the result.

    ``input_shape`` defaults to the right one; ``h0_shape`` to none, or the right one when
    the configuration passes h0 (with an LSTM's c0 beside it). ``c0_shape`` given: the state
    is passed as the pair (h0, c0), as an LSTM takes it, whatever the kind. A packed
    configuration is run on its padded tensor.
    """
    c = config.replace(device="cpu", dtype="float32", dropout=0.0, lengths=None)
    c.validate(check_device=False)
    if count_summary(c)["total_params"] > MAX_PARAMETERS:
        raise ConfigError("hidden_size", f"the explainer runs small modules only (at most {MAX_PARAMETERS:,} parameters)")
    expected_input = derive(c).input.shape
    with_state = derive(c.replace(with_h0=True))
    expected_h0 = with_state.h0.shape
    expected_c0 = with_state.c0.shape if with_state.c0 is not None else None
    input_shape = tuple(input_shape) if input_shape is not None else expected_input
    if h0_shape is None and c0_shape is None and config.with_h0:
        h0_shape, c0_shape = expected_h0, expected_c0
    h0_shape = tuple(h0_shape) if h0_shape is not None else None
    c0_shape = tuple(c0_shape) if c0_shape is not None else None
    _check_size("seq_len", expected_input, c, "the explainer runs small inputs; make batch_size x seq_len smaller")
    _check_size("input_shape", input_shape, c)
    for field, shape in (("h0_shape", h0_shape), ("c0_shape", c0_shape)):
        if shape is not None:
            _check_size(field, shape, c)

    module = _module(c)
    output_shape, h_n_shape, c_n_shape, error = _run(module, input_shape, h0_shape, c0_shape)
    problems = refusals(c, input_shape, h0_shape, c0_shape)
    notes = _input_notes(c, input_shape, expected_input)
    if _read_as_pair(c, input_shape, h0_shape, c0_shape):
        notes.append(
            f"nn.LSTM takes the pair (h0, c0); given one tensor, torch read it as the pair: h0 = t[0], c0 = t[1], "
            f"each {format_shape(h0_shape[1:])}. Pass {c.mode}(x, (h0, c0))."
        )
    state = h0_shape is not None or c0_shape is not None  # the fix passes a state when one was given: the kind's own
    if problems:  # the nearest pair torch runs: the input's own batch and seq kept when it has the meant layout
        # Batch and seq swapped (or the sizes in the wrong order): what was meant is the configured batch and seq,
        # in the module's order; keeping the given order would run, as another batch.
        meant = _wrong_order(c, input_shape, expected_input) or _swapped(input_shape, expected_input)
        near = len(input_shape) == len(expected_input) and not meant and _seq_of(c, input_shape) > 0
        fix_input = (*input_shape[:-1], c.input_size) if near else expected_input
        fix_h0 = _state_for(c, fix_input, c.state_size) if state else None
        fix_c0 = _state_for(c, fix_input, c.hidden_size) if state and c.kind.has_cell else None
    else:
        fix_input, fix_h0, fix_c0 = expected_input, expected_h0 if state else None, expected_c0 if state else None
    fix_output, fix_h_n, fix_c_n, fix_error = _run(module, fix_input, fix_h0, fix_c0)
    return Explanation(
        config=config,
        input_shape=input_shape,
        h0_shape=h0_shape,
        error=error,
        output_shape=output_shape,
        h_n_shape=h_n_shape,
        problems=tuple(problems),
        notes=tuple(notes),
        fix_input_shape=fix_input,
        fix_h0_shape=fix_h0,
        fix_output_shape=fix_output,
        fix_h_n_shape=fix_h_n,
        fix_error=fix_error,
        c0_shape=c0_shape,
        fix_c0_shape=fix_c0,
        c_n_shape=c_n_shape,
        fix_c_n_shape=fix_c_n,
    )


def _check_size(field: str, shape: Shape, c: GRUConfig, advice: str = "") -> None:
    if not shape or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in shape):
        raise ConfigError(field, f"every dimension must be a whole number, 0 or more; got {list(shape)}")
    elements = 1
    for n in shape:
        elements *= n
    # What the run would allocate: the tensor itself, and each layer's output over the same steps.
    steps = 1
    for n in shape[:-1]:  # every dimension but the features (0 features: still the steps a layer outputs)
        steps *= n
    produced = steps * c.num_directions * c.hidden_size * c.num_layers
    if max(elements, produced) > MAX_ELEMENTS:
        raise ConfigError(
            field,
            advice
            or f"{format_shape(shape)} is too large to run here: the explainer runs at most {MAX_ELEMENTS:,} elements a tensor",
        )


def _module(c: GRUConfig):
    import torch
    from torch import nn

    torch.manual_seed(0)
    return getattr(nn, c.kind.module)(
        c.input_size,
        c.hidden_size,
        num_layers=c.num_layers,
        bias=c.bias,
        batch_first=c.batch_first,
        bidirectional=c.bidirectional,
        **c.options(),
    )


def _run(module, input_shape: Shape, h0_shape: Shape | None, c0_shape: Shape | None = None):
    """(output, h_n, c_n or None, None) shapes when it runs, else (None, None, None, PyTorch's message).

    With ``c0_shape`` the state is passed as the pair (h0, c0), whatever the kind.
    """
    import torch

    x = torch.zeros(input_shape)
    h0 = torch.zeros(h0_shape) if h0_shape is not None else None
    state = (h0, torch.zeros(c0_shape)) if c0_shape is not None else h0
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an LSTM's projection and oneDNN: not the learner's concern
            output, final = module(x) if state is None else module(x, state)
    # AttributeError, TypeError: torch's own words for a pair given to a GRU or an RNN, or None inside the pair
    except (RuntimeError, ValueError, IndexError, AttributeError, TypeError) as error:
        return None, None, None, str(error)
    h_n, c_n = final if isinstance(final, tuple) else (final, None)
    return tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape) if c_n is not None else None, None


def _input_layout(c: GRUConfig) -> str:
    if c.unbatched:
        return "(seq, input_size)"
    return "(batch, seq, input_size)" if c.batch_first else "(seq, batch, input_size)"


def _state_for(c: GRUConfig, input_shape: Shape, size: int) -> Shape:
    """The h0 (or c0) torch takes with this input: (D*num_layers, the input's batch as torch reads it, size).

    ``size``: hidden_size, or an LSTM's proj_size for h0 when it projects.
    """
    if len(input_shape) == 2:
        return (c.num_directions * c.num_layers, size)
    batch = input_shape[0] if c.batch_first else input_shape[1]
    return (c.num_directions * c.num_layers, batch, size)


def _seq_of(c: GRUConfig, shape: Shape) -> int:
    """The number of steps torch reads in an input: its first dimension, or its second when batched and batch_first."""
    return shape[1] if len(shape) == 3 and c.batch_first else shape[0]


def _swapped(got: Shape, expected: Shape) -> bool:
    """Batch and seq swapped: a 3-D input whose first two sizes are the configured ones the other way round."""
    return len(got) == len(expected) == 3 and got[0] != got[1] and got[:2] == expected[1::-1]


def _wrong_order(c: GRUConfig, got: Shape, expected: Shape) -> bool:
    return got[-1] != c.input_size and len(got) == len(expected) and sorted(got) == sorted(expected)


def refusals(c: GRUConfig, input_shape: Shape, h0_shape: Shape | None, c0_shape: Shape | None = None) -> list[str]:
    """Why the module refuses this input (and h0, or the pair (h0, c0)), one rule each; empty exactly when it runs them."""
    got = input_shape
    if len(got) not in (2, 3):
        return [
            f"nn.{c.kind.module} takes a 3-D input (batched) or a 2-D one (unbatched); this one has {len(got)} dimension{'s' if len(got) != 1 else ''}. "
            f"Here: {_input_layout(c)} = {format_shape(derive(c).input.shape)}."
        ]
    problems = []
    if _seq_of(c, got) == 0:
        problems.append(
            f"The sequence is empty: torch runs 1 step or more (a batch of 0 runs, a sequence of 0 steps does not). "
            f"Here: {_input_layout(c)} = {format_shape(derive(c).input.shape)}."
        )
    if got[-1] != c.input_size:
        if _wrong_order(c, got, derive(c).input.shape):
            problems.append(
                f"The sizes are right but in the wrong order: with batch_first={c.batch_first} the input is "
                f"{_input_layout(c)} = {format_shape(derive(c).input.shape)}."
            )
        else:
            problems.append(
                f"The last dimension holds the features and must equal input_size = {c.input_size}; here it is {got[-1]}."
            )
    if _read_as_pair(c, got, h0_shape, c0_shape):
        return problems  # torch runs it: a note says how it read it
    pair = _pair_problems(c, h0_shape, c0_shape)
    if pair:
        return problems + pair
    if h0_shape is not None:
        problems += _h0_problems(c, h0_shape, _state_for(c, got, c.state_size))
    if c0_shape is not None:
        problems += _h0_problems(c, c0_shape, _state_for(c, got, c.hidden_size), name="c0")
    return problems


def _read_as_pair(c: GRUConfig, input_shape: Shape, h0: Shape | None, c0: Shape | None) -> bool:
    """An LSTM given one tensor reads it as the pair: hidden[0], hidden[1]. With an unbatched input, a tensor
    (2, D*num_layers, hidden_size) runs (h and c alike: no proj_size), read as h0 = t[0], c0 = t[1]."""
    if not (c.kind.has_cell and h0 is not None and c0 is None and len(input_shape) == 2 and len(h0) == 3):
        return False
    state = _state_for(c, input_shape, c.hidden_size)
    return h0[0] >= 2 and h0[1:] == state == _state_for(c, input_shape, c.state_size)


def _pair_problems(c: GRUConfig, h0: Shape | None, c0: Shape | None) -> list[str]:
    """An LSTM takes the pair (h0, c0); a GRU or an RNN takes h0 alone. torch refuses the other way round."""
    module = f"nn.{c.kind.module}"
    if c.kind.has_cell and h0 is not None and c0 is None:
        return [
            f"{module} takes its initial state as the pair (h0, c0), not a tensor alone: {c.mode}(x, (h0, c0)). "
            "torch reads the tensor as if it were the pair, hidden[0] and hidden[1]."
        ]
    if c.kind.has_cell and h0 is None and c0 is not None:
        return [f"{module} takes the pair (h0, c0): c0 needs its h0 beside it."]
    if not c.kind.has_cell and c0 is not None:
        return [f"{module} has no cell state: its initial state is h0 alone, {c.mode}(x, h0); the pair (h0, c0) is an LSTM's."]
    return []


def _input_notes(c: GRUConfig, got: Shape, expected: Shape) -> list[str]:
    """How torch reads an input it may run, where this configuration means another one."""
    if got == expected or len(got) not in (2, 3):
        return []
    layout = f"{_input_layout(c)} = {format_shape(expected)}"
    if len(got) == 2 and not c.unbatched:
        return [
            f"A 2-D input is read as one unbatched sequence (seq, input_size), with no batch dimension. A batch is 3-D: {layout}."
        ]
    if len(got) == 3 and c.unbatched:
        return [f"A 3-D input is read as a batch. An unbatched input is 2-D: {layout}."]
    if _wrong_order(c, got, expected):
        return []  # a problem of its own
    if len(got) == 2:
        return [f"torch read seq = {got[0]}; the configuration has seq_len = {c.seq_len}."] if got[0] != c.seq_len else []
    batch, seq = (got[0], got[1]) if c.batch_first else (got[1], got[0])
    read = f"torch read batch = {batch}, seq = {seq}"
    if (batch, seq) == (c.batch_size, c.seq_len):
        return []
    if _swapped(got, expected):
        return [f"Batch and seq are swapped: with batch_first={c.batch_first} the input is {layout}, so {read}."]
    return [
        f"{read} (batch_first={c.batch_first}: {_input_layout(c)}); the configuration has batch_size = {c.batch_size}, seq_len = {c.seq_len}."
    ]


def _h0_problems(c: GRUConfig, got: Shape, expected: Shape, name: str = "h0") -> list[str]:
    """h0 (or an LSTM's c0) against the one torch takes with this input (``expected``, from the input's own batch)."""
    if got == expected:
        return []
    D, L, size = c.num_directions, c.num_layers, expected[-1]
    final = "h_n" if name == "h0" else "c_n"
    size_name = "proj_size" if name == "h0" and c.proj_size else "hidden_size"
    batched = len(expected) == 3
    layout = f"(D*num_layers, batch, {size_name})" if batched else f"(D*num_layers, {size_name})"
    if len(got) != len(expected):
        kind = "a batched" if batched else "an unbatched"
        return [f"{name} is {len(expected)}-D for {kind} input: {layout} = {format_shape(expected)}; this one is {len(got)}-D."]
    if batched and got[0] != got[1] and got[:2] == expected[1::-1] and got[2] == expected[2]:
        if c.batch_first:
            return [
                f"{name} is laid out {layout} = {format_shape(expected)} even with batch_first=True: "
                f"batch_first applies to the input and the output only, never to {name} or {final}."
            ]
        return [f"{name} is laid out {layout} = {format_shape(expected)}: D*num_layers first, then batch."]
    problems = []
    if got[0] != expected[0]:
        problems.append(
            f"{name}'s first dimension is D x num_layers = {D} x {L} = {D * L}, one initial state per layer and direction; here it is {got[0]}."
        )
    if batched and got[1] != expected[1]:
        where = "first" if c.batch_first else "second"
        problems.append(
            f"{name}'s batch dimension must match the input's batch, {expected[1]} (its {where} dimension with "
            f"batch_first={c.batch_first}); here it is {got[1]}."
        )
    if got[-1] != size:
        problem = f"{name}'s last dimension is {size_name} = {size}; here it is {got[-1]}."
        if c.proj_size and name == "c0" and got[-1] == c.proj_size:
            problem += " proj_size projects h, never the cell state: c0 keeps hidden_size."
        elif c.proj_size and name == "h0" and got[-1] == c.hidden_size:
            problem += " With proj_size, h is projected at every step: h0 too."
        elif D == 2 and got[-1] == D * size:
            problem += f" The directions are not concatenated in {name}: each has its own slot in the first dimension."
        problems.append(problem)
    return problems
