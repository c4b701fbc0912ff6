"""Reports show as their trees (issue #19): Jupyter's HTML, the CLI's text, rich's colours; on real traces, shapes from torch."""

import importlib.util
import io
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from cli_runs import run_in_process as run
from rich.console import Console
from torch_reference import run_module

from gru_tui import GRUConfig, derive, trace
from gru_tui.core.report import format_shape
from gru_tui.core.tree import node_line
from gru_tui.model import model_spec
from gru_tui.model.trace import trace_file

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# The write-up's three worked examples, an LSTM with proj_size, a packed batch.
FIRST = GRUConfig(input_size=10, hidden_size=32, batch_first=True, batch_size=1, seq_len=35)
CONFIGS = {
    "one-layer": FIRST,
    "two-layers": FIRST.replace(num_layers=2),
    "two-layers-bidirectional": FIRST.replace(num_layers=2, bidirectional=True),
    "lstm-proj": FIRST.replace(mode="lstm", proj_size=16, num_layers=2, with_h0=True),
    "packed": FIRST.replace(batch_size=3, seq_len=7, lengths=(7, 5, 2)),
}
MODELS = {"classifier": "classifier.py:make_model", "classifier_bug": "classifier_bug.py:make_model"}
TOKENS = ["4x35:int64"]
VOID = {"br", "hr", "img", "input", "meta", "link", "wbr"}


@pytest.fixture(scope="module")
def reports():
    """Every kind of report: assembled ones traced on the cpu, a model that runs, and the one with the classic bug."""
    made = {name: trace(config) for name, config in CONFIGS.items()}
    made.update({name: trace_file(model_spec(str(EXAMPLES / ref), TOKENS)) for name, ref in MODELS.items()})
    return made


