"""`gru-tui serve`: the real server in a subprocess, checked with plain HTTP, a websocket client and chromium."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import aiohttp
import pytest
from served import ARTIFACTS, Browser, free_port, serve, stop_group

from gru_tui.share.serve import ENV_COMMAND, is_loopback, served_command


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an answer to check, not to follow


_opener = urllib.request.build_opener(_NoRedirect)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict]:
    """One request, redirects not followed: (status, body, headers)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)


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
        (["--port", "eighty"], "argument --port: must be a whole number from 1 to 65535, got 'eighty'"),
        (["--port", "70000"], "argument --port: must be a whole number from 1 to 65535, got '70000'"),
        (["--token", "short"], "--token must be at least 16 characters"),
        (["--max-copies", "0"], "argument --max-copies: must be a whole number, 1 or more, got '0'"),
        (["--max-copies", "2.5"], "argument --max-copies: must be a whole number, 1 or more, got '2.5'"),
        (["--run-limit", "0"], "argument --run-limit: must be a number of seconds above 0, got '0'"),
        (["--run-limit", "soon"], "argument --run-limit: must be a number of seconds above 0, got 'soon'"),
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
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
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
    assert served_command(False).split()[1:] == ["-m", "gru_tui"]
    assert served_command(True).endswith(" -m gru_tui --follow")


# -- what a tab may do (issue #9) ----------------------------------------------------------


