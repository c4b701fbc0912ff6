"""The flags that name a person's model: ``--model FILE.py:NAME``, ``--input SHAPE[:dtype]``, ``--inputs``, ``--timeout``.

Shared by both command lines that take them, ``gru-tui`` (cli/) and ``gru-tui serve`` (share/), and turned
here into the ModelSpec they give; below both, so that sharing does not import the command line.
"""

from __future__ import annotations

import argparse

from ..core.config import ConfigError

MODEL_FLAGS = ("model", "input", "inputs", "timeout", "train")


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "your own model (instead of the module configuration)",
        "Import FILE.py, call NAME (a function or class; arguments as Python literals: NAME(32, 1, key='GRU')) to get the "
        "nn.Module, run one forward "
        "with hooks on every submodule and show every shape; the module configuration flags do not apply.",
    )
    group.add_argument(
        "--model",
        metavar="FILE.py:NAME",
        default=None,
        help="the model: a function or class in FILE.py that gives the nn.Module, called with no arguments or "
        "with literal ones: 'crnn.py:CRNN(32, 1, 37, 256)', keywords too (default: none)",
    )
    group.add_argument(
        "--input",
        action="append",
        metavar="SHAPE[:DTYPE]",
        default=None,
        help="one positional tensor of the forward, e.g. 4x80x50 or 4x35:int64 (dtype default float32; "
        "integer tensors hold token ids valid for every nn.Embedding); repeat for each tensor",
    )
    group.add_argument(
        "--inputs",
        metavar="FILE.py:FUNCTION",
        default=None,
        help="a function returning the forward's arguments: a tuple or list of positional ones, a dict, "
        "or (args, kwargs) "
        "(default: example_inputs() when FILE.py defines it and no --input is given)",
    )
    group.add_argument(
        "--train",
        action="store_const",
        const=True,
        default=None,
        help="trace in training mode (dropout on, batch statistics; default: eval mode); the model is left as it was",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        default=None,
        help="stop a forward that runs longer than this (default: no limit; in the app ctrl+c stops it too)",
    )


def model_flags_used(args: argparse.Namespace) -> bool:
    return any(getattr(args, name, None) is not None for name in MODEL_FLAGS)


def spec_from_args(args: argparse.Namespace, config_dests: tuple[str, ...]):
    """The ModelSpec the flags give; ConfigError naming the flag for a bad value or a flag that does not apply."""
    from .spec import model_spec

    if args.model is None:
        raise ConfigError("model", "--input, --inputs, --train and --timeout go with --model FILE.py:NAME")
    misplaced = [dest for dest in config_dests if dest != "device" and hasattr(args, dest)]
    if misplaced or getattr(args, "config_file", None):
        name = misplaced[0] if misplaced else "config"
        raise ConfigError(name, f"--{name.replace('_', '-')} configures an assembled module; with --model the model file says it")
    device = "cpu"
    if hasattr(args, "device"):
        from ..core.devices import device_name

        device = device_name(args.device)
    return model_spec(args.model, args.input, args.inputs, device, train=bool(args.train))


def timeout_seconds(args: argparse.Namespace) -> float | None:
    if args.timeout is None:
        return None
    from ..core.config import parse_number

    seconds = parse_number("timeout", args.timeout, decimal=True)
    if seconds <= 0:
        raise ConfigError("timeout", f"must be a number of seconds above 0, got {args.timeout!r}")
    return float(seconds)
