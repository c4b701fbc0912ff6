"""Reports that show as their trees: as text, in a rich terminal, and as HTML in Jupyter (and VS Code, Colab).

``Displayable`` is mixed into both reports (``Report`` of an assembled module, ``ModelReport``
of a person's model); each has ``tree()``, and everything here is rendered from those nodes:

- ``text()``, ``repr()``, ``print()`` and Jupyter's ``text/plain``: what ``gru-tui trace`` prints;
- ``__rich__``: the same tree in colour, for ``rich.print(report)`` (rich is imported only by rich itself);
- ``_repr_html_``: the tree as self-contained HTML (plain strings, no scripts, no outside
  fonts or styles): each node with children a collapsible ``<details>``, shapes in monospace,
  a failing node (its label holds the ✗ mark) in a red readable on light and dark themes.

Nothing here imports IPython, Jupyter or Textual: notebooks find these methods by name.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # report.py imports this module: its names are imported where they are used
    from .report_types import Node

# A shape written inside a label: [4, 35, 128] (or batch_sizes [3×5, 1]); not an index such as h_n[0]
FAILED = "✗"  # the mark of what failed: the model tree puts it in labels, the displays colour those lines
SHAPE = re.compile(r"(?<![\w\])])\[[0-9×, ]*\]")
CSS_CLASS = "gru-tui-report"  # every rule of the style is under it, so it touches nothing else on the page
SCOPE = f"div.{CSS_CLASS}"  # element and class: more specific than a notebook's own rules for code and summary
OPEN_DEPTH = 2  # the root and its children start open; deeper nodes closed, but for a model's modules and a failure
# Mid-luminance colours: about 4:1 against white and against black, so one style reads on light and dark themes.
# Text itself keeps the theme's colour (inherit); notes are that colour, faded.
STYLE = f"""
{SCOPE} {{ line-height: 1.45; text-align: left; }}
{SCOPE} .gt-children {{
  margin-left: 0.45em; padding-left: 1em; border-left: 1px solid rgba(128, 128, 128, 0.4); }}
{SCOPE} summary {{ cursor: pointer; }}
{SCOPE} code {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: 0.95em; color: #1c7ed6; background: none; padding: 0; }}
{SCOPE} .gt-leaf {{ padding-left: 1.05em; }}
{SCOPE} .gt-root > summary, {SCOPE} .gt-root > .gt-line {{ font-weight: bold; }}
{SCOPE} .gt-dims, {SCOPE} .gt-note {{ opacity: 0.72; }}
{SCOPE} .gt-failed > summary, {SCOPE} .gt-failed > .gt-line {{
  color: #e5383b; font-weight: bold; background: rgba(229, 56, 59, 0.1); }}
{SCOPE} .gt-failed > summary code, {SCOPE} .gt-failed > .gt-line code {{ color: inherit; }}
"""


class Displayable:
    """The displays of a report that has ``tree()``; a subclass adds what follows the tree in ``text()`` (``_footer``)."""

    def tree(self) -> Node:  # pragma: no cover - each report has its own
        raise NotImplementedError

    def _footer(self) -> list[str]:
        """Paragraphs printed after the tree (an assembled module's summary)."""
        return []

    def text(self, ascii_only: bool = False) -> str:
        """What ``gru-tui trace`` prints for this report (``--ascii``: ``ascii_only``)."""
        from .tree import render_text

        text = "\n\n".join([render_text(self.tree(), ascii_only=ascii_only), *self._footer()])
        return text.encode("ascii", "replace").decode() if ascii_only else text

    def __repr__(self) -> str:
        return self.text()

    def __rich__(self):
        return rich_tree(self.tree())

    def _repr_html_(self) -> str:
        return html_tree(self.tree())


def failed(node: Node) -> bool:
    """A node the report marks as failed: the module or function that raised, the failure, a failed check."""
    return FAILED in node.label


def _holds_failure(node: Node) -> bool:
    return any(failed(n) for n in node.walk())


def _opens(node: Node, depth: int) -> bool:
    """Open at first: the top of the tree, each module of a model (keys ``m:path``; not a recurrent module's
    layer detail, keyed ``m:path/...``), and the way to a failure."""
    module = node.key.startswith("m:") and "/" not in node.key
    return depth < OPEN_DEPTH or module or _holds_failure(node)


# -- HTML -----------------------------------------------------------------------------------
def html_tree(root: Node) -> str:
    """The tree as one self-contained block of HTML: every text escaped, no scripts, no outside resources."""
    return f'<div class="{CSS_CLASS}"><style>{STYLE}</style>{_html_node(root, 0)}</div>'


def _html_node(node: Node, depth: int) -> str:
    marks = ("gt-leaf",) * (not node.children) + ("gt-root",) * (depth == 0) + ("gt-failed",) * failed(node)
    classes = f' class="{" ".join(marks)}"' if marks else ""
    line = _html_line(node)
    if not node.children:
        return f'<div{classes}><span class="gt-line">{line}</span></div>'
    children = "".join(_html_node(child, depth + 1) for child in node.children)
    opened = " open" if _opens(node, depth) else ""
    return f'<details{classes}{opened}><summary>{line}</summary><div class="gt-children">{children}</div></details>'


def _html_line(node: Node) -> str:
    """What ``tree.node_line`` writes, marked up: the label, the shape, what its dims mean, the note."""
    from html import escape  # here: importing a report needs no html module

    from .report_types import format_shape

    parts = [f'<span class="gt-label">{_code_shapes(node.label)}</span>']
    if node.shape is not None:
        parts.append(f"<code>{escape(format_shape(node.shape))}</code>")
        if node.dims:
            parts.append(f'<span class="gt-dims">({escape(", ".join(node.dims))})</span>')
    if node.note:
        parts.append(f'<span class="gt-note">— {_code_shapes(node.note)}</span>')
    return " ".join(parts)


def _code_shapes(text: str) -> str:
    """Escaped text with each shape in it in monospace."""
    from html import escape

    return SHAPE.sub(lambda m: f"<code>{m[0]}</code>", escape(text))


# -- rich -----------------------------------------------------------------------------------
def rich_tree(root: Node):
    """The tree as a rich Tree: shapes in cyan, dims and notes dimmed, failures in bold red."""
    from rich.tree import Tree

    tree = Tree(_rich_line(root), guide_style="dim")
    tree.label.stylize("bold")

    def add(parent, node: Node) -> None:
        for child in node.children:
            add(parent.add(_rich_line(child)), child)

    add(tree, root)
    return tree


def _rich_line(node: Node):
    from rich.text import Text

    from .report_types import format_shape

    text = Text(node.label)
    text.highlight_regex(SHAPE.pattern, "cyan")
    if node.shape is not None:
        text.append("  " + format_shape(node.shape), "cyan")
        if node.dims:
            text.append("  (" + ", ".join(node.dims) + ")", "dim")
    if node.note:
        note = Text("  — " + node.note, "dim")
        note.highlight_regex(SHAPE.pattern, "cyan")
        text.append_text(note)
    if failed(node):
        text.stylize("bold red")
    return text
