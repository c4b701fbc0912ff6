"""Handouts: the current lesson as Markdown (to print or share), JSON or SVG, written atomically.

Everything in a handout comes from the report and the shared renderers (the
PyTorch code, the text tree, the summary rows), so it says what the app says.
The SVG screenshot is the app's to take (it needs the screen); it passes it to
``export``, which draws the shape tree instead when there is none (the CLI).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from ..core.code import pytorch_code
from ..core.files import write_atomic
from ..core.report import Report, format_shape
from ..core.summary import summary_rows
from ..core.tree import gru_call, render_text

FORMATS = ("md", "json", "svg")


def shape_rules(c) -> list[str]:
    """The rules the handout's shapes follow, for its kind: h is proj_size wide for a projecting LSTM, c never is."""
    h = "proj_size" if c.proj_size else "hidden_size"
    rows = f"{c.kind.gate_count}*hidden_size" if c.kind.gate_count > 1 else "hidden_size"
    rules = [
        f"output: (batch, seq, D*{h}) with batch_first=True, else (seq, batch, D*{h}); "
        f"packed, its data is (sum of lengths, D*{h}); unbatched, (seq, D*{h}).",
        f"h_n: (D*num_layers, batch, {h}) whatever batch_first says; unbatched, (D*num_layers, {h}). "
        "D is 2 when bidirectional, else 1.",
    ]
    if c.kind.has_cell:
        rules.append(
            "c_n: (D*num_layers, batch, hidden_size), laid out like h_n; proj_size never applies to c. "
            "h0 and c0 are passed as the pair (h0, c0)."
        )
    rules.append(
        f"weight_ih_lk: ({rows}, features in), one block of rows per gate ({c.kind.stacked('W_i')}); "
        f"layer k > 0 takes D*{h} features in."
    )
    if c.proj_size:
        rules.append("weight_hr_lk: (proj_size, hidden_size), applied at every step: h_t = W_hr (o_t ⊙ tanh(c_t)).")
    return rules


def markdown_handout(report: Report) -> str:
    c = report.config
    source = (
        "derived from the shape rules (not yet run)"
        if report.derived
        else f"traced from the real nn.{c.kind.module} on {c.device}"
    )
    config_rows = [(name, _value_text(value)) for name, value in c.to_dict().items() if c.applies(name)]
    parts = [
        f"# {gru_call(c)}",
        "",
        f"Every shape below was {source}, {c.dtype}.",
        "",
        "## Configuration",
        "",
        _table(("field", "value"), config_rows),
        "",
        "## PyTorch code",
        "",
        "```python",
        pytorch_code(c, report).rstrip("\n"),
        "```",
        "",
        "## Shape tree",
        "",
        "```text",
        render_text(report.tree()),
        "```",
        "",
        *_results_section(report),
        "## Figures (torchinfo)" if not report.derived else "## Figures",
        "",
        _table(("figure", "value"), summary_rows(report)),
        "",
        "## The shape rules",
        "",
        *(f"- {rule}" for rule in shape_rules(c)),
    ]
    return "\n".join(parts) + "\n"


def json_handout(report: Report) -> str:
    """``gru-tui trace --json``'s report, plus the PyTorch code."""
    return json.dumps({**report.to_dict(), "code": pytorch_code(report.config, report)}, indent=2) + "\n"


def svg_handout(report: Report) -> str:
    """The shape tree as an SVG picture of a terminal (for the CLI; the app passes its own screenshot)."""
    return tree_svg(report.tree(), f"gru-tui: {gru_call(report.config)}")


def tree_svg(root, title: str) -> str:
    """A shape tree drawn as an SVG picture of a terminal."""
    from rich.console import Console
    from rich.text import Text

    text = render_text(root)
    console = Console(record=True, width=max(80, *(len(line) + 1 for line in text.splitlines())), file=io.StringIO())
    console.print(Text(text), soft_wrap=True)
    return console.export_svg(title=title)