class Tab:
    """A browser tab as textual-serve's page is one: the app's websocket, its frames and its messages."""

    def __init__(self, ws):
        self.ws = ws
        self.screen = ""  # every frame the app drew, as text
        self.messages: list = []  # what the server said besides frames, e.g. ["deliver_file_start", key]
        self._reader = asyncio.create_task(self._read())

    async def _read(self):
        async for message in self.ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.screen += message.data.decode("utf-8", "replace")
            elif message.type == aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(message.data))

    def text(self) -> str:
        """What the app drew since the last ``shows``, without the terminal's escape sequences."""
        return re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", "", self.screen)

    async def keys(self, *keys: str) -> None:
        """Each key in its own message, as xterm.js sends what is typed (a longer one reads as a paste)."""
        for key in keys:
            await self.ws.send_json(["stdin", key])

    async def clear_field(self) -> None:
        await self.keys("\x15")  # ctrl+u
        await asyncio.sleep(1)  # a field's key bindings run after the characters already queued: let it land first

    async def shows(self, text: str, timeout: float = 120) -> None:
        """Wait until the app has drawn ``text`` since the last call (a deadline against hanging, not a timing check)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while text not in self.text():
            assert asyncio.get_running_loop().time() < deadline, f"the app never drew {text!r}"
            await asyncio.sleep(0.1)
        self.screen = ""

    async def download(self, session, base: str) -> tuple[str, str]:
        """The next file the app delivers, fetched as the page does: (its name, its text)."""
        for _ in range(600):
            if self.messages:
                break
            await asyncio.sleep(0.1)
        assert self.messages, f"no download; the app drew: {' '.join(self.text().split())[-3000:]!r}"
        kind, key = self.messages.pop(0)
        assert kind == "deliver_file_start"
        async with session.get(f"{base}/download/{key}") as response:
            assert response.status == 200
            disposition = response.headers["Content-Disposition"]
            assert disposition.startswith("attachment; filename=")
            return disposition.split("filename=")[1], await response.text()


@contextlib.asynccontextmanager
async def tab(base: str, token: str, width: int = 100, height: int = 30):
    headers = {"Origin": base, "Cookie": f"{cookie_name(base)}={token}"}
    async with aiohttp.ClientSession(headers={"Cookie": headers["Cookie"]}) as session:
        ws = await session.ws_connect(
            f"{base.replace('http:', 'ws:')}/ws?width={width}&height={height}", headers=headers, max_msg_size=0
        )
        opened = Tab(ws)
        try:
            yield opened, session
        finally:
            await ws.close()
            opened._reader.cancel()


F3 = "\x1bOR"  # the tree pane: its keys are the app's (a form field keeps letters typed in it)


@pytest.mark.skipif(importlib.util.find_spec("gru_tui.app") is None, reason="serves the real app, which this checkout lacks")
async def test_a_served_copy_writes_nothing_on_the_server_and_downloads_instead(tmp_path):
    """ctrl+s, x and s in a served copy: each file reaches the browser as a download; nothing appears on the server."""
    workdir, home = tmp_path / "server-dir", tmp_path / "home"
    workdir.mkdir()
    home.mkdir()
    with serve(cwd=workdir, env={"HOME": str(home), "XDG_DOWNLOAD_DIR": str(home / "Downloads")}) as (base, token, _):
        async with tab(base, token) as (app, session):
            await app.shows("nn.GRU(10, 32, batch_first=True)")
            await app.keys(F3)
            await app.keys("\x13")  # ctrl+s
            await app.shows("Download the lesson as a handout")
            assert "Overwrite" not in app.screen
            await app.keys("\r")
            name, text = await app.download(session, base)
            assert name == "gru-lesson.md" and text.startswith("# nn.GRU(10, 32, batch_first=True)")
            await app.shows("sent to your browser")

            await app.keys("x")
            await app.shows("Download the lesson as a handout")
            await app.clear_field()
            await app.keys(*"lesson.json")  # the extension decides the format
            await app.shows("format: json, from the file name's extension")
            await app.keys("\r")
            name, text = await app.download(session, base)
            assert name == "lesson.json" and json.loads(text)["output"]["shape"] == [1, 35, 32]

            await app.keys("s")
            await app.shows("Download the configuration")
            await app.clear_field()
            await app.keys(*"../../etc/gru.toml")  # a path on the server is not offered
            await app.keys("\r")
            await app.shows("a file name only")
            await app.clear_field()
            await app.keys(*"class.toml", "\r")
            name, text = await app.download(session, base)
            assert name == "class.toml" and "hidden_size = 32" in text
    written = [p for p in tmp_path.rglob("*") if p.is_file() and ("lesson" in p.name or p.suffix == ".toml")]
    assert written == [] and list(workdir.iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("gru_tui.app") is None, reason="serves the real app, which this checkout lacks")
async def test_a_tab_cannot_ask_for_a_huge_terminal(server):
    """5000x5000 cells was 556 MiB in the app and 228 MB of frames: the size is capped, in the query and on resize."""
    base, token = server
    async with tab(base, token, width=5000, height=5000) as (app, _session):
        await app.shows("nn.GRU(10, 32, batch_first=True)")
        await app.ws.send_json(["resize", {"width": 10**9, "height": 10**9}])
        await app.ws.send_str("not json")  # ignored, as is anything else a page would not send
        await app.ws.send_json(["stdin", "\ud800"])
        await app.keys("\x1bOS")  # f4: the app still answers
        await app.shows("torchinfo")
        rows = {int(row) for row in re.findall(r"\x1b\[(\d+);\d+H", app.screen)}
        assert not rows or max(rows) <= 200


def test_no_directory_listing_under_static(server):
    base, token = server
    cookie = {"Cookie": f"{cookie_name(base)}={token}"}
    assert get(f"{base}/static/js/textual.js", cookie)[0] == 200
    for listing in ("/static/", "/static/js/", "/static/js", "/static/fonts/"):
        status, body, _ = get(f"{base}{listing}", cookie)
        assert status in (403, 404) and "textual.js" not in body and "Index of" not in body


def test_the_page_loads_nothing_from_elsewhere(server):
    base, token = server
    status, page, headers = get(f"{base}/", {"Cookie": f"{cookie_name(base)}={token}"})
    assert status == 200 and "googleapis" not in page
    assets = re.findall(r"(?:\bsrc=|\bhref=|\burl\()\"([^\"]*)", page)
    assert assets and all(url.startswith(f"{base}/static/") for url in assets)  # every asset is this server's
    assert "fonts/RobotoMono-VariableFont_wght.ttf" in page
    assert "default-src 'self'" in headers["Content-Security-Policy"]  # and the browser refuses anything else
    assert get(f"{base}/static/fonts/RobotoMono-VariableFont_wght.ttf", {"Cookie": f"{cookie_name(base)}={token}"})[0] == 200


def test_the_token_is_never_logged_and_leaves_the_address(tmp_path):
    log = tmp_path / "serve.log"
    with serve(log=log) as (base, token, _printed):
        status, _, headers = get(f"{base}/?fontsize=20&token={token}")
        assert status == 303 and headers["Location"] == "/?fontsize=20"
        # A link followed from another site: a page that moves on by itself, as a Strict cookie would not follow a 303.
        status, page, headers = get(f"{base}/?token={token}", {"Sec-Fetch-Site": "cross-site"})
        assert status == 200 and '<meta http-equiv="refresh" content="0; url=/">' in page and token not in page
        assert headers["Set-Cookie"].startswith(f"{cookie_name(base)}={token};")
        get(f"{base}/static/js/textual.js?token={token}")
        get(f"{base}/?token=wrong-{token}")
        time.sleep(0.5)
    logged = log.read_text()
    assert '"GET /" 303' in logged and '"GET /static/js/textual.js" 303' in logged
    assert token not in logged


def raw_request(base: str, data: bytes) -> bytes:
    port = urllib.parse.urlsplit(base).port
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_bad_requests_get_400_and_one_line_each(tmp_path):
    log = tmp_path / "serve.log"
    with serve(log=log) as (base, token, _printed):
        port = urllib.parse.urlsplit(base).port
        host = f"Host: 127.0.0.1:{port}\r\n".encode()
        cookie = f"Cookie: {cookie_name(base)}=".encode()
        bad = [
            b"GET / HTTP/1.1\r\n" + host + cookie + b"\xff\xfe\x80secret\r\nConnection: close\r\n\r\n",  # not UTF-8
            b"GET /?" + b"a" * 9000 + b" HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n",  # a 9 KB URL
            b"GET / HTTP/1.1\r\n" + host + b"X: " + b"b" * 9000 + b"\r\nConnection: close\r\n\r\n",  # a 9 KB header
            b"NOT HTTP AT ALL\r\n\r\n",
        ]
        for request in bad:
            assert re.match(rb"HTTP/1\.[01] 400 ", raw_request(base, request))
        time.sleep(0.5)
    logged = log.read_text()
    assert "Traceback" not in logged and "aaaaaaaaaa" not in logged and "bbbbbbbbbb" not in logged
    lines = logged.splitlines()
    assert len(lines) <= len(bad) and all(len(line) < 400 for line in lines)


@pytest.mark.skipif(sys.platform != "linux", reason="sets the server's open-file limit (Linux)")
def count_open(sockets: list[socket.socket]) -> int:
    """How many of the sockets the server has not closed (a read would still wait)."""
    still_open = 0
    for sock in sockets:
        if sock.fileno() < 0:
            continue
        sock.settimeout(0.001)
        try:
            if sock.recv(1) != b"":
                still_open += 1
            else:
                sock.close()  # closed by the server: not asked again
        except TimeoutError:
            still_open += 1
        except OSError:
            sock.close()  # reset: closed
    return still_open


def test_a_flood_of_half_open_connections_leaves_room_for_a_new_tab(tmp_path):
    """1500 half-sent requests against a server allowed 1024 open files: a new tab still connects at once,
    the flood's sockets are closed within seconds, the log stays short and has no traceback."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    log = tmp_path / "serve.log"
    with serve(log=log, open_files=1024) as (base, token, _printed):
        port = urllib.parse.urlsplit(base).port
        flood = []
        try:
            started = time.monotonic()
            for _ in range(1500):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Half: sent".encode())  # never finished
                flood.append(sock)
            opened = time.monotonic() - started
            asked = time.monotonic()
            status, page, _ = get(f"{base}/", {"Cookie": f"{cookie_name(base)}={token}"})
            answered = time.monotonic() - asked
            assert status == 200 and "data-session-websocket-url" in page
            # IDLE_SECONDS is 5: every half-sent request is closed within 7 s; looked at until they are.
            deadline = time.monotonic() + 7
            while (still_open := count_open(flood)) and time.monotonic() < deadline:
                time.sleep(0.25)
            print(
                f"{len(flood)} half-open sockets opened in {opened:.1f} s; a new request answered in {answered * 1000:.0f} ms; "
                f"{still_open} still open {time.monotonic() - started:.1f} s after the first"
            )
            assert still_open == 0
        finally:
            for sock in flood:
                sock.close()
    logged = log.read_text()
    assert "Traceback" not in logged and "Too many open files" not in logged
    assert len(logged.splitlines()) < 100


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
            # Nothing leaves the server (issue #14): no font service, no other host; the font is the server's copy.
            requested = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
            websockets = [e["params"]["url"] for e in browser.events if e.get("method") == "Network.webSocketCreated"]
            assert requested and websockets
            assert all(url.startswith(f"{base}/") or url.startswith("data:") for url in requested), requested
            assert websockets == [base.replace("http:", "ws:") + "/ws?width=" + websockets[0].split("width=")[1]]
            assert f"{base}/?token={token}" in requested and await browser.evaluate("location.search") == ""  # token gone
            assert await browser.wait_for(
                "[...document.fonts].some(f => f.family.includes('Roboto Mono') && f.status === 'loaded')"
            )
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

            # The address followed from another site (a link in the class's chat): the app opens, the token leaves
            # the address bar, though a SameSite=Strict cookie does not go along a redirect another site started.
            await browser.call("Network.clearBrowserCookies")
            site = foreign_site(f'<!doctype html><a href="{base}/?token={token}">the class</a>')
            try:
                await browser.goto(f"http://localhost:{site.server_address[1]}/")  # localhost: another site than 127.0.0.1
                await browser.evaluate("document.querySelector('a').click()")
                await browser.wait_for(f"location.href === '{base}/' && document.body.classList.contains('-first-byte')")
            finally:
                site.shutdown()
                site.server_close()
        finally:
            await browser.close()


