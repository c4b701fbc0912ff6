"""examples/shapes.ipynb (issue #19) executed in a real Jupyter kernel: its outputs, as HTML and as text, hold torch's shapes."""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from torch_reference import run_module

from gru_tui import GRUConfig
from gru_tui.core.report import format_shape
from gru_tui.core.tree import gru_call

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "shapes.ipynb"
FIRST = GRUConfig(input_size=10, hidden_size=32, batch_first=True, batch_size=1, seq_len=35)
# What each cell teaches: the write-up's three worked examples, then an LSTM with proj_size (shapes: from torch)
TAUGHT = {
    "one-layer": FIRST,
    "two-layers": FIRST.replace(num_layers=2),
    "bidirectional": FIRST.replace(num_layers=2, bidirectional=True),
    "lstm": FIRST.replace(mode="lstm", proj_size=16, num_layers=2),
}
# Run after the notebook's own cells, in its kernel: plain torch on the notebook's own models, no gru-tui.
TORCH_CELL = """
import json
with torch.no_grad():
    _model = SentenceClassifier()
    _out, _h_n = _model.gru(_model.embedding(x))
    _fixed = FixedClassifier()(x)
print(json.dumps({"gru_output": list(_out.shape), "gru_h_n": list(_h_n.shape), "fixed_output": list(_fixed.shape),
                  "classes": CLASSES, "executable": sys.executable}))
"""


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """The notebook run once, top to bottom, in an IPython kernel of this interpreter: its cells by id."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\n" + TORCH_CELL.strip(), id="torch-check"))
    kernels = tmp_path_factory.mktemp("kernels")
    (kernels / "gru-tui-tests").mkdir()
    (kernels / "gru-tui-tests" / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "gru-tui tests",
                "language": "python",
            }
        )
    )
    km = KernelManager(kernel_name="gru-tui-tests", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    NotebookClient(nb, km=km, timeout=600, resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    return {cell.id: cell for cell in nb.cells}


FAILED_NODE = re.compile(r'class="[^"]*\bgt-failed\b')  # an element marked as failed (the style names the class too)


def outputs(cell) -> tuple[str, str, str]:
    """A cell's printed text, and its result as text/plain and as text/html."""
    printed = "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
    result = next((o.data for o in cell.outputs if o.output_type == "execute_result"), {})
    return printed, result.get("text/plain", ""), result.get("text/html", "")


def test_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)


def test_the_notebook_shows_torchs_shapes_as_html_and_text(cells):
    """One execution (a kernel start is the cost), every check on its outputs (one test: pytest-xdist runs it once)."""
    measured = json.loads(outputs(cells["torch-check"])[0])
    assert measured["executable"] == sys.executable  # the kernel runs this interpreter, with this gru_tui
    for cell_id, config in TAUGHT.items():
        check_worked_example(cells[cell_id], config)
    check_plain_torch(cells["torch"])
    check_the_classic_bug(cells["model-bug"], measured)
    check_the_fix(cells["model-fixed"], measured)


def check_worked_example(cell, config):
    out, h_n, c_n, _ = run_module(config)
    printed, text, html = outputs(cell)
    assert text.splitlines()[0].startswith(gru_call(config) + " · float32 · traced on cpu"), cell.id
    shapes = {"output": out.shape, "h_n": h_n.shape, **({"c_n": c_n.shape} if c_n is not None else {})}
    for name, shape in shapes.items():
        assert f"{name} {list(shape)}" in printed, (cell.id, name)
        assert f"─ {name}  {format_shape(shape)}" in text, (cell.id, name)  # a line of the tree gru-tui trace prints
        assert f"<code>{format_shape(shape)}</code>" in html, (cell.id, name)
    assert "<details" in html and "batch_first never applies to h_n" in html
    assert "<script" not in html and "http" not in html


def check_plain_torch(cell):
    out, h_n, _, _ = run_module(TAUGHT["bidirectional"])
    assert outputs(cell)[1] == repr((out.shape, h_n.shape))


def check_the_classic_bug(cell, measured):
    """A report, not an exception: ok False, the failing module marked, the checked fix with the width torch's GRU gives."""
    fix = f"nn.Linear({measured['gru_output'][-1]}, {measured['classes']})"
    printed, text, html = outputs(cell)
    assert printed.strip() == "ok: False"
    for shown in (text, html):
        assert "✗ fc (Linear)" in shown
        assert f"Checked: with fc = {fix}" in shown
    assert FAILED_NODE.search(html)
    assert f"<code>{format_shape(measured['gru_output'])}</code>" in html  # what ran before the failure
    assert format_shape(measured["gru_h_n"]) in text


def check_the_fix(cell, measured):
    printed, text, html = outputs(cell)
    assert printed.strip() == "ok: True"
    assert f"output {format_shape(measured['fixed_output'])}" in text
    assert f"<code>{format_shape(measured['fixed_output'])}</code>" in html
    assert f"<code>{format_shape(measured['gru_output'])}</code>" in html
    assert "✗" not in text and not FAILED_NODE.search(html)
