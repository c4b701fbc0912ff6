"""Run every benchmark in one go and print one combined report (optionally as Markdown for the README).

    python benchmarks/run_all.py [--quick] [--device cuda:0] [--large-seq 100] [--markdown FILE]
    python benchmarks/run_all.py --gpu --markdown gpu.md    # the GPU profile: full sizes on cuda:0, a few minutes
    python benchmarks/run_all.py --cpu-cores 2 --only trace --large-seq 100   # a 2-core machine on a bigger one

Each case runs under its own try/except: an error is printed and noted in its
table, and the run goes on. No prompts; output is flushed as it comes.
"""

from __future__ import annotations

import sys
import time

import bench_derive
import bench_latency
import bench_model
import bench_startup
import bench_trace
from _common import Table, machine, parser, print_tables


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--large-seq", type=int, default=None, help="seq_len of bench_trace's large configuration (issue #4's: 1000)")
    p.add_argument(
        "--gpu", action="store_true", help="device cuda:0 and full sizes: the trace table at issue #4's sizes in minutes"
    )
    p.add_argument("--markdown", metavar="FILE", help="also write the tables as Markdown to FILE")
    p.add_argument("--only", nargs="*", choices=["startup", "derive", "latency", "trace", "model"], help="run only these")
    p.add_argument(
        "--cpu-cores",
        type=int,
        metavar="N",
        help="pin this run and its subprocesses to the first N cores "
        "(a 2-core machine on a bigger one: torch then uses N threads)",
    )
    args = p.parse_args(argv)
    if args.cpu_cores:
        import os

        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.cpu_cores]))
        os.environ["OMP_NUM_THREADS"] = str(args.cpu_cores)  # for the subprocesses; this process is set below
        import torch

        torch.set_num_threads(args.cpu_cores)
    if args.gpu:
        args.device = "cuda:0" if args.device == "cpu" else args.device
    wanted = set(args.only or ["startup", "derive", "latency", "trace", "model"])
    started = time.perf_counter()
    header = f"Machine: {machine(args.device)}"
    print(header, flush=True)
    tables: list[Table] = []
    command = "python benchmarks/run_all.py " + " ".join(argv if argv is not None else sys.argv[1:])
    for name, run in (
        ("startup", lambda: bench_startup.run(args.quick, args.device)),
        ("derive", lambda: bench_derive.run(args.quick, args.device)),
        ("latency", lambda: bench_latency.run(args.quick, args.device)),
        ("trace", lambda: bench_trace.run(args.quick, args.device, args.large_seq)),
        ("model", lambda: bench_model.run(args.quick, args.device)),
    ):
        if name not in wanted:
            continue
        print(f"\n== {name} ==", flush=True)
        try:
            tables += run()
        except Exception as error:  # one broken benchmark must not hide the others' figures
            print(f"error in {name}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
            tables.append(Table(name, ["error"], [[f"{type(error).__name__}: {error}"]]))
        if args.markdown:  # after each benchmark: a run stopped by a time limit still leaves what it measured
            write_markdown(args.markdown, header, tables, command)
    print("\n" + "=" * 30 + " report " + "=" * 30)
    print(header)
    print_tables(tables)
    print(f"\n({command.strip()}; {time.perf_counter() - started:.0f} s in all)", flush=True)
    if args.markdown:
        print(f"Markdown written to {args.markdown}")
    return 0


def write_markdown(path: str, header: str, tables: list[Table], command: str) -> None:
    with open(path, "w") as f:
        f.write(f"{header}\n\n" + "\n\n".join(t.markdown() for t in tables) + f"\n\n`{command.strip()}`\n")


if __name__ == "__main__":
    sys.exit(main())
