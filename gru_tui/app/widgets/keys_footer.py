"""Textual's Footer, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """A Footer that rebuilds its keys once per refresh, and only when they changed.

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
        keys = tuple((binding.key, binding.description, binding.action, enabled, tooltip)
                     for _, binding, enabled, tooltip in self.screen.active_bindings.values())
        if keys != self._keys_shown:
            self._keys_shown = keys
            await self.recompose()
