"""The command line: ``gru-tui`` (the app), ``gru-tui trace`` (headless report), ``gru-tui serve``.

One rule for defaults: the app and ``trace`` both start from the first worked example
(``FIRST_EXAMPLE``, or the file given with ``--config``), and each flag changes only what
it names. Bad values end with exit status 2 and one ``error: <field>: ...`` line on stderr,
never a traceback; a misused flag gets the usage of its own command. Textual is imported
only when the app is started.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Sequence

from ..core.config import DTYPES, FIRST_EXAMPLE, ConfigError, GRUConfig, parse_lengths, parse_number
from ..core.kinds import MODES, NONLINEARITIES
from ..share.served import served_to_browser as _served_to_browser
from .common import fail, refuse_handout, write_handout
from .model_cli import add_model_flags, model_flags_used, run_model_trace, spec_from_args, timeout_seconds

CONFIG_FLAGS = (
    # (flag, config field, type)
    ("--mode", "mode", str),
    ("--input-size", "input_size", int),
    ("--hidden-size", "hidden_size", int),
    ("--num-layers", "num_layers", int),
    ("--batch-size", "batch_size", int),
    ("--seq-len", "seq_len", int),
    ("--dropout", "dropout", float),
    ("--dtype", "dtype", str),
    ("--device", "device", str),
    ("--proj-size", "proj_size", int),
    ("--nonlinearity", "nonlinearity", str),
)
# Values are read as text and checked by the configuration (one `error: field: ...` line), not by argparse.
CHOICES = {"mode": MODES, "nonlinearity": NONLINEARITIES, "dtype": DTYPES}
FLAG_HELP = {
    "mode": "the module: nn.GRU, nn.LSTM or nn.RNN",
    "input_size": "features of each input step",
    "hidden_size": "features of the hidden state h",
    "num_layers": "stacked layers; layer k > 0 takes D*hidden_size features in",
    "batch_size": "sequences in the batch, 0 or more (none with --unbatched)",
    "seq_len": "time steps of each sequence",
    "dropout": "dropout between layers, in [0, 1] as torch takes it (1 zeroes all of it in training); only with more than one layer",
    "dtype": "the dtype of the weights and the input",
    "device": "where the real forward runs: cpu, cuda, cuda:N, mps, or meta (shapes only)",
    "proj_size": "LSTM only: project h to this size, below hidden_size (0: none); c keeps hidden_size",
    "nonlinearity": "RNN only: the nonlinearity of h_t",
    "bias": "bias_ih and bias_hh in every layer and direction",
    "batch_first": "input and output are (batch, seq, feature); h0 and h_n never are",
    "bidirectional": "a reverse direction in every layer: D = 2",
    "unbatched": "one sequence without a batch dimension: input (seq, input_size)",
    "with_h0": "pass an initial hidden state h0, shaped like h_n",
}
DEFAULTS_RULE = (
    "Every start, the app's and trace's, begins from the first worked example: input_size 10, hidden_size 32, "
    "1 layer, batch_first, batch 1, seq_len 35 (or from --config FILE); each flag changes only what it names."
)
MAX_ARGUMENT = 4096  # characters in one command-line argument (a path may be this long on Linux)
SWITCHES = (
    ("--bias", "bias"),
    ("--batch-first", "batch_first"),
    ("--bidirectional", "bidirectional"),
    ("--unbatched", "unbatched"),
    ("--h0", "with_h0"),
)
CONFIG_DESTS = (*(dest for _f, dest, _k in CONFIG_FLAGS), *(dest for _f, dest in SWITCHES), "lengths")


def _default(dest: str) -> str:
    value = getattr(FIRST_EXAMPLE, dest)
    return ("on" if value else "off") if isinstance(value, bool) else f"{value:g}" if isinstance(value, float) else str(value)


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("module configuration (named as the arguments of nn.GRU, nn.LSTM, nn.RNN)", DEFAULTS_RULE)
    for flag, dest, kind in CONFIG_FLAGS:
        choices = CHOICES.get(dest)
        metavar = "{" + ",".join(choices) + "}" if choices else "P" if kind is float else "N" if kind is int else dest.upper()
        group.add_argument(
            flag, dest=dest, default=argparse.SUPPRESS, metavar=metavar, help=f"{FLAG_HELP[dest]} (default {_default(dest)})"
        )
    for flag, dest in SWITCHES:
        group.add_argument(
            flag,
            dest=dest,
            action=argparse.BooleanOptionalAction,
            default=argparse.SUPPRESS,
            help=f"{FLAG_HELP[dest]} (default {_default(dest)})",
        )
    group.add_argument(
        "--lengths",
        default=argparse.SUPPRESS,
        metavar="7,5,2",
        help="per-sequence lengths, whole numbers between commas: the batch is packed (batch size defaults to their count; "
        "default: none, not packed)",
    )
    group.add_argument(
        "--config",
        dest="config_file",
        default=None,
        metavar="FILE.toml",
        help="load a configuration file first; flags override it (default: none)",
    )


def config_from_args(args: argparse.Namespace, base: GRUConfig = FIRST_EXAMPLE) -> GRUConfig:
    """The configuration the flags describe, on top of ``base`` (or of --config FILE when given)."""
    from ..core.devices import device_name

    if getattr(args, "config_file", None):
        from ..core.files import load_config

        base = load_config(args.config_file)
    values = {
        dest: getattr(args, dest) if kind is str else parse_number(dest, getattr(args, dest), decimal=kind is float)
        for _f, dest, kind in CONFIG_FLAGS
        if hasattr(args, dest)
    }
    if "device" in values:
        values["device"] = device_name(values["device"])  # cpu:0 is the cpu, as torch reads it
    values.update({dest: getattr(args, dest) for _f, dest in SWITCHES if hasattr(args, dest)})
    if values.get("batch_size", 1) != 1 and values.get("unbatched", base.unbatched):
        raise ConfigError("batch_size", "an unbatched input has no batch dimension: leave out --batch-size or --unbatched")
    if hasattr(args, "lengths"):
        lengths = parse_lengths(args.lengths)
        values["lengths"] = lengths
        if lengths is not None and "batch_size" not in values:
            values["batch_size"] = len(lengths)
    config = base.replace(**values)
    return config.validate(check_device=False)


def build_parser() -> argparse.ArgumentParser:
    """``gru-tui``: the app's own flags, and the commands (each parses its own: see ``main``)."""
    parser = argparse.ArgumentParser(
        prog="gru-tui",
        description="See every tensor shape a PyTorch nn.GRU (or nn.LSTM, nn.RNN) forward pass produces, live. "
        "Without a command, opens the app; the flags below prefill its form.",
        epilog="gru-tui trace --help and gru-tui serve --help list each command's own flags.",
        allow_abbrev=False,  # --input is its own flag, not short for --input-size
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"gru-tui {__version__}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="{trace,serve}")
    sub.add_parser("trace", help="print the shape report of one configuration and exit")
    sub.add_parser("serve", help="serve the app to web browsers, token-protected")
    add_config_flags(parser)
    add_model_flags(parser)
    parser.add_argument(
        "--present", action="store_true", help="broadcast this configuration to `gru-tui serve --follow` viewers (default off)"
    )
    # Set by `gru-tui serve --follow` on the copies it serves: follow the presenter, read-only.
    parser.add_argument("--follow", action="store_true", help=argparse.SUPPRESS)
    return parser


def build_trace_parser() -> argparse.ArgumentParser:
    trace = argparse.ArgumentParser(
        prog="gru-tui trace",
        description="Print the shape report of one configuration (traced on its device) and exit.",
        allow_abbrev=False,  # --input is its own flag, not short for --input-size
    )
    add_config_flags(trace)
    add_model_flags(trace)
    trace.add_argument("--json", action="store_true", help="print the report as JSON (default: the text tree)")
    trace.add_argument(
        "--ascii", action="store_true", default=None, help="plain ASCII tree (default: only without a UTF-8 terminal)"
    )
    trace.add_argument(
        "--force", action="store_true", help="run even when the memory estimate exceeds what is free (default off)"
    )
    trace.add_argument(
        "--derived", action="store_true", help="print the shapes from the rules alone, without running torch (default off)"
    )
    trace.add_argument(
        "--handout",
        metavar="FILE.md|.json|.svg",
        help="also write the lesson handout (Markdown, JSON or an SVG of the tree, by the suffix; default: none)",
    )
    trace.add_argument("--overwrite", action="store_true", help="let --handout replace an existing file (default off)")
    return trace


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the command line, not a test calling in: a signal during the start ends the process
        from ..run.lifetime import end_on_signals

        end_on_signals()
    argv = list(sys.argv[1:] if argv is None else argv)
    too_long = next((arg for arg in argv if len(arg) > MAX_ARGUMENT), None)
    if too_long is not None:  # argparse and the checks would echo it whole; a device name of megabytes costs seconds
        return fail(f"an argument of {len(too_long):,} characters ({too_long[:20]!r}...); at most {MAX_ARGUMENT:,}")
    try:
        # Each command parses its own arguments, so its errors show its own usage.
        if argv and argv[0] == "trace":
            return run_trace(build_trace_parser().parse_args(argv[1:]))
        if argv and argv[0] == "serve":
            from ..share.serve import main as serve_main

            return serve_main(argv[1:])
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command:  # flags before it: `gru-tui --num-layers 2 trace`
            parser.error(f"put the command first: gru-tui {args.command} [flags]")
        return run_app(args)
    except ConfigError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # stdout closed early (`| head`): no traceback for that
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def run_trace(args: argparse.Namespace) -> int:
    from ..core.shapes import derive
    from ..core.tracing import TraceError, trace

    if model_flags_used(args):
        return run_model_trace(args, CONFIG_DESTS, fail, _utf8_stdout())
    config = config_from_args(args)
    refused = refuse_handout(args)
    if refused:
        return refused
    try:
        report = derive(config.validate()) if args.derived else trace(config, force=args.force)
    except TraceError as error:
        return fail(str(error), 1)
    if args.handout:
        from ..lessons.handout import export

        status = write_handout(args, lambda: export(report, args.handout, overwrite=args.overwrite))
        if status:
            return status
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(report.text(ascii_only=args.ascii if args.ascii is not None else not _utf8_stdout()))
    return 0


def run_app(args: argparse.Namespace) -> int:
    if model_flags_used(args):
        spec = spec_from_args(args, CONFIG_DESTS)
        if args.present or args.follow:
            return fail("--model opens your own model: --present and --follow share an assembled configuration")
        if not _served_to_browser() and (not sys.stdout.isatty() or not sys.stdin.isatty()):
            return fail(
                "the app needs a terminal; for a report without one, use `gru-tui trace --model ...` (add --json for JSON)"
            )
        from ..app.model_app import make_model_app

        app = make_model_app(spec, timeout=timeout_seconds(args))
        app.run()
        return app.return_code or 0
    config = config_from_args(args)
    if args.present and args.follow:
        return fail("--present and --follow: a copy either presents or follows, not both")
    if not _served_to_browser() and (not sys.stdout.isatty() or not sys.stdin.isatty()):
        return fail("the app needs a terminal; for a report without one, use `gru-tui trace` (add --json for JSON)")
    app = load_app(config, present=args.present, follow=args.follow)
    app.run()
    return app.return_code or 0


def load_app(config: GRUConfig, *, present: bool = False, follow: bool = False):
    """Import and build the app, with Python's cyclic garbage collector paused.

    Importing Textual and building the first screen make objects the collector would
    sweep a dozen times before the first frame (about 40 ms of a 250 ms start, on
    2 cores), finding nothing to free. The app resumes it after its first frame.
    """
    gc.disable()
    from ..app import make_app

    return make_app(config=config, present=present, follow=follow)


def _utf8_stdout() -> bool:
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "")
    return encoding == "utf8"


if __name__ == "__main__":
    sys.exit(main())
