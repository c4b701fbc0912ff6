"""Every process gru-tui starts ends with the process that started it (issue 20): the kernel's parent-death
signal ends a worker inside one C call that holds the GIL, and a stopped one, when its app is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from processes import is_worker, tagged

APP = textwrap.dedent("""
    import sys, time
    from gru_tui.run.jobs import Job
    from gru_tui.model import model_spec
    from gru_tui.run.pool import Pool, PoolClient

    pool = Pool(cpu_workers=1).start()  # a worker for the run, and a spare
    client = PoolClient(pool.connect(), lambda kind, payload: None)
    said = lambda kind, payload: print(kind, payload[1] if kind == "progress" else "", flush=True)
    client.submit("model", Job("model", (model_spec(sys.argv[1], ["2x4"]),)), said, reuse=False)
    time.sleep(600)
""")
MODEL = textwrap.dedent("""
    from torch import nn

    class HoldsTheGil(nn.Module):
        def forward(self, x):
            sum(range(10**14))  # one C call: no Python code runs in this process until it returns
            return x
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_killed_app_takes_a_worker_holding_the_gil_and_a_stopped_one_with_it(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    tag = os.urandom(6).hex()
    app = subprocess.Popen(
        [sys.executable, "-c", APP, f"{tmp_path / 'model.py'}:HoldsTheGil"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "GRU_TUI_TEST_TAG": tag},
    )
    try:
        for line in app.stdout:
            if "running the forward" in line:
                break
        deadline = time.monotonic() + 60
        while len(workers := [pid for pid, _ in tagged(tag) if is_worker(pid)]) < 2:
            assert time.monotonic() < deadline, "the spare never started"
            time.sleep(0.05)
        time.sleep(0.2)  # inside the C call by now
        os.kill(workers[-1], signal.SIGSTOP)  # the spare: a stopped process runs no handler either
        app.kill()
        app.wait()
        deadline = time.monotonic() + 5
        while tagged(tag):
            assert time.monotonic() < deadline, f"left behind: {tagged(tag)}"
            time.sleep(0.05)
    finally:
        app.kill()
        app.wait()
        for pid, _command in tagged(tag):
            os.kill(pid, signal.SIGKILL)
