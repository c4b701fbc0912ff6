"""What both command lines (``gru-tui`` and its ``--model`` side, ``model_cli``) use to end: one error line, a handout written."""

from __future__ import annotations

import argparse
import sys


def fail(message: str, status: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def refuse_handout(args: argparse.Namespace) -> int:
    """Before the run: a ``--handout`` that could not be written is said now, not after a long forward (0: fine)."""
    if args.handout is None:
        return 0
    if not args.handout.strip():
        return fail("handout: give a file name ending in .md, .json or .svg")
    from pathlib import Path

    from ..lessons.handout import handout_format

    try:
        handout_format(args.handout)
    except ValueError as error:
        return fail(f"handout: {error}")
    if Path(args.handout).exists() and not args.overwrite:
        return fail(f"handout: {args.handout} exists; add --overwrite to replace it")
    return 0


def write_handout(args: argparse.Namespace, write) -> int:
    """Run ``write()`` (an export to ``--handout``): 0, or the status of the one error line it printed."""
    from ..core.files import FileExistsRefused

    try:
        write()
    except FileExistsRefused:
        return fail(f"handout: {args.handout} exists; add --overwrite to replace it")
    except ValueError as error:
        return fail(f"handout: {error}")
    except OSError as error:
        return fail(f"handout: cannot write {args.handout}: {error.strerror or error}", 1)
    return 0
