"""The command palette's list of the app's own actions, taken from its bindings (one list, two ways in),
and the presets that have no key of their own."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..lessons import PRESETS


class GruTuiCommands(Provider):
    def _commands(self):
        app = self.app
        for binding in app.command_bindings():
            yield binding.description, binding.tooltip, partial(app.run_action, binding.action)
        for preset in PRESETS.values():
            if not preset.key:  # the keyed ones came with the bindings
                yield f"Load preset: {preset.title}", preset.description, partial(app.run_action, f"load_preset('{preset.id}')")

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
