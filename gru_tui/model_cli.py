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

from .config import ConfigError

MODEL_FLAGS = ("model", "input", "inputs", "timeout", "train")


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "your own model (instead of the module configuration)",
        "Import FILE.py, call NAME (a function or class; arguments as Python literals: NAME(32, 1, key='GRU')) to get the "
        "nn.Module, run one forward "
        "with hooks on every submodule and show every shape; the module configuration flags do not apply.",
    )
    group.add_argument("--model", metavar="FILE.py:NAME", default=None,
                       help="the model: a function or class in FILE.py that gives the nn.Module, called with no arguments or "
                            "with literal ones: 'crnn.py:CRNN(32, 1, 37, 256)', keywords too (default: none)")
    group.add_argument("--input", action="append", metavar="SHAPE[:DTYPE]", default=None,
                       help="one positional tensor of the forward, e.g. 4x80x50 or 4x35:int64 (dtype default float32; "
                            "integer tensors hold token ids valid for every nn.Embedding); repeat for each tensor")
    group.add_argument("--inputs", metavar="FILE.py:FUNCTION", default=None,
                       help="a function returning the forward's arguments: a tuple or list of positional ones, a dict, "
                            "or (args, kwargs) "
                            "(default: example_inputs() when FILE.py defines it and no --input is given)")
    group.add_argument("--train", action="store_const", const=True, default=None,
                       help="trace in training mode (dropout on, batch statistics; default: eval mode); the model is left as it was")
    group.add_argument("--timeout", metavar="SECONDS", default=None,
                       help="stop a forward that runs longer than this (default: no limit; in the app ctrl+c stops it too)")


def model_flags_used(args: argparse.Namespace) -> bool:
    return any(getattr(args, name, None) is not None for name in MODEL_FLAGS)


def spec_from_args(args: argparse.Namespace, config_dests: tuple[str, ...]):
    """The ModelSpec the flags give; ConfigError naming the flag for a bad value or a flag that does not apply."""
    from .model.spec import model_spec

    if args.model is None:
        raise ConfigError("model", "--input, --inputs, --train and --timeout go with --model FILE.py:NAME")
    misplaced = [dest for dest in config_dests if dest != "device" and hasattr(args, dest)]
    if misplaced or getattr(args, "config_file", None):
        name = misplaced[0] if misplaced else "config"
        raise ConfigError(name, f"--{name.replace('_', '-')} configures an assembled module; with --model the model file says it")
    device = "cpu"
    if hasattr(args, "device"):
        from .devices import device_name

        device = device_name(args.device)
    return model_spec(args.model, args.input, args.inputs, device, train=bool(args.train))


def timeout_seconds(args: argparse.Namespace) -> float | None:
    if args.timeout is None:
        return None
    from .config import parse_number

    seconds = parse_number("timeout", args.timeout, decimal=True)
    if seconds <= 0:
        raise ConfigError("timeout", f"must be a number of seconds above 0, got {args.timeout!r}")
    return float(seconds)


def run_model_trace(args: argparse.Namespace, config_dests: tuple[str, ...], fail, utf8: bool) -> int:
    spec = spec_from_args(args, config_dests)
    limit = timeout_seconds(args)
    if args.handout is not None and not args.handout.strip():
        return fail("handout: give a file name ending in .md, .json or .svg")
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
    from .cli_common import write_handout
    from .handout import export_model

    return write_handout(args, lambda: export_model(report, args.handout, overwrite=args.overwrite))


class _Stop(Exception):
    """SIGTERM or SIGHUP while the worker runs: end as ctrl+c does, the worker's process group killed."""


def run_in_worker(spec, limit: float | None, fail):
    """The ModelReport of ``spec`` traced in a worker process of its own, or the exit status of the one line printed.

    ``limit`` counts from when torch has loaded in the worker. The worker's progress texts go to stderr when it
    is a terminal; the last one says what was running when a run is stopped or crashes.
    """
    from .jobs import Job
    from .pool import Pool, PoolClient

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