@pytest.mark.browser
@pytest.mark.skipif(importlib.util.find_spec("gru_tui.app") is None, reason="serves the real app, which this checkout lacks")
async def test_follow_mode_in_chromium(tmp_path):
    """`gru-tui serve --follow`: the page shows the presenter's configuration, read-only, as it changes."""
    from gru_tui.core.config import FIRST_EXAMPLE
    from gru_tui.lessons import PRESETS
    from gru_tui.share.follow import ENV_FILE, Publisher

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


@pytest.mark.browser
@pytest.mark.skipif(importlib.util.find_spec("gru_tui.app") is None, reason="serves the real app, which this checkout lacks")
async def test_export_in_chromium_is_a_download(tmp_path):
    """ctrl+s, enter in the page: the handout lands in the browser's downloads, and nowhere on the server."""
    downloads, workdir = tmp_path / "downloads", tmp_path / "server-dir"
    downloads.mkdir()
    workdir.mkdir()
    with serve(cwd=workdir) as (base, token, _printed):
        browser = await Browser.start()
        try:
            await browser.allow_downloads(downloads)
            await browser.goto(f"{base}/?token={token}")
            await browser.wait_for("document.body.classList.contains('-first-byte')")
            for _ in range(240):
                await browser.evaluate("1")  # collect the websocket frames that arrived meanwhile
                if APP_TEXT in screen_text(browser):
                    break
                await asyncio.sleep(0.25)
            await browser.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
            await browser.press("F3", "F3", 114)
            await browser.press("s", "KeyS", 83, modifiers=2)  # ctrl+s
            for _ in range(240):
                await browser.evaluate("1")
                if "Download the lesson as a handout" in screen_text(browser):
                    break
                await asyncio.sleep(0.25)
            await browser.press("Enter", "Enter", 13, text="\r")
            handout = downloads / "gru-lesson.md"
            for _ in range(240):
                if handout.exists():
                    break
                await asyncio.sleep(0.25)
            assert handout.read_text().startswith("# nn.GRU(10, 32, batch_first=True)")
        finally:
            await browser.close()
    assert list(workdir.iterdir()) == []


def test_the_log_is_one_line_a_record_and_rate_limited():
    import logging

    from gru_tui.share.serve import MAX_LOG_LINE, OneLineFormatter, RateLimit

    limit, formatter = RateLimit(rate=10, burst=5), OneLineFormatter()
    flood = [logging.makeLogRecord({"msg": f"request {n}", "levelname": "INFO"}) for n in range(1000)]
    assert len([record for record in flood if limit.filter(record)]) <= 6  # the burst, and what refilled meanwhile
    time.sleep(0.3)
    try:
        raise ValueError("bad\nrequest " + "x" * 10_000)
    except ValueError:
        record = logging.makeLogRecord({"msg": "Error handling request", "levelname": "ERROR", "exc_info": sys.exc_info()})
    assert limit.filter(record)
    line = formatter.format(record)
    assert "\n" not in line and len(line) < MAX_LOG_LINE + 20 and "Traceback" not in line
    assert "lines not logged: too many" in line and "Error handling request: ValueError: bad request xxx" in line
