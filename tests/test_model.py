"""Your own model (issue #13): every shape of each example's tree against plain torch forward hooks; failures; the CLI."""

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from gru_tui.core.config import ConfigError
from gru_tui.core.tree import render_text
from gru_tui.model.spec import model_spec, parse_input
from gru_tui.model.trace import trace_file as trace_model

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
# (file:NAME, --input shapes, --inputs function): each example as its docstring says to run it
CASES = {
    "classifier": ("classifier.py:make_model", ["4x35:int64"], None),
    "seq2seq": ("seq2seq.py:Seq2Seq", ["4x12:int64", "4x9:int64"], None),
    "packed": ("packed.py:make_model", None, "packed.py:example_inputs"),
    "tagger": ("tagger.py:make_model", ["2x20:int64"], None),
}


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gru_tui", *args], capture_output=True, text=True, timeout=180, cwd=cwd)


def spec_of(case):
    ref, inputs, function = CASES[case]
    return model_spec(str(EXAMPLES / ref), inputs, str(EXAMPLES / function) if function else None)


def shapes_of(obj) -> list:
    """Every tensor shape in a forward's argument or result, in order (a PackedSequence: its data), by plain torch."""
    if isinstance(obj, PackedSequence):
        return [tuple(obj.data.shape)]
    if isinstance(obj, torch.Tensor):
        return [tuple(obj.shape)]
    if isinstance(obj, (tuple, list)):
        return [s for o in obj for s in shapes_of(o)]
    if isinstance(obj, dict):
        return [s for o in obj.values() for s in shapes_of(o)]
    return []


def hooked_forward(spec):
    """The example run with plain forward hooks: {module path: [(input shapes, output shapes), ...]}, and the model."""
    file, name = spec.file, spec.name
    loaded = importlib.util.spec_from_file_location(f"reference_{Path(file).stem}", file)
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    model = getattr(module, name)().eval()
    if spec.inputs_function:
        args = getattr(module, spec.inputs_function[1])()
    else:
        high = min(m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding))
        args = tuple(torch.randint(0, high, i.shape) for i in spec.inputs)
    seen: dict[str, list] = {}
    for path, m in model.named_modules():
        m.register_forward_hook(lambda mod, a, out, path=path: seen.setdefault(path, []).append((shapes_of(a), shapes_of(out))))
    with torch.no_grad():
        model(*args)
    return seen, model


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_shape_in_the_tree_is_what_torch_gives(case):
    spec = spec_of(case)
    report = trace_model(spec)
    assert report.ok, report.failure
    seen, model = hooked_forward(spec)
    traced = {
        node.path: [([s for a in c.args for s in a.tensors()], c.output.tensors()) for c in node.calls]
        for node in report.root.walk()
    }
    assert traced == {path: seen.get(path, []) for path, _m in model.named_modules()}
    text = render_text(report.tree())
    recurrent = [(path, m) for path, m in model.named_modules() if isinstance(m, nn.RNNBase)]
    assert recurrent
    for path, m in recurrent:
        node = report.node(path)
        detail = node.recurrent.report
        _, (output, *state) = seen[path][0][0], seen[path][0][1]  # output, then h_n (and c_n)
        assert (detail.output.data.shape if detail.config.packed else detail.output.shape) == output
        assert detail.h_n.shape == state[0]
        if isinstance(m, nn.LSTM):
            assert detail.c_n.shape == state[1]
        else:
            assert detail.c_n is None
        # the per-layer detail: every parameter of every layer and direction, as the module holds it
        assert {name: tuple(p.shape) for name, p in m.named_parameters()} == {
            name: t.shape for d in detail.directions for name, t in d.weights.items()
        }
        for d in detail.directions:
            assert d.h_n.shape == state[0][1:]
            if d.c_n is not None:
                assert d.c_n.shape == state[1][1:]
        assert f"h_n  [{', '.join(map(str, state[0]))}]" in text
    assert report.summary["total_params"] == sum(p.numel() for p in model.parameters())