def load_model(name: str):
    spec = importlib.util.spec_from_file_location(f"display_{name}", EXAMPLES / MODELS[name].split(":")[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_model().eval()


def torch_shapes(name: str) -> list[tuple[int, ...]]:
    """Shapes plain torch gives for a report: an assembled module's output and h_n (and c_n); a model's GRU and result."""
    if name in CONFIGS:
        out, h_n, c_n, _ = run_module(CONFIGS[name])
        out = out.data if CONFIGS[name].lengths is not None else out
        return [tuple(t.shape) for t in (out, h_n, c_n) if t is not None]
    model = load_model(name)
    tokens = torch.randint(0, model.embedding.num_embeddings, (4, 35))
    with torch.no_grad():
        out, h_n = model.gru(model.embedding(tokens))
        shapes = [tuple(out.shape), tuple(h_n.shape)]
        if name == "classifier":
            shapes.append(tuple(model(tokens).shape))
    return shapes


class Tree(HTMLParser):
    """Checks the HTML nests (every tag closed in order, each <details> opening with its <summary>) and keeps each line's text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.tags: list[str] = []
        self.lines: list[dict] = []  # one per node: its text and the classes of the element it belongs to
        self.line: dict | None = None
        self.after_details = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if self.after_details:
            assert tag == "summary", "a <details> must start with its <summary>"
        self.after_details = tag == "details"
        if tag in VOID:
            return
        if tag == "summary" or "gt-line" in attrs.get("class", ""):
            owner = self.stack[-1][1] if self.stack else {}
            assert self.line is None, "a line inside a line"
            self.line = {"text": "", "class": owner.get("class") or "", "open": "open" in owner}
        self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1][0] == tag, f"</{tag}> closes <{self.stack[-1][0] if self.stack else None}>"
        _tag, attrs = self.stack.pop()
        if tag == "summary" or "gt-line" in attrs.get("class", ""):
            self.lines.append(self.line)
            self.line = None

    def handle_data(self, data):
        if self.line is not None:
            self.line["text"] += data
        elif self.stack and self.stack[-1][0] != "style":
            assert not data.strip(), f"text outside a line: {data!r}"


def parse(markup: str) -> Tree:
    tree = Tree()
    tree.feed(markup)
    tree.close()
    assert not tree.stack, f"unclosed: {[t for t, _ in tree.stack]}"
    return tree


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("name", [*CONFIGS, *MODELS])
def test_html_is_the_tree_well_formed_and_self_contained(reports, name):
    report = reports[name]
    markup = report._repr_html_()
    parsed = parse(markup)
    nodes = list(report.tree().walk())
    # one line per node, in order, saying what the text tree says
    assert [squeeze(line["text"]) for line in parsed.lines] == [squeeze(node_line(node)) for node in nodes]
    assert parsed.tags.count("details") == sum(1 for node in nodes if node.children)
    assert "<script" not in markup.lower() and "http" not in markup.lower()
    assert "@import" not in markup and "url(" not in markup and "<link" not in markup
    # shapes in monospace: every shape torch gives is there, in <code>
    for shape in torch_shapes(name):
        assert f"<code>{format_shape(shape)}</code>" in markup


def test_html_escapes_what_it_shows():
    """A label with markup in it (a module's repr, an error message) is text, never HTML."""
    from gru_tui.core.display import html_tree
    from gru_tui.core.report import Node

    root = Node(
        "root",
        "<b>model</b> & co",
        children=(Node("x", "h_n[0] [4, 64]", (2, 3), ("a<", "b"), note="<script>alert(1)</script>"),),
    )
    markup = html_tree(root)
    assert "<b>" not in markup and "<script>" not in markup and "&lt;script&gt;" in markup
    assert "<code>[4, 64]</code>" in markup and "<code>[0]</code>" not in markup  # shapes in monospace, not indexes
    assert [squeeze(line["text"]) for line in parse(markup).lines] == [squeeze(node_line(n)) for n in root.walk()]


def test_the_failing_module_is_marked_and_open_with_its_fix(reports):
    report = reports["classifier_bug"]
    assert not report.ok
    lines = parse(report._repr_html_()).lines
    failed = [line["text"] for line in lines if "gt-failed" in line["class"]]
    # the title, the module that raised (fc, a leaf), and the failure with its explanation
    assert any(text.startswith("✗ fc (Linear)") for text in failed)
    assert any("fc (Linear) failed" in text for text in failed)
    # the fix, checked, with the width torch's GRU gives
    width = torch_shapes("classifier_bug")[0][-1]
    classes = load_model("classifier_bug").fc.out_features
    fix = next(line for line in lines if line["text"].startswith("Checked:"))
    assert f"nn.Linear({width}, {classes})" in fix["text"]
    # the way to the failure is open; the GRU's layer detail, away from it, starts closed
    summaries = {squeeze(line["text"]): line for line in lines if "gt-leaf" not in line["class"]}
    assert all(line["open"] for text, line in summaries.items() if "✗" in text)
    assert not next(line for text, line in summaries.items() if text.startswith("layer 0"))["open"]


def test_html_colours_read_on_light_and_dark_backgrounds():
    """The style's colours keep 3:1 (WCAG's UI contrast) on white and on a dark theme's #1e1e1e."""
    from gru_tui.core.display import STYLE

    def luminance(hex_colour):
        rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    def contrast(a, b):
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    colours = re.findall(r"color: (#[0-9a-f]{6})", STYLE)
    assert colours
    for colour in colours:
        assert contrast(colour, "#ffffff") >= 3 and contrast(colour, "#1e1e1e") >= 3, colour


def test_text_is_what_gru_tui_trace_prints(reports):
    config = CONFIGS["two-layers-bidirectional"]
    flags = ["--num-layers", "2", "--bidirectional"]  # on top of the first worked example, as every start
    derived = run("trace", "--derived", *flags)
    assert derived.stdout == repr(derive(config)) + "\n"
    ascii_run = run("trace", "--derived", "--ascii", *flags)
    assert ascii_run.stdout == derive(config).text(ascii_only=True) + "\n"
    traced = run("trace", *flags)
    timing = re.compile(r"^device run .*$", re.M)  # the one line that differs from run to run
    assert timing.sub("", traced.stdout) == timing.sub("", repr(reports["two-layers-bidirectional"]) + "\n")
    model = run("trace", "--model", str(EXAMPLES / MODELS["classifier_bug"]), "--input", *TOKENS)
    assert model.returncode == 1
    assert model.stdout == repr(reports["classifier_bug"]) + "\n"
    assert str(reports["classifier_bug"]) == repr(reports["classifier_bug"])


@pytest.mark.parametrize("name", ["two-layers-bidirectional", "lstm-proj", "classifier", "classifier_bug"])
def test_rich_prints_the_tree_in_colour(reports, name):
    console = Console(record=True, width=400, color_system="standard", file=io.StringIO())
    console.print(reports[name])
    plain = console.export_text(styles=False, clear=False)
    for shape in torch_shapes(name):
        assert format_shape(shape) in plain
    assert [line.lstrip("│├└─ ") for line in plain.splitlines()] == [node_line(n) for n in reports[name].tree().walk()]
    coloured = console.export_text(styles=True)
    assert "\x1b[36m" in coloured  # shapes in cyan
    if name == "classifier_bug":
        failed = next(line for line in coloured.splitlines() if "✗ fc (Linear)" in line)
        assert "\x1b[1;31m" in failed  # bold red


def test_the_package_imports_no_notebook_machinery():
    """Issue #19 item 6: the displays are plain strings; importing gru_tui and showing a report loads no IPython or Jupyter."""
    code = (
        "import sys, gru_tui, gru_tui.core.display, gru_tui.core.report\n"
        "report = gru_tui.derive(gru_tui.GRUConfig())\n"
        "report._repr_html_(), repr(report)\n"
        "heavy = ('IPython', 'ipykernel', 'jupyter_client', 'jupyter_core', 'nbclient', 'nbformat', 'textual', 'torch', 'rich')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
