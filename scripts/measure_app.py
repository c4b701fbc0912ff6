#!/usr/bin/env python3
"""Measure the app's responsiveness (prints figures; asserts nothing — timing stays out of the tests).

    python scripts/measure_app.py [--repeat 5]

1. First frame in a real terminal: tmux, from starting the command until
   capture-pane shows the app's text, for gru-tui and a bare Textual app.
   (Headless, in process: benchmarks/bench_startup.py.)
2. Edit to tree, derived: through the pilot, select num_layers and type a digit;
   the time from the key press to the first screen refresh that shows the new
   tree. For the first worked example and for the largest configuration issue #4
   names (the device run of that one is refused by the memory guard).
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

BARE_APP = """
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("bare app painted")
Bare().run()
"""


def first_frame_in_tmux(command: list[str], marker: str, repeat: int) -> list[float]:
    """A real terminal: from starting the command in a tmux pane until capture-pane shows ``marker``.

    capture-pane is polled every 10 ms, so each figure is late by up to that and the poll's own cost.
    """
    import shlex
    import shutil
    import tempfile

    if not shutil.which("tmux"):
        return []
    home = tempfile.mkdtemp(prefix="gru-tui-tmux-")  # the server's socket, removed with it at the end
    tmux = ["tmux", "-S", f"{home}/socket", "-f", "/dev/null"]
    samples = []
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([*tmux, "new-session", "-d", "-s", "m", "-x", "80", "-y", "24", shlex.join(command)], check=True)
            while marker not in subprocess.run([*tmux, "capture-pane", "-p", "-t", "m"], capture_output=True, text=True).stdout:
                time.sleep(0.01)
            samples.append(time.perf_counter() - started)
            subprocess.run([*tmux, "kill-session", "-t", "m"], check=True)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
    return samples


async def edit_latencies(config, edits: int, measured: bool) -> list[float]:
    """Select num_layers and type one digit; time from the key press to the first screen refresh after the
    tree shows the new configuration (derived), or its device run's result (measured)."""
    from gru_tui.app import GruTuiApp
    from gru_tui.app.pilot import settle

    class Timed(GruTuiApp):
        painted: dict = {}

        def _show(self, report):
            super()._show(report)
            key = (report.config, report.derived)
            self.call_after_refresh(lambda: self.painted.setdefault(key, time.perf_counter()))

    app = Timed(config)
    samples = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for _ in range(edits):
            layers = "2" if app.config.num_layers != 2 else "1"
            target = app.config.replace(num_layers=int(layers))
            field = app.query_one("#num_layers")
            field.focus()
            await pilot.pause()
            field.select_all()
            app.painted.clear()
            started = time.perf_counter()
            await pilot.press(layers)
            key = (target, not measured)
            while key not in app.painted:
                await asyncio.sleep(0.001)
            samples.append(app.painted[key] - started)
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
    from gru_tui.core.config import FIRST_EXAMPLE, GRUConfig

    bare_tmux = first_frame_in_tmux([sys.executable, "-c", BARE_APP], "bare app painted", args.repeat)
    ours_tmux = first_frame_in_tmux([sys.executable, "-m", "gru_tui"], "output [1, 35, 32]", args.repeat)
    if bare_tmux and ours_tmux:
        print(f"first frame in tmux, bare Textual app: {describe(bare_tmux)}")
        print(
            f"first frame in tmux, gru-tui:          {describe(ours_tmux)}   "
            f"ratio {statistics.median(ours_tmux) / statistics.median(bare_tmux):.2f}x"
        )

    largest = GRUConfig(input_size=256, hidden_size=8192, num_layers=8, bidirectional=True, batch_size=4096, seq_len=1_000_000)
    print(f"edit to tree, derived, first example:       {describe(asyncio.run(edit_latencies(FIRST_EXAMPLE, 20, False)))}")
    print(
        "edit to tree, derived, bidirectional, hidden 8192, batch 4096, seq 1e6, 8<->2 layers (run refused by the guard): "
        f"{describe(asyncio.run(edit_latencies(largest.replace(num_layers=8), 20, False)))}"
    )
    print(
        f"edit to tree, measured on cpu, first example (includes the 150 ms typing pause): "
        f"{describe(asyncio.run(edit_latencies(FIRST_EXAMPLE, 10, True)))}"
    )


if __name__ == "__main__":
    main()