def test_json_every_shape_is_a_list_of_integers():
    result = run("trace", "--model", str(EXAMPLES / "tagger.py") + ":make_model", "--input", "2x20:int64", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["ok"] and data["output"]["shape"] == [2, 20, 9]
    lstm = next(c for c in data["tree"]["children"] if c["name"] == "lstm")
    assert lstm["calls"][0]["output"] == [
        {"shape": [2, 20, 32], "dtype": "float32", "device": "cpu"},
        [{"shape": [4, 2, 16], "dtype": "float32", "device": "cpu"}, {"shape": [4, 2, 64], "dtype": "float32", "device": "cpu"}],
    ]
    assert lstm["recurrent"]["h_n"]["shape"] == [4, 2, 16] and lstm["recurrent"]["c_n"]["shape"] == [4, 2, 64]
    assert len(lstm["recurrent"]["layers"]) == 4

    def shapes(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "shape":
                    yield value
                else:
                    yield from shapes(value)
        elif isinstance(node, list):
            for value in node:
                yield from shapes(value)

    found = list(shapes(data))
    assert len(found) > 50 and all(isinstance(s, list) and all(type(n) is int for n in s) for s in found)


def test_a_model_file_never_seen_float_input_and_a_class(tmp_path):
    """The contract: FILE.py:NAME (a class here) and --input 4x80x50:float32, the text tree and --json."""
    (tmp_path / "speech.py").write_text(
        "from torch import nn\n"
        "class Speech(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.rnn = nn.RNN(50, 30, num_layers=3, nonlinearity='relu')\n"
        "        self.head = nn.Linear(30, 7)\n"
        "    def forward(self, x):\n"
        "        out, h = self.rnn(x)\n"
        "        return self.head(out), h\n"
    )
    ref = str(tmp_path / "speech.py") + ":Speech"
    result = run("trace", "--model", ref, "--input", "4x80x50:float32", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["output"] == [
        {"shape": [4, 80, 7], "dtype": "float32", "device": "cpu"},
        {"shape": [3, 80, 30], "dtype": "float32", "device": "cpu"},
    ]
    rnn = data["tree"]["children"][0]
    assert rnn["recurrent"]["config"]["nonlinearity"] == "relu" and rnn["recurrent"]["h_n"]["shape"] == [3, 80, 30]
    text = run("trace", "--model", ref, "--input", "4x80x50")
    assert (
        text.returncode == 0
        and "h_t = relu(" in text.stdout
        and "rnn (RNN)  [4, 80, 50] → ([4, 80, 30], [3, 80, 30])" in text.stdout
    )


def test_the_classic_bug_names_the_linear_and_both_sizes():
    result = run("trace", "--model", str(EXAMPLES / "classifier_bug.py") + ":make_model", "--input", "4x35:int64")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "error: fc (Linear) failed (at classifier_bug.py:" in result.stderr
    assert "mat1 and mat2 shapes cannot be multiplied (4x128 and 64x5)" in result.stdout  # torch's own message
    sentence = next(line for line in result.stdout.splitlines() if "fc is nn.Linear" in line)
    assert "in_features=64" in sentence and "receives 128 features" in sentence and "gru (nn.GRU) is bidirectional" in sentence
    assert "Checked: with fc = nn.Linear(128, 5) the forward runs and returns [4, 5]." in result.stdout
    # the tree up to the failure: what ran before it is there, with its shapes
    assert "gru (GRU)  [4, 35, 50] → ([4, 35, 128], [4, 4, 64])" in result.stdout
    assert "✗ fc (Linear)  [4, 128] → ✗" in result.stdout


def test_the_failure_as_data():
    report = trace_model(model_spec(str(EXAMPLES / "classifier_bug.py") + ":make_model", ["4x35:int64"]))
    failure = report.failure
    assert failure.stage == "forward" and failure.module == "fc" and failure.module_type == "Linear"
    assert [a.shape for a in failure.received.args] == [(4, 128)]
    assert failure.fix_checked and failure.line is not None and failure.code == "return self.fc(last)"
    assert report.node("fc").error.startswith("mat1 and mat2")
    assert report.node("gru").calls[0].output is not None and report.node("").calls[0].output is None


def test_a_recurrent_layer_that_fails_gets_the_explainers_rule_and_a_checked_fix(tmp_path):
    (tmp_path / "wrong.py").write_text(
        "from torch import nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.lstm = nn.LSTM(8, 16, num_layers=2)\n"
        "    def forward(self, x, h0):\n"
        "        return self.lstm(x, h0)  # h0 alone: an LSTM takes (h0, c0)\n"
    )
    report = trace_model(model_spec(str(tmp_path / "wrong.py") + ":M", ["5x3x8", "2x3x16"]))
    failure = report.failure
    assert failure.module == "lstm" and failure.line == 7
    text = "\n".join(failure.lines())
    assert "lstm is nn.LSTM(8, 16, num_layers=2) (read from the module)." in text
    assert "(h0, c0)" in text and "Checked: nn.LSTM runs it" in text and failure.fix_checked


@pytest.mark.parametrize(
    "source, line, words",
    [
        ("import torch\ndef make(:\n    pass\n", 2, "SyntaxError"),
        ("import torch\nfrom not_a_module_here import X\n", 2, "ModuleNotFoundError: No module named 'not_a_module_here'"),
        ("import torch\n\n\nraise ValueError('no data folder')\n", 4, "ValueError: no data folder"),
    ],
)
def test_a_file_that_does_not_import_gets_its_file_and_line(tmp_path, source, line, words):
    path = tmp_path / "broken.py"
    path.write_text(source)
    result = run("trace", "--model", f"{path}:make", "--input", "2x3")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert f"error: {path}:{line}: {words}" in result.stderr


def test_a_missing_name_and_an_error_while_building(tmp_path):
    path = tmp_path / "m.py"
    path.write_text("from torch import nn\ndef make(hidden):\n    return nn.GRU(3, hidden)\ndef other():\n    pass\n")
    missing = run("trace", "--model", f"{path}:model", "--input", "2x3")
    assert (
        missing.returncode == 1
        and f"{path}: NameError: {path} has no function, class or module named 'model'; it defines make, other" in missing.stderr
    )
    needs = run("trace", "--model", f"{path}:make", "--input", "2x3")
    assert needs.returncode == 1 and "with no arguments" in needs.stderr and "Traceback" not in needs.stderr


def test_the_files_own_imports_from_its_folder(tmp_path):
    (tmp_path / "layers.py").write_text(
        "from torch import nn\nHIDDEN = 12\ndef encoder():\n    return nn.GRU(4, HIDDEN, batch_first=True)\n"
    )
    (tmp_path / "model.py").write_text("from layers import encoder\n\ndef make():\n    return encoder()\n")
    report = trace_model(model_spec(str(tmp_path / "model.py") + ":make", ["2x6x4"]))
    assert report.ok and report.output.items[1].shape == (1, 2, 12)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--model", "examples/classifier.py"], "model: must be FILE.py:NAME"),
        (["--model", "examples/none.py:make"], "model: examples/none.py: no such file"),
        (["--model", "examples/classifier.py:make_model", "--input", "4xx35"], "input: must be a shape such as 4x80x50"),
        (["--model", "examples/classifier.py:make_model", "--input", "4x35:int65"], "input: 'int65' is not a dtype here"),
        (
            ["--model", "examples/classifier.py:make_model", "--input", "4x35", "--hidden-size", "3"],
            "hidden_size: --hidden-size configures an assembled module",
        ),
        (["--input", "4x35"], "model: --input, --inputs, --train and --timeout go with --model"),
        (["--train"], "model: --input, --inputs, --train and --timeout go with --model"),
        (
            ["--model", "examples/classifier.py:make_model(__import__('os').getcwd())", "--input", "4x35"],
            "model: __import__('os').getcwd() is not allowed: constructor arguments must be Python literals",
        ),
        (
            ["--model", "examples/classifier.py:make_model(hidden=open)", "--input", "4x35"],
            "model: open is not allowed: constructor",
        ),
        (["--model", "examples/classifier.py:make_model(*[1])", "--input", "4x35"], "model: *[1] is not allowed: constructor"),
        (
            ["--model", "examples/classifier.py:make_model(**{'a': 1})", "--input", "4x35"],
            "model: **{'a': 1} is not allowed: constructor",
        ),
        (["--model", "examples/classifier.py:make_model(1 + 2)", "--input", "4x35"], "model: 1 + 2 is not allowed: constructor"),
        (
            ["--model", "examples/classifier.py:make_model(1,", "--input", "4x35"],
            "model: 'make_model(1,' is not NAME(arguments); constructor",
        ),
        (
            ["--model", "examples/classifier.py:make_model", "--input", "4x35", "--inputs", "examples/packed.py:example_inputs"],
            "inputs: give either --input",
        ),
    ],
)
def test_bad_model_flags_are_one_line_naming_the_flag(argv, words):
    result = run("trace", *argv, cwd=EXAMPLES.parent)
    assert result.returncode == 2 and f"error: {words}" in result.stderr and "Traceback" not in result.stderr


def test_input_is_its_own_flag_not_an_abbreviation_of_input_size():
    result = run("trace", "--input-size", "3", "--hidden-size", "4", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["config"]["input_size"] == 3
    refused = run("trace", "--inp", "3")
    assert refused.returncode == 2 and "unrecognized arguments: --inp" in refused.stderr


def test_parse_input():
    assert parse_input("4x80x50").shape == (4, 80, 50) and parse_input("4x80x50").dtype == "float32"
    assert parse_input("4x35:int64").dtype == "int64"
    with pytest.raises(ConfigError) as error:
        parse_input("0x3")
    assert error.value.field == "input"


def test_example_inputs_used_when_the_file_defines_it():
    report = trace_model(model_spec(str(EXAMPLES / "packed.py") + ":make_model"))
    assert report.ok and report.node("lstm").calls[0].args[0].kind == "packed"
    assert report.node("lstm").recurrent.config.lengths == (7, 5, 2)


def test_a_print_in_the_model_does_not_break_json(tmp_path):
    (tmp_path / "noisy.py").write_text(
        "from torch import nn\nprint('loading')\ndef make():\n    print('building')\n    return nn.GRU(3, 4)\n"
    )
    result = run("trace", "--model", f"{tmp_path / 'noisy.py'}:make", "--input", "5x2x3", "--json")
    assert result.returncode == 0 and json.loads(result.stdout)["ok"] and "building" in result.stderr


def test_a_forward_past_timeout_is_stopped(tmp_path):
    (tmp_path / "slow.py").write_text(
        "import time\nfrom torch import nn\nclass Slow(nn.Module):\n    def forward(self, x):\n        time.sleep(60)\n        return x\n"
    )
    result = run("trace", "--model", f"{tmp_path / 'slow.py'}:Slow", "--input", "2", "--timeout", "1")
    assert result.returncode == 1 and "stopped after 1 s (--timeout)" in result.stderr and "Traceback" not in result.stderr


def test_the_report_crosses_as_plain_data_and_its_tree_needs_no_torch(tmp_path):
    import pickle

    report = trace_model(spec_of("classifier"))
    (tmp_path / "report.pickle").write_bytes(pickle.dumps(report))
    code = (
        "import pickle, sys; r = pickle.load(open(sys.argv[1], 'rb')); from gru_tui.core.tree import render_text; "
        "t = render_text(r.tree()); assert 'h_n  [4, 4, 64]' in t; assert 'torch' not in sys.modules and 'textual' not in sys.modules"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "report.pickle")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("suffix", ["md", "json", "svg"])
def test_handouts_for_a_model(tmp_path, suffix):
    path = tmp_path / f"bug.{suffix}"
    ref = str(EXAMPLES / "classifier_bug.py") + ":make_model"
    result = run("trace", "--model", ref, "--input", "4x35:int64", "--handout", str(path))
    assert result.returncode == 1 and path.exists()  # the forward fails: the handout says why
    text = path.read_text()
    if suffix == "md":
        assert text.startswith("# classifier_bug.py:make_model") and "## What failed" in text
        assert "fc is nn.Linear(in_features=64, out_features=5) but receives 128 features" in text
        assert "gru (GRU)  [4, 35, 50] → ([4, 35, 128], [4, 4, 64])" in text
    elif suffix == "json":
        data = json.loads(text)
        assert data["failure"]["module"] == "fc" and data["failure"]["received"]["input"] == [
            {"shape": [4, 128], "dtype": "float32", "device": "cpu"}
        ]
    else:
        assert text.lstrip().startswith("<svg") and "classifier_bug.py:make_model" in text
    again = run("trace", "--model", ref, "--input", "4x35:int64", "--handout", str(path))
    assert again.returncode == 2 and "exists; add --overwrite" in again.stderr


def test_a_module_called_step_by_step(tmp_path):
    """A decoder loop: every call in the data, the first ones in the tree, the GRU's detail from its first call."""
    (tmp_path / "loop.py").write_text(
        "import torch\nfrom torch import nn\n"
        "class Loop(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.cell = nn.GRU(8, 16, batch_first=True)\n"
        "    def forward(self, x):\n"
        "        h, outs = None, []\n"
        "        for t in range(x.shape[1]):\n"
        "            o, h = self.cell(x[:, t:t + 1], h)\n"
        "            outs.append(o)\n"
        "        return {'out': torch.cat(outs, 1), 'h': h}\n"
    )
    report = trace_model(model_spec(str(tmp_path / "loop.py") + ":Loop", ["2x30x8"]))
    cell = report.node("cell")
    assert len(cell.calls) == 30 and cell.calls[1].args[1].shape == (1, 2, 16)
    assert report.output.keys == ("out", "h") and report.output.items[0].shape == (2, 30, 16)
    assert cell.recurrent.config.seq_len == 1 and not cell.recurrent.config.with_h0
    text = render_text(report.tree())
    assert "call 12: [2, 1, 8], [1, 2, 16] → ([2, 1, 16], [1, 2, 16])" in text and "… 18 more calls" in text


def test_a_nested_linear_after_a_projecting_lstm(tmp_path):
    (tmp_path / "proj.py").write_text(
        "from torch import nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.lstm = nn.LSTM(10, 32, batch_first=True, bidirectional=True, proj_size=16)\n"
        "        self.head = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))\n"
        "    def forward(self, x):\n"
        "        out, _ = self.lstm(x)\n"
        "        return self.head(out)\n"
    )
    result = run("trace", "--model", f"{tmp_path / 'proj.py'}:M", "--input", "2x7x10", "--json")
    assert result.returncode == 1
    failure = json.loads(result.stdout)["failure"]
    assert failure["module"] == "head.0" and failure["fix_checked"]
    assert failure["explanation"][0].startswith("head.0 is nn.Linear(in_features=16, out_features=8) but receives 32 features")
    assert "D*proj_size = 2*16 = 32 features, not proj_size = 16" in failure["explanation"][0]
    assert "with head.0 = nn.Linear(32, 8) the forward runs and returns [2, 7, 3]" in failure["explanation"][1]
    assert "head.0 is nn.Linear" in result.stderr  # with --json the reasons reach stderr too


CONSTRUCTED = (
    "from torch import nn\n"
    "class Net(nn.Module):\n"
    "    def __init__(self, features, hidden, classes, mode='GRU', offset=0.0, sizes=(), options=None):\n"
    "        super().__init__()\n"
    "        self.rnn = getattr(nn, mode)(features, hidden, batch_first=True)\n"
    "        self.head = nn.Linear(hidden, classes)\n"
    "        self.offset, self.sizes, self.options = offset, sizes, options\n"
    "    def forward(self, x, scale=1.0):\n"
    "        out, _ = self.rnn(x * scale + self.offset)\n"
    "        assert self.options == {'a': [1, None], 'b': (True, 'x')} and self.sizes == [-3, 2.5]\n"
    "        return self.head(out)\n"
    "def example_inputs():\n"
    "    import torch\n"
    "    return (torch.randn(2, 5, 3),), {'scale': 2.0}\n"
)


def test_constructor_arguments_inputs_with_keywords_train_mode_and_the_file_as_typed(tmp_path):
    (tmp_path / "net.py").write_text(CONSTRUCTED)
    ref = "net.py:Net(3, 4, classes=6, mode='LSTM', offset=-1.5, sizes=[-3, 2.5], options={'a': [1, None], 'b': (True, 'x')})"
    result = run("trace", "--model", ref, "--train", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"]["file"] == "net.py" and data["model"]["mode"] == "train"
    assert (
        data["model"]["arguments"]
        == "(3, 4, classes=6, mode='LSTM', offset=-1.5, sizes=[-3, 2.5], options={'a': [1, None], 'b': (True, 'x')})"
    )
    assert data["tree"]["children"][0]["type"] == "LSTM" and data["output"]["shape"] == [2, 5, 6]
    assert data["input"]["kwargs"]["scale"] == {"value": "float 2.0"}  # example_inputs() gave (args, kwargs)
    assert str(tmp_path) not in result.stdout  # never a path the reader did not type
    text = run("trace", "--model", ref, "--train", cwd=tmp_path)
    assert (
        text.returncode == 0
        and text.stdout.splitlines()[0].startswith("net.py:Net(3, 4, classes=6")
        and "in train mode" in text.stdout
    )


def test_a_failure_names_the_file_as_typed_and_the_torch_function(tmp_path):
    (tmp_path / "att.py").write_text(
        "import torch\nfrom torch import nn\n"
        "class Att(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.q = nn.Linear(4, 6)\n"
        "    def forward(self, x):\n"
        "        q = self.q(x)\n"
        "        return torch.bmm(q, q)\n"
    )
    result = run("trace", "--model", "att.py:Att", "--input", "2x5x4", "--json", cwd=tmp_path)
    assert result.returncode == 1
    failure = json.loads(result.stdout)["failure"]
    assert failure["call"] == "torch.bmm" and failure["operands"] == [[2, 5, 6], [2, 5, 6]]
    assert failure["file"] == "att.py" and failure["line"] == 9 and failure["code"] == "return torch.bmm(q, q)"
    assert str(tmp_path) not in result.stdout + result.stderr


def test_progress_names_the_module_running_now(monkeypatch):
    from gru_tui.model import hooks

    monkeypatch.setattr(hooks, "PROGRESS_EVERY", 0.0)  # every call said: the fast example is not held up to be seen
    said = []
    report = trace_model(spec_of("seq2seq"), lambda fraction, text: said.append(text))
    assert report.ok
    running = [text.split(" · ")[0] for text in said if text.startswith("running ") and " · " in text]
    assert running[:3] == [
        "running " + report.name,
        f"running {report.root.children[0].path}",
        f"running {report.root.children[0].children[0].path}",
    ]
    assert all(text.endswith(" s") for text in said if " · " in text)


def test_on_a_terminal_progress_goes_to_stderr_in_place():
    import os
    import pty

    master, slave = pty.openpty()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gru_tui",
            "trace",
            "--model",
            str(EXAMPLES / "classifier.py") + ":make_model",
            "--input",
            "4x35:int64",
        ],
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
        timeout=180,
    )
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    assert result.returncode == 0 and "SentenceClassifier" in result.stdout and "\x1b" not in result.stdout
    text = err.decode()
    assert "\r\x1b[Kimporting classifier.py" in text and "\r\x1b[Krunning the forward" in text
    assert text.endswith("\r\x1b[K")  # the line cleared before the tree


def test_a_result_nested_10000_deep_is_not_the_model_failing(tmp_path):
    (tmp_path / "deep.py").write_text(
        textwrap.dedent("""
        from torch import nn

        class Deep(nn.Module):
            def forward(self, x):
                out = x
                for _ in range(10_000):
                    out = (out,)
                return out
    """)
    )
    from gru_tui.model import model_spec
    from gru_tui.model.trace import trace_file

    report = trace_file(model_spec(f"{tmp_path / 'deep.py'}:Deep", ["2x3"]))
    assert report.failure is None
    assert "nested deeper than" in report.output.show()


def test_a_handout_that_cannot_be_written_is_refused_before_the_forward(tmp_path):
    """An existing --handout (without --overwrite) or a bad suffix is said at once, not after a long forward."""
    (tmp_path / "slow.py").write_text(
        "import time\nfrom torch import nn\nclass Slow(nn.Module):\n    def forward(self, x):\n        time.sleep(120)\n        return x\n"
    )
    (tmp_path / "lesson.md").write_text("kept")
    for handout, said in (("lesson.md", "exists; add --overwrite"), ("lesson.txt", "give a file name ending in .md")):
        command = [sys.executable, "-m", "gru_tui", "trace", "--model", "slow.py:Slow", "--input", "2x3", "--handout", handout]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)  # the forward takes 120 s
        assert result.returncode == 2 and said in result.stderr and len(result.stderr.splitlines()) == 1
    assert (tmp_path / "lesson.md").read_text() == "kept"
