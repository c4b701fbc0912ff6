"""Compare: the pinned configuration A beside the form's B, every shape that differs marked in both trees.

Both are traced (the shapes are torch's); ``lessons.compare`` matches the trees by
node key, so a node that differs is marked ≠ on both sides, and one only a side has
is marked there. The list under the trees says each difference in words.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from ...core.config import GRUConfig
from ...core.report import Node, Report
from ...core.tree import gru_call
from ...lessons import compare, config_differences, describe_figure, summary_differences
from ..messages import LessonTraced
from ..widgets.keys_footer import KeysFooter
from ..widgets.title_bar import TitleBar
from ..widgets.trace_tree import FittedTree, node_label
from . import SCREENS_CSS

MARK = "≠ "


def compare_label(node: Node, differs: bool, width: int | None = None) -> Text:
    """The tree's own label; a differing node is marked ≠ and underlined (plain marks: they survive NO_COLOR)."""
    label = node_label(node, None if width is None else width - len(MARK) * differs)
    if differs:
        label.stylize("bold underline")
        label = Text(MARK, style="bold reverse") + label
    return label


class CompareTree(FittedTree):
    """One side of the comparison: each line fitted to the width, its ≠ mark first so it is never cut."""

    marked: set[str] = set()  # the node keys marked ≠ on this side

    def node_text(self, node: Node, width: int) -> Text:
        return compare_label(node, node.key in self.marked, width)


class CompareScreen(Screen[None]):
    CSS_PATH = SCREENS_CSS
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # narrow: A above B, each the full width
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="compare.back", tooltip="Back to the form (A stays pinned)"),
        Binding(
            "a", "pin_b", "Pin B as A", id="compare.pin", tooltip="Make the form's configuration the new A, back to the form"
        ),
    ]

    def __init__(self, a: GRUConfig, b: GRUConfig) -> None:
        super().__init__()
        self.configs = (a, b)
        self.reports: tuple[Report, Report] | None = None
        self.marked: dict[str, set[str]] = {"a": set(), "b": set()}  # node keys marked ≠, by side

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static("", id="compare-configs")
        with Horizontal(id="compare-trees"):
            yield CompareTree("A", id="compare-a")
            yield CompareTree("B", id="compare-b")
        yield Static("", id="compare-differences")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#compare-a").border_title = "A (pinned)"
        self.query_one("#compare-b").border_title = "B (the form)"
        self._say("tracing both…")
        self.trace_both(self.configs)

    def trace_both(self, configs: tuple[GRUConfig, GRUConfig]) -> None:
        self.app.runner.trace_lesson("compare", configs, self.post_message)

    def on_unmount(self) -> None:
        self.app.runner.cancel("compare")

    def on_lesson_traced(self, message: LessonTraced) -> None:
        message.stop()
        if message.configs != self.configs:
            return
        if message.reports is None:
            self._say(f"could not run them: {message.error}")
            return
        report_a, report_b = self.reports = message.reports
        differences = compare(report_a, report_b)
        self.marked = {
            "a": {d.key for d in differences if d.a is not None},
            "b": {d.key for d in differences if d.b is not None},
        }
        self._fill(self.query_one("#compare-a", Tree), report_a.tree(), self.marked["a"])
        self._fill(self.query_one("#compare-b", Tree), report_b.tree(), self.marked["b"])
        changed = config_differences(*self.configs)
        fields = ", ".join(f"{name}: {a} → {b}" for name, a, b in changed) or "the same configuration"
        self._say(fields)
        lines = [
            f"{len(differences)} shape{'s' if len(differences) != 1 else ''} differ:" if differences else "No shape differs."
        ]
        lines += [f"{MARK}{d.describe()}" for d in differences]
        lines += [f"{MARK}{describe_figure(*figure)}" for figure in summary_differences(report_a, report_b)]
        self.query_one("#compare-differences", Static).update(Text("\n".join(lines)))

    def _say(self, state: str) -> None:
        a, b = self.configs
        text = Text(f"A: {gru_call(a)}\nB: {gru_call(b)}\n", style="bold")
        text.append(state)
        self.query_one("#compare-configs", Static).update(text)

    @staticmethod
    def _fill(tree: CompareTree, root: Node, marked: set[str]) -> None:
        """The whole tree, open: a comparison is read at a glance; the cursor on its first ≠ (at 80x24 the
        trees are a few rows high, and the first differences are far down)."""
        tree.marked = marked
        tree.reset(compare_label(root, root.key in marked), root)
        first: list[TreeNode] = []

        def add(parent: TreeNode, node: Node) -> None:
            for child in node.children:
                branch = parent.add(compare_label(child, child.key in marked), child, allow_expand=bool(child.children))
                if child.key in marked and not first:
                    first.append(branch)
                add(branch, child)

        add(tree.root, root)
        tree.root.expand_all()
        for node in first:
            tree.call_after_refresh(tree.move_cursor, node)

    def action_pin_b(self) -> None:
        self.dismiss()
        self.app.action_pin()  # B becomes A; change the form and compare again
