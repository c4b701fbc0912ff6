"""Using the results (issue #12): every slice the report shows, and every equality it claims, against torch itself.

The report's verdicts are measured on the trace's own tensors. Here torch runs the
module again from the same seed the trace uses (``trace`` is seeded: the same
configuration gives the same tensors), computes each slice with torch operations
written out in this file (not from the report's code text), and decides equality
itself; then the report's code text is run too and must give the same tensors.
"""

import json
import math
import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import gru_configs
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch_reference import build

from gru_tui import ConfigError, GRUConfig, derive, trace
from gru_tui.cli import main
from gru_tui.core.code import pytorch_code
from gru_tui.core.tree import render_text
from gru_tui.lessons.handout import markdown_handout


def seeded_run(c: GRUConfig):
    """The module's own forward on the tensors ``trace`` draws: seed 0, the module, then x, h0, c0 in that order."""
    dtype = getattr(torch, c.dtype)
    D = c.num_directions
    h_size = c.proj_size or c.hidden_size
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = build(c).eval()
        if c.unbatched:
            shape = (c.seq_len, c.input_size)
        else:  # packed too: the padded input is seq_len long
            shape = (c.batch_size, c.seq_len, c.input_size) if c.batch_first else (c.seq_len, c.batch_size, c.input_size)
        x = torch.randn(shape, dtype=dtype, device=c.device)
        batch = () if c.unbatched else (c.batch_size,)
        sizes = (h_size, c.hidden_size) if c.mode == "lstm" else (h_size,)
        state = [torch.randn((D * c.num_layers, *batch, n), dtype=dtype, device=c.device) for n in sizes] if c.with_h0 else []
    if c.lengths is not None:
        x = pack_padded_sequence(x, torch.tensor(c.lengths), batch_first=c.batch_first, enforce_sorted=False)
    hx = None if not state else state[0] if len(state) == 1 else tuple(state)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, final = module(x, hx)
    h_n, c_n = final if c.mode == "lstm" else (final, None)
    lengths = None
    if c.lengths is not None:
        out, lengths = pad_packed_sequence(out, batch_first=c.batch_first)
    return out, h_n, c_n, lengths


def reference(c: GRUConfig, out, h_n, c_n, lengths) -> dict[str, tuple]:
    """Each use by its id: (the slice, the tensor it is compared with or None), from plain torch operations."""
    H, D, L = c.proj_size or c.hidden_size, c.num_directions, c.num_layers
    # Everything seq-first with a batch dimension, then the batch dropped again for an unbatched input.
    o = out.unsqueeze(1) if c.unbatched else out.transpose(0, 1) if c.batch_first else out
    h = h_n.unsqueeze(1) if c.unbatched else h_n
    B = o.shape[1]
    ends = o[lengths - 1, torch.arange(B)] if lengths is not None else None
    last, first = o[-1], o[0]
    uses = {}
    if lengths is not None:  # pad_packed_sequence's own result: the longest length, not seq_len
        uses["padded_back"] = (out, None)
    if D == 1:
        uses["last_step"] = (last, h[-1])
        uses["first_step"] = (first, h[-1])
        if ends is not None:
            uses["sequence_ends"] = (ends, h[-1])
    else:
        uses["last_step"] = (last, None)
        uses["last_step_forward"] = (last[:, :H], h[-2])
        uses["last_step_reverse"] = (last[:, H:], h[-1])
        uses["first_step_reverse"] = (first[:, H:], h[-1])
        if ends is not None:
            uses["sequence_ends_forward"] = (ends[:, :H], h[-2])
        forward_end = (ends if ends is not None else last)[:, :H]
        uses["classifier"] = (torch.cat([h[-2], h[-1]], -1), torch.cat([forward_end, first[:, H:]], -1))
    grid = h.reshape(L, D, B, H)
    for d, name in enumerate(("forward", "reverse")[:D]):
        uses[f"h_n_view_{name}"] = (grid[L - 1, d], h[(L - 1) * D + d])
    if c_n is not None:
        uses["c_n"] = ((c_n.unsqueeze(1) if c.unbatched else c_n)[-1], None)
    if c.unbatched:
        uses = {k: tuple(t.squeeze(0) if t is not None else None for t in pair) for k, pair in uses.items()}
    return uses


