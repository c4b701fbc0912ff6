"""Predict the shape: the learner types the output and h_n shapes (and an LSTM's c_n), the grade says what is wrong and why.

The expected shapes come from the Report (measured by torch in the app); the
rules only explain the difference, they never decide what is right.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from ..core.config import ConfigError, GRUConfig, check_field_text
from ..core.kinds import MODES
from ..core.report import Node, Packed, Report, format_shape
from ..core.results import Use
from .presets import PRESETS

QUESTIONS = ("output", "h_n", "c_n")  # c_n only for an LSTM: ``questions(config)``


def questions(config: GRUConfig) -> tuple[str, ...]:
    """What the quiz asks for this configuration: output and h_n, and c_n for an LSTM."""
    return QUESTIONS if config.kind.has_cell else QUESTIONS[:2]


_SHAPE_TEXT = re.compile(r"^[\[(]?\s*(\d+(?:\s*[,x×\s]\s*\d+)*)\s*,?\s*[\])]?$")


def parse_shape(text: str, field: str = "shape") -> tuple[int, ...]:
    """Read a shape as a person types it: "[1, 35, 64]", "1,35,64", "(1 35 64)", "1x35x64".

    Raises ConfigError (a ValueError) naming ``field`` when the text is not a shape.
    """
    stripped = check_field_text(field, text).strip()
    match = _SHAPE_TEXT.match(stripped)
    if not stripped or not match:
        raise ConfigError(field, f"type a shape as whole numbers, such as [1, 35, 64]; got {text!r}")
    dims = tuple(int(n) for n in re.split(r"[,x×\s]+", match.group(1)) if n)
    if any(n < 0 for n in dims):  # 0 is a shape torch gives: a batch of 0
        raise ConfigError(field, f"every dimension is 0 or more; got {format_shape(dims)}")
    return dims


@dataclass(frozen=True)
class Rule:
    """One shape rule, with the numbers of the configuration at hand filled in."""

    id: str
    text: str


@dataclass(frozen=True)
class DimError:
    index: int
    expected: int
    got: int


@dataclass(frozen=True)
class TensorGrade:
    name: str  # "output", "h_n" or "c_n"
    expected: tuple[int, ...]
    got: tuple[int, ...]
    wrong_dims: tuple[DimError, ...]  # empty when the number of dimensions differs
    rules: tuple[Rule, ...]

    @property
    def correct(self) -> bool:
        return self.got == self.expected

    def feedback(self) -> list[str]:
        """Lines for the learner: right, or which dimension is wrong and the rule that explains it."""
        if self.correct:
            return [f"{self.name}: {format_shape(self.got)} is right."]
        lines = [f"{self.name}: you wrote {format_shape(self.got)}, torch gives {format_shape(self.expected)}."]
        if len(self.got) != len(self.expected):
            lines.append(f"  It has {len(self.expected)} dimensions, not {len(self.got)}.")
        for e in self.wrong_dims:
            lines.append(f"  Dimension {e.index} is {e.expected}, not {e.got}.")
        lines += [f"  Rule: {rule.text}" for rule in self.rules]
        return lines


@dataclass(frozen=True)
class Grade:
    config: GRUConfig
    output: TensorGrade
    h_n: TensorGrade
    c_n: TensorGrade | None = None  # an LSTM's, when it was asked

    @property
    def parts(self) -> tuple[TensorGrade, ...]:
        return (self.output, self.h_n) + ((self.c_n,) if self.c_n is not None else ())

    @property
    def correct(self) -> bool:
        return all(part.correct for part in self.parts)

    def feedback(self) -> list[str]:
        return [line for part in self.parts for line in part.feedback()]


def expected_shapes(report: Report) -> dict[str, tuple[int, ...]]:
    """What the quiz asks for: the output (a PackedSequence's data when packed), h_n and an LSTM's c_n, as torch gave them."""
    out = report.output.data.shape if isinstance(report.output, Packed) else report.output.shape
    cell = {"c_n": tuple(report.c_n.shape)} if report.c_n is not None else {}
    return {"output": tuple(out), "h_n": tuple(report.h_n.shape), **cell}


def quiz_tree(report: Report) -> Node:
    """The tree a learner sees while predicting: the module and its input, output and h_n (and c_n) hidden.

    Everything else would give the answer away: h0 is laid out like h_n, and the
    layers show their outputs and slots in h_n.
    """
    full = report.tree()
    packed = isinstance(report.output, Packed)
    output_note = "predict the shape of its .data (a PackedSequence)" if packed else "predict its shape"
    return Node(
        full.key,
        full.label,
        children=(
            *(node for node in full.children if node.key == "input"),
            Node("output", "output  ?", note=output_note),
            Node("h_n", "h_n  ?", note="predict its shape"),
            *((Node("c_n", "c_n  ?", note="predict its shape"),) if report.c_n is not None else ()),
        ),
    )


Shape = tuple[int, ...] | str


def grade(report: Report, predicted_output: Shape, predicted_h_n: Shape, predicted_c_n: Shape | None = None) -> Grade:
    """Compare the learner's predictions with the report's shapes; strings are parsed (ConfigError names the field).

    ``predicted_c_n`` is graded for an LSTM when given.
    """
    predicted = {"output": predicted_output, "h_n": predicted_h_n, "c_n": predicted_c_n}
    expected = expected_shapes(report)
    c = report.config
    parts = {}
    for name, explain in (("output", _output_rules), ("h_n", _h_n_rules), ("c_n", _c_n_rules)):
        value = predicted[name]
        if name not in expected or value is None:
            continue
        got = parse_shape(value, name) if isinstance(value, str) else tuple(value)
        parts[name] = _grade_tensor(name, expected[name], got, explain, c)
    return Grade(config=c, **parts)


def _grade_tensor(name, expected, got, explain, config) -> TensorGrade:
    if got == expected:
        return TensorGrade(name, expected, got, (), ())
    wrong = tuple(DimError(i, e, g) for i, (e, g) in enumerate(zip(expected, got)) if e != g) if len(got) == len(expected) else ()
    rules = explain(config, expected, got, wrong)
    return TensorGrade(name, expected, got, wrong, tuple(_dedupe(rules)))


# -- the rules, worded with the configuration's own numbers -----------------------


def _h(c: GRUConfig) -> tuple[str, int]:
    """The name and size of h's features: proj_size for an LSTM that projects, else hidden_size."""
    return ("proj_size", c.proj_size) if c.proj_size else ("hidden_size", c.hidden_size)


def _d_times_layers(c: GRUConfig, name: str = "h_n") -> Rule:
    D, L = c.num_directions, c.num_layers
    return Rule(
        "d_times_layers",
        f"{name}'s first dimension is D x num_layers = {D} x {L} = {D * L}: one final state per layer and direction.",
    )


def _h_n_ignores_batch_first(c: GRUConfig, name: str = "h_n") -> Rule:
    extra = " even though batch_first=True" if c.batch_first else ""
    size = "hidden_size" if name == "c_n" else _h(c)[0]
    return Rule(
        "h_n_ignores_batch_first",
        f"batch_first never applies to {name}: it is (D*num_layers, batch, {size}){extra}; batch_first changes only the input and the output.",
    )


def _h_n_hidden(c: GRUConfig, name: str = "h_n") -> Rule:
    both = (
        f" The directions are not concatenated in {name}: each has its own slot in the first dimension."
        if c.bidirectional
        else ""
    )
    size, n = _h(c)
    projected = " (an LSTM's proj_size projects h: every step of the output and h_n)" if c.proj_size else ""
    return Rule("h_n_hidden", f"h_n's last dimension is {size} = {n}{projected}.{both}")


def _c_n_hidden(c: GRUConfig, name: str = "c_n") -> Rule:
    both = " The directions are not concatenated in c_n: each has its own slot in the first dimension." if c.bidirectional else ""
    why = f": proj_size ({c.proj_size}) projects h, never the cell state c" if c.proj_size else ""
    return Rule("c_n_hidden", f"c_n's last dimension is hidden_size = {c.hidden_size}{why}.{both}")


def _h_n_last_step(c: GRUConfig, name: str = "h_n") -> Rule:
    return Rule("h_n_last_step", f"{name} keeps only the last time step of each layer and direction: it has no seq dimension.")


def _output_d_hidden(c: GRUConfig) -> Rule:
    D, (size, n) = c.num_directions, _h(c)
    why = ": the forward and reverse states are concatenated" if c.bidirectional else ""
    return Rule("output_d_hidden", f"The output's last dimension is D*{size} = {D} x {n} = {D * n}{why}.")


def _output_layout(c: GRUConfig) -> Rule:
    size = _h(c)[0]
    layout = f"(batch, seq, D*{size})" if c.batch_first else f"(seq, batch, D*{size})"
    return Rule("output_layout", f"With batch_first={c.batch_first} the output is laid out {layout}, like the input.")


def _output_seq(c: GRUConfig) -> Rule:
    return Rule("output_seq", f"The output holds every time step of the last layer: seq_len = {c.seq_len} of them.")


def _batch(c: GRUConfig) -> Rule:
    return Rule("batch", f"The batch dimension is batch_size = {c.batch_size}.")


def _packed_data(c: GRUConfig) -> Rule:
    lengths = c.lengths or ()
    total = sum(lengths)
    size, n = _h(c)
    return Rule(
        "packed_data",
        f"A PackedSequence's data is (sum of lengths, D*{size}) = ({' + '.join(map(str, lengths))} = {total}, "
        f"{c.num_directions * n}): only the real steps, batch and time folded into one dimension.",
    )


def _unbatched(c: GRUConfig) -> Rule:
    size = _h(c)[0]
    cell = ", c_n (D*num_layers, hidden_size)" if c.kind.has_cell else ""
    return Rule(
        "unbatched",
        f"An unbatched input has no batch dimension, and neither do the results: output (seq, D*{size}), "
        f"h_n (D*num_layers, {size}){cell}.",
    )


def _batched(c: GRUConfig) -> Rule:
    states = "h_n and c_n" if c.kind.has_cell else "h_n"
    return Rule("batched", f"A batched input keeps its batch dimension in the output and {states}, even when batch_size is 1.")


def _rank_rules(c: GRUConfig, got: tuple[int, ...], expected: tuple[int, ...]) -> list[Rule]:
    if c.unbatched:
        return [_unbatched(c)]
    if len(got) < len(expected):
        return [_batched(c)]
    return []


def _swapped_first_two(expected, got) -> bool:
    return len(got) >= 2 and got[0] != got[1] and got[:2] == expected[1::-1] and got[2:] == expected[2:]


def _state_rules(name: str, last_rule, c: GRUConfig, expected, got, wrong) -> list[Rule]:
    """h_n's and c_n's rules: laid out alike, (D*num_layers, batch, size); only what sets the size differs."""
    if len(got) != len(expected):
        return _rank_rules(c, got, expected) + (
            [_h_n_last_step(c, name)] if len(got) > len(expected) and c.seq_len in got else []
        )
    if _swapped_first_two(expected, got):
        return [_h_n_ignores_batch_first(c, name)]
    rules = []
    last = len(expected) - 1
    for e in wrong:
        if e.index == 0:
            rules.append(_d_times_layers(c, name))
        elif e.index == last:
            rules.append(last_rule(c, name))
        elif e.got == c.seq_len and c.seq_len != c.batch_size:
            rules.append(_h_n_last_step(c, name))
        else:
            rules.append(_batch(c))
    return rules


def _h_n_rules(c: GRUConfig, expected, got, wrong) -> list[Rule]:
    return _state_rules("h_n", _h_n_hidden, c, expected, got, wrong)


def _c_n_rules(c: GRUConfig, expected, got, wrong) -> list[Rule]:
    return _state_rules("c_n", _c_n_hidden, c, expected, got, wrong)


def _output_rules(c: GRUConfig, expected, got, wrong) -> list[Rule]:
    if c.packed:
        return [_packed_data(c)]
    if len(got) != len(expected):
        return _rank_rules(c, got, expected)
    if not c.unbatched and _swapped_first_two(expected, got):
        return [_output_layout(c)]
    rules = []
    last = len(expected) - 1
    seq_index = 0 if (c.unbatched or not c.batch_first) else 1
    for e in wrong:
        if e.index == last:
            rules.append(_output_d_hidden(c))
        elif e.index == seq_index:
            rules.append(_output_seq(c))
        else:
            rules.append(_batch(c))
    return rules


def _dedupe(rules: list[Rule]) -> list[Rule]:
    seen: dict[str, Rule] = {}
    for rule in rules:
        seen.setdefault(rule.id, rule)
    return list(seen.values())


# -- which slice equals h_n[-1]? -------------------------------------------------------

SLICE_TARGET = "h_n[-1]"


@dataclass(frozen=True)
class SliceQuestion:
    """ "Which slice of output equals h_n[-1]?": the slices of output the run compared with it, numbered from 1.

    The answer is what torch.equal said on the run's own tensors (``results.measure``), never the rules.
    """

    target: str
    options: tuple[Use, ...]

    @property
    def prompt(self) -> str:
        listed = "   ".join(f"{i}) {use.expression}" for i, use in enumerate(self.options, 1))
        return f"Which slices of output equal {self.target} on this run? {listed}"

    @property
    def answer(self) -> frozenset[int]:
        return frozenset(i for i, use in enumerate(self.options, 1) if use.equal)


@dataclass(frozen=True)
class SliceGrade:
    question: SliceQuestion
    got: frozenset[int]

    @property
    def correct(self) -> bool:
        return self.got == self.question.answer

    def feedback(self) -> list[str]:
        q = self.question
        lines = ["Right: " if self.correct else "Not quite: "]
        lines[0] += f"on the run, {_numbers(q.answer) or 'none'} equal{'s' if len(q.answer) == 1 else ''} {q.target}."
        for i, use in enumerate(q.options, 1):
            lines.append(f"  {i}) {use.expression} — {use.verdict()}: {use.note}")
        return lines


def slice_question(report: Report) -> SliceQuestion | None:
    """The question for a traced report; None before a run, on meta (nothing measured), with one slice only,
    or with a batch of 0 (torch.equal on empty tensors is True: nothing was compared)."""
    if report.results is None or report.config.effective_batch == 0:
        return None
    options = tuple(u for u in report.results.uses if u.compared_with == SLICE_TARGET and u.equal is not None)
    return SliceQuestion(SLICE_TARGET, options) if len(options) > 1 else None


def grade_slices(question: SliceQuestion, text: str, field: str = "slices") -> SliceGrade:
    """Grade the numbers typed ("2", "1, 3"; "0" or "none" for none); ConfigError naming ``field`` for anything else."""
    words = re.split(r"[,\s]+", check_field_text(field, text).strip().lower())
    if words in (["0"], ["none"]):
        return SliceGrade(question, frozenset())
    n = len(question.options)
    if not all(w.isdigit() and 1 <= int(w) <= n for w in words):
        raise ConfigError(
            field, f"type the numbers of the slices that are equal, from 1 to {n} (such as 1, 3), or 0 for none; got {text!r}"
        )
    return SliceGrade(question, frozenset(int(w) for w in words))


def verdict(correct: bool, then: str) -> str:
    """The line after an answer, in sentences: "Right. Now: ..." or "Not quite: see the feedback below. Press ..."."""
    said = "Right." if correct else "Not quite: see the feedback below."
    return f"{said} {then}"


NEXT = "Press ctrl+n for the next question."


def _numbers(numbers: frozenset[int]) -> str:
    return ", ".join(map(str, sorted(numbers)))


# -- a session ----------------------------------------------------------------------


class QuizSession:
    """A run of questions with a score. Seed it for a repeatable order (tests, a class all on one sequence).

    The first questions are the presets, in order; then random small configurations.
    ``next_config()`` asks a question; ``answer()`` grades it. Only the first answer
    to a question counts toward the score; later tries get feedback but no points. The
    score is of the questions answered: one skipped (ctrl+n before answering) is not wrong.
    A preset already asked is not asked again (the app's first question is the form's).
    """

    def __init__(self, seed: int | None = None, presets: bool = True):
        self.random = random.Random(seed)
        self._queue = [p.config for p in PRESETS.values()] if presets else []
        self.asked = 0
        self.answered = 0
        self.correct = 0
        self.current: GRUConfig | None = None
        self._answered = False
        self._seen: set[GRUConfig] = set()  # the questions asked so far, on the cpu

    def next_config(self) -> GRUConfig:
        while self._queue and self._queue[0].replace(device="cpu") in self._seen:
            self._queue.pop(0)
        return self.ask(self._queue.pop(0) if self._queue else random_config(self.random, MODES))

    def ask(self, config: GRUConfig) -> GRUConfig:
        """Make ``config`` the current question (the app asks about the form's configuration this way)."""
        self.current = config
        self.asked += 1
        self._answered = False
        self._seen.add(config.replace(device="cpu"))
        return self.current

    def answer(self, report: Report, predicted_output, predicted_h_n, predicted_c_n=None) -> Grade:
        """Grade an answer to the current question (``report`` is the traced current configuration)."""
        # The app may trace the question on its chosen device: only the device may differ.
        if self.current is None or report.config.replace(device="cpu") != self.current.replace(device="cpu"):
            raise ValueError("this report is not for the current question; call next_config() and trace its configuration")
        result = grade(report, predicted_output, predicted_h_n, predicted_c_n)
        if not self._answered:
            self._answered = True
            self.answered += 1
            self.correct += result.correct
        return result

    @property
    def score(self) -> str:
        """Right first answers of the questions answered."""
        return f"{self.correct}/{self.answered}"


def random_config(rng: random.Random, modes: tuple[str, ...] = ("gru",)) -> GRUConfig:
    """A small configuration whose dimensions all differ, so every wrong dimension says which rule was missed.

    Of the kinds in ``modes`` (the quiz asks about all three); an LSTM projects half the
    time (c_n against h_n is the one people get wrong), an RNN uses relu half the time.
    """
    while True:
        mode = rng.choice(modes)
        num_layers = rng.choice((1, 2, 3))
        bidirectional = rng.random() < 0.5
        kind = rng.choice(("batched", "batched", "packed", "unbatched"))
        seq_len = rng.randint(3, 12)
        batch_size = 1 if kind == "unbatched" else rng.randint(2, 5) if kind == "packed" else rng.randint(1, 5)
        lengths = None
        if kind == "packed":
            lengths = (seq_len, *sorted((rng.randint(1, seq_len) for _ in range(batch_size - 1)), reverse=True))
        config = GRUConfig(
            input_size=rng.choice((3, 5, 8, 10, 16)),
            hidden_size=rng.choice((4, 6, 16, 20, 32)),
            num_layers=num_layers,
            bidirectional=bidirectional,
            batch_first=kind != "unbatched" and rng.random() < 0.5,
            batch_size=batch_size,
            seq_len=seq_len,
            unbatched=kind == "unbatched",
            lengths=lengths,
            mode=mode,
        )
        if mode == "lstm" and rng.random() < 0.5:
            config = config.replace(proj_size=rng.choice([p for p in (2, 3, 5, 7) if p < config.hidden_size]))
        elif mode == "rnn" and rng.random() < 0.5:
            config = config.replace(nonlinearity="relu")
        if _all_dims_differ(config):
            return config.validate(check_device=False)


def _all_dims_differ(c: GRUConfig) -> bool:
    D = c.num_directions
    sizes = [c.seq_len, c.num_layers * D, c.hidden_size, c.input_size]
    if not c.unbatched:
        sizes.append(c.batch_size)
    if c.proj_size:
        sizes.append(c.proj_size)
    if c.bidirectional:
        sizes.append(D * c.state_size)
    if c.packed:
        sizes.append(sum(c.lengths or ()))
    return len(set(sizes)) == len(sizes)
