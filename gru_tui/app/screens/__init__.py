from pathlib import Path

# The styles of the screens over the main one: read when the first of them opens, not before the first frame.
SCREENS_CSS = Path(__file__).with_name("screens.tcss")
