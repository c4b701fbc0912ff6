"""The live shape tree: the core's ``Node`` tree in a Textual ``Tree``.

Each update rebuilds the widget from an immutable ``Node`` snapshot, keeping
which nodes were open and where the cursor was by ``Node.key``, so an edit
never collapses what the person was looking at. Labels are the core's
``node_line`` (the same text ``gru-tui trace`` prints) plus the device.
Very large trees are filled in lazily, as nodes are opened, so an update
costs the same whatever the configuration. A line wider than the pane drops
its least needed parts (device, note, meaning of the dims) rather than
scroll sideways; the name and the shape stay.
"""

from __future__ import annotations

import dataclasses

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ...core.report import Node
from ...core.tree import node_line

EAGER_NODE_LIMIT = 2000  # below this every node is built at once; above it, when its parent opens
SHAPE_PATTERN = r"(?<=  )\[[0-9, ×]+\]"  # node_line writes two spaces before a shape


def node_label(node: Node, width: int | None = None) -> Text:
    """The core's line for the node, with the device its tensor lives on; shapes in bold.

    Within ``width`` cells: without the device, then the note, then the dims' meaning; past that the name is
    cut (…), never the shape.
    """
    bare = dataclasses.replace(node, device=None, note="", dims=())
    for shorter in (node, dataclasses.replace(node, device=None), dataclasses.replace(node, device=None, note=""), bare):
        text = Text(node_line(shorter))
        if shorter.device is not None:
            text.append(f"  · {shorter.device}", style="dim")
        if width is None or text.cell_len <= width:
            break
    else:
        room = max(width - (text.cell_len - len(node.label)), 1)  # what the name may keep beside the shape
        text = Text(node_line(dataclasses.replace(bare, label=node.label[: room - 1] + "…")))
        text.truncate(width, overflow="ellipsis")  # a shape wider than the tree: cut too, as a last resort
    text.highlight_regex(SHAPE_PATTERN, "bold")
    text.highlight_regex(r"— .*?(?=  · |$)", "italic")
    return text


class FittedTree(Tree[Node]):
    """A tree of ``Node`` lines, each fitted to the width of the tree (no sideways scrolling)."""

    def node_text(self, node: Node, width: int) -> Text:
        return node_label(node, width)

    def render_label(self, node: TreeNode[Node], base_style: Style, style: Style) -> Text:
        if node.data is None:
            return super().render_label(node, base_style, style)
        icon = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE) if node.allow_expand else ""
        # As if the vertical scrollbar were there: it comes with a long tree, and takes its columns from the lines.
        room = self.scrollable_content_region.width - (0 if self.show_vertical_scrollbar else self.styles.scrollbar_size_vertical)
        width = room - _depth(node) * self.guide_depth - len(icon)
        label = self.node_text(node.data, max(width, 12))
        label.stylize(style)
        return Text.assemble((icon, base_style + Style(meta={"toggle": True})), label)


def default_open(depth: int) -> bool:
    """Nodes seen for the first time: the root and its children open, deeper ones closed."""
    return depth <= 1


class TraceTree(FittedTree):
    """The trace as an expandable tree; ``show(root)`` replaces what it shows."""

    BINDINGS = [
        Binding("e", "expand_all", "Expand all", id="tree.expand_all", tooltip="In the tree: open every node"),
        Binding(
            "c", "collapse_all", "Collapse all", id="tree.collapse_all", tooltip="In the tree: close every node but the root"
        ),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("trace", id=id)
        self.show_root = True
        self.guide_depth = 3
        self._open: dict[str, bool] = {}  # every key seen: was it open?
        self._keys_shown: list[str] | None = None

    # -- updates -----------------------------------------------------------------
    def show(self, root: Node) -> None:
        nodes = list(root.walk())
        keys = [node.key for node in nodes]  # paths: the same keys in the same order are the same nodes
        if keys == self._keys_shown:
            self._relabel(nodes)
            return
        self._keys_shown = keys
        self._remember_state()
        cursor = self.cursor_node.data.key if self.cursor_node is not None and self.cursor_node.data else None
        eager = len(keys) <= EAGER_NODE_LIMIT
        self.reset(node_label(root), root)
        self._fill(self.root, depth=0, eager=eager)
        if self._is_open(root.key, 0):
            self.root.expand()
        if cursor is not None:
            self.call_after_refresh(self._move_to, cursor)

    def _relabel(self, nodes: list[Node]) -> None:
        """The same nodes with new shapes or marks (a run landing on its derived tree): the lines change, not the
        tree, so the screen needs no new layout (a served class pays each layout in every tab)."""
        by_key = {node.key: node for node in nodes}
        stack = [self.root]
        while stack:
            tree_node = stack.pop()
            if tree_node.data is not None:
                tree_node.data = by_key[tree_node.data.key]
                tree_node.set_label(node_label(tree_node.data))
            stack.extend(tree_node.children)

    def _fill(self, tree_node: TreeNode[Node], depth: int, eager: bool) -> None:
        """Add the children of ``tree_node``: all of them when eager, else only under open nodes."""
        node = tree_node.data
        assert node is not None
        for child in node.children:
            branch = tree_node.add(node_label(child), child, allow_expand=bool(child.children))
            opened = self._is_open(child.key, depth + 1)
            if child.children and (eager or opened):
                self._fill(branch, depth + 1, eager)
            if opened and child.children:
                branch.expand()

    def _is_open(self, key: str, depth: int) -> bool:
        return self._open.get(key, default_open(depth))

    def _remember_state(self) -> None:
        stack = [self.root]
        while stack:
            tree_node = stack.pop()
            if tree_node.data is not None and tree_node.allow_expand:
                self._open[tree_node.data.key] = tree_node.is_expanded
            stack.extend(tree_node.children)

    def _move_to(self, key: str) -> None:
        stack = [self.root]
        while stack:
            tree_node = stack.pop()
            if tree_node.data is not None and tree_node.data.key == key:
                if tree_node.is_root or tree_node.parent is None or tree_node.parent.is_expanded:
                    self.move_cursor(tree_node)
                return
            stack.extend(tree_node.children)

    def labels(self) -> list[str]:
        """Every label built so far, as plain text (what tests and the screen reader read)."""
        out, stack = [], [self.root]
        while stack:
            tree_node = stack.pop(0)
            out.append(str(tree_node.label))
            stack[:0] = tree_node.children
        return out

    # -- events and actions ---------------------------------------------------------
    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Node]) -> None:
        tree_node = event.node
        if tree_node.data is not None and tree_node.data.children and not tree_node.children:
            self._fill(tree_node, depth=_depth(tree_node), eager=False)

    def action_expand_all(self) -> None:
        self._fill_all(self.root)
        self.root.expand_all()

    def action_collapse_all(self) -> None:
        for child in self.root.children:
            child.collapse_all()
        self.root.expand()

    def _fill_all(self, tree_node: TreeNode[Node]) -> None:
        if tree_node.data is not None and tree_node.data.children and not tree_node.children:
            self._fill(tree_node, depth=_depth(tree_node), eager=True)
        for child in tree_node.children:
            self._fill_all(child)


def _depth(tree_node: TreeNode[Node]) -> int:
    depth = 0
    while tree_node.parent is not None:
        tree_node, depth = tree_node.parent, depth + 1
    return depth
