"""The command palette's list of the app's own actions, taken from its bindings (one list, two ways in)."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class GruTuiCommands(Provider):
    def _commands(self):
        app = self.app
        for binding in app.command_bindings():
            yield binding.description, binding.tooltip, partial(app.run_action, binding.action)

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
