"""Device runs in worker processes (``gru_tui.run.pool``, ``gru_tui.run.worker``): the pool on its own and the app over it.

Real processes throughout: real torch in real workers, killed for real with real signals.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from app_helpers import settle, type_into
from processes import gone, is_worker, loaded_torch, parent_of, total_memory_bytes, user_cpu_seconds

from gru_tui import trace
from gru_tui.app import make_app
from gru_tui.core.config import FIRST_EXAMPLE, GRUConfig
from gru_tui.run.jobs import Job, JobError
from gru_tui.run.pool import ZYGOTE_SUPPORTED, Pool, PoolClient
from gru_tui.run.worker import run_job

PATIENCE = 300  # seconds to wait for something to happen; not a speed check (torch loads slowly on a busy machine)
# A run of tens of seconds on 2 cores: long enough to be killed mid-layer.
LONG = GRUConfig(input_size=64, hidden_size=1024, num_layers=2, batch_size=4, seq_len=20_000)


def wait_until(condition, what: str, timeout: float = PATIENCE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.01)


class Events:
    """A job's events as a client gets them."""

    def __init__(self):
        self.seen: list[tuple[str, object]] = []
        self.finished = threading.Event()

    def __call__(self, kind, payload):
        self.seen.append((kind, payload))
        if kind in ("done", "failed"):
            self.finished.set()

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.seen]

    def outcome(self):
        assert self.finished.wait(PATIENCE), self.seen
        return self.seen[-1]


@pytest.fixture
def pool(session_zygote):
    pool = Pool(cpu_workers=1, zygote=session_zygote).start()
    yield pool
    pids = pool.worker_pids()
    pool.close()
    assert all(gone(pid) for pid in pids), "a worker outlived its pool"


def client(pool: Pool) -> PoolClient:
    return PoolClient(pool.connect(), lambda kind, payload: None)


def test_a_trace_in_the_worker_gives_torchs_report(pool):
    events = Events()
    config = FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True)
    client(pool).submit("main", Job("trace", (config, False)), events)
    kind, report = events.outcome()
    assert kind == "done" and not report.derived
    assert report.shapes() == trace(config).shapes()
    assert events.kinds()[0] == "started" and "progress" in events.kinds()


def test_a_cancelled_run_is_killed_and_the_spare_takes_the_next_one_at_once(pool):
    me = client(pool)
    long_run = Events()
    me.submit("main", Job("trace", (LONG, False)), long_run)
    wait_until(
        lambda: any(kind == "progress" and "layer 0" in payload[1] for kind, payload in long_run.seen),
        "the long run reached its first layer",
    )
    running = pool.busy_pids()
    assert len(running) == 1
    user_cpu_before = user_cpu_seconds(running[0])
    me.cancel("main")
    wait_until(lambda: gone(running[0]), "the cancelled run's process ended")
    assert user_cpu_before > 0  # it was computing when it was stopped
    small = Events()
    me.submit("main", Job("trace", (FIRST_EXAMPLE, False)), small)
    assert small.outcome()[0] == "done"
    assert long_run.kinds()[-1] == "progress"  # a cancelled job gets no answer
    assert len(pool.worker_pids()) <= 2  # one in the cpu lane and the spare: runs never pile up


def test_a_worker_killed_mid_run_fails_its_job_in_words_and_the_next_job_runs(pool):
    me = client(pool)
    events = Events()
    me.submit("main", Job("trace", (LONG, False)), events)
    wait_until(lambda: "progress" in events.kinds(), "the long run started")
    os.kill(pool.busy_pids()[0], signal.SIGKILL)
    kind, error = events.outcome()
    assert kind == "failed" and error.kind == "died"
    assert error.text == "the device run was killed (signal 9, SIGKILL); out of memory?"
    after = Events()
    me.submit("main", Job("trace", (FIRST_EXAMPLE, False)), after)
    assert after.outcome()[0] == "done"


def test_equal_jobs_of_two_clients_run_once_and_share_the_report(pool):
    first, second = Events(), Events()
    job = Job("trace", (FIRST_EXAMPLE.replace(hidden_size=48), False))
    blocker = Events()  # holds the cpu lane so both requests are queued together
    client(pool).submit("main", Job("trace", (LONG.replace(seq_len=200), False)), blocker)
    client(pool).submit("main", job, first)
    client(pool).submit("main", job, second)
    assert first.outcome()[0] == "done" and second.outcome()[0] == "done"
    assert first.seen[-1][1] == second.seen[-1][1]
    assert pool.jobs_run == 2  # the blocker and the shared job
    again = Events()
    client(pool).submit("main", job, again)  # asked again: the recent report, no new run
    assert again.outcome()[1] == first.seen[-1][1] and pool.jobs_run == 2
    fresh = Events()
    client(pool).submit("main", job, fresh, reuse=False)  # ctrl+r: run it again
    assert fresh.outcome()[0] == "done" and pool.jobs_run == 3