def check_against_torch(c: GRUConfig):
    report = trace(c)
    results = report.results
    derived = derive(c).results
    # Before the run: the same expressions and shapes, no verdicts.
    assert [(u.id, u.expression, u.compared_with, u.shape) for u in derived.uses] == [
        (u.id, u.expression, u.compared_with, u.shape) for u in results.uses
    ]
    assert all(u.equal is None and u.max_difference is None for u in derived.uses)
    assert derived.checked.startswith("derived")
    out, h_n, c_n, lengths = seeded_run(c)
    ref = reference(c, out, h_n, c_n, lengths)
    assert [u.id for u in results.uses] == list(ref)
    names = {"torch": torch, "output": out, "h_n": h_n, "c_n": c_n, "lengths": lengths, "range": range}
    if c.device == "meta":  # no values: the code text must give the slice's shape

        def same(x, y):
            return x.shape == y.shape
    else:
        same = torch.equal
    for use in results.uses:
        a, b = ref[use.id]
        assert tuple(a.shape) == use.shape, use
        assert len(use.dims) == len(use.shape)
        assert same(eval(use.expression, {}, names), a), use.expression  # the code text is this slice
        if b is None:
            assert use.compared_with is None and use.equal is None
            continue
        assert same(eval(use.compared_with, {}, names), b), use.compared_with
        if c.device == "meta":
            assert use.equal is None and use.max_difference is None
            continue
        equal = torch.equal(a, b)
        assert use.equal == equal, (use, (a - b).abs().max())
        difference = float((a.double() - b.double()).abs().max()) if a.numel() else 0.0  # a batch of 0: nothing differs
        assert math.isclose(use.max_difference, difference, rel_tol=1e-6, abs_tol=1e-12), use
    return report


CONFIGS = gru_configs(
    max_batch=4, max_seq=6, max_input=5, max_hidden=6, max_layers=3, dropouts=st.sampled_from([0.0, 0.5, 1.0]), devices=["cpu"]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIGS)
def test_every_claim_is_torchs_on_random_configurations(c):
    check_against_torch(c)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gru_configs(max_batch=4, max_seq=6, max_input=5, max_hidden=6, max_layers=3, dropouts=st.just(0.0), devices=["cpu"]).map(
        lambda c: c.replace(
            lengths=c.lengths or (c.seq_len,) * max(c.batch_size, 1),
            batch_size=max(c.batch_size, 1),
            unbatched=False,
            bidirectional=True,
        )
    )
)
def test_packed_and_bidirectional_configurations(c):
    check_against_torch(c)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    gru_configs(max_batch=1, max_seq=6, max_input=5, max_hidden=6, max_layers=3, dropouts=st.just(0.0), devices=["cpu"]).map(
        lambda c: c.replace(unbatched=True, lengths=None)
    )
)
def test_unbatched_configurations(c):
    check_against_torch(c)


@pytest.mark.parametrize("mode", ["gru", "lstm", "rnn"])
def test_the_issues_answers_on_a_generic_run(mode):
    """The classic questions, on float64 runs where no two different states coincide: the run gives the textbook answers."""
    options = {"lstm": {"proj_size": 3}}.get(mode, {})
    one = check_against_torch(
        GRUConfig(
            mode=mode,
            input_size=4,
            hidden_size=5,
            num_layers=2,
            batch_first=True,
            batch_size=3,
            seq_len=6,
            dtype="float64",
            **options,
        )
    ).results
    assert one.use("last_step").equal is True  # output[:, -1] is h_n[-1] for one direction, unpadded
    assert one.use("first_step").equal is False
    bi = check_against_torch(
        GRUConfig(
            mode=mode,
            input_size=4,
            hidden_size=5,
            num_layers=2,
            bidirectional=True,
            batch_first=True,
            batch_size=3,
            seq_len=6,
            dtype="float64",
            **options,
        )
    ).results
    H = 3 if mode == "lstm" else 5
    assert bi.use("last_step_forward").expression == f"output[:, -1, :{H}]" and bi.use("last_step_forward").equal
    assert bi.use("last_step_reverse").expression == f"output[:, -1, {H}:]" and bi.use("last_step_reverse").equal is False
    assert bi.use("last_step_reverse").max_difference > 0
    assert bi.use("first_step_reverse").expression == f"output[:, 0, {H}:]" and bi.use("first_step_reverse").equal
    assert bi.use("classifier").expression == "torch.cat((h_n[-2], h_n[-1]), dim=1)"
    assert bi.use("classifier").shape == (3, 2 * H) and bi.use("classifier").equal
    assert bi.use("h_n_view_reverse").expression == f"h_n.view(2, 2, 3, {H})[1, 1]" and bi.use("h_n_view_reverse").equal
    packed = check_against_torch(
        GRUConfig(
            mode=mode,
            input_size=4,
            hidden_size=5,
            batch_first=True,
            batch_size=3,
            seq_len=6,
            lengths=(6, 4, 2),
            dtype="float64",
            **options,
        )
    ).results
    assert packed.setup == "output, lengths = pad_packed_sequence(output, batch_first=True)"
    assert packed.use("last_step").equal is False  # zeros past the shorter sequences
    assert packed.use("sequence_ends").expression == "output[range(3), lengths - 1]" and packed.use("sequence_ends").equal
    seq_first = check_against_torch(
        GRUConfig(mode=mode, input_size=4, hidden_size=5, batch_size=3, seq_len=6, lengths=(6, 4, 2), dtype="float64", **options)
    ).results
    assert seq_first.use("sequence_ends").expression == "output[lengths - 1, range(3)]"  # batch_first moves time in output only
    assert seq_first.use("h_n_view_forward").expression == f"h_n.view(1, 1, 3, {H})[0, 0]"
    if mode == "lstm":
        c_n = one.use("c_n")
        assert c_n.compared_with is None and c_n.shape == (3, 5) and "no counterpart in output" in c_n.note
        assert "proj_size 3" in c_n.note


