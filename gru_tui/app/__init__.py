"""The Textual app of gru-tui. Importing it loads Textual but not torch: torch loads in a worker."""

from .app import GruTuiApp, make_app

__all__ = ["GruTuiApp", "make_app"]
