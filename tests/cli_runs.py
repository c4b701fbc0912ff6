"""`gru-tui ARGS` run in the test's own process, captured as a process's output would be."""

from __future__ import annotations

import contextlib
import io
import subprocess


def run_in_process(*args: str) -> subprocess.CompletedProcess:
    """``main(args)`` with stdout and stderr captured as UTF-8 text, the exit status from its return or SystemExit.

    torch loads once for the test process, not once a call (seconds each on 2 cores); a traceback fails the test
    outright. Tests of what only a fresh process shows (no terminal, the imports of textual and torch, the
    exit status of `python -m gru_tui`) spawn one instead.
    """
    from gru_tui.cli import main

    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8") for _ in range(2))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(args))
        except SystemExit as exit:  # argparse: --help, usage errors
            status = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    out.flush(), err.flush()
    text = [stream.buffer.getvalue().decode() for stream in (out, err)]
    return subprocess.CompletedProcess(["gru-tui", *args], status, *text)
