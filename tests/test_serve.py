"""`gru-tui serve`: the real server in a subprocess, checked with plain HTTP, a websocket client and chromium."""

from __future__ import annotations

import asyncio
import http.server
import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

import aiohttp
import pytest

from gru_tui.serve import ENV_COMMAND, is_loopback, served_command
from served import ARTIFACTS, Browser, free_port, serve, stop_group


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to check, not to follow


_opener = urllib.request.build_opener(_NoRedirect)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict]:
    """One request, redirects not followed: (status, body, headers)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=30) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def cookie_name(url: str) -> str:
    return f"gru_tui_token_{urllib.parse.urlsplit(url).port}"


@pytest.fixture(scope="module")
def server():
    with serve() as (base, token, _printed):
        yield base, token


def test_requests_need_the_token(server):
    base, token = server
    assert get(f"{base}/")[0] == 403
    assert get(f"{base}/?token=wrong-{token}")[0] == 403
    assert get(f"{base}/static/js/textual.js")[0] == 403
    assert get(f"{base}/download/anything")[0] == 403
    status, _, headers = get(f"{base}/?token={token}")
    assert status == 303 and headers["Location"] == "/"  # the token leaves the address bar once the cookie is set
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"{cookie_name(base)}={token};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    status, page, headers = get(f"{base}/", {"Cookie": f"{cookie_name(base)}={token}"})
    assert status == 200
    assert 'data-session-websocket-url="ws://127.0.0.1:' in page
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer"


def test_the_cookie_opens_the_assets(server):
    base, token = server
    status, script, _ = get(f"{base}/static/js/textual.js", {"Cookie": f"{cookie_name(base)}={token}"})
    assert status == 200 and "WebSocket" in script
    assert get(f"{base}/static/js/textual.js", {"Cookie": f"{cookie_name(base)}=wrong"})[0] == 403


def test_the_403_page_says_what_to_do(server):
    base, _ = server
    status, page, _ = get(f"{base}/?token=nope")
    assert status == 403 and "?token=" in page and "right access token" in page


def test_a_foreign_host_name_is_refused_on_loopback(server):
    # DNS rebinding: a name that resolves to 127.0.0.1 but is not this machine's own.
    base, token = server
    port = base.rsplit(":", 1)[1]
    assert get(f"{base}/?token={token}", {"Host": f"attacker.example:{port}"})[0] == 403
    assert get(f"{base}/?token={token}", {"Host": f"localhost:{port}"})[0] == 303


async def ws_status(url: str, origin: str | None, cookie: str | None) -> int:
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if cookie is not None:
        headers["Cookie"] = f"{cookie_name(url)}={cookie}"
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(url, headers=headers)
        except aiohttp.WSServerHandshakeError as error:
            return error.status
        await ws.close()
        return 101


async def test_websocket_needs_own_origin_and_token(server):
    base, token = server
    ws = base.replace("http:", "ws:") + "/ws?width=80&height=24"
    assert await ws_status(ws, origin=base, cookie=token) == 101
    assert await ws_status(ws, origin="http://evil.example", cookie=token) == 403
    assert await ws_status(ws, origin=base.replace("127.0.0.1", "localhost"), cookie=token) == 403  # another origin
    assert await ws_status(ws, origin=base.rsplit(":", 1)[0] + ":1", cookie=token) == 403  # another port
    assert await ws_status(ws, origin=None, cookie=token) == 403
    assert await ws_status(ws, origin=base, cookie=None) == 403
    assert await ws_status(ws, origin=base, cookie="wrong") == 403


async def test_at_most_max_copies_at_once():
    with serve("--max-copies", "1") as (base, token, _printed):
        ws = base.replace("http:", "ws:") + "/ws?width=80&height=24"
        headers = {"Origin": base, "Cookie": f"{cookie_name(base)}={token}"}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:  # unsafe: 127.0.0.1
            first = await session.ws_connect(ws, headers=headers)
            assert await ws_status(ws, origin=base, cookie=token) == 503
            async with session.get(f"{base}/?token={token}") as page:  # a new tab gets a page saying why
                text = await page.text()
                assert page.status == 503 and page.headers["Retry-After"] == "10"
                assert "at most 1 copies" in text and 'http-equiv="refresh" content="10"' in text
            await first.close()
            for _ in range(150):  # the server notices the closed tab and stops its copy of the app
                if await ws_status(ws, origin=base, cookie=token) == 101:
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("a copy was still counted after its tab closed")
            for _ in range(150):  # and a new tab gets the app again, once that copy has stopped too
                async with session.get(f"{base}/?token={token}") as page:
                    if page.status == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                pytest.fail("the page still said every copy was in use after the tabs closed")


def run_serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gru_tui", "serve", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "eighty"], "invalid int value"),
        (["--port", "70000"], "--port must be from 1 to 65535"),
        (["--token", "short"], "--token must be at least 16 characters"),
        (["--max-copies", "0"], "--max-copies must be 1 or more"),
        (["--colour"], "unrecognized arguments"),
    ],
)
def test_bad_flags_exit_2(args, message):
    result = run_serve(*args)
    assert result.returncode == 2
    assert "error:" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_is_a_message():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_serve("--port", str(taken.getsockname()[1]))
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot listen on 127.0.0.1:") and "Traceback" not in result.stderr


def test_binding_beyond_loopback_warns_loudly():
    with serve("--host", "0.0.0.0") as (base, token, printed):
        assert get(f"{base}/", {"Cookie": f"{cookie_name(base)}={token}"})[0] == 200
    assert "WARNING: listening on 0.0.0.0, beyond this machine" in printed


def test_loopback_prints_no_warning():
    with serve() as (_base, _token, printed):
        assert "WARNING" not in printed  # the warning comes before the address when there is one


def test_follow_mode_says_what_the_copies_follow(tmp_path):
    follow = tmp_path / "class.json"
    with serve("--follow", env={"GRU_TUI_FOLLOW_FILE": str(follow)}) as (_base, _token, printed):
        pass
    assert "gru_tui --follow`" in printed.splitlines()[0]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_term_stops_it_cleanly(signum):
    proc = subprocess.Popen(
        [sys.executable, "-m", "gru_tui", "serve", "--port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        for line in proc.stdout:
            if "?token=" in line:
                break
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=30)
    finally:
        stop_group(proc)
    assert proc.returncode == 0 and err == ""


def test_loopback_names():
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.5", "example.org"))


def test_served_command_runs_this_python():
    assert served_command(False) .split()[1:] == ["-m", "gru_tui"]
    assert served_command(True).endswith(" -m gru_tui --follow")


# -- in a real browser ---------------------------------------------------------------

FOREIGN_PAGE = """<!doctype html><title>waiting</title><script>
const ws = new WebSocket("{ws}");
ws.onopen = () => {{ document.title = "opened"; }};
ws.onerror = () => {{ document.title = "refused"; }};
</script>"""


def foreign_site(html: str):
    """Another site on this machine (another port): the page an attacker would get a user to open."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


