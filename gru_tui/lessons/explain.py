"""The shape-error explainer: run the real nn.GRU on the learner's (wrong) shapes and say what to change.

PyTorch's own message is shown as it is; the explanation says which rule the shape
broke, and the suggested fix is run too, so it is known to work before it is shown.

torch's rules are about the pair itself: batch and seq may be anything, h0 must match
the input as torch reads it (its batch, not the configuration's batch_size). So the
explainer names a *problem* exactly when torch refuses the pair (the tests check this
against torch over random configurations and shapes), and otherwise only *notes* how
torch read an input the configuration did not mean. A fix changes only what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ConfigError, GRUConfig
from ..report import format_shape
from ..shapes import count_summary, derive

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

    @property
    def ran(self) -> bool:
        return self.error is None

    @property
    def findings(self) -> tuple[str, ...]:
        return self.problems + self.notes

    @property
    def needs_fix(self) -> bool:
        return (self.input_shape, self.h0_shape) != (self.fix_input_shape, self.fix_h0_shape)

    @property
    def fix_checked(self) -> bool:
        return self.fix_error is None and self.fix_output_shape is not None

    def lines(self) -> list[str]:
        given = f"input {format_shape(self.input_shape)}" + (f" and h0 {format_shape(self.h0_shape)}" if self.h0_shape else "")
        if self.error is not None:
            lines = [f"PyTorch refused {given}:", f"  {self.error}"]
        else:
            lines = [f"PyTorch ran {given}: output {format_shape(self.output_shape)}, h_n {format_shape(self.h_n_shape)}."]
            if self.notes:
                lines.append("It ran, but not as this configuration means it:")
        lines += [f"- {finding}" for finding in self.findings]
        if self.needs_fix:
            fix = f"input {format_shape(self.fix_input_shape)}" + (f", h0 {format_shape(self.fix_h0_shape)}" if self.fix_h0_shape else "")
            # Refused: the nearest pair torch runs. Ran, read otherwise: the pair this configuration means.
            what = "Fix" if self.error is not None else "For this configuration"
            if self.fix_checked:
                lines.append(
                    f"{what}: {fix}. Checked: nn.GRU runs it and gives output {format_shape(self.fix_output_shape)}, "
                    f"h_n {format_shape(self.fix_h_n_shape)}."
                )
            else:
                lines.append(f"Expected {fix}, but PyTorch refused that too: {self.fix_error}")
        elif not self.findings:
            lines.append("These are the right shapes for this configuration.")
        return lines


def explain(config: GRUConfig, input_shape: Shape | None = None, h0_shape: Shape | None = None) -> Explanation:
    """Run ``config``'s nn.GRU (on the CPU, float32) with the given shapes and explain the result.

    ``input_shape`` defaults to the right one; ``h0_shape`` to none, or the right one when
    the configuration passes h0. A packed configuration is run on its padded tensor.
    """
    c = config.replace(device="cpu", dtype="float32", dropout=0.0, lengths=None)
    c.validate(check_device=False)
    if count_summary(c)["total_params"] > MAX_PARAMETERS:
        raise ConfigError("hidden_size", f"the explainer runs small modules only (at most {MAX_PARAMETERS:,} parameters)")
    expected_input = derive(c).input.shape
    expected_h0 = derive(c.replace(with_h0=True)).h0.shape
    input_shape = tuple(input_shape) if input_shape is not None else expected_input
    if h0_shape is None and config.with_h0:
        h0_shape = expected_h0
    h0_shape = tuple(h0_shape) if h0_shape is not None else None
    _check_size("seq_len", expected_input, c, "the explainer runs small inputs; make batch_size x seq_len smaller")
    _check_size("input_shape", input_shape, c)
    if h0_shape is not None:
        _check_size("h0_shape", h0_shape, c)

    gru = _module(c)
    output_shape, h_n_shape, error = _run(gru, input_shape, h0_shape)
    problems = refusals(c, input_shape, h0_shape)
    notes = _input_notes(c, input_shape, expected_input)
    if problems:  # the nearest pair torch runs: the input's own batch and seq kept when it has the meant layout
        near = len(input_shape) == len(expected_input) and not _wrong_order(c, input_shape, expected_input)
        fix_input = (*input_shape[:-1], c.input_size) if near else expected_input
        fix_h0 = _h0_for(c, fix_input) if h0_shape is not None else None
    else:
        fix_input, fix_h0 = expected_input, expected_h0 if h0_shape is not None else None
    fix_output, fix_h_n, fix_error = _run(gru, fix_input, fix_h0)
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
    )


def _check_size(field: str, shape: Shape, c: GRUConfig, advice: str = "") -> None:
    if not shape or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in shape):
        raise ConfigError(field, f"every dimension must be a whole number, 1 or more; got {list(shape)}")
    elements = 1
    for n in shape:
        elements *= n
    # What the run would allocate: the tensor itself, and each layer's output over the same steps.
    steps = elements // shape[-1] if len(shape) > 1 else 1
    produced = steps * c.num_directions * c.hidden_size * c.num_layers
    if max(elements, produced) > MAX_ELEMENTS:
        raise ConfigError(
            field,
            advice or f"{format_shape(shape)} is too large to run here: the explainer runs at most {MAX_ELEMENTS:,} elements a tensor",
        )


def _module(c: GRUConfig):
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.GRU(
        c.input_size, c.hidden_size, num_layers=c.num_layers, bias=c.bias, batch_first=c.batch_first, bidirectional=c.bidirectional
    )


def _run(gru, input_shape: Shape, h0_shape: Shape | None) -> tuple[Shape | None, Shape | None, str | None]:
    """(output shape, h_n shape, None) when it runs, else (None, None, PyTorch's message)."""
    import torch

    x = torch.zeros(input_shape)
    args = (x,) if h0_shape is None else (x, torch.zeros(h0_shape))
    try:
        with torch.no_grad():
            output, h_n = gru(*args)
    except (RuntimeError, ValueError, IndexError) as error:
        return None, None, str(error)
    return tuple(output.shape), tuple(h_n.shape), None


def _input_layout(c: GRUConfig) -> str:
    if c.unbatched:
        return "(seq, input_size)"
    return "(batch, seq, input_size)" if c.batch_first else "(seq, batch, input_size)"


def _h0_for(c: GRUConfig, input_shape: Shape) -> Shape:
    """The h0 torch takes with this input: (D*num_layers, the input's batch as torch reads it, hidden_size)."""
    if len(input_shape) == 2:
        return (c.num_directions * c.num_layers, c.hidden_size)
    batch = input_shape[0] if c.batch_first else input_shape[1]
    return (c.num_directions * c.num_layers, batch, c.hidden_size)


def _wrong_order(c: GRUConfig, got: Shape, expected: Shape) -> bool:
    return got[-1] != c.input_size and len(got) == len(expected) and sorted(got) == sorted(expected)


def refusals(c: GRUConfig, input_shape: Shape, h0_shape: Shape | None) -> list[str]:
    """Why nn.GRU refuses this input (and h0), one rule each; empty exactly when it runs them."""
    got = input_shape
    if len(got) not in (2, 3):
        return [f"nn.GRU takes a 3-D input (batched) or a 2-D one (unbatched); this one has {len(got)} dimension{'s' if len(got) != 1 else ''}. "
                f"Here: {_input_layout(c)} = {format_shape(derive(c).input.shape)}."]
    problems = []
    if got[-1] != c.input_size:
        if _wrong_order(c, got, derive(c).input.shape):
            problems.append(f"The sizes are right but in the wrong order: with batch_first={c.batch_first} the input is "
                            f"{_input_layout(c)} = {format_shape(derive(c).input.shape)}.")
        else:
            problems.append(f"The last dimension holds the features and must equal input_size = {c.input_size}; here it is {got[-1]}.")
    if h0_shape is not None:
        problems += _h0_problems(c, h0_shape, _h0_for(c, got))
    return problems


def _input_notes(c: GRUConfig, got: Shape, expected: Shape) -> list[str]:
    """How torch reads an input it may run, where this configuration means another one."""
    if got == expected or len(got) not in (2, 3):
        return []
    layout = f"{_input_layout(c)} = {format_shape(expected)}"
    if len(got) == 2 and not c.unbatched:
        return [f"A 2-D input is read as one unbatched sequence (seq, input_size), with no batch dimension. A batch is 3-D: {layout}."]
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
    if got[:2] == expected[1::-1]:
        return [f"Batch and seq are swapped: with batch_first={c.batch_first} the input is {layout}, so {read}."]
    return [f"{read} (batch_first={c.batch_first}: {_input_layout(c)}); the configuration has batch_size = {c.batch_size}, seq_len = {c.seq_len}."]


def _h0_problems(c: GRUConfig, got: Shape, expected: Shape) -> list[str]:
    """h0 against the one torch takes with this input (``expected``, from the input's own batch)."""
    if got == expected:
        return []
    D, L, H = c.num_directions, c.num_layers, c.hidden_size
    batched = len(expected) == 3
    layout = "(D*num_layers, batch, hidden_size)" if batched else "(D*num_layers, hidden_size)"
    if len(got) != len(expected):
        kind = "a batched" if batched else "an unbatched"
        return [f"h0 is {len(expected)}-D for {kind} input: {layout} = {format_shape(expected)}; this one is {len(got)}-D."]
    if batched and got[0] != got[1] and got[:2] == expected[1::-1] and got[2] == expected[2]:
        if c.batch_first:
            return [
                f"h0 is laid out {layout} = {format_shape(expected)} even with batch_first=True: "
                "batch_first applies to the input and the output only, never to h0 or h_n."
            ]
        return [f"h0 is laid out {layout} = {format_shape(expected)}: D*num_layers first, then batch."]
    problems = []
    if got[0] != expected[0]:
        problems.append(
            f"h0's first dimension is D x num_layers = {D} x {L} = {D * L}, one initial state per layer and direction; here it is {got[0]}."
        )
    if batched and got[1] != expected[1]:
        where = "first" if c.batch_first else "second"
        problems.append(f"h0's batch dimension must match the input's batch, {expected[1]} (its {where} dimension with "
                        f"batch_first={c.batch_first}); here it is {got[1]}.")
    if got[-1] != H:
        problem = f"h0's last dimension is hidden_size = {H}; here it is {got[-1]}."
        if D == 2 and got[-1] == D * H:
            problem += " The directions are not concatenated in h0: each has its own slot in the first dimension."
        problems.append(problem)
    return problems
