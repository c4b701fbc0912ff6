"""The command line's side of your own model: ``--model FILE.py:NAME``, ``--input SHAPE[:dtype]``, ``--inputs FILE.py:FUNCTION``.

``gru-tui trace --model ...`` runs the person's code in a device worker process, as the app does, and
prints the tree, or ``--json``: ``--timeout`` and ctrl+c stop any forward at once (its process, and what
it started, killed), and a crash is one line. ``from gru_tui import trace_model`` stays in-process.
Exit status: 0 traced, 1 the file or the forward failed, crashed or ran past --timeout (the tree up to
the failure is printed when there is one), 2 a bad flag, 130 ctrl+c. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import sys
import time

from ..model.flags import MODEL_FLAGS, add_model_flags, model_flags_used, spec_from_args, timeout_seconds  # noqa: F401 (model/flags.py's, imported from here too)
from .common import refuse_handout


def run_model_trace(args: argparse.Namespace, config_dests: tuple[str, ...], fail, utf8: bool) -> int:
    spec = spec_from_args(args, config_dests)
    limit = timeout_seconds(args)
    refused = refuse_handout(args)
    if refused:
        return refused
    report = run_in_worker(spec, limit, fail)
    if isinstance(report, int):
        return report
    if args.handout:
        status = _write_handout(report, args, fail)
        if status:
            return status
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.text(ascii_only=args.ascii if args.ascii is not None else not utf8))
    if report.failure is not None:  # with --json the reasons go to stderr too; the text tree already holds them
        lines = report.failure.lines() if args.json else [report.failure.headline()]
        print("error: " + "\n  ".join(lines), file=sys.stderr)
        return 1
    return 0


def _write_handout(report, args, fail) -> int:
    from ..lessons.handout import export_model
    from .common import write_handout

    return write_handout(args, lambda: export_model(report, args.handout, overwrite=args.overwrite))


class _Stop(Exception):
    """SIGTERM or SIGHUP while the worker runs: end as ctrl+c does, the worker's process group killed."""


def run_in_worker(spec, limit: float | None, fail):
    """The ModelReport of ``spec`` traced in a worker process of its own, or the exit status of the one line printed.

    ``limit`` counts from when torch has loaded in the worker. The worker's progress texts go to stderr when it
    is a terminal; the last one says what was running when a run is stopped or crashes.
    """
    from ..run.jobs import Job
    from ..run.pool import Pool, PoolClient

    events: queue.Queue = queue.Queue()
    status_line = _StatusLine(sys.stderr)
    pool = Pool(cpu_workers=1, spare=False, share_stderr=True).start()  # the person's prints reach our stderr

    def stop(signum, frame):
        raise _Stop(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    running = "loading torch"
    try:
        client = PoolClient(pool.connect(), lambda kind, payload: events.put((kind, payload)))
        client.submit("model", Job("model", (spec,)), lambda kind, payload: events.put((kind, payload)), reuse=False)
        deadline = None
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return fail(f"stopped after {limit:g} s (--timeout), while {running}", 1)
            try:  # a short wait at a time: ctrl+c and the deadline are seen within it
                kind, payload = events.get(timeout=0.05)
            except queue.Empty:
                continue
            if kind == "ready":
                if payload.error is not None:
                    return fail(payload.error, 1)
                deadline = time.monotonic() + limit if limit is not None else None
            elif kind == "progress":
                running = payload[1]
                status_line.show(running)
            elif kind == "done":
                return payload
            elif kind == "failed":
                if payload.kind == "config":
                    return fail(f"{payload.field}: {payload.text}" if payload.field else payload.text)
                return fail(f"{payload.text}, while {running}", 1)
            elif kind == "lost":
                return fail(f"{payload}, while {running}", 1)
    except (KeyboardInterrupt, _Stop) as error:
        status_line.clear()
        signum = error.args[0] if isinstance(error, _Stop) else signal.SIGINT
        print(f"error: stopped ({signal.Signals(signum).name}), while {running}", file=sys.stderr)
        return 128 + signum
    finally:
        status_line.clear()
        pool.close()  # the worker's process group: the forward, and anything it started
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class _StatusLine:
    """One line of progress on a terminal's stderr, rewritten in place; nothing when stderr is not a terminal."""

    def __init__(self, stream):
        self.stream = stream
        self.shown = stream.isatty()
        self.written = False

    def show(self, text: str) -> None:
        if self.shown:
            self.stream.write(f"\r\x1b[K{text[:200]}")
            self.stream.flush()
            self.written = True

    def clear(self) -> None:
        if self.written:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.written = False
