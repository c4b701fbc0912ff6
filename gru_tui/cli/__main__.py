"""`python -m gru_tui.cli` (as `python -m gru_tui` and `gru-tui`)."""

import sys

from . import main

sys.exit(main())
