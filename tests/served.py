"""Test helpers: a real `gru-tui serve` in a subprocess, and a headless chromium driven over the DevTools protocol."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(
    *args: str, env: dict[str, str] | None = None, log: Path | None = None, open_files: int | None = None, cwd: Path | None = None
):
    """Start `gru-tui serve` on a free loopback port; yield (base URL, token, what it printed up to its URL).

    ``log``: a file that gets its log (stderr) instead of the printed text; ``open_files``: its limit
    on open files (soft and hard); ``cwd``: where it runs. Stopped at the end, with the app copies it started.
    """
    port = free_port()
    token = "test-token-" + os.urandom(12).hex()

    def limit_open_files():
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    stderr = subprocess.STDOUT if log is None else open(log, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gru_tui", "serve", "--port", str(port), "--token", token, *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,  # its own process group, so the app copies it starts stop with it
        preexec_fn=limit_open_files if open_files else None,
        cwd=cwd,
    )
    if log is not None:
        stderr.close()  # the server holds its own copy
    try:
        printed = []
        for line in proc.stdout:  # the URL is printed once the server listens
            printed.append(line)
            if "?token=" in line:
                break
        else:
            raise AssertionError("gru-tui serve exited before printing its URL:\n" + "".join(printed))
        assert line.strip() == f"http://127.0.0.1:{port}/?token={token}"
        # Read the rest of what it prints: a pipe nobody reads fills up and blocks its log, and then its exit.
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield f"http://127.0.0.1:{port}", token, "".join(printed)
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # any app copy left in the group
    except ProcessLookupError:
        pass


class Browser:
    """Debian's chromium, headless, driven over the DevTools protocol (aiohttp's websocket client).

    Screenshots with --screenshot are taken before the app's first frame arrives over
    its websocket; the protocol lets the test wait for that frame instead.
    """

    def __init__(self, session, ws, proc, profile):
        self.session, self.ws, self.proc, self.profile = session, ws, proc, profile
        self._id = 0
        self.events: list[dict] = []
        self._browser_ws = None  # the browser-wide endpoint, opened for settings a page cannot make

    @classmethod
    async def start(cls) -> Browser:
        import aiohttp

        profile = tempfile.TemporaryDirectory(prefix="gru-tui-chromium-")
        proc = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile.name}",
                "--window-size=1280,800",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = Path(profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                stop_group(proc)
                raise AssertionError("chromium did not start its DevTools endpoint")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        session = aiohttp.ClientSession()
        async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
            page = next(t for t in await response.json() if t["type"] == "page")
        ws = await session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        browser = cls(session, ws, proc, profile)
        await browser.call("Page.enable")
        await browser.call("Network.enable")
        return browser

    async def allow_downloads(self, directory: Path) -> None:
        """Save downloads into ``directory`` (headless chromium refuses them otherwise), for every tab."""
        lines = (Path(self.profile.name) / "DevToolsActivePort").read_text().split()
        self._browser_ws = await self.session.ws_connect(f"ws://127.0.0.1:{lines[0]}{lines[1]}", max_msg_size=0)
        await self._browser_ws.send_json(
            {"id": 1, "method": "Browser.setDownloadBehavior", "params": {"behavior": "allow", "downloadPath": str(directory)}}
        )
        while (await self._browser_ws.receive_json()).get("id") != 1:
            pass

    async def press(self, key: str, code: str, key_code: int, modifiers: int = 0, text: str | None = None) -> None:
        """A key pressed and released in the page (modifiers: 2 is ctrl), as a person types it: a user gesture."""
        down = {"type": "keyDown", "key": key, "code": code, "windowsVirtualKeyCode": key_code, "modifiers": modifiers}
        await self.call("Input.dispatchKeyEvent", **down, **({"text": text} if text else {}))
        await self.call("Input.dispatchKeyEvent", **{**down, "type": "keyUp"})

    async def close(self) -> None:
        if self._browser_ws is not None:
            await self._browser_ws.close()
        await self.ws.close()
        await self.session.close()
        stop_group(self.proc)
        self.profile.cleanup()

    async def call(self, method: str, **params):
        import aiohttp

        self._id += 1
        await self.ws.send_json({"id": self._id, "method": method, "params": params})
        while True:
            received = await self.ws.receive()
            if received.type != aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"{method}: the DevTools connection closed ({received.type.name})")
            message = json.loads(received.data)
            if message.get("id") == self._id:
                if "error" in message:
                    raise AssertionError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 90):
        """Poll a JavaScript expression until it is truthy (a deadline against hanging, not a timing check)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.evaluate(expression)
            if value:
                return value
            await asyncio.sleep(0.25)
        raise AssertionError(f"still false after {timeout:.0f} s: {expression}")

    async def goto(self, url: str) -> None:
        await self.call("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    def websocket_text(self) -> str:
        """Everything the served app sent to the page over its websocket, as text."""
        chunks = []
        for event in self.events:
            if event.get("method") == "Network.webSocketFrameReceived":
                response = event["params"]["response"]
                data = response["payloadData"]
                chunks.append(base64.b64decode(data).decode("utf-8", "replace") if response["opcode"] == 2 else data)
        return "".join(chunks)

    async def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = (await self.call("Page.captureScreenshot", format="png"))["data"]
        path.write_bytes(base64.b64decode(data))
        return path
