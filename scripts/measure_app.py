#!/usr/bin/env python3
"""Measure the app's responsiveness (prints figures; asserts nothing — timing stays out of the tests).

    python scripts/measure_app.py [--repeat 5]

1. First frame: a fresh interpreter per sample, from its first line (before any
   import) to the first callback after the first screen refresh, for gru-tui and
   for a bare Textual app with one Static; also whether torch was loaded by then.
2. Edit to tree, derived: through the pilot, select hidden_size and type a new
   value; the time until the tree shows the new configuration. For the first
   worked example and for the largest configuration issue #4 names.
3. Edit to tree, measured: the same edit, until the device run's tree has landed
   (includes the 150 ms pause the app waits for typing to stop).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time

FIRST_FRAME = """
import time, sys
started = time.perf_counter()
{setup}
app.run(headless=True, size=(80, 24))
print(app.first_frame - started, "torch" in app.modules_at_first_frame)
"""

GRU_TUI_SETUP = """
from gru_tui.app import GruTuiApp
class Measured(GruTuiApp):
    def on_main_screen_ready(self):
        super().on_main_screen_ready()
        self.call_after_refresh(self.first_frame_seen)
    def first_frame_seen(self):
        self.first_frame = time.perf_counter()
        self.modules_at_first_frame = set(sys.modules)
        self.exit()
app = Measured()
"""

BARE_SETUP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(self.first_frame_seen)
    def first_frame_seen(self):
        self.first_frame = time.perf_counter()
        self.modules_at_first_frame = set(sys.modules)
        self.exit()
app = Bare()
"""


def first_frame(setup: str, repeat: int) -> tuple[list[float], bool]:
    samples, torch_loaded = [], False
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", FIRST_FRAME.format(setup=setup)], capture_output=True, text=True, check=True)
        seconds, loaded = out.stdout.split()
        samples.append(float(seconds))
        torch_loaded |= loaded == "True"
    return samples, torch_loaded


async def edit_latencies(config, values: list[str], measured: bool) -> list[float]:
    from gru_tui.app import make_app
    from gru_tui.app.pilot import settle

    app = make_app(config)
    samples = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for value in values:
            target = app.config.replace(hidden_size=int(value))
            field = app.query_one("#hidden_size")
            field.focus()
            await pilot.pause()
            field.select_all()
            started = time.perf_counter()
            await pilot.press(*value)
            while app.report.config != target or (measured and app.report.derived):
                await asyncio.sleep(0.001)
            samples.append(time.perf_counter() - started)
            await settle(pilot)
    return samples


def describe(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(samples) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(samples)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from gru_tui.config import FIRST_EXAMPLE, GRUConfig

    bare, _ = first_frame(BARE_SETUP, args.repeat)
    ours, torch_loaded = first_frame(GRU_TUI_SETUP, args.repeat)
    print(f"first frame, bare Textual app: {describe(bare)}")
    print(f"first frame, gru-tui:          {describe(ours)}   ratio {statistics.median(ours) / statistics.median(bare):.2f}x"
          f"   torch loaded by then: {torch_loaded}")

    values = [str(v) for v in (64, 48, 96, 40, 80, 56, 72, 33, 65, 47) * 2]
    largest = GRUConfig(input_size=256, hidden_size=8192, num_layers=8, bidirectional=True, batch_size=4096, seq_len=1_000_000)
    print(f"edit to tree, derived, first example:       {describe(asyncio.run(edit_latencies(FIRST_EXAMPLE, values, False)))}")
    big_values = [str(8192 - i) for i in range(1, 21)]
    print(f"edit to tree, derived, 8 layers bidir, hidden 8192, batch 4096, seq 1e6 (device run refused by the guard): "
          f"{describe(asyncio.run(edit_latencies(largest, big_values, False)))}")
    print(f"edit to tree, measured on cpu, first example: {describe(asyncio.run(edit_latencies(FIRST_EXAMPLE, values[:10], True)))}")


if __name__ == "__main__":
    main()
