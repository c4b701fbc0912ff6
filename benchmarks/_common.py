"""Shared pieces of the benchmark scripts: options, the machine, timing, tables.

Every script prints one or more small tables whose last columns are ratios, so a
run reads side by side; ``run_all.py`` prints them together and can write them
as Markdown for the README.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:  # run from anywhere, installed or not: the scripts measure this checkout
    sys.path.insert(0, REPO)


def child_env() -> dict[str, str]:
    """The environment for benchmark subprocesses: they import this checkout's gru_tui too."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)}


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small sizes and few repeats: seconds, not minutes")
    p.add_argument("--device", default="cpu", help="torch device for the runs (cpu, cuda:0); default cpu")
    return p


@dataclass
class Table:
    """A titled table; cells are already-formatted strings. Notes print under it."""

    title: str
    headers: Sequence[str]
    rows: list[Sequence[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(c) for c in cells])
        print("  " + " | ".join(str(c) for c in cells), flush=True)  # progress while a long run goes on

    def text(self) -> str:
        widths = [
            max(len(str(h)), *(len(r[i]) for r in self.rows)) if self.rows else len(str(h)) for i, h in enumerate(self.headers)
        ]

        def line(cells) -> str:
            return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        out = [self.title, line(self.headers), line("-" * w for w in widths)]
        out += [line(r) for r in self.rows]
        out += [f"  {n}" for n in self.notes]
        return "\n".join(out)

    def markdown(self) -> str:
        out = [
            f"**{self.title}**",
            "",
            "| " + " | ".join(self.headers) + " |",
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.headers))) + "|",
        ]
        out += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.notes:
            out += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(out)


def print_tables(tables: Sequence[Table]) -> None:
    for t in tables:
        print()
        print(t.text(), flush=True)


def run_script(doc: str, run: Callable[[bool, str], Sequence[Table]], argv: Sequence[str] | None = None) -> None:
    """A benchmark's command line: --quick and --device, then its tables."""
    args = parser(doc.splitlines()[0]).parse_args(argv)
    print_tables(run(args.quick, args.device))


def guarded(table: Table, label: str, fn: Callable[[], None]) -> None:
    """Run one case; on any error print it and note it in the table, and carry on with the next case."""
    try:
        fn()
    except Exception as error:  # a benchmark reports every case it can; one failure must not end the run
        message = f"{label}: {type(error).__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        print(f"  error in {message}", file=sys.stderr, flush=True)
        traceback.print_exc(file=sys.stderr)
        table.notes.append(f"error in {message}")


def median_time(fn: Callable[[], object], repeats: int, sync: Callable[[], None] = lambda: None) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process, all threads) over ``repeats`` calls.

    CPU time stands up better than wall time on a machine shared with other work:
    their load stretches the wall clock, not the work this process does.
    """
    walls, cpus = [], []
    for _ in range(repeats):
        sync()
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        sync()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank: a value that really occurred."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or not b else f"{a / b:.2f}x"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str = "cpu") -> str:
    """One line naming what the figures were measured on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parts = [f"{cores} cores ({cpu_model()})", f"Python {platform.python_version()}"]
    try:
        import torch

        parts.append(f"torch {torch.__version__}")
        if device.startswith("cuda") and torch.cuda.is_available():
            parts.append(f"{device}: {torch.cuda.get_device_name(torch.device(device))}")
    except ImportError:
        parts.append("torch not installed")
    try:
        from importlib.metadata import version

        parts.append(f"textual {version('textual')}")
    except Exception:
        pass
    parts.append(f"device {device}")
    if hasattr(os, "getloadavg"):
        parts.append(f"load average {os.getloadavg()[0]:.1f} at the start")
    return ", ".join(parts)


def synchronizer(device: str) -> Callable[[], None]:
    """Wait for queued GPU work, so a timer stops when the work is done, not when it is queued."""
    if device.startswith("cuda"):
        import torch

        return lambda: torch.cuda.synchronize(torch.device(device))
    return lambda: None