def test_a_superseded_request_is_dropped_from_the_queue_before_it_runs(pool):
    blocker = Events()
    client(pool).submit("main", Job("trace", (LONG.replace(seq_len=200), False)), blocker)
    me = client(pool)
    superseded, newest = Events(), Events()
    me.submit("main", Job("trace", (FIRST_EXAMPLE.replace(hidden_size=40), False)), superseded)
    me.submit("main", Job("trace", (FIRST_EXAMPLE.replace(hidden_size=41), False)), newest)
    kind, report = newest.outcome()
    assert kind == "done" and report.config.hidden_size == 41
    assert blocker.outcome()[0] == "done"
    assert superseded.seen == [] and pool.jobs_run == 2


def test_the_memory_guard_counts_what_the_pools_other_runs_hold():
    small = Job("trace", (FIRST_EXAMPLE, False))
    assert run_job(small, 0, lambda *_: None).h_n.shape == trace(FIRST_EXAMPLE).h_n.shape
    with pytest.raises(JobError) as refused:
        run_job(small, total_memory_bytes() * 4, lambda *_: None)  # the others hold more than there is
    assert refused.value.kind == "refused" and refused.value.device == "cpu"
    forced = Job("trace", (FIRST_EXAMPLE, True))
    assert not run_job(forced, total_memory_bytes() * 4, lambda *_: None).derived


def test_a_bad_configuration_fails_with_its_field_and_no_traceback():
    with pytest.raises(JobError) as error:
        run_job(Job("trace", (FIRST_EXAMPLE.replace(device="cuda:7"), False)), 0, lambda *_: None)
    assert error.value.kind == "config" and error.value.field == "device"


# -- the app over the pool ------------------------------------------------------------------


