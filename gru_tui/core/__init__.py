"""The core: a module configuration, its shapes (derived and traced), the report and its tree. No Textual; torch only when a run needs it. Imports nothing else of gru_tui."""
