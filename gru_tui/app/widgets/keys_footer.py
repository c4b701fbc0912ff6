"""Textual's Footer, rebuilt only when the keys it shows change, with no key cut at the edge."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeysFooter(Footer):
    """A Footer that rebuilds its keys once per refresh, and only when they changed; keys that do not fit are left
    out whole (help, f1, lists them all) instead of cut mid-word at 80 columns.

    Textual's rebuilds every key widget on each ``refresh_bindings`` (every focus change, each edit
    asks it two or three times): it was about a third of a served tab's CPU per edit, which a class
    of thirty tabs on a small server pays thirty times.
    """

    _rebuild_pending = False
    _keys_shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._rebuild_pending:
            return
        if self.is_attached and screen is self.screen:
            self._rebuild_pending = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._rebuild_pending = False
        keys = tuple(
            (binding.key, binding.description, binding.action, enabled, tooltip)
            for _, binding, enabled, tooltip in self.screen.active_bindings.values()
        )
        if keys != self._keys_shown:
            self._keys_shown = keys
            await self.recompose()
            self.call_after_refresh(self._fit)

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """Show the keys, left to right, that fit before the palette key; hide the rest whole.

        Measured from each key's own text, not from its region: on a screen under a dialog the footer
        is recomposed but not laid out again until the dialog closes, and its regions are stale then."""
        width = self.size.width or self.app.size.width
        palette = self.query("FooterKey.-command-palette")
        right = width - (_key_width(palette.first()) if palette else 0)
        x = 0
        for key in self.query(FooterKey):
            if not key.has_class("-command-palette"):
                x += _key_width(key)
                key.display = x <= right


def _key_width(key: FooterKey) -> int:
    """The cells a key takes in the footer: its text, its padding and border, its margins."""
    styles = key.styles
    return cell_len(key.render().plain) + styles.gutter.width + styles.margin.width
