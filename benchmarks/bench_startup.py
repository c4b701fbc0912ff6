"""Time to first frame: a bare Textual app against gru-tui's app, each in a fresh process.

The clock starts when the parent spawns the process (interpreter start and every
import count, as a user feels them) and stops in the child at the first frame the
app draws that shows its text: the bare app's "hello", gru-tui's output shape. A
headless run draws nothing, so the child wraps ``App._display``, which Textual
calls with each frame, and reads the frame's text there. Issue #4's goal: gru-tui
within 1.5x of the bare app, which means torch must load in the background after
the first frame.

    python benchmarks/bench_startup.py [--quick]
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from _common import REPO, Table, child_env, guarded, ratio, run_script, seconds

# Runs in the child. Prints one JSON line at the first frame, then leaves at once:
# waiting for a background `import torch` to finish is not part of the first frame.
DRIVER = r"""
import os, re, sys, time, json
started = time.perf_counter()
kind = sys.argv[1]
from textual.app import App

if kind == "bare":
    from textual.widgets import Label

    class Bare(App):
        def compose(self):
            yield Label("hello")

    app, marker = Bare(), "hello"
elif kind == "bare-hf":  # the bare app with a header and a footer: what issue #21 compares against
    from textual.binding import Binding
    from textual.widgets import Footer, Header, Label

    class BareHF(App):
        BINDINGS = [Binding("ctrl+q", "quit", "Quit")]

        def compose(self):
            yield Header()
            yield Label("hello")
            yield Footer()

    app, marker = BareHF(), "hello"
else:
    from gru_tui.cli import load_app  # what `gru-tui` runs once its flags are read
    from gru_tui.core.config import FIRST_EXAMPLE
    from gru_tui.core.shapes import derive
    from gru_tui.core.report import format_shape

    app, marker = load_app(FIRST_EXAMPLE), f"output {format_shape(derive(FIRST_EXAMPLE).output.shape)}"

draw = App._display

def first_frame(self, screen, renderable):
    draw(self, screen, renderable)
    if renderable is None or not hasattr(renderable, "render_segments"):
        return
    text = re.sub(r"\[[0-9;?]*[A-Za-z]", "", renderable.render_segments(self.console))
    if marker in text:
        print(json.dumps({"wall": time.time(), "in_process": time.perf_counter() - started, "cpu": time.process_time(),
                          "torch_loaded": "torch" in sys.modules and hasattr(sys.modules["torch"], "nn")}), flush=True)
        os._exit(0)

App._display = first_frame
app.run(headless=True, size=(80, 24))
"""


def first_frame(kind: str, timeout: float = 120, source: str | None = None) -> dict:
    """``source``: a copy of gru_tui without bytecode to import instead of this checkout's (compiled at every start)."""
    env = child_env() if source is None else {**os.environ, "PYTHONPATH": source, "PYTHONDONTWRITEBYTECODE": "1"}
    spawned = time.time()
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, kind], capture_output=True, text=True, timeout=timeout, cwd=source or REPO, env=env
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"{kind} app gave no first frame (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    result = json.loads(lines[-1])
    result["from_spawn"] = result["wall"] - spawned
    return result


def app_importable() -> str | None:
    """None when gru_tui.app can be imported, else why not."""
    done = subprocess.run(
        [sys.executable, "-c", "import gru_tui.app; gru_tui.app.make_app"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=child_env(),
    )
    return None if done.returncode == 0 else (done.stderr.strip().splitlines() or ["unknown error"])[-1]


def run(quick: bool = False, device: str = "cpu") -> list[Table]:
    repeats = 3 if quick else 5
    table = Table(
        f"First frame, fresh process each, headless 80x24 (median of {repeats})",
        [
            "app",
            "from spawn",
            "after interpreter start",
            "torch loaded at first frame",
            "ratio to bare (header, footer)",
            "CPU to first frame",
            "CPU ratio",
        ],
    )
    table.notes.append("goal (issue #21): gru-tui within 1.3x of the bare Textual app with a header and a footer")
    table.notes.append(
        "the apps take turns, one run each per round, so a busy moment on a shared machine hits all of them; "
        "CPU (the child's, interpreter start included) stands up better than wall time to a machine shared with other work"
    )
    table.notes.append(
        "gru-tui: its bytecode compiled first, as pip does when it installs a package (Textual's is); "
        "uncompiled: a checkout run with PYTHONDONTWRITEBYTECODE=1, which compiles every module at every start"
    )
    missing = app_importable()
    kinds = ["bare", "bare-hf"] + (["gru", "gru-source"] if missing is None else [])
    if missing is not None:
        table.notes.append(f"gru-tui app skipped: gru_tui.app is not importable yet ({missing})")
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}

    def measure_all():
        with tempfile.TemporaryDirectory() as source:
            if "gru" in kinds:
                compileall.compile_dir(os.path.join(REPO, "gru_tui"), quiet=1)
                shutil.copytree(
                    os.path.join(REPO, "gru_tui"), os.path.join(source, "gru_tui"), ignore=shutil.ignore_patterns("__pycache__")
                )
            for _ in range(repeats):
                for kind in kinds:
                    runs[kind].append(first_frame(kind, source=source if kind == "gru-source" else None))

    guarded(table, "first frames", measure_all)
    medians = {kind: statistics.median(r["from_spawn"] for r in rs) for kind, rs in runs.items() if len(rs) == repeats}
    cpus = {kind: statistics.median(r["cpu"] for r in runs[kind]) for kind in medians}
    base, cpu_base = medians.get("bare-hf"), cpus.get("bare-hf")
    for kind, spawn in medians.items():
        inside = statistics.median(r["in_process"] for r in runs[kind])
        loaded = sum(r["torch_loaded"] for r in runs[kind])
        label = {
            "bare": "bare (a label)",
            "bare-hf": "bare (header, footer)",
            "gru": "gru-tui",
            "gru-source": "gru-tui, uncompiled",
        }[kind]
        table.add(
            label,
            seconds(spawn),
            seconds(inside),
            f"{loaded} of {repeats}",
            ratio(spawn, base),
            seconds(cpus[kind]),
            ratio(cpus[kind], cpu_base),
        )
    probe = subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); import torch; print(time.perf_counter() - t)"],
        capture_output=True,
        text=True,
    )
    if probe.returncode == 0:
        table.notes.append(f"for scale: `import torch` alone takes {seconds(float(probe.stdout))} here")
    return [table]


def main(argv=None) -> None:
    run_script(__doc__, run, argv)


if __name__ == "__main__":
    main()
