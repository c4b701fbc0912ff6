"""`gru-tui trace --model` runs the person's code in a worker process (issue 20): --timeout and ctrl+c stop any
forward, even one C call holding the GIL, a crash is one line with status 1, and nothing is left behind.
Real processes and real signals; a test tag in the environment finds whatever is left."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from processes import tagged

MODELS = textwrap.dedent("""
    import ctypes, os, subprocess
    import torch
    from torch import nn

    class Base(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(4, 4)

    class HoldsTheGil(Base):
        def forward(self, x):
            subprocess.Popen(["sleep", "600"])  # a process the forward starts: it must end with the run
            sum(range(10**14))  # one C call, the GIL held throughout
            return x

    class Exits(Base):
        def forward(self, x):
            os._exit(3)

    class Segfaults(Base):
        def forward(self, x):
            ctypes.string_at(0)
""")


@pytest.fixture
def models(tmp_path):
    (tmp_path / "models.py").write_text(MODELS)
    return tmp_path / "models.py"


def start(models, name: str, *flags: str, tag: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gru_tui", "trace", "--model", f"{models}:{name}", "--input", "2x4", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GRU_TUI_TEST_TAG": tag},
    )


def nothing_left(tag: str, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not tagged(tag):
            return True
        time.sleep(0.05)
    return False


def test_timeout_stops_a_forward_that_holds_the_gil_and_what_it_started(models):
    tag = os.urandom(6).hex()
    proc = start(models, "HoldsTheGil", "--timeout", "1", tag=tag)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err == "error: stopped after 1 s (--timeout), while running the forward\n"
    assert nothing_left(tag), tagged(tag)  # the worker, and the `sleep` its forward started


@pytest.mark.parametrize(
    "name, words",
    [
        ("Exits", "exited unexpectedly (status 3)"),
        ("Segfaults", "killed (signal 11, SIGSEGV)"),
    ],
)
def test_a_forward_that_crashes_is_one_line_and_status_1(models, name, words):
    tag = os.urandom(6).hex()
    proc = start(models, name, tag=tag)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err.count("\n") == 1 and words in err and err.endswith("while running the forward\n"), err
    assert nothing_left(tag)


@pytest.mark.parametrize("signum", [signal.SIGINT])  # SIGTERM and SIGHUP take the same path
def test_ctrl_c_or_sigterm_stops_a_forward_in_c_within_a_second(models, signum):
    tag = os.urandom(6).hex()
    proc = start(models, "HoldsTheGil", tag=tag)
    try:
        deadline = time.monotonic() + 120
        while not any("sleep 600" in command for _pid, command in tagged(tag)):  # the forward is under way
            assert time.monotonic() < deadline and proc.poll() is None, "the forward never started"
            time.sleep(0.05)
        started = time.monotonic()
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=30)
        assert time.monotonic() - started < 1.0
        assert proc.returncode == 128 + signum
        # One line; what it says was running is the last progress the CLI had read when the signal came.
        assert re.fullmatch(rf"error: stopped \({signal.Signals(signum).name}\), while [^\n]+\n", err), err
        assert nothing_left(tag), tagged(tag)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