def test_unbatched_classifier_concatenates_the_only_dimension():
    results = check_against_torch(GRUConfig(input_size=3, hidden_size=4, bidirectional=True, unbatched=True, seq_len=5)).results
    assert results.use("classifier").expression == "torch.cat((h_n[-2], h_n[-1]), dim=0)"
    assert results.use("classifier").shape == (8,) and results.use("classifier").equal
    assert results.use("last_step_reverse").expression == "output[-1, 4:]"


def test_meta_device_has_shapes_and_no_verdicts():
    report = check_against_torch(GRUConfig(bidirectional=True, device="meta"))
    assert report.results.checked.startswith("meta")
    assert "torch.equal(" not in pytorch_code(report.config, report)  # torch.equal does not run on meta


def test_tree_marks_derived_then_measured():
    c = GRUConfig(input_size=3, hidden_size=4, bidirectional=True, batch_first=True, batch_size=2, seq_len=5)
    derived = render_text(derive(c).tree())
    assert "using the results · derived" in derived
    assert "output[:, -1, :4] vs h_n[-2]" in derived and "✓" not in derived and "✗" not in derived
    traced = trace(c)
    text = render_text(traced.tree())
    assert "✓ output[:, 0, 4:] == h_n[-1]  [2, 4]" in text
    difference = traced.results.use("last_step_reverse").max_difference
    assert f"✗ output[:, -1, 4:] != h_n[-1]  [2, 4]  (batch, hidden_size)  — max difference {difference:.3g}" in text
    ascii_text = render_text(traced.tree(), ascii_only=True)
    assert "OK output[:, 0, 4:] == h_n[-1]" in ascii_text and "X output[:, -1, 4:] != h_n[-1]" in ascii_text
    assert "batch_first=True: a time step of output is output[:, t]" in text


def test_code_pane_lines_run_and_say_what_the_run_found(capsys):
    c = GRUConfig(
        mode="lstm",
        input_size=3,
        hidden_size=4,
        proj_size=2,
        bidirectional=True,
        batch_first=True,
        batch_size=3,
        seq_len=5,
        lengths=(5, 3, 1),
    )
    report = trace(c)
    code = pytorch_code(c, report)
    for use in report.results.uses:
        line = next(line for line in code.splitlines() if line.startswith((use.check or use.expression) + "  # "))
        if use.equal is not None:
            assert ("  # True on the run; " in line) == use.equal
            assert ("  # False on the run (max difference " in line) == (not use.equal)
    namespace = {}
    exec(code, namespace)  # the lines paste and run
    for use in report.results.uses:  # and in the code's own run, the same slices have the same shapes
        assert tuple(eval(use.expression, namespace).shape) == use.shape


def test_json_contract_before_and_after_the_run(capsys):
    args = [
        "trace",
        "--input-size",
        "3",
        "--hidden-size",
        "4",
        "--num-layers",
        "2",
        "--bidirectional",
        "--batch-size",
        "3",
        "--lengths",
        "5,3,1",
        "--seq-len",
        "5",
        "--json",
    ]
    assert main(args + ["--derived"]) == 0
    before = json.loads(capsys.readouterr().out)["using_results"]
    assert main(args) == 0
    after = json.loads(capsys.readouterr().out)["using_results"]
    assert before["setup"] == after["setup"] == "output, lengths = pad_packed_sequence(output, batch_first=True)"
    assert before["output_time_dim"] == after["output_time_dim"] == 1
    assert [u["expression"] for u in before["uses"]] == [u["expression"] for u in after["uses"]]
    assert all(u["equal"] is None and u["max_difference"] is None for u in before["uses"])
    compared = [u for u in after["uses"] if u["compared_with"] is not None]
    assert compared and all(isinstance(u["equal"], bool) and isinstance(u["max_difference"], float) for u in compared)
    assert set(after["uses"][0]) == {"id", "expression", "shape", "dims", "compared_with", "equal", "max_difference", "note"}