def test_the_apps_process_never_imports_torch_while_it_traces():
    code = textwrap.dedent(
        """
        import asyncio, sys
        from gru_tui.app import make_app
        from gru_tui.app.pilot import settle

        async def main():
            app = make_app()
            async with app.run_test(size=(80, 24)) as pilot:
                await settle(pilot)
                print(app.report.derived, app.report.h_n.shape, app.torch_version is not None)
        asyncio.run(main())
        print([m for m in ("torch", "torchinfo", "gru_tui.core.tracing", "gru_tui.core.devices") if m in sys.modules])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=PATIENCE).stdout
    ran, loaded = out.strip().splitlines()[-2:]
    assert ran == f"False {trace(FIRST_EXAMPLE).h_n.shape} True"
    assert loaded == "[]"


async def until_computing(app, pilot) -> None:
    """Wait until the app's device run computes its first layer."""
    for _ in range(PATIENCE * 20):
        if "layer 0" in app.query_one("#summary-strip").plain:
            return
        await pilot.pause(0.05)
    pytest.fail(f"the run never started: {app.query_one('#summary-strip').plain!r}")


async def test_the_app_survives_its_worker_being_killed_and_runs_again():
    app = make_app(LONG)
    async with app.run_test(size=(120, 40)) as pilot:
        await until_computing(app, pilot)
        (victim,) = app.runner.pool.busy_pids()
        os.kill(victim, signal.SIGKILL)
        await settle(pilot)
        strip = app.query_one("#summary-strip").plain
        assert "killed (signal 9, SIGKILL); out of memory?" in strip
        assert any("killed (signal 9" in line for line in app.log_lines)
        assert app.report.derived and app.report.config == LONG  # the form's tree stays
        await type_into(pilot, "seq_len", "35")
        await settle(pilot)
        assert not app.report.derived and app.report.shapes() == trace(LONG.replace(seq_len=35)).shapes()


async def test_ctrl_c_stops_the_run_and_a_second_ctrl_c_quits():
    app = make_app(LONG)
    async with app.run_test(size=(80, 24)) as pilot:
        await until_computing(app, pilot)
        assert "ctrl+c stops" in app.query_one("#summary-strip").plain
        (victim,) = app.runner.pool.busy_pids()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert not app.busy and "run stopped" in app.query_one("#summary-strip").plain
        for _ in range(PATIENCE * 20):
            if gone(victim):
                break
            await pilot.pause(0.05)
        else:
            pytest.fail("the stopped run's worker is still there")
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0


def test_a_client_that_goes_away_takes_its_run_with_it(pool):
    """A browser tab closed mid-run (its app copy ends): nobody waits for the run, so its worker is killed."""
    leaving = client(pool)
    events = Events()
    leaving.submit("main", Job("trace", (LONG, False)), events)
    wait_until(lambda: "progress" in events.kinds(), "the long run started")
    (running,) = pool.busy_pids()
    leaving.close()
    wait_until(lambda: gone(running), "the run of the client that left ended")
    after = Events()
    client(pool).submit("main", Job("trace", (FIRST_EXAMPLE, False)), after)
    assert after.outcome()[0] == "done"


def test_each_gpu_has_a_lane_of_its_own_and_a_missing_one_is_a_device_error(pool):
    """cuda:N jobs go to that device's one worker (one CUDA context per GPU); here, without it, torch's refusal
    names the device field, and the cpu lane is untouched."""
    gpu, cpu = Events(), Events()
    client(pool).submit("main", Job("trace", (FIRST_EXAMPLE.replace(device="cuda:3"), False)), gpu)
    kind, error = gpu.outcome()
    assert kind == "failed" and error.kind == "config" and error.field == "device"
    client(pool).submit("main", Job("trace", (FIRST_EXAMPLE, False)), cpu)
    assert cpu.outcome()[0] == "done"
    assert sorted(w.lane or "spare" for w in pool._workers).count("cuda:3") <= 1


def test_each_run_reports_its_own_peak_memory_not_the_workers_highest_so_far(pool):
    me = client(pool)
    big, small = Events(), Events()
    # Many small steps: memory glibc keeps after the run unless it is handed back before the next one's reset.
    me.submit("main", Job("trace", (GRUConfig(input_size=10, hidden_size=32, batch_size=1, seq_len=150_000), False)), big)
    big_peak = big.outcome()[1].run.peak_memory_bytes
    me.submit("main", Job("trace", (FIRST_EXAMPLE, False)), small)  # the same worker, after the big run
    small_peak = small.outcome()[1].run.peak_memory_bytes
    assert pool.jobs_run == 2 and len(pool.worker_pids()) <= 2
    print(f"peaks: {big_peak / 2**20:.0f} MiB, then {small_peak / 2**20:.0f} MiB")
    assert small_peak < big_peak - 100 * 2**20  # the big run's 200 MiB and more of activations are not the small one's


def test_a_long_run_moves_aside_for_another_client_s_short_one_and_is_stopped_at_the_run_limit(session_zygote):
    """A class on 2 cores: a tab's long run must not hold another tab's 4 ms trace back for tens of seconds."""
    pool = Pool(cpu_workers=1, aside_after=1.0, run_limit=PATIENCE, zygote=session_zygote).start()
    try:
        long_run, short_run = Events(), Events()
        client(pool).submit("main", Job("trace", (LONG, False)), long_run)
        wait_until(lambda: "progress" in long_run.kinds(), "the long run started")
        wait_until(lambda: len(pool._workers) == 2 and all(w.ready for w in pool._workers), "a spare loaded torch")
        asked = time.monotonic()
        client(pool).submit("main", Job("trace", (FIRST_EXAMPLE, False)), short_run)
        assert short_run.outcome()[0] == "done"
        assert time.monotonic() - asked < 4.0  # about the second a run is given before it moves aside
        assert not long_run.finished.is_set()  # moved aside, not stopped
        pool.run_limit = 0.5  # (a limit it is already past, rather than waiting for one)
        pool._wake()
        kind, error = long_run.outcome()
        assert kind == "failed" and error.text.startswith("stopped after 0.5 s: a run here may take at most 0.5 s")
    finally:
        pids = pool.worker_pids()
        pool.close()
    assert all(gone(pid) for pid in pids)


@pytest.mark.skipif(not ZYGOTE_SUPPORTED, reason="the zygote is Linux's")
def test_workers_are_forked_from_the_zygote_and_named_for_top(pool):
    """torch is imported once, by the zygote: each worker (a replacement after a kill included) is its child,
    shows as `gru-tui worker` in top and ps, and has torch already (its pages, shared)."""
    me = client(pool)
    first = Events()
    me.submit("main", Job("trace", (LONG, False)), first)
    wait_until(lambda: "progress" in first.kinds(), "the long run started")
    os.kill(pool.busy_pids()[0], signal.SIGKILL)
    assert first.outcome()[1].text.startswith("the device run was killed (signal 9, SIGKILL)")  # the zygote's word for it
    after = Events()
    me.submit("main", Job("trace", (FIRST_EXAMPLE, False)), after)
    assert after.outcome()[0] == "done"
    zygote = pool._zygote.process.pid
    for pid in pool.worker_pids():
        assert parent_of(pid) == zygote and is_worker(pid) and loaded_torch(pid)
