"""The command line's side of your own model: ``--model FILE.py:NAME``, ``--input SHAPE[:dtype]``, ``--inputs FILE.py:FUNCTION``.

``gru-tui trace --model ...`` traces in the caller's process (as ``gru-tui trace`` does for an
assembled module) and prints the tree, or ``--json``; the app (``gru-tui --model ...``) runs the
person's code in its device worker. Exit status: 0 traced, 1 the file or the forward failed
(the tree up to the failure is still printed), 2 a bad flag. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

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


class ForwardTimeout(Exception):
    """The forward ran longer than --timeout."""


def run_model_trace(args: argparse.Namespace, config_dests: tuple[str, ...], fail, utf8: bool) -> int:
    import dataclasses

    from .devices import check_device
    from .model.trace import trace_file

    spec = spec_from_args(args, config_dests)
    spec = dataclasses.replace(spec, device=check_device(spec.device))
    limit = timeout_seconds(args)
    if args.handout is not None and not args.handout.strip():
        return fail("handout: give a file name ending in .md, .json or .svg")
    previous = None
    if limit is not None:
        def stop(signum, frame):
            raise ForwardTimeout(f"stopped after {limit:g} s (--timeout)")

        previous = signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        report = trace_file(spec, _stderr_progress() if sys.stderr.isatty() else None)
    finally:
        if sys.stderr.isatty():
            print("\r\x1b[K", end="", file=sys.stderr, flush=True)  # the progress line gone before the tree
        if limit is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
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


def _stderr_progress():
    """On a terminal: what is running now, one line on stderr overwritten in place."""
    def say(fraction: float, text: str) -> None:
        print(f"\r\x1b[K{text[:200]}", end="", file=sys.stderr, flush=True)

    return say


def _write_handout(report, args, fail) -> int:
    from .cli_common import write_handout
    from .handout import export_model

    return write_handout(args, lambda: export_model(report, args.handout, overwrite=args.overwrite))
