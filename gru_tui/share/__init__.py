"""Sharing the app: `gru-tui serve` (serve.py) to web browsers, `--present`/`--follow` (follow.py), and whether this copy is served to a browser (served.py)."""