def test_handout_has_the_branch():
    c = GRUConfig(input_size=3, hidden_size=4, bidirectional=True, batch_first=True)
    text = markdown_handout(trace(c))
    assert "## Using the results" in text
    assert "torch.cat((h_n[-2], h_n[-1]), dim=1)" in text
    assert "| `output[:, 0, 4:]` | `h_n[-1]` | [1, 4] | ✓ equal |" in text


def test_slice_question_is_graded_by_the_run():
    from gru_tui.lessons import grade_slices, slice_question

    c = GRUConfig(input_size=3, hidden_size=4, batch_size=3, seq_len=5, lengths=(5, 3, 1), batch_first=True)
    question = slice_question(trace(c))
    out, h_n, c_n, lengths = seeded_run(c)
    names = {"torch": torch, "output": out, "h_n": h_n, "lengths": lengths, "range": range}
    truth = {i for i, use in enumerate(question.options, 1) if torch.equal(eval(use.expression, {}, names), h_n[-1])}
    assert [u.expression for u in question.options] == ["output[:, -1]", "output[:, 0]", "output[range(3), lengths - 1]"]
    assert truth == {3} and question.answer == truth
    assert grade_slices(question, ", ".join(map(str, sorted(truth)))).correct
    assert not grade_slices(question, "1").correct and not grade_slices(question, "0").correct
    with pytest.raises(ConfigError, match="^slices: type the numbers"):
        grade_slices(question, "4")
    assert slice_question(derive(c)) is None  # before a run there is nothing to grade against


async def test_quiz_asks_which_slice_equals_h_n_after_the_shapes():
    from app_helpers import open_quiz
    from textual.widgets import Input

    from gru_tui.app import make_app
    from gru_tui.core.report import Packed
    from gru_tui.lessons import PRESETS

    config = PRESETS["bidirectional"].config
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        quiz = await open_quiz(pilot)
        report = quiz.report
        assert not quiz.query_one("#quiz-slices").display
        out = report.output.data.shape if isinstance(report.output, Packed) else report.output.shape
        await pilot.press(*str(list(out)), "enter", *str(list(report.h_n.shape)), "enter")
        await pilot.pause()
        assert quiz.query_one("#quiz-slices").display and quiz.focused.id == "predict-slices"
        options = quiz.slices.options
        tensors_out, h_n, _c_n, _lengths = seeded_run(config)
        truth = [i for i, use in enumerate(options, 1) if torch.equal(eval(use.expression, {}, {"output": tensors_out}), h_n[-1])]
        assert truth == [2]  # output[:, 0, 32:]: the reverse direction's final state
        await pilot.press("1", "enter")
        await pilot.pause()
        assert quiz.feedback.startswith("Not quite: on the run, 2 equals h_n[-1].")
        quiz.query_one("#predict-slices", Input).value = ""
        await pilot.press("2", "enter")
        await pilot.pause()
        assert quiz.feedback.startswith("Right")


@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("packed", [False, True])
def test_cuda_runs_give_the_textbook_answers(mode, packed):
    """On a GPU (cuDNN), the run's own output and h_n: each final state sits where the CPU has it, bit for bit."""
    c = GRUConfig(
        mode=mode,
        input_size=4,
        hidden_size=5,
        num_layers=2,
        bidirectional=True,
        batch_first=True,
        batch_size=3,
        seq_len=6,
        lengths=(6, 4, 2) if packed else None,
        device="cuda:0",
    )
    results = trace(c).results
    assert results.checked == "torch.equal on the run's tensors (cuda:0)"
    ends = "sequence_ends_forward" if packed else "last_step_forward"
    assert results.use(ends).equal and results.use("first_step_reverse").equal and results.use("classifier").equal
    assert results.use("last_step_reverse").equal is False


def test_the_derived_branch_needs_neither_torch_nor_textual():
    import subprocess
    import sys

    code = (
        "import sys, gru_tui; from gru_tui.core.code import pytorch_code; from gru_tui.core.tree import render_text; "
        "from gru_tui.lessons import slice_question; c = gru_tui.GRUConfig(bidirectional=True, batch_size=2, lengths=(3, 2), "
        "seq_len=3); r = gru_tui.derive(c); render_text(r.tree()); pytorch_code(c, r); r.to_dict(); "
        "assert slice_question(r) is None; assert 'torch' not in sys.modules and 'textual' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