APP_TEXT = "nn.GRU(10, 32, batch_first=True)"  # the first example's module, as the app shows it


def screen_text(browser: Browser) -> str:
    """What the app drew, without the terminal's escape sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]", "", browser.websocket_text())


@pytest.mark.browser
@pytest.mark.skipif(
    importlib.util.find_spec("gru_tui.app") is None and ENV_COMMAND not in os.environ,
    reason="serves the real app, which this checkout lacks",
)
async def test_in_chromium():
    with serve() as (base, token, _printed):
        browser = await Browser.start()
        try:
            # A wrong token (and no cookie yet): the 403 page, not the app.
            await browser.goto(f"{base}/?token=wrong-token-0123456789")
            assert "403 Forbidden" in await browser.evaluate("document.body.innerText")
            assert not await browser.evaluate("!!document.querySelector('.textual-terminal')")
            await browser.screenshot(ARTIFACTS / "serve-wrong-token.png")

            # The right token: the app starts and draws its shape tree in the page.
            await browser.goto(f"{base}/?token={token}")
            await browser.wait_for("document.body.classList.contains('-first-byte')")
            for _ in range(240):
                await browser.evaluate("1")  # collect the websocket frames that arrived meanwhile
                if APP_TEXT in screen_text(browser):
                    break
                await asyncio.sleep(0.25)
            assert APP_TEXT in screen_text(browser)
            await asyncio.sleep(1)  # let the canvas paint the frames that arrived, for the picture only
            shot = await browser.screenshot(ARTIFACTS / "serve-app.png")
            assert shot.read_bytes().startswith(b"\x89PNG")  # kept under test-artifacts/ for a person to look at

            # Another page on this machine, in the same browser (it holds the cookie now): its websocket is refused.
            site = foreign_site(FOREIGN_PAGE.format(ws=base.replace("http:", "ws:") + "/ws"))
            try:
                await browser.goto(f"http://127.0.0.1:{site.server_address[1]}/")
                assert await browser.wait_for("document.title !== 'waiting' && document.title") == "refused"
            finally:
                site.shutdown()
                site.server_close()
        finally:
            await browser.close()


@pytest.mark.browser
@pytest.mark.skipif(importlib.util.find_spec("gru_tui.app") is None, reason="serves the real app, which this checkout lacks")
async def test_follow_mode_in_chromium(tmp_path):
    """`gru-tui serve --follow`: the page shows the presenter's configuration, read-only, as it changes."""
    from gru_tui.config import FIRST_EXAMPLE
    from gru_tui.follow import ENV_FILE, Publisher
    from gru_tui.lessons import PRESETS

    follow_file = tmp_path / "follow.json"
    with serve("--follow", env={ENV_FILE: str(follow_file)}) as (base, token, printed):
        assert "gru_tui --follow" in printed  # the copies it serves follow
        browser = await Browser.start()
        try:
            await browser.goto(f"{base}/?token={token}")
            await browser.wait_for("document.body.classList.contains('-first-byte')")

            async def shown(text: str) -> bool:
                for _ in range(240):
                    await browser.evaluate("1")  # collect the websocket frames that arrived meanwhile
                    if text in screen_text(browser):
                        return True
                    await asyncio.sleep(0.25)
                return False

            assert await shown("following the presenter")
            # The presenter's side, as `gru-tui --present` publishes (its app is checked in test_app_lessons).
            Publisher(follow_file).publish(PRESETS["stacked"].config)
            assert PRESETS["stacked"].config == FIRST_EXAMPLE.replace(num_layers=2)
            assert await shown(PRESETS["stacked"].title)
            await asyncio.sleep(1)  # let the canvas paint the frames that arrived, for the picture only
            await browser.screenshot(ARTIFACTS / "serve-follow.png")
        finally:
            await browser.close()