def handout_format(path: str | os.PathLike[str], chosen: str | None = None) -> str:
    """The format of a handout written to ``path``: its extension's when that names one (.md, .markdown, .json,
    .svg), else ``chosen``; ValueError when neither does."""
    suffix = Path(path).suffix.lstrip(".").lower().replace("markdown", "md")
    fmt = suffix if suffix in FORMATS else chosen
    if fmt not in FORMATS:
        what = "is a directory" if Path(path).is_dir() else f"ends in .{suffix}" if suffix else "has no extension"
        raise ValueError(f"{path} {what}: give a file name ending in .md, .json or .svg")
    return fmt


def handout_text(report: Report, fmt: str, screenshot: str | None = None) -> str:
    """The handout as ``fmt``; for "svg", ``screenshot`` is the app's SVG screenshot when it has one, else the tree is drawn."""
    if fmt == "md":
        return markdown_handout(report)
    if fmt == "json":
        return json_handout(report)
    return screenshot if screenshot is not None else svg_handout(report)


def export(
    report: Report,
    path: str | os.PathLike[str],
    fmt: str | None = None,
    overwrite: bool = False,
    screenshot: str | None = None,
) -> Path:
    """Write the handout to ``path`` in the format ``handout_format(path, fmt)`` gives (see ``handout_text``).

    Atomic; an existing file raises ``files.FileExistsRefused`` unless ``overwrite``.
    """
    text = handout_text(report, handout_format(path, fmt), screenshot)
    return write_atomic(path, text, overwrite=overwrite)


def model_markdown(report) -> str:
    """Your own model's handout: what was run, the tree, what failed and why."""
    spec = report.spec
    given = report.inputs.inputs_text() if report.inputs is not None else "none (the file failed first)"
    what = f"`{spec.shown_file}`, `{spec.name}{spec.arguments}`" if spec is not None else f"`{report.name}` (a live module)"
    parts = [
        f"# {report.name}",
        "",
        f"{what}, run once on {report.device} in {report.mode} mode with hooks on every submodule; input {given}.",
        "",
    ]
    if report.failure is not None:
        parts += ["## What failed", "", *(f"    {line}" if i else line for i, line in enumerate(report.failure.lines())), ""]
    parts += ["## Shape tree", "", "```text", render_text(report.tree()), "```", ""]
    if report.summary:
        parts += ["## Parameters", "", _table(("figure", "value"), [(k, f"{v:,}") for k, v in report.summary.items()]), ""]
    return "\n".join(parts)


def model_handout_text(report, fmt: str, screenshot: str | None = None) -> str:
    if fmt == "md":
        return model_markdown(report)
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2) + "\n"
    return screenshot if screenshot is not None else tree_svg(report.tree(), f"gru-tui: {report.name}")


def export_model(
    report, path: str | os.PathLike[str], fmt: str | None = None, overwrite: bool = False, screenshot: str | None = None
) -> Path:
    """Your own model's handout, as ``export`` writes an assembled module's: by the suffix, atomic, no silent overwrite."""
    return write_atomic(path, model_handout_text(report, handout_format(path, fmt), screenshot), overwrite=overwrite)


def _value_text(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _results_section(report: Report) -> list[str]:
    """Using the results: each slice, what it is compared with, its shape, and what the run found (blank before one)."""
    results = report.results
    if results is None:
        return []
    rows = [
        (f"`{u.expression}`", f"`{u.compared_with}`" if u.compared_with else "", format_shape(u.shape), u.verdict(), u.note)
        for u in results.uses
    ]
    setup = [f"A packed batch is padded first: `{results.setup}`.", ""] if results.setup else []
    return [
        "## Using the results",
        "",
        f"Layout — {results.note}. Equality — {results.checked}.",
        "",
        *setup,
        _table(("expression", "compared with", "shape", "on the run", "what it is"), rows),
        "",
    ]


def _table(header: tuple[str, ...], rows) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)
