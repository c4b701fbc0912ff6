"""ConfigError: a configuration value that torch would refuse, raised by the configuration and the device check.

Its own module, below both ``config`` and ``devices``, so that neither imports the other to raise it
(``config`` asks ``devices`` to check a device; ``devices`` raises ConfigError). ``gru_tui.core.config``
re-exports it, where the rest of the package imports it from.
"""

from __future__ import annotations

MAX_MESSAGE = 400  # characters of a ConfigError's message


class ConfigError(ValueError):
    """A configuration value that torch would refuse or that makes no sense.

    ``field`` names the offending field so a form can show the message beside it.
    """

    def __init__(self, field: str, message: str):
        # A value is quoted in its message: one of megabytes (a file, a follow file) must not be echoed whole.
        field, message = _cut(field, 60), _cut(message, MAX_MESSAGE)
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 30]}… ({len(text):,} characters)"
