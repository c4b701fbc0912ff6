"""`gru-tui trace` end to end, as a user runs it (most in this process through main(); a few in a process of its own)."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runs import run_in_process
from torch_reference import run_module

from gru_tui import GRUConfig, derive, trace
from gru_tui.cli import CONFIG_FLAGS, SWITCHES, build_parser, build_trace_parser, config_from_args
from gru_tui.core.config import FIRST_EXAMPLE
from gru_tui.core.report import format_shape


def run(*args: str) -> subprocess.CompletedProcess:
    return run_in_process(*args)  # torch loads once for the file; run_process and the tests below keep a process


def run_process(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gru_tui", *args], capture_output=True, text=True, timeout=120)


# The write-up's third worked example: input (1, 35, 10), hidden 32, 2 layers, bidirectional, batch_first.
WORKED_TWO_LAYERS_BIDIRECTIONAL = ("--input-size", "10", "--hidden-size", "32", "--num-layers", "2", "--bidirectional",
                                   "--batch-first", "--batch-size", "1", "--seq-len", "35")  # fmt: skip


def test_json_equals_trace_to_dict():
    result = run_process("trace", *WORKED_TWO_LAYERS_BIDIRECTIONAL, "--h0", "--json")
    assert result.returncode == 0, result.stderr
    config = GRUConfig(
        input_size=10, hidden_size=32, num_layers=2, bidirectional=True, batch_first=True, batch_size=1, seq_len=35, with_h0=True
    )
    assert json.loads(result.stdout) == trace(config).to_dict()


def test_packed_json():
    result = run("trace", "--lengths", "7,5,2", "--seq-len", "7", "--input-size", "3", "--hidden-size", "4", "--json")
    assert result.returncode == 0, result.stderr
    d = json.loads(result.stdout)
    assert d["config"]["batch_size"] == 3  # batch size follows the lengths when not given
    assert d["output"]["data_shape"] == [14, 4]
    assert d["output"]["batch_sizes"] == [3, 3, 2, 2, 2, 1, 1]
    assert d["output"]["padded_shape"] == [3, 7, 4]  # batch_first, as every start: the first worked example's layout
    assert d["input"]["shape"] == [3, 7, 3]  # the padded tensor the user packs


def test_text_tree_writes_shapes_like_the_write_up():
    result = run("trace", *WORKED_TWO_LAYERS_BIDIRECTIONAL)
    assert result.returncode == 0, result.stderr
    assert "output  [1, 35, 64]" in result.stdout
    assert "h_n  [4, 1, 32]" in result.stdout
    assert "batch_first never applies to h_n" in result.stdout
    assert "r_t = σ(" in result.stdout


@pytest.mark.parametrize(
    "args, config",
    [
        (
            ["--mode", "lstm", "--proj-size", "8", "--num-layers", "2", "--bidirectional", "--h0"],
            FIRST_EXAMPLE.replace(mode="lstm", proj_size=8, num_layers=2, bidirectional=True, with_h0=True),
        ),
        (
            ["--mode", "rnn", "--nonlinearity", "relu", "--unbatched"],
            FIRST_EXAMPLE.replace(mode="rnn", nonlinearity="relu", unbatched=True),
        ),
    ],
    ids=["lstm-proj", "rnn-relu"],
)
def test_other_kinds_json_equals_trace_to_dict(args, config):
    result = run("trace", *args, "--json")
    assert result.returncode == 0, result.stderr
    d = json.loads(result.stdout)
    assert d == trace(config).to_dict()
    assert d["warnings"] == []  # not torch's note on its own kernels (an LSTM's projection and oneDNN)
    assert ("c_n" in d) == (config.mode == "lstm")


def test_other_kinds_text_tree_shows_their_equations():
    lstm = run("trace", "--mode", "lstm", "--proj-size", "4")
    assert lstm.returncode == 0, lstm.stderr
    assert "nn.LSTM(10, 32, batch_first=True, proj_size=4)" in lstm.stdout and "c_t = f_t ⊙ c_(t-1) + i_t ⊙ g_t" in lstm.stdout
    _out, h_n, c_n, _params = run_module(FIRST_EXAMPLE.replace(mode="lstm", proj_size=4))
    assert f"c_n  {list(c_n.shape)}" in lstm.stdout and f"h_n  {list(h_n.shape)}" in lstm.stdout
    rnn = run("trace", "--mode", "rnn", "--nonlinearity", "relu", "--ascii")
    assert rnn.returncode == 0, rnn.stderr
    assert "h_t = relu(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)" in rnn.stdout and "c_n" not in rnn.stdout


def test_ascii_tree():
    result = run("trace", "--ascii")
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii()
    assert "r_t = sigmoid(" in result.stdout


@pytest.mark.parametrize(
    "args, field",
    [
        (["--hidden-size", "0"], "hidden_size"),
        (["--num-layers", "-1"], "num_layers"),
        (["--dropout", "1.5"], "dropout"),
        (["--dtype", "int8"], "dtype"),
        (["--device", "tpu:0"], "device"),
        (["--lengths", "3,x"], "lengths"),
        (["--lengths", "99", "--seq-len", "5"], "lengths"),
        (["--batch-size", "2", "--lengths", "3"], "lengths"),
        (["--mode", "transformer"], "mode"),
        (["--proj-size", "8"], "proj_size"),  # a GRU has no projection: refused, not ignored
        (["--mode", "lstm", "--proj-size", "32"], "proj_size"),  # as torch: smaller than hidden_size (32)
        (["--mode", "lstm", "--nonlinearity", "relu"], "nonlinearity"),
        (["--mode", "rnn", "--nonlinearity", "sigmoid"], "nonlinearity"),
        (["--hidden-size", "2.5"], "hidden_size"),  # was argparse's usage block
        (["--input-size", "1e3"], "input_size"),
        (["--dropout", "3,5"], "dropout"),
        (["--lengths", "7,,5"], "lengths"),  # was read as 7,5
        (["--lengths", "7 5 2"], "lengths"),  # was read as 752
        (["--unbatched", "--batch-size", "4"], "batch_size"),  # was ignored
    ],
)
def test_bad_value_is_one_line_exit_2(args, field):
    result = run("trace", *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_flag_is_argparse_exit_2():
    result = run("trace", "--hiden-size", "3")
    assert result.returncode == 2
    assert "unrecognized arguments" in result.stderr


def test_a_misused_flag_gets_the_usage_of_its_own_command():
    result = run("trace", "--bogus")
    assert result.returncode == 2 and result.stderr.startswith("usage: gru-tui trace ")  # was gru-tui's
    result = run("--bogus")
    assert result.returncode == 2 and result.stderr.startswith("usage: gru-tui ") and "unrecognized arguments" in result.stderr


def test_help_at_every_level_shows_every_flag_with_its_meaning_default_and_choices():
    top = run("--help")
    assert top.returncode == 0
    for text in ("--hidden-size", "--present", "trace", "serve", "first worked example", "(default 32)", "{float32,float64"):
        assert text in top.stdout, text  # the app's own flags, not only the commands
    trace_help = run("trace", "--help").stdout
    flags = [flag for flag, _dest, _kind in CONFIG_FLAGS] + [flag for flag, _dest in SWITCHES]
    for flag in flags:
        entry = " ".join(trace_help.split(f"  {flag}", 1)[1].split("\n  -", 1)[0].split())  # as wrapped
        assert "(default " in entry, flag
    assert "{tanh,relu}" in trace_help and "{gru,lstm,rnn}" in trace_help and "--json" in trace_help
    for parser in (build_parser(), build_trace_parser()):  # every option, the commands' own too, says its default
        for action in parser._actions:
            if action.option_strings and action.dest not in ("help", "version") and action.help != argparse.SUPPRESS:
                assert "default" in action.help, action.option_strings


def test_cpu_with_an_index_is_the_cpu_as_torch_reads_it():
    result = run("trace", "--derived", "--device", "cpu:0", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["config"]["device"] == "cpu"


def test_one_rule_for_defaults_the_app_trace_and_the_readme_share():
    assert config_from_args(build_parser().parse_args([])) == FIRST_EXAMPLE  # `gru-tui`
    assert config_from_args(build_trace_parser().parse_args([])) == FIRST_EXAMPLE  # `gru-tui trace`
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    app_flags = "--num-layers 2 --bidirectional"
    assert f"gru-tui {app_flags}" in readme
    config = config_from_args(build_parser().parse_args(app_flags.split()))
    assert config == config_from_args(build_trace_parser().parse_args(app_flags.split()))
    # The README's worked examples table: the app started with these flags shows these shapes.
    report = derive(config)
    row = f"| 2 layers, bidirectional | `{format_shape(report.output.shape)}` | `{format_shape(report.h_n.shape)}` |"
    assert row in readme
    assert "first worked example" in readme and "first worked example" in run("trace", "--help").stdout


def test_memory_guard_exits_cleanly():
    result = run("trace", "--input-size", "4096", "--hidden-size", "65536", "--num-layers", "64")
    assert result.returncode == 1
    assert result.stderr.startswith("error: device: this run needs about") and "Traceback" not in result.stderr


def test_app_without_a_terminal_says_so():
    result = subprocess.run(
        [sys.executable, "-m", "gru_tui"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert result.returncode == 2
    assert "needs a terminal" in result.stderr


CORE_MODULES = [
    "gru_tui",
    "gru_tui.model",
    "gru_tui.model.trace",
    "gru_tui.model.tree",
    "gru_tui.cli.model_cli",
    "gru_tui.core.config",
    "gru_tui.core.kinds",
    "gru_tui.core.shapes",
    "gru_tui.core.report",
    "gru_tui.core.tree",
    "gru_tui.core.tracing",
    "gru_tui.core.summary",
    "gru_tui.core.files",
    "gru_tui.core.devices",
    "gru_tui.cli",
    "gru_tui.run.jobs",
    "gru_tui.run.pool",
    "gru_tui.run.worker",
]


def test_core_does_not_import_textual():
    # One process for all (torch loads once, not once a module): each imported in turn, then a trace; the first
    # that brings Textual in is named. tests/test_architecture.py reads the same from the source.
    code = (
        f"import importlib, sys\nfor m in {CORE_MODULES!r}:\n    importlib.import_module(m)\n    assert 'textual' not in sys.modules, m\n"
        "from gru_tui import trace, GRUConfig\ntrace(GRUConfig())\nassert 'textual' not in sys.modules, 'trace'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_config_and_derive_import_without_torch():
    code = "import sys, gru_tui, gru_tui.core.shapes, gru_tui.model; gru_tui.derive(gru_tui.GRUConfig()); assert 'torch' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).returncode == 0


def test_an_empty_handout_name_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "gru_tui", "trace", "--derived", "--handout", ""],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2 and result.stderr == "error: handout: give a file name ending in .md, .json or .svg\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("flag", ["--device", "--dtype", "--lengths", "--config"])
def test_a_huge_argument_is_refused_in_one_short_line(flag, capsys):
    from gru_tui.cli import main

    assert main(["trace", "--derived", flag, "x" * 5_000_000]) == 2  # in process: exec takes at most 128 KiB an argument
    assert capsys.readouterr().err.startswith("error: an argument of 5,000,000 characters")
    result = run("trace", "--derived", flag, "x" * 100_000)
    assert result.returncode == 2 and result.stderr.startswith("error: an argument of 100,000 characters")
    assert len(result.stderr) < 200 and "Traceback" not in result.stderr


# -- torch's own rules, end to end (issue 21) ----------------------------------------------------------------


def trace_json(capsys, *args: str) -> dict:
    from gru_tui.cli import main

    assert main(["trace", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_dropout_one_and_a_batch_of_zero_run_as_torch_runs_them(capsys):
    from gru_tui.cli import main

    d = trace_json(capsys, "--num-layers", "2", "--dropout", "1")
    assert d["layer_outputs"][0]["dropout_after"] == 1.0 and any(n.startswith("dropout 1") for n in d["notes"])
    d = trace_json(capsys, "--batch-size", "0")
    out, h_n, _c_n, _params = run_module(FIRST_EXAMPLE.replace(batch_size=0))
    assert d["output"]["shape"] == list(out.shape) == [0, 35, 32] and d["h_n"]["shape"] == list(h_n.shape) == [1, 0, 32]
    assert main(["trace", "--batch-size", "0"]) == 0
    assert "note: batch_size 0" in capsys.readouterr().out


def test_lengths_pad_to_seq_len_and_longer_lengths_are_one_line_naming_both(capsys):
    from gru_tui.cli import main

    d = trace_json(capsys, "--lengths", "7,5,2", "--seq-len", "35")
    assert d["input"]["shape"] == [3, 35, 10] and d["input"]["lengths"] == [7, 5, 2]
    assert d["output"]["padded_shape"] == [3, 7, 32]  # pad_packed_sequence pads back to the longest length
    assert trace_json(capsys, "--lengths", "7,5,2")["input"]["shape"] == [3, 35, 10]  # seq_len keeps its default
    assert main(["trace", "--lengths", "7,5,2", "--seq-len", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: lengths: ") and "seq_len (5)" in err
