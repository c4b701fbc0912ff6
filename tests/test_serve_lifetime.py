"""`gru-tui serve` against what a class does by accident (issue 20): a tab's odd messages, a server killed or stopped
with tabs open. A real server, real websockets, real signals; /proc says which processes are left."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

from processes import gone, tagged
from served import free_port, serve, stop_group
from test_serve import tab, ws_status


def copies_of(tag: str) -> list[int]:
    """The tabs' app copies (the server's children running the app), by their test tag."""
    return [pid for pid, command in tagged(tag) if command.rstrip().endswith("-m gru_tui")]


async def until(condition, what: str, timeout: float = 30) -> float:
    """Poll ``condition`` until it holds (a deadline against hanging): the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"never happened: {what}"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_an_empty_keystroke_does_not_wedge_a_copy_and_its_slot_is_freed_when_its_tab_closes():
    """["stdin", ""] then a key used to stop the copy reading anything, the quit included: it outlived its tab
    and held its --max-copies slot until the server restarted."""
    tag = os.urandom(6).hex()
    with serve("--max-copies", "1", env={"GRU_TUI_TEST_TAG": tag}) as (base, token, _printed):
        ws = base.replace("http:", "ws:") + "/ws?width=80&height=24"
        async with tab(base, token) as (opened, _session):
            await opened.shows("gru-tui")
            (copy,) = copies_of(tag)
            await opened.ws.send_json(["stdin", ""])
            await opened.ws.send_json(["stdin", "a"])
            await opened.ws.send_str("[" * 5000 + "]" * 5000)  # deep JSON: ignored, no RecursionError
            await opened.ws.send_json(["ping", "still here"])
            await until(lambda: ["pong", "still here"] in opened.messages, "the tab answered after deep JSON")
            await opened.keys("\x1bOR")  # f3: the copy still reads its keys after the empty one
            await opened.shows("input")
        for _ in range(50):  # the slot is free once the server sees the tab close
            if await ws_status(ws, origin=base, cookie=token) == 101:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the closed tab's slot was still taken 5 s later")
        await until(lambda: gone(copy), "the closed tab's copy ended", timeout=10)


async def test_a_killed_server_leaves_no_copy_and_no_socket_behind():
    tag = os.urandom(6).hex()
    before = {name for name in os.listdir("/tmp") if name.startswith("gru-tui-pool-")}
    with serve(env={"GRU_TUI_TEST_TAG": tag}) as (base, token, _printed):
        async with tab(base, token) as (first, _s1), tab(base, token) as (second, _s2):
            await asyncio.gather(first.shows("gru-tui"), second.shows("gru-tui"))
            processes = tagged(tag)
            (server,) = [pid for pid, command in processes if " serve " in command]
            assert len(copies_of(tag)) == 2
            os.kill(server, signal.SIGKILL)
            await until(lambda: not tagged(tag), "every copy and worker ended with the killed server", timeout=10)
    assert {name for name in os.listdir("/tmp") if name.startswith("gru-tui-pool-")} <= before


async def test_sigterm_with_tabs_open_ends_the_server_within_a_second_or_so():
    tag = os.urandom(6).hex()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gru_tui", "serve", "--port", str(port), "--token", "t" * 20],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "GRU_TUI_TEST_TAG": tag},
    )
    try:
        for line in proc.stdout:
            if "?token=" in line:
                break
        base = f"http://127.0.0.1:{port}"
        async with tab(base, "t" * 20) as (first, _s1), tab(base, "t" * 20) as (second, _s2), tab(base, "t" * 20) as (third, _s3):
            await asyncio.gather(*(t.shows("gru-tui") for t in (first, second, third)))
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            await asyncio.get_running_loop().run_in_executor(None, proc.wait, 30)
            took = time.monotonic() - started
        assert proc.returncode == 0
        assert took < 2.5, f"{took:.1f} s to stop with 3 tabs open"  # about 0.5 s; headroom for a busy machine
        await until(lambda: not tagged(tag), "nothing of the server left", timeout=10)
    finally:
        stop_group(proc)


async def test_a_copy_that_stalls_after_closing_its_output_is_killed_and_sigterm_still_ends_the_server(tmp_path):
    """A copy asked to quit closed its output and then never exited: the server waited on it for good, after its
    tab closed and again when SIGTERMed (it had to be SIGKILLed). Its output closed is not its exit."""
    from gru_tui.share.serve import COPY_STOP_SECONDS, ENV_COMMAND

    stalls = tmp_path / "stalls.py"  # reads the first byte it is sent (the quit, or a key), then stalls on its way out
    stalls.write_text("import os, sys, time\nsys.stdin.buffer.read(1)\nos.close(1)\nos.close(2)\ntime.sleep(600)\n")
    tag = os.urandom(6).hex()

    def stalled() -> list[int]:
        return [pid for pid, command in tagged(tag) if "stalls.py" in command]

    with serve(env={"GRU_TUI_TEST_TAG": tag, ENV_COMMAND: f"{sys.executable} {stalls}"}) as (base, token, _printed):
        async with tab(base, token):
            await until(stalled, "the copy started")
        took = await until(lambda: not stalled(), "the stalled copy was killed", timeout=COPY_STOP_SECONDS + 10)
        assert took < COPY_STOP_SECONDS + 3
        async with tab(base, token):  # a second copy, open as the server is stopped
            await until(stalled, "the second copy started")
        ending = time.monotonic()
    assert time.monotonic() - ending < 5  # SIGTERM: the server ended, not SIGKILLed after 20 s
    await until(lambda: not tagged(tag), "nothing of the server left", timeout=10)
