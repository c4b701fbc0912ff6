"""Whether this copy of the app is served to a web browser (``gru-tui serve``) rather than run in a terminal.

Below the command line and the app, which both ask it: the command line so as not to refuse a copy without a
terminal, the app to offer downloads instead of writing files on the server.
"""

from __future__ import annotations

import os


def served_to_browser() -> bool:
    """textual-serve runs each copy with pipes for stdio and Textual's web driver instead of a terminal."""
    return os.environ.get("TEXTUAL_DRIVER", "").endswith("web_driver:WebDriver")
