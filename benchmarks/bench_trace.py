"""The device run against what a user would otherwise run: the bare forward and torchinfo.summary.

For a small, a mid and a large configuration (large is issue #4's: input 256,
hidden 1024, 4 layers, bidirectional, batch 64, seq 1000), the median wall time of

- the bare forward a user writes (nn.GRU(...), torch.randn(...), gru(x), autograd on),
- the same under torch.inference_mode(),
- torchinfo.summary of that module and input,
- gru_tui.core.tracing.trace(config): the full trace, in process,
- and, each in a fresh process (imports included): the script gru_tui.core.code.pytorch_code
  writes for the configuration, and `gru-tui trace --json`.

    python benchmarks/bench_trace.py [--quick] [--device cuda:0] [--large-seq 100]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from _common import REPO, Table, child_env, guarded, machine, median_time, parser, print_tables, ratio, seconds, synchronizer

from gru_tui.core.config import FIRST_EXAMPLE, GRUConfig

LARGE = GRUConfig(input_size=256, hidden_size=1024, num_layers=4, bidirectional=True, batch_size=64, seq_len=1000)
MID = GRUConfig(input_size=128, hidden_size=512, num_layers=2, bidirectional=True, batch_size=32, seq_len=200)


def configurations(quick: bool, large_seq: int | None) -> list[tuple[str, GRUConfig, int, int]]:
    """(name, config, in-process repeats, subprocess repeats)."""
    large = LARGE.replace(seq_len=large_seq or (20 if quick else LARGE.seq_len))
    return [
        ("small", FIRST_EXAMPLE, 3 if quick else 7, 1 if quick else 3),
        ("mid", MID.replace(seq_len=50) if quick else MID, 2 if quick else 3, 1),
        ("large", large, 1, 1),
        # An LSTM: four gates, a cell state, and a projection that the fused oneDNN kernel does not take.
        ("small LSTM", FIRST_EXAMPLE.replace(mode="lstm"), 3 if quick else 7, 1 if quick else 3),
        (
            "mid LSTM, proj 128",
            (MID.replace(seq_len=50) if quick else MID).replace(mode="lstm", proj_size=128),
            2 if quick else 3,
            1,
        ),
    ]


def describe(c: GRUConfig) -> str:
    return (
        f"in {c.input_size}, hid {c.hidden_size}, {c.num_layers}L{', bi' if c.bidirectional else ''}, "
        f"batch {c.batch_size}, seq {c.seq_len:,}"
    )


def bare_module_and_input(config: GRUConfig):
    """What a user builds: the module and a random input of the configuration's (non-packed) shape."""
    import torch

    from gru_tui.core.shapes import derive

    c = config
    dtype = getattr(torch, c.dtype)
    gru = getattr(torch.nn, c.kind.module)(
        c.input_size,
        c.hidden_size,
        c.num_layers,
        bias=c.bias,
        batch_first=c.batch_first,
        dropout=c.dropout,
        bidirectional=c.bidirectional,
        device=c.device,
        dtype=dtype,
        **c.options(),
    )
    x = torch.randn(derive(c).input.shape, device=c.device, dtype=dtype)
    return gru, x


def bare_forward(config: GRUConfig) -> None:
    gru, x = bare_module_and_input(config)
    out, h = gru(x)


def inference_forward(config: GRUConfig) -> None:
    import torch

    with torch.inference_mode():
        bare_forward(config)


def torchinfo_summary(config: GRUConfig) -> None:
    import torchinfo

    gru, x = bare_module_and_input(config)
    torchinfo.summary(gru, input_data=[x], device=config.device, verbose=0)


def gru_tui_trace(config: GRUConfig) -> None:
    from gru_tui.core.tracing import trace

    trace(config, force=True)  # the guard is measured in the tests, not here


def cli_flags(c: GRUConfig) -> list[str]:
    flags = [
        "--input-size",
        str(c.input_size),
        "--hidden-size",
        str(c.hidden_size),
        "--num-layers",
        str(c.num_layers),
        "--batch-size",
        str(c.batch_size),
        "--seq-len",
        str(c.seq_len),
        "--dtype",
        c.dtype,
        "--device",
        c.device,
    ]
    flags += ["--batch-first" if c.batch_first else "--no-batch-first"]
    flags += ["--bidirectional" if c.bidirectional else "--no-bidirectional"]
    flags += ["--mode", c.mode]
    for name, value in c.options().items():
        flags += [f"--{name.replace('_', '-')}", str(value)]
    return flags


