"""Lessons: presets, the quiz's grading, compare and the shape-error explainer, all checked against torch itself."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
import torch
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from torch import nn
from torch_reference import run_module, torch_shapes

from gru_tui import GRUConfig, trace
from gru_tui.core.config import ConfigError
from gru_tui.core.kinds import MODES
from gru_tui.core.tree import render_text
from gru_tui.lessons import (
    PRESETS,
    QuizSession,
    compare,
    config_differences,
    expected_shapes,
    explain,
    grade,
    parse_shape,
    quiz_tree,
)
from gru_tui.lessons.quiz import questions, random_config, slice_question


def torch_answers(c: GRUConfig) -> dict[str, tuple[int, ...]]:
    """What the quiz asks for, as plain torch gives it: output (a packed one's .data), h_n, and an LSTM's c_n."""
    out, h_n, c_n, _params = run_module(c)
    out = out.data if c.packed else out
    answers = {"output": tuple(out.shape), "h_n": tuple(h_n.shape), "c_n": tuple(c_n.shape) if c_n is not None else None}
    return {name: answers[name] for name in questions(c)}


# -- presets --------------------------------------------------------------------------


def test_presets_are_the_worked_examples_then_packed_then_unbatched():
    assert list(PRESETS)[:5] == ["one-layer", "stacked", "bidirectional", "packed", "unbatched"]
    assert [p.key for p in list(PRESETS.values())[:5]] == ["1", "2", "3", "4", "5"]  # the keys they always had
    assert all(p.config.mode == "gru" for p in list(PRESETS.values())[:5])
    for preset_id, layers, bidirectional in (("one-layer", 1, False), ("stacked", 2, False), ("bidirectional", 2, True)):
        c = PRESETS[preset_id].config
        assert (c.num_layers, c.bidirectional, c.hidden_size) == (layers, bidirectional, 32)
        assert trace(c).input.shape == (1, 35, 10)
    packed = PRESETS["packed"].config
    assert packed.lengths is not None and len(set(packed.lengths)) > 1
    assert trace(PRESETS["unbatched"].config).input.shape == (35, 10)
    for preset in PRESETS.values():
        assert preset.title and preset.description
        assert expected_shapes(trace(preset.config)) == torch_answers(preset.config)


@pytest.mark.parametrize("mode", ["lstm", "rnn"])
def test_every_kind_has_the_three_worked_examples(mode):
    """The seed's three worked examples as an LSTM and an RNN: the GRU's configuration, another kind."""
    for preset_id in ("one-layer", "stacked", "bidirectional"):
        assert PRESETS[f"{mode}-{preset_id}"].config == PRESETS[preset_id].config.replace(mode=mode)


def test_an_lstm_with_proj_size_is_a_preset_and_keys_are_unique():
    proj = [p for p in PRESETS.values() if p.config.proj_size]
    assert proj and proj[0].key
    c = proj[0].config
    answers = torch_answers(c)
    assert answers["h_n"][-1] == c.proj_size and answers["c_n"][-1] == c.hidden_size  # the one people get wrong
    keys = [p.key for p in PRESETS.values() if p.key]
    assert len(keys) == len(set(keys)) and set(keys) <= set("1234567890")


# -- quiz -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["[1, 35, 64]", "1,35,64", "(1 35 64)", " 1 x 35 x 64 ", "1, 35, 64,"])
def test_parse_shape(text):
    assert parse_shape(text) == (1, 35, 64)


@pytest.mark.parametrize("text", ["", "abc", "1,,2", "[1, -3]", "[-1, 3]", "1.5, 2", "[[1, 2]]"])
def test_parse_shape_refuses_with_the_field(text):
    with pytest.raises(ConfigError) as error:
        parse_shape(text, "h_n")
    assert error.value.field == "h_n" and error.value.message


def test_a_batch_of_zero_is_graded_against_torchs_empty_shapes():
    """batch_size 0: torch gives output [0, 35, 32] and h_n [1, 0, 32]; typing them is right, and no slice question
    is asked (torch.equal on empty tensors is True with nothing compared)."""
    c = PRESETS["one-layer"].config.replace(batch_size=0)
    answers = torch_answers(c)
    assert answers["output"][0] == 0 and answers["h_n"][1] == 0
    report = trace(c)
    result = grade(report, str(list(answers["output"])), str(list(answers["h_n"])))
    assert result.correct
    assert slice_question(report) is None


def graded(preset_id: str, output, h_n, c_n=None):
    return grade(trace(PRESETS[preset_id].config), output, h_n, c_n)


@pytest.mark.parametrize("preset_id", list(PRESETS))
def test_torch_own_shapes_are_graded_right(preset_id):
    answers = torch_answers(PRESETS[preset_id].config)
    result = graded(preset_id, answers["output"], str(list(answers["h_n"])), answers.get("c_n"))
    assert result.correct and result.output.rules == () and result.h_n.wrong_dims == ()
    assert [part.name for part in result.parts] == list(answers)
    assert all(line.endswith("is right.") for line in result.feedback())


@pytest.mark.parametrize(
    "h_n_from, c_n_from, wrong, rule",
    [
        ("proj_size", "proj_size", "c_n", "c_n_hidden"),  # c_n is never projected
        ("hidden_size", "hidden_size", "h_n", "h_n_hidden"),  # h_n is
    ],
)
def test_c_n_against_h_n_with_proj_size(h_n_from, c_n_from, wrong, rule):
    """The answer people get wrong: with proj_size, h_n ends in proj_size and c_n in hidden_size."""
    c = PRESETS["lstm-proj"].config
    right = torch_answers(c)
    size = {"proj_size": c.proj_size, "hidden_size": c.hidden_size}
    answer = {**right, "h_n": (*right["h_n"][:-1], size[h_n_from]), "c_n": (*right["c_n"][:-1], size[c_n_from])}
    result = grade(trace(c), answer["output"], answer["h_n"], answer["c_n"])
    part = getattr(result, wrong)
    assert not result.correct and not part.correct and rule in [r.id for r in part.rules]
    assert all(p.correct for p in result.parts if p is not part)
    assert "proj_size" in part.rules[0].text


@pytest.mark.parametrize(
    "preset_id, output, h_n, tensor, wrong, rule",
    [
        # D*hidden in the output's last dimension
        ("bidirectional", "1,35,32", None, "output", [(2, 32)], "output_d_hidden"),
        # batch_first does not apply to h_n: the learner put batch first
        ("bidirectional", None, "1,4,32", "h_n", [(0, 1), (1, 4)], "h_n_ignores_batch_first"),
        # D x num_layers
        ("stacked", None, "1,1,32", "h_n", [(0, 1)], "d_times_layers"),
        ("bidirectional", None, "2,1,32", "h_n", [(0, 2)], "d_times_layers"),
        # the directions have their own slots in h_n
        ("bidirectional", None, "4,1,64", "h_n", [(2, 64)], "h_n_hidden"),
        # h_n has no seq dimension
        ("one-layer", None, "1,35,32", "h_n", [(1, 35)], "h_n_last_step"),
        # the output's layout follows batch_first
        ("one-layer", "35,1,32", None, "output", [(0, 35), (1, 1)], "output_layout"),
        # PackedSequence data is (sum of lengths, D*hidden)
        ("packed", "3,7,32", None, "output", [], "packed_data"),
        ("packed", "21,32", None, "output", [(0, 21)], "packed_data"),
        # unbatched drops the batch dimension
        ("unbatched", "1,35,32", None, "output", [], "unbatched"),
        ("unbatched", None, "1,1,32", "h_n", [], "unbatched"),
    ],
)
def test_a_wrong_prediction_names_the_dimension_and_the_rule(preset_id, output, h_n, tensor, wrong, rule):
    right_output, right_h_n = torch_shapes(PRESETS[preset_id].config)
    result = graded(preset_id, output or right_output, h_n or right_h_n)
    assert not result.correct
    part = getattr(result, tensor)
    other = result.h_n if tensor == "output" else result.output
    assert other.correct
    expected = right_output if tensor == "output" else right_h_n
    assert part.expected == expected
    assert [(e.index, e.got) for e in part.wrong_dims] == wrong
    assert all(e.expected == expected[e.index] for e in part.wrong_dims)
    assert rule in [r.id for r in part.rules]
    text = "\n".join(result.feedback())
    assert part.rules[0].text in text and str(list(expected)) in text


def test_rules_use_the_configuration_numbers():
    result = graded("bidirectional", "1,35,64", "2,1,32")
    assert "D x num_layers = 2 x 2 = 4" in result.h_n.rules[0].text
    packed = graded("packed", "3,7,32", "1,3,32")
    assert "7 + 5 + 2 = 14" in packed.output.rules[0].text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), data=st.data())
def test_any_single_wrong_dimension_is_found_with_a_rule(seed, data):
    """Over the three kinds: output, h_n, and an LSTM's c_n."""
    c = random_config(random.Random(seed), MODES)
    right = torch_answers(c)
    which = data.draw(st.sampled_from(list(right)))
    report = trace(c)
    index = data.draw(st.integers(0, len(right[which]) - 1))
    wrong = list(right[which])
    wrong[index] = data.draw(st.integers(1, 80).filter(lambda n: n != right[which][index]))
    answer = {**right, which: tuple(wrong)}
    result = grade(report, *answer.values())
    part = getattr(result, which)
    assert not result.correct and all(p.correct for p in result.parts if p is not part)
    assert [(e.index, e.expected, e.got) for e in part.wrong_dims] == [(index, right[which][index], wrong[index])]
    assert part.rules


@pytest.mark.parametrize("preset_id", list(PRESETS))
def test_the_quiz_tree_hides_what_would_give_the_answer_away(preset_id):
    report = trace(PRESETS[preset_id].config.replace(with_h0=True))
    tree = quiz_tree(report)
    keys = [node.key for node in tree.walk()]
    asked = list(questions(report.config))
    assert keys[:2] == ["root", "input"] and keys[-len(asked) :] == asked
    assert not any(key.startswith(("layer", "h0", "c0")) for key in keys)
    assert all(node.shape is None for node in tree.children[-len(asked) :])
    text = render_text(tree)
    assert not any(str(list(shape)) in text for shape in torch_answers(report.config).values())
    assert (".data" in text) == report.config.packed


def test_random_questions_are_valid_and_unambiguous():
    rng = random.Random(7)
    kinds, modes = set(), set()
    for _ in range(80):
        c = random_config(rng, MODES)
        c.validate(check_device=False)
        kinds.add("packed" if c.packed else "unbatched" if c.unbatched else "batched")
        modes.add((c.mode, bool(c.proj_size) or c.nonlinearity == "relu"))
    assert kinds == {"packed", "unbatched", "batched"}
    assert modes == {("gru", False), ("lstm", False), ("lstm", True), ("rnn", False), ("rnn", True)}
    assert {random_config(rng).mode for _ in range(20)} == {"gru"}  # by default: a GRU, as the explainer's tests use


def test_quiz_session_scores_first_answers():
    session = QuizSession(seed=3)
    first = session.next_config()
    assert first == PRESETS["one-layer"].config
    report = trace(first)
    output, h_n = torch_shapes(first)
    assert not session.answer(report, "35,1,32", h_n).correct
    assert session.answer(report, output, h_n).correct  # a second try: feedback, no point
    assert (session.asked, session.correct, session.score) == (1, 0, "0/1")
    second = session.next_config()
    assert session.answer(trace(second), *torch_shapes(second)).correct
    assert session.score == "1/2"
    with pytest.raises(ValueError):
        session.answer(report, output, h_n)  # the first question's report, not the current one


def test_quiz_session_does_not_ask_a_preset_again_nor_count_a_skipped_question():
    session = QuizSession(seed=3)
    session.ask(PRESETS["one-layer"].config.replace(device="meta"))  # the app's first question: the form's
    assert session.score == "0/0"  # nothing answered, nothing wrong
    second = session.next_config()
    assert second == PRESETS["stacked"].config  # not the first preset again
    assert session.answer(trace(second), *torch_shapes(second)).correct
    assert session.score == "1/1" and session.asked == 2


def test_quiz_session_asks_about_a_given_configuration_and_keeps_its_order():
    session = QuizSession(seed=3)
    mine = PRESETS["bidirectional"].config.replace(hidden_size=20)
    assert session.ask(mine) == mine and session.current == mine
    assert session.answer(trace(mine), *torch_shapes(mine)).correct and session.score == "1/1"
    assert session.next_config() == PRESETS["one-layer"].config  # the presets still come, in order
    assert session.asked == 2


def test_quiz_session_is_repeatable_with_a_seed():
    def questions(seed):
        session = QuizSession(seed=seed, presets=False)
        return [session.next_config() for _ in range(8)]

    assert questions(11) == questions(11)
    assert questions(11) != questions(12)
    with_presets = QuizSession(seed=1)
    assert [with_presets.next_config() for _ in PRESETS] == [p.config for p in PRESETS.values()]


# -- compare --------------------------------------------------------------------------


def differences_by_key(a: GRUConfig, b: GRUConfig):
    return {d.key: d for d in compare(trace(a), trace(b))}


def test_compare_one_and_two_layers():
    a, b = PRESETS["one-layer"].config, PRESETS["stacked"].config
    diffs = differences_by_key(a, b)
    assert (diffs["h_n"].a.shape, diffs["h_n"].b.shape) == (torch_shapes(a)[1], torch_shapes(b)[1])
    assert diffs["layer1"].kind == "only_b" and "layer1.forward.weight_ih_l1" in diffs
    assert "output" not in diffs and "input" not in diffs  # stacking changes neither
    assert config_differences(a, b) == [("num_layers", 1, 2)]


def test_compare_one_and_two_directions():
    a = PRESETS["one-layer"].config
    b = a.replace(bidirectional=True)
    diffs = differences_by_key(a, b)
    assert diffs["output"].kind == "shape"
    assert (diffs["output"].a.shape, diffs["output"].b.shape) == (torch_shapes(a)[0], torch_shapes(b)[0])
    assert diffs["h_n"].b.shape == torch_shapes(b)[1]
    assert diffs["layer0.reverse"].kind == "only_b" and diffs["layer0.concat"].kind == "only_b"
    assert "layer0.forward.weight_ih_l0" not in diffs


def test_compare_batch_first_on_and_off():
    a = PRESETS["one-layer"].config.replace(batch_size=3)
    b = a.replace(batch_first=False)
    diffs = differences_by_key(a, b)
    assert (diffs["output"].a.shape, diffs["output"].b.shape) == (torch_shapes(a)[0], torch_shapes(b)[0])
    assert diffs["input"].kind == "shape"
    assert "h_n" not in diffs  # batch_first never applies to h_n
    assert "input.view" in diffs and diffs["input.view"].kind == "only_a"
    assert all(d.describe() for d in diffs.values())


def test_compare_same_configuration_has_no_differences():
    c = PRESETS["packed"].config
    assert compare(trace(c), trace(c)) == [] and config_differences(c, c) == []


def test_compare_packed_batch_sizes_by_label():
    a = PRESETS["packed"].config
    b = a.replace(lengths=(7, 7, 2))
    diffs = differences_by_key(a, b)
    assert diffs["output.batch_sizes"].kind == "label"
    assert diffs["output"].kind == "shape"  # 14 real steps, then 16


# -- the shape-error explainer ------------------------------------------------------------


def torch_error(c: GRUConfig, input_shape, h0_shape=None) -> str | None:
    """PyTorch's own message for this call, computed here independently of gru_tui."""
    gru = nn.GRU(c.input_size, c.hidden_size, c.num_layers, batch_first=c.batch_first, bidirectional=c.bidirectional)
    args = [torch.zeros(input_shape)] + ([torch.zeros(h0_shape)] if h0_shape else [])
    try:
        gru(*args)
    except Exception as error:  # whatever torch raises, its text is what the explainer must show
        return str(error)
    return None


def check_explanation(c: GRUConfig, input_shape=None, h0_shape=None):
    e = explain(c, input_shape=input_shape, h0_shape=h0_shape)
    assert e.error == torch_error(c, e.input_shape, e.h0_shape)
    assert e.fix_checked and torch_error(c, e.fix_input_shape, e.fix_h0_shape) is None
    out, h_n = torch_shapes(c.replace(lengths=None))
    assert (e.fix_output_shape, e.fix_h_n_shape) == (out, h_n)
    text = "\n".join(e.lines())
    if e.error:
        assert e.error in text
    return e, text


def test_h0_laid_out_batch_first():
    c = PRESETS["bidirectional"].config
    e, text = check_explanation(c, h0_shape=(1, 4, 32))
    assert not e.ran and "Expected hidden size (4, 1, 32), got [1, 4, 32]" in e.error
    assert "even with batch_first=True" in text and "never to h0 or h_n" in text
    assert e.fix_h0_shape == (4, 1, 32)


def test_input_features_are_not_input_size():
    e, text = check_explanation(PRESETS["one-layer"].config, input_shape=(1, 35, 35))
    assert "input.size(-1) must be equal to input_size" in e.error
    assert "must equal input_size = 10; here it is 35" in text


def test_input_dims_in_the_wrong_order():
    e, text = check_explanation(PRESETS["one-layer"].config, input_shape=(1, 10, 35))
    assert not e.ran and "right but in the wrong order" in text and "(batch, seq, input_size)" in text


def test_two_d_input_when_a_batch_was_meant():
    e, text = check_explanation(PRESETS["stacked"].config, input_shape=(35, 10))
    assert e.ran and e.needs_fix
    assert "read as one unbatched sequence" in text and e.fix_input_shape == (1, 35, 10)


def test_two_d_input_with_a_three_d_h0():
    e, text = check_explanation(PRESETS["stacked"].config, input_shape=(35, 10), h0_shape=(2, 1, 32))
    assert not e.ran and "2-D" in e.error and "read as one unbatched sequence" in text


def test_h0_first_dimension_not_d_times_layers():
    e, text = check_explanation(PRESETS["bidirectional"].config, h0_shape=(2, 1, 32))
    assert "D x num_layers = 2 x 2 = 4" in text


def test_h0_with_concatenated_directions():
    e, text = check_explanation(PRESETS["bidirectional"].config, h0_shape=(4, 1, 64))
    assert "hidden_size = 32; here it is 64" in text and "not concatenated in h0" in text


def test_seq_first_input_read_silently_as_a_batch():
    e, text = check_explanation(PRESETS["one-layer"].config, input_shape=(35, 1, 10))
    assert e.ran and "torch read batch = 35, seq = 1" in text and e.needs_fix


def test_four_d_input():
    e, text = check_explanation(PRESETS["one-layer"].config, input_shape=(1, 1, 35, 10))
    assert not e.ran and "4 dimensions" in text


def test_unbatched_with_a_batched_h0():
    e, text = check_explanation(PRESETS["unbatched"].config, h0_shape=(1, 1, 32))
    assert not e.ran and "h0 is 2-D for an unbatched input" in text


def test_right_shapes_need_no_fix():
    e, text = check_explanation(PRESETS["bidirectional"].config.replace(with_h0=True))
    assert e.ran and not e.findings and not e.needs_fix and e.h0_shape == (4, 1, 32)
    assert "right shapes" in text


def test_packed_configuration_is_explained_on_its_padded_tensor():
    e, _ = check_explanation(PRESETS["packed"].config, h0_shape=(3, 1, 32))
    assert e.fix_h0_shape == (1, 3, 32)


def test_too_large_a_shape_is_refused_by_field():
    with pytest.raises(ConfigError) as error:
        explain(PRESETS["one-layer"].config, input_shape=(100000, 35, 10))
    assert error.value.field == "input_shape"
    with pytest.raises(ConfigError) as error:
        explain(PRESETS["one-layer"].config, h0_shape=(1, -1, 32))
    assert error.value.field == "h0_shape"
    # A 0 is a size torch takes (a batch of 0): not refused here, explained by torch's own message
    assert not explain(PRESETS["one-layer"].config, h0_shape=(1, 0, 32)).ran
    with pytest.raises(ConfigError) as error:  # small input, but a huge output to allocate
        explain(PRESETS["one-layer"].config.replace(hidden_size=2048, num_layers=3), input_shape=(2000, 35, 10))
    assert error.value.field in ("input_shape", "hidden_size")
    with pytest.raises(ConfigError) as error:  # the configuration itself is too big to run here
        explain(PRESETS["one-layer"].config.replace(batch_size=64, seq_len=10**6))
    assert error.value.field == "seq_len"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), data=st.data())
