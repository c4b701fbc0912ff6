"""The instant tree: validate + shapes.derive + report.tree() + tree.render_text against seq_len.

This is what the app does on every edit before any device run, so it must stay
flat from seq_len 10 to 1,000,000 (and for hidden 8192, 8 layers, batch 4096),
far under the 100 ms edit-to-tree budget. Padded and packed (variable lengths)
inputs; the ratio is each p50 over the seq_len=10 p50 of the same kind.

    python benchmarks/bench_derive.py [--quick]
"""

from __future__ import annotations

import time

from _common import Table, guarded, percentile, ratio, run_script, seconds

from gru_tui.core.config import GRUConfig
from gru_tui.core.shapes import derive
from gru_tui.core.tree import render_text

HUGE = GRUConfig(input_size=1024, hidden_size=8192, num_layers=8, bidirectional=True, batch_first=True, batch_size=4096)
SEQ_LENS = (10, 100, 1_000, 10_000, 100_000, 1_000_000)
DISTINCT_LENGTHS = 8  # packed: 4096 sequences of 8 distinct lengths, the longest seq_len


def packed(config: GRUConfig) -> GRUConfig:
    n = config.seq_len
    lengths = tuple(max(1, n * (DISTINCT_LENGTHS - i % DISTINCT_LENGTHS) // DISTINCT_LENGTHS) for i in range(config.batch_size))
    return config.replace(lengths=lengths)


# The inputs measured: padded and packed GRU, and an LSTM whose projection and c_n add nodes, not steps.
VARIANTS = {
    "padded": lambda c: c,
    "packed": packed,
    "LSTM, proj_size 2048, padded": lambda c: c.replace(mode="lstm", proj_size=2048),
}


def edit_to_text(config: GRUConfig) -> str:
    """Everything between a changed field and the text of the derived tree."""
    return render_text(derive(config.validate(check_device=False)).tree())


def run(quick: bool = False, device: str = "cpu") -> list[Table]:
    runs = 30 if quick else 300
    table = Table(
        f"Derived tree (validate + derive + tree + render_text) against seq_len, {runs} runs each",
        ["input", "seq_len", "nodes", "p50", "p95", "max", "p50 / seq 10"],
    )
    table.notes.append(
        f"config: input {HUGE.input_size}, hidden {HUGE.hidden_size}, {HUGE.num_layers} layers, "
        f"bidirectional, batch {HUGE.batch_size}; packed: {DISTINCT_LENGTHS} distinct lengths; no torch involved"
    )
    for kind, variant in VARIANTS.items():
        base = None
        for n in SEQ_LENS:

            def measure(kind=kind, variant=variant, n=n):
                nonlocal base
                c = variant(HUGE.replace(seq_len=n))
                edit_to_text(c)  # warm up
                times = []
                for _ in range(runs):
                    start = time.perf_counter()
                    edit_to_text(c)
                    times.append(time.perf_counter() - start)
                p50 = percentile(times, 50)
                base = base or p50
                nodes = sum(1 for _ in derive(c).tree().walk())
                table.add(
                    kind, f"{n:,}", nodes, seconds(p50), seconds(percentile(times, 95)), seconds(max(times)), ratio(p50, base)
                )

            guarded(table, f"{kind} seq {n}", measure)
    return [table]


def main(argv=None) -> None:
    run_script(__doc__, run, argv)


if __name__ == "__main__":
    main()