def wall(command: list[str], repeats: int, timeout: float = 1800) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=timeout, cwd=REPO, env=child_env()
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:3])}... exited {done.returncode}: {done.stderr.strip()[-300:]}")
    return sorted(times)[len(times) // 2]


def run(
    quick: bool = False,
    device: str = "cpu",
    large_seq: int | None = None,
    subprocesses: bool = True,
    only: list[str] | None = None,
) -> list[Table]:

    sync = synchronizer(device)
    cases = [
        (name, c.replace(device=device), n, ns) for name, c, n, ns in configurations(quick, large_seq) if not only or name in only
    ]
    on_cpu = device == "cpu"
    inproc = Table(
        f"Trace against the bare forward and torchinfo, in process (median wall time, device {device})",
        [
            "config",
            "shape",
            "bare fwd (grad)",
            "inference_mode",
            "torchinfo",
            "trace()",
            "trace/bare",
            "trace/inference",
            "trace/torchinfo",
        ]
        + (["trace/bare, CPU time"] if on_cpu else []),
    )
    inproc.notes.append(f"machine: {machine(device)}")
    inproc.notes.append(
        "each includes building nn.GRU and the random input; repeats: "
        + ", ".join(f"{name} {n}" for name, _c, n, _ns in cases)
        + "; each path warmed up on 2 steps of each configuration"
    )
    if on_cpu:
        inproc.notes.append(
            "CPU time: of this process, all threads; unlike wall time it does not stretch when other work shares the cores"
        )
    for name, c, repeats, _ in cases:

        def measure(name=name, c=c, repeats=repeats):
            # Warm up every path (lazy imports, kernels for these sizes, CUDA context) on 2 steps of this configuration.
            for fn in (bare_forward, inference_forward, torchinfo_summary, gru_tui_trace):
                fn(c.replace(seq_len=2))
                sync()
            t = {
                fn.__name__: median_time(lambda: fn(c), repeats, sync)
                for fn in (bare_forward, inference_forward, torchinfo_summary, gru_tui_trace)
            }
            wall = {k: v[0] for k, v in t.items()}
            cells = [
                name,
                describe(c),
                seconds(wall["bare_forward"]),
                seconds(wall["inference_forward"]),
                seconds(wall["torchinfo_summary"]),
                seconds(wall["gru_tui_trace"]),
                ratio(wall["gru_tui_trace"], wall["bare_forward"]),
                ratio(wall["gru_tui_trace"], wall["inference_forward"]),
                ratio(wall["gru_tui_trace"], wall["torchinfo_summary"]),
            ]
            if on_cpu:
                cells.append(ratio(t["gru_tui_trace"][1], t["bare_forward"][1]))
            inproc.add(*cells)

        guarded(inproc, name, measure)
    tables = [inproc]
    if subprocesses:
        tables.append(run_subprocesses(cases, device, quick))
    return tables


def run_subprocesses(cases, device: str, quick: bool = False) -> Table:
    """Fresh processes, so import time counts as a user feels it."""
    from gru_tui.core.code import pytorch_code

    table = Table(
        f"`gru-tui trace` against the user's script, each a fresh process (median wall time, device {device})",
        ["config", "user's script", "gru-tui trace --json", "gru-tui/script"],
    )
    table.notes.append(
        "the user's script is what gru_tui.core.code.pytorch_code writes for the configuration "
        "(import torch, nn.GRU, torch.randn, forward with autograd, print shapes)"
    )
    cli = [sys.executable, "-m", "gru_tui", "trace", "--json", "--force"]
    empty = [sys.executable, "-c", "import torch"]
    with tempfile.TemporaryDirectory() as tmp:
        table.notes.append(f"`python -c 'import torch'` alone: {seconds(wall(empty, 1 if quick else 3))}")
        for name, c, _, repeats in cases:

            def measure(name=name, c=c, repeats=repeats):
                script = os.path.join(tmp, f"{name}.py")
                with open(script, "w") as f:
                    f.write(pytorch_code(c))
                bare = wall([sys.executable, script], repeats)
                traced = wall(cli + cli_flags(c), repeats)
                table.add(name, seconds(bare), seconds(traced), ratio(traced, bare))

            guarded(table, name, measure)
    return table


def main(argv=None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument(
        "--large-seq",
        type=int,
        default=None,
        help="seq_len of the large configuration (issue #4's is 1000; its bare forward takes ~80 s on 2 CPU cores)",
    )
    p.add_argument("--no-subprocess", action="store_true", help="skip the fresh-process comparison")
    p.add_argument("--only", action="append", metavar="NAME", help="only this configuration (repeatable): small, mid, large, ...")
    args = p.parse_args(argv)
    print_tables(run(args.quick, args.device, args.large_seq, not args.no_subprocess, args.only))


if __name__ == "__main__":
    main()
