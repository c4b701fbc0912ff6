"""Handouts: Markdown and JSON from a traced report, written atomically, never over a file without leave."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from cli_runs import run_in_process

from gru_tui import trace
from gru_tui.core.code import pytorch_code
from gru_tui.core.files import FileExistsRefused
from gru_tui.core.summary import summary_rows
from gru_tui.core.tree import render_text
from gru_tui.lessons import PRESETS
from gru_tui.lessons.handout import export, json_handout, markdown_handout


def fenced(markdown: str, language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)\n```", markdown, flags=re.S)
    assert len(blocks) == 1
    return blocks[0]


@pytest.fixture(scope="module")
def report():
    return trace(PRESETS["bidirectional"].config.replace(with_h0=True))


def test_markdown_holds_config_code_tree_figures_and_rules(report):
    md = markdown_handout(report)
    assert md.startswith("# nn.GRU(10, 32, num_layers=2, batch_first=True, bidirectional=True)\n")
    assert "traced from the real nn.GRU on cpu" in md
    assert "| hidden_size | 32 |" in md and "| lengths | none |" in md
    assert fenced(md, "python") + "\n" == pytorch_code(report.config, report)
    assert fenced(md, "text") == render_text(report.tree())
    for label, _value in summary_rows(report):
        assert f"| {label} |" in md
    assert "## The shape rules" in md and "whatever batch_first says" in md


def test_markdown_code_runs_and_prints_the_reports_shapes(report):
    code = fenced(markdown_handout(report), "python")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(list(report.output.shape)), str(list(report.h_n.shape))]


def test_an_lstm_handout_names_its_kind_c_n_and_the_projection():
    from torch_reference import run_module

    c = PRESETS["lstm-proj"].config
    report = trace(c)
    md = markdown_handout(report)
    assert md.startswith("# nn.LSTM(") and "traced from the real nn.LSTM on cpu" in md
    assert f"| proj_size | {c.proj_size} |" in md and "| nonlinearity |" not in md  # only the fields that apply
    assert "c_n: (D*num_layers, batch, hidden_size)" in md and "weight_hr_lk: (proj_size, hidden_size)" in md
    result = subprocess.run([sys.executable, "-c", fenced(md, "python")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out, h_n, c_n, _params = run_module(c)
    assert result.stdout.splitlines() == [str(list(t.shape)) for t in (out, h_n, c_n)]
    rnn = markdown_handout(trace(PRESETS["rnn-one-layer"].config))
    assert "| mode | rnn |" in rnn and "| nonlinearity | tanh |" in rnn and "| proj_size |" not in rnn


def test_packed_markdown(tmp_path):
    report = trace(PRESETS["packed"].config)
    md = markdown_handout(report)
    assert "| lengths | 7, 5, 2 |" in md and "PackedSequence" in md


def test_json_is_the_trace_report_plus_the_code(report):
    data = json.loads(json_handout(report))
    code = data.pop("code")
    assert data == json.loads(json.dumps(report.to_dict()))
    assert code == pytorch_code(report.config, report)


@pytest.mark.parametrize("name, fmt", [("lesson.md", None), ("lesson.json", None), ("lesson.txt", "md")])
def test_export_writes_and_refuses_to_overwrite(tmp_path, report, name, fmt):
    path = tmp_path / name
    export(report, path, fmt)
    first = path.read_text()
    assert first == (json_handout(report) if name.endswith(".json") else markdown_handout(report))
    with pytest.raises(FileExistsRefused):
        export(report, path, fmt)
    assert path.read_text() == first
    export(trace(PRESETS["one-layer"].config), path, fmt, overwrite=True)
    assert path.read_text() != first
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_svg_draws_the_tree_or_keeps_the_apps_screenshot(tmp_path, report):
    import xml.dom.minidom

    path = export(report, tmp_path / "lesson.svg")
    svg = xml.dom.minidom.parse(str(path))  # well-formed
    assert svg.documentElement.tagName == "svg"

    def texts(node):
        if node.nodeType == node.TEXT_NODE:
            yield node.data
        for child in node.childNodes:
            yield from texts(child)

    drawn = "".join(texts(svg.documentElement)).replace("\xa0", " ")
    assert "gru-tui: nn.GRU(10, 32, num_layers=2, batch_first=True, bidirectional=True)" in drawn
    assert f"h_n  {list(report.h_n.shape)}" in drawn
    screenshot = '<svg xmlns="http://www.w3.org/2000/svg"><text>the app</text></svg>'
    export(report, tmp_path / "screen.svg", screenshot=screenshot)
    assert (tmp_path / "screen.svg").read_text() == screenshot
    with pytest.raises(FileExistsRefused):
        export(report, tmp_path / "screen.svg", screenshot="<svg/>")


def test_export_refuses_an_unknown_format(tmp_path, report):
    with pytest.raises(ValueError, match=r"lesson.docx ends in .docx: give a file name ending in .md, .json or .svg"):
        export(report, tmp_path / "lesson.docx")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_as_handout_is_named_as_one(tmp_path):
    result = run("trace", "--derived", "--handout", str(tmp_path))
    assert result.returncode == 2  # was "the format is ''"
    assert result.stderr == f"error: handout: {tmp_path} is a directory: give a file name ending in .md, .json or .svg\n"


def run(*args: str) -> subprocess.CompletedProcess:
    return run_in_process(*args)  # in this process: torch loads once for the file, not once a call


def test_trace_writes_a_handout_and_asks_before_replacing_it(tmp_path):
    path = tmp_path / "lesson.md"
    flags = ("--num-layers", "2", "--bidirectional", "--batch-first")
    result = run("trace", *flags, "--handout", str(path))
    assert result.returncode == 0, result.stderr
    config = PRESETS["bidirectional"].config
    assert path.read_text().startswith("# nn.GRU(10, 32, num_layers=2, batch_first=True, bidirectional=True)")
    assert fenced(path.read_text(), "text") == render_text(trace(config).tree())
    result = run("trace", "--handout", str(path))
    assert result.returncode == 2 and result.stderr == f"error: handout: {path} exists; add --overwrite to replace it\n"
    assert "bidirectional=True" in path.read_text()
    assert run("trace", "--handout", str(path), "--overwrite").returncode == 0
    assert "bidirectional=True" not in path.read_text()
    result = run("trace", "--handout", str(tmp_path / "lesson.pdf"))
    assert result.returncode == 2 and "lesson.pdf ends in .pdf: give a file name ending in .md, .json or .svg" in result.stderr


def test_a_packed_handouts_table_and_code_agree_on_seq_len():
    """--lengths 7,5,2 --seq-len 35: the table says seq_len 35 and the code packs randn(3, 35, 10), which torch runs."""
    c = PRESETS["packed"].config.replace(seq_len=35)
    md = markdown_handout(trace(c))
    assert "| seq_len | 35 |" in md and "x = torch.randn(3, 35, 10)" in md
    result = subprocess.run([sys.executable, "-c", fenced(md, "python")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
