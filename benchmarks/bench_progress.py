"""A long layer's estimate (issue #21): what timing a slice of the input first costs, and how close it comes.

For long one-layer runs (a 1-layer run of seq_len 200,000, hidden 1024 sat at 5% for
39 s with no estimate), the median wall and CPU time of ``tracing.trace`` with the
calibration slices (the first layer timed on 1/256 and 1/64 of its steps before it runs) and
without it, in turns; and the estimate the run gave against the time its layers took.

    python benchmarks/bench_progress.py [--quick] [--device cuda:0]
"""

from __future__ import annotations

import statistics
import time

from _common import Table, guarded, run_script, seconds

from gru_tui import tracing
from gru_tui.core.config import GRUConfig


def configurations(quick: bool) -> list[GRUConfig]:
    if quick:
        return [GRUConfig(hidden_size=128, seq_len=8192)]
    return [
        GRUConfig(hidden_size=1024, seq_len=4096),
        GRUConfig(hidden_size=256, seq_len=50_000),
        GRUConfig(hidden_size=1024, num_layers=2, seq_len=8192),
    ]


def timed_run(config: GRUConfig, calibrate: bool) -> tuple[float, float, float | None, float | None]:
    """(wall, CPU, the first estimate of the layers' time, the layers' time as they ran)."""
    events: list[tuple[float, float, str, object]] = []
    saved = tracing.CALIBRATE_FROM
    tracing.CALIBRATE_FROM = saved if calibrate else 1 << 62
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        tracing.trace(config, progress=lambda f, m, e: events.append((time.perf_counter(), f, m, e)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        tracing.CALIBRATE_FROM = saved
    layers = [event for event in events if "(1 of" in event[2]]
    end = next(event[0] for event in events if event[1] == tracing.LAYERS_END)
    estimate = layers[0][3][0] if layers and layers[0][3] else None
    return wall, cpu, estimate, end - layers[0][0]


def run(quick: bool = False, device: str = "cpu") -> list[Table]:
    repeats = 2 if quick else 3
    table = Table(
        f"A long layer's estimate on {device}: trace with and without the calibration slice (median of {repeats}, in turns)",
        [
            "configuration",
            "without: wall",
            "with: wall",
            "wall overhead",
            "without: CPU",
            "with: CPU",
            "CPU overhead",
            "estimate of the layers",
            "the layers took",
        ],
    )
    for config in configurations(quick):
        config = config.replace(device=device)

        def measure(config=config):
            tracing.trace(config.replace(seq_len=64))  # warm: the first run in a process pays for loading kernels
            runs = {False: [], True: []}
            for _ in range(repeats):
                for calibrate in (False, True):
                    runs[calibrate].append(timed_run(config, calibrate))
            med = {k: [statistics.median(r[i] for r in v) for i in range(2)] for k, v in runs.items()}
            estimate = statistics.median(r[2] for r in runs[True])
            took = statistics.median(r[3] for r in runs[True])
            table.add(
                f"hidden {config.hidden_size}, {config.num_layers} layer(s), seq {config.seq_len:,}",
                seconds(med[False][0]),
                seconds(med[True][0]),
                f"{med[True][0] / med[False][0] - 1:+.1%}",
                seconds(med[False][1]),
                seconds(med[True][1]),
                f"{med[True][1] / med[False][1] - 1:+.1%}",
                seconds(estimate),
                seconds(took),
            )

        guarded(table, str(config), measure)
    table.notes.append(
        f"the slices are 1/4 and 1 of 1/{tracing.CALIBRATION_SHARE} of the steps, from {tracing.CALIBRATE_FROM} "
        "steps: their cost is about 2% of the first layer"
    )
    return [table]


def main(argv=None) -> None:
    run_script(__doc__, run, argv)


if __name__ == "__main__":
    main()