def test_any_one_wrong_dimension_gets_torch_message_and_a_working_fix(seed, data):
    c = random_config(random.Random(seed)).replace(lengths=None)
    e = explain(c)  # the right shapes first: where to start from
    target = data.draw(st.sampled_from(["input", "h0"]))
    shape = list(e.fix_input_shape if target == "input" else explain(c.replace(with_h0=True)).h0_shape)
    index = data.draw(st.integers(0, len(shape) - 1))
    shape[index] = data.draw(st.integers(1, 40).filter(lambda n: n != shape[index]))
    kwargs = {"input_shape": tuple(shape)} if target == "input" else {"h0_shape": tuple(shape)}
    e, _ = check_explanation(c, **kwargs)
    assert e.findings and e.needs_fix


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), data=st.data())
def test_the_explainer_calls_a_pair_wrong_exactly_when_torch_refuses_it(seed, data):
    """Random configurations, random input and h0 shapes (any rank, sizes near the right ones): the explainer's
    rules find a problem exactly when nn.GRU refuses the pair, and its fix runs and keeps what was right."""
    c = random_config(random.Random(seed)).replace(lengths=None, mode="gru", proj_size=0, nonlinearity="tanh")
    D_L = c.num_directions * c.num_layers
    sizes = st.sampled_from(sorted({1, 2, 3, c.input_size, c.hidden_size, c.batch_size, c.seq_len, D_L, 2 * c.hidden_size}))
    input_shape = tuple(data.draw(st.lists(sizes, min_size=1, max_size=4), label="input"))
    h0_shape = data.draw(st.none() | st.lists(sizes, min_size=1, max_size=4).map(tuple), label="h0")
    try:
        e = explain(c, input_shape=input_shape, h0_shape=h0_shape)
    except ConfigError:
        reject()  # too large for the explainer to run: refused by field (test_too_large_a_shape_is_refused_by_field)
    refused = torch_error(c, input_shape, h0_shape) is not None
    assert bool(e.problems) == refused == (not e.ran), e.lines()
    assert e.fix_checked and torch_error(c, e.fix_input_shape, e.fix_h0_shape) is None, e.lines()
    if refused and len(input_shape) == (2 if c.unbatched else 3) and input_shape[-1] == c.input_size:
        assert e.fix_input_shape == input_shape  # only h0 was wrong: the input stays as typed
    if not refused:
        assert not e.problems and "Fix:" not in "\n".join(e.lines())


def test_a_pair_torch_runs_is_not_called_wrong():
    """Issue #14: batch 2 with its h0 runs in torch; the explainer said h0's batch must be the configuration's 1."""
    c = PRESETS["one-layer"].config
    e = explain(c, input_shape=(2, 7, 10), h0_shape=(1, 2, 32))
    assert e.ran and not e.problems and e.output_shape == (2, 7, 32)
    assert "must match" not in "\n".join(e.lines()) and "torch read batch = 2, seq = 7" in "\n".join(e.lines())
    e = explain(c, input_shape=(2, 7, 12))  # the fix changes the features only, not batch and seq
    assert not e.ran and e.fix_input_shape == (2, 7, 10)


def test_teaching_modules_import_without_textual_or_torch():
    code = (
        "import sys, gru_tui.lessons, gru_tui.lessons.handout, gru_tui.share.follow, gru_tui.core.files, gru_tui.share.serve;"
        "print(sorted(m for m in ('textual', 'torch', 'aiohttp') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
