"""The one-line bar over the panes: each pane's key and name. Press the key, or click the name.

One Static instead of TabbedContent's tabs, underline and panes: about a fifth of the
first frame less to build, a row more for the tree, and the keys on show.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual.content import Content
from textual.widgets import Static

PANES = {
    "form": ("Form", "f2"),
    "tree": ("Tree", "f3"),
    "summary": ("Summary", "f4"),
    "code": ("Code", "f5"),
    "log": ("Log", "f6"),
}


def tabs_markup(active: str, panes: Iterable[str]) -> str:
    """``F2 Form  F3 Tree ...``, the active pane in reverse bold (readable without colour too)."""
    parts = []
    for pane in panes:
        label, key = PANES[pane]
        text = f" {key.upper()} {label} " if pane == active else f" [dim]{key.upper()}[/dim] {label} "
        if pane == active:
            text = f"[reverse b]{text}[/]"
        parts.append(f"[@click=app.show_pane('{pane}')]{text}[/]")
    return "".join(parts)


class PaneTabs(Static):
    DEFAULT_CSS = """
    PaneTabs {
        height: 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        link-style: none;  /* each name is a link (a click shows its pane): not underlined until hovered */
        link-color: $foreground;
        link-background: transparent;
        link-style-hover: underline;
    }
    """

    def show(self, active: str, panes: Iterable[str]) -> None:
        self.update(Content.from_markup(tabs_markup(active, panes)))
