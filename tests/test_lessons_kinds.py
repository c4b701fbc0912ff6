"""The shape-error explainer for nn.LSTM and nn.RNN, against torch itself: the pair (h0, c0), a tensor where the
pair belongs and the reverse, proj_size's h0 against c0."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from torch_reference import build, run_module

from gru_tui.core.config import ConfigError, GRUConfig
from gru_tui.core.kinds import MODES
from gru_tui.lessons import PRESETS, explain
from gru_tui.lessons.quiz import random_config


def torch_error(c: GRUConfig, input_shape, h0_shape=None, c0_shape=None) -> str | None:
    """PyTorch's own message for this call (the state as the pair (h0, c0) when c0 is given), computed here."""
    module = build(c.replace(dropout=0.0))
    h0 = torch.zeros(h0_shape) if h0_shape else None
    state = (h0, torch.zeros(c0_shape)) if c0_shape else h0
    try:
        with torch.no_grad():
            module(torch.zeros(input_shape), *([state] if state is not None else []))
    except Exception as error:  # whatever torch raises, its text is what the explainer must show
        return str(error)
    return None


def state_shapes(c: GRUConfig) -> tuple:
    """(h0, c0 or None) shapes as torch takes them for the configuration."""
    _out, h_n, c_n, _params = run_module(c.replace(lengths=None))
    return tuple(h_n.shape), tuple(c_n.shape) if c_n is not None else None


@pytest.mark.parametrize("preset_id", ["lstm-proj", "lstm-one-layer"])
def test_h0_alone_where_an_lstm_takes_the_pair(preset_id):
    c = PRESETS[preset_id].config
    h0, c0 = state_shapes(c)
    e = explain(c, h0_shape=h0)
    assert e.error == torch_error(c, e.input_shape, h0) and not e.ran
    assert any("the pair (h0, c0)" in problem for problem in e.problems)
    assert (e.fix_h0_shape, e.fix_c0_shape) == (h0, c0) and torch_error(c, e.fix_input_shape, h0, c0) is None
    assert e.fix_c_n_shape == c0


@pytest.mark.parametrize("preset_id", ["one-layer", "rnn-one-layer"])
def test_the_pair_given_to_a_gru_or_an_rnn(preset_id):
    c = PRESETS[preset_id].config
    h0, _ = state_shapes(c)
    e = explain(c, h0_shape=h0, c0_shape=h0)
    assert e.error == torch_error(c, e.input_shape, h0, h0) and not e.ran
    assert any("no cell state" in problem for problem in e.problems)
    assert (e.fix_h0_shape, e.fix_c0_shape) == (h0, None) and torch_error(c, e.fix_input_shape, h0) is None


def test_with_proj_size_c0_keeps_hidden_size_and_h0_does_not():
    c = PRESETS["lstm-proj"].config
    h0, c0 = state_shapes(c)
    assert h0[-1] == c.proj_size and c0[-1] == c.hidden_size
    projected_c0 = explain(c, h0_shape=h0, c0_shape=h0)  # c0 projected like h0: the usual mistake
    assert projected_c0.error == torch_error(c, projected_c0.input_shape, h0, h0)
    assert "hidden[1]" in projected_c0.error and "never the cell state" in "\n".join(projected_c0.lines())
    unprojected_h0 = explain(c, h0_shape=c0, c0_shape=c0)
    assert "hidden[0]" in unprojected_h0.error and "h0 too" in "\n".join(unprojected_h0.lines())
    right = explain(c, h0_shape=h0, c0_shape=c0)
    assert right.ran and not right.needs_fix and right.c_n_shape == c0


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), data=st.data())
def test_the_explainer_calls_a_call_wrong_exactly_when_torch_refuses_it_for_every_kind(seed, data):
    """Random configurations of the three kinds; random input, h0 and c0 shapes near the right ones (c0 given: the
    pair (h0, c0) is passed): a problem is named exactly when torch refuses, and the fix runs."""
    c = random_config(random.Random(seed), MODES).replace(lengths=None)
    D_L = c.num_directions * c.num_layers
    sizes = st.sampled_from(sorted({1, 2, 3, c.input_size, c.hidden_size, c.state_size, c.batch_size, c.seq_len, D_L}))
    input_shape = tuple(data.draw(st.lists(sizes, min_size=2, max_size=3), label="input"))
    h0_shape = data.draw(st.none() | st.lists(sizes, min_size=2, max_size=3).map(tuple), label="h0")
    c0_shape = data.draw(st.none() | st.lists(sizes, min_size=2, max_size=3).map(tuple), label="c0")
    try:
        e = explain(c, input_shape=input_shape, h0_shape=h0_shape, c0_shape=c0_shape)
    except ConfigError:
        reject()  # too large for the explainer to run
    refused = torch_error(c, input_shape, h0_shape, c0_shape) is not None
    assert bool(e.problems) == refused == (not e.ran), e.lines()
    assert e.fix_checked and torch_error(c, e.fix_input_shape, e.fix_h0_shape, e.fix_c0_shape) is None, e.lines()


def test_one_tensor_an_lstm_reads_as_the_pair_is_a_note_not_a_problem():
    """Unbatched, no proj_size: a tensor (2, D*num_layers, hidden_size) runs, as h0 = t[0], c0 = t[1]."""
    c = PRESETS["lstm-one-layer"].config.replace(unbatched=True, batch_first=False)
    h0, c0 = state_shapes(c)
    stacked = (2, *h0)
    assert torch_error(c, (c.seq_len, c.input_size), stacked) is None
    e = explain(c, h0_shape=stacked)
    assert e.ran and not e.problems and any("read it as the pair" in note for note in e.notes)


