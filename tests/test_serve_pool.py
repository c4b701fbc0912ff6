"""`gru-tui serve`: every tab's app copy sends its device runs to the server's one pool of workers.

A real server, real tabs over the app's websocket, and /proc to see who loaded torch.
"""

from __future__ import annotations

import asyncio
import os
import time

from processes import environ_of, is_worker, loaded_torch, tagged
from served import serve
from test_serve import tab

from gru_tui.share.serve import SERVE_CPU_WORKERS

TABS = 3


async def test_tabs_share_one_pool_and_their_copies_never_load_torch():
    tag = os.urandom(6).hex()
    with serve(env={"GRU_TUI_TEST_TAG": tag}) as (base, token, _printed):
        async with tab(base, token) as (first, _s1), tab(base, token) as (second, _s2), tab(base, token) as (third, _s3):
            await asyncio.gather(*(t.shows("traced on cpu") for t in (first, second, third)))
            processes = tagged(tag)
            copies = [
                pid
                for pid, command in processes  # textual-serve starts each through /bin/sh -c
                if command.rstrip().endswith("-m gru_tui") and not command.startswith("/bin/sh")
            ]
            workers = [pid for pid, _ in processes if is_worker(pid)]
            assert len(copies) == TABS, processes
            assert not any(loaded_torch(pid) for pid in copies)  # the tabs' copies: no torch
            assert 1 <= len(workers) <= SERVE_CPU_WORKERS + 1  # the pool's cpu lane and its spare, not one per tab
            assert any(loaded_torch(pid) for pid in workers)  # (a spare may still be loading it)

            # The pool's socket is abstract on Linux: nothing in the file system to leave behind.
            server = [pid for pid, command in processes if " serve " in command + " "]
            assert len(server) == 1
            address = environ_of(copies[0])[b"GRU_TUI_POOL"].decode()
            assert address.startswith("@gru-tui-pool-"), address
            # A class asks for many small runs: the workers' OpenMP threads sleep between operations, not spin.
            assert all(environ_of(pid).get(b"OMP_WAIT_POLICY") == b"PASSIVE" for pid in workers)

            # An edit in one tab is traced; the others keep theirs.
            await second.keys("\x15" + "48")  # the cursor starts in input_size: clear it and type 48
            await second.shows("traced on cpu")
    for _ in range(100):  # the server, its copies and its workers all end with it
        if not tagged(tag):
            break
        await asyncio.sleep(0.1)
    assert tagged(tag) == []


def test_a_pool_s_worker_env_gives_way_to_the_caller_s_own(monkeypatch):
    """``worker_env`` holds defaults: an OMP_WAIT_POLICY the person set themselves is the one the workers get."""
    from gru_tui.run.pool import Pool

    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.delenv("GRU_TUI_POOL_TEST_DEFAULT", raising=False)
    pool = Pool(worker_env={"OMP_WAIT_POLICY": "PASSIVE", "GRU_TUI_POOL_TEST_DEFAULT": "yes"}).start()
    try:
        deadline = time.monotonic() + 120
        while not pool.worker_pids():  # forked by the zygote once it has loaded torch
            assert time.monotonic() < deadline, "no worker started"
            time.sleep(0.05)
        environ = environ_of(pool.worker_pids()[0])
        assert environ[b"OMP_WAIT_POLICY"] == b"ACTIVE"
        assert environ[b"GRU_TUI_POOL_TEST_DEFAULT"] == b"yes"
    finally:
        pool.close()