def test_compare_a_gru_with_an_lstm_marks_the_gate_rows_c_n_and_the_parameter_counts():
    from gru_tui import trace
    from gru_tui.lessons import compare, config_differences, summary_differences

    a = PRESETS["bidirectional"].config
    b = PRESETS["lstm-bidirectional"].config
    report_a, report_b = trace(a), trace(b)
    diffs = {d.key: d for d in compare(report_a, report_b)}
    _out, _h_n, _c_n, params_a = run_module(a)
    _out, _h_n, c_n, params_b = run_module(b)
    weight = "layer0.forward.weight_ih_l0"
    assert (diffs[weight].a.shape, diffs[weight].b.shape) == (tuple(params_a["weight_ih_l0"]), tuple(params_b["weight_ih_l0"]))
    assert diffs["c_n"].kind == "only_b" and diffs["c_n"].b.shape == tuple(c_n.shape)
    assert diffs["layer0.forward.step.r_t"].kind == "only_a" and diffs["layer0.forward.step.c_t"].kind == "only_b"
    assert "output" not in diffs and "h_n" not in diffs  # the same shapes: the kinds differ inside
    counts = {label: (x, y) for label, x, y in summary_differences(report_a, report_b)}
    total = lambda params: sum(torch.Size(shape).numel() for shape in params.values())  # noqa: E731
    assert counts["parameters"] == (total(params_a), total(params_b))
    assert config_differences(a, b)[0] == ("mode", "gru", "lstm")  # the kind first, as the form has it


# -- a fix keeps what the person meant (issue 21): batch and seq swapped are put back ---------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("features", [10, 12], ids=["features-right", "features-wrong"])
@pytest.mark.parametrize("with_h0", [False, True])
def test_a_fix_for_swapped_batch_and_seq_puts_them_back(mode, batch_first, features, with_h0):
    """LSTM, batch_first, batch 3, seq 35, given (35, 3, 12): the fix is (3, 35, 10), which torch runs as batch 3."""
    c = GRUConfig(
        mode=mode,
        input_size=10,
        hidden_size=16,
        num_layers=2,
        bidirectional=True,
        batch_first=batch_first,
        batch_size=3,
        seq_len=35,
        with_h0=with_h0,
    )
    meant = (3, 35, 10) if batch_first else (35, 3, 10)
    swapped = (meant[1], meant[0], features)
    e = explain(c, swapped)
    assert any("Batch and seq are swapped" in finding for finding in e.findings)
    assert e.fix_input_shape == meant and e.fix_checked
    # torch runs the fix, and reads the configured batch from it: h_n (and h0) have batch 3
    out, h_n, _c_n, _params = run_module(c.replace(with_h0=False))
    assert (e.fix_output_shape, e.fix_h_n_shape) == (tuple(out.shape), tuple(h_n.shape))
    assert e.fix_h_n_shape[1] == 3 and torch_error(c, e.fix_input_shape, e.fix_h0_shape, e.fix_c0_shape) is None
    if with_h0:
        assert e.fix_h0_shape[1] == 3


@pytest.mark.parametrize(
    "a, b, left_out",
    [
        (GRUConfig(mode="rnn", nonlinearity="relu"), GRUConfig(mode="lstm"), "nonlinearity"),
        (GRUConfig(mode="lstm", proj_size=8), GRUConfig(mode="gru"), "proj_size"),
        (GRUConfig(mode="lstm", proj_size=8), GRUConfig(mode="rnn", nonlinearity="relu"), "proj_size"),
    ],
)
def test_compare_across_kinds_lists_no_option_the_other_kind_has_not(a, b, left_out):
    """RNN(relu) against an LSTM: an LSTM has no nonlinearity, so no "nonlinearity: relu → tanh"; the mode says it."""
    from gru_tui.lessons import config_differences

    for x, y in ((a, b), (b, a)):
        changed = {name for name, _x, _y in config_differences(x, y)}
        assert "mode" in changed and left_out not in changed and "nonlinearity" not in changed and "proj_size" not in changed
    same_kind = config_differences(GRUConfig(mode="rnn"), GRUConfig(mode="rnn", nonlinearity="relu"))
    assert same_kind == [("nonlinearity", "tanh", "relu")]  # between two RNNs it is a difference


def test_quiz_verdicts_are_sentences():
    from gru_tui.lessons.quiz import NEXT, verdict

    for correct in (True, False):
        for then in (NEXT, "Now: Which slices of output equal h_n[-1] on this run? 1) output[:, -1]"):
            line = verdict(correct, then)
            first = line[: line.index(then)].strip()
            assert first[0].isupper() and first.endswith(".") and "!;" not in line and "below Now" not in line


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("batch_first", [True, False])
def test_a_batch_of_zero_runs_and_an_empty_sequence_is_a_problem_as_torch_says(mode, batch_first):
    c = GRUConfig(mode=mode, input_size=10, hidden_size=8, batch_first=batch_first, batch_size=0, seq_len=35)
    empty_batch = (0, 35, 10) if batch_first else (35, 0, 10)
    empty_seq = (3, 0, 10) if batch_first else (0, 3, 10)
    ran = explain(c, empty_batch)
    assert ran.ran and not ran.problems and torch_error(c, empty_batch) is None
    refused = explain(c, empty_seq)
    assert refused.error == torch_error(c, empty_seq) is not None and any("sequence is empty" in p for p in refused.problems)
    assert refused.fix_input_shape == empty_batch and refused.fix_checked
    no_features = explain(c, (3, 35, 0))  # 0 features: torch's message, not a division by zero
    assert no_features.error == torch_error(c, (3, 35, 0)) is not None and no_features.fix_checked
