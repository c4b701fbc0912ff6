"""``gru-tui serve``: the app in a browser (textual-serve), behind a token and an Origin check.

textual-serve starts one copy of the app per browser tab and has no access control:
any page a user opens could connect to its websocket and drive the app. Here:

- every request needs the token printed at start (``?token=...`` once, as Jupyter
  does; the answer sets an HttpOnly cookie and sends the browser on to the same
  address without the token, so it leaves the address bar and is never logged);
- the websocket is refused unless its Origin is the server's own (same scheme, host
  and port as the request's Host), so no other page can open it with the cookie;
- bound to loopback (the default), only loopback host names are answered, which
  stops DNS-rebinding; any other address gets a loud warning.

The page is never framed by another one (X-Frame-Options, CSP), loads nothing from
elsewhere (its font is served here) and sends no Referer. Bad requests cost little:
a connection that has not sent a whole request within a few seconds is closed, open
connections are capped below the open-file limit (the oldest idle one makes room),
the log has one line per request and event, rate-limited, and never a traceback.
A tab's terminal size is capped; the static files are served without directory listings.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import html
import ipaddress
import json
import logging
import os
import secrets
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.config import ConfigError
from ..run.lifetime import dies_with_this_process

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Each browser tab runs its own copy of the app (without torch: the tabs share one pool of device workers):
# a limit keeps a large class, or a page reloaded in a loop, from exhausting the machine.
DEFAULT_MAX_COPIES = 32
SERVE_CPU_WORKERS = 2  # device runs at once on the cpu for all tabs together (see start_pool)
# A class asks for many small runs: torch's OpenMP threads spin for a while after each operation, which took
# four fifths of a worker's CPU and left runs queued for seconds behind the tabs (benchmarks/bench_serve.py).
SERVE_WORKER_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
COOKIE_PREFIX = "gru_tui_token_"  # + the port: cookies ignore ports, and two servers must not share one
# The served command, for the serve layer's own development with a tiny app; users never set it.
ENV_COMMAND = "GRU_TUI_SERVE_COMMAND"
LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Nothing from elsewhere: a GPU server may have no internet, and a class should not be tracked.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
RETRY_SECONDS = 10  # how often the "all copies in use" page reloads itself
TEMPLATES = Path(__file__).with_name("templates")  # textual-serve's page, with the font served from here
IDLE_SECONDS = 5  # a connection without a whole request for this long is closed (half-sent headers included)
MAX_CONNECTIONS = 1024  # open connections at most, and fewer when the open-file limit is low (see connection_cap)
BACKLOG = 128  # connections the kernel queues; asyncio accepts up to this many at once before any is refused
MAX_COLUMNS, MAX_ROWS = 500, 200  # a 4K screen at the page's smallest font is about 400x110
LOG_LINES_PER_SECOND, LOG_BURST = 10, 50
# A run a tab asks for may take this long at most (the class shares the machine); --run-limit changes it.
DEFAULT_RUN_LIMIT = 120
# A run this old leaves its place in the pool to the tabs queued behind it: they get a worker of their own.
ASIDE_SECONDS = 1.0
COPY_STOP_SECONDS = 2.0  # a closed tab's copy that has not quit by then is killed
SHUTDOWN_GRACE_SECONDS = 0.3  # on SIGTERM/SIGINT: the copies' time to quit before they are killed
MAX_LOG_LINE = 300  # characters; a request's line never carries its raw bytes whole


def page(title: str, reason: str, hint: str, *, retry_seconds: int | None = None) -> str:
    """A plain page for a refused request; ``reason`` is escaped, ``hint`` is HTML."""
    refresh = f'<meta http-equiv="refresh" content="{retry_seconds}">' if retry_seconds else ""
    return f"""<!doctype html>
<html><head><meta charset="utf-8">{refresh}<title>gru-tui: {title}</title></head>
<body style="font-family: monospace; background: #0c181f; color: #eee; padding: 2em">
<h1>{title}</h1><p>{html.escape(reason)}</p>
<p>{hint}</p>
</body></html>
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gru-tui serve",
        description="Serve the app to web browsers. Loopback only by default: reach it from elsewhere with ssh -L.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}, this machine only)")
    parser.add_argument(
        "--port", type=whole_number(1, 65535), default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--follow", action="store_true", help="every served copy follows the configuration of `gru-tui --present`, read-only"
    )
    parser.add_argument(
        "--max-copies",
        type=whole_number(1),
        default=DEFAULT_MAX_COPIES,
        metavar="N",
        help=f"at most N browser tabs at once, each its own copy of the app; device runs go to one shared pool (default {DEFAULT_MAX_COPIES})",
    )
    parser.add_argument(
        "--run-limit",
        type=seconds,
        default=DEFAULT_RUN_LIMIT,
        metavar="SECONDS",
        help=f"stop a device run of a tab after this many seconds, so one tab cannot hold the class's workers "
        f"(default {DEFAULT_RUN_LIMIT})",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="the access token (default: a new random one each start; a token given here shows in `ps`)",
    )
    from ..model.flags import add_model_flags

    add_model_flags(parser)  # fixed here, for every copy: a browser never names a file
    return parser


def served_command(follow: bool, model: Sequence[str] = ()) -> str:
    """The command each tab's copy runs: fixed at the server's start (``model``: the --model flags it was given)."""
    command = os.environ.get(ENV_COMMAND) or f"{shlex.quote(sys.executable)} -m gru_tui"
    return command + (" --follow" if follow else "") + "".join(f" {shlex.quote(arg)}" for arg in model)


def model_arguments(args: argparse.Namespace) -> list[str]:
    """``serve --model ...`` as the served copies' flags: the file resolved and checked now, on the server."""
    from ..model.flags import model_flags_used, spec_from_args, timeout_seconds

    if not model_flags_used(args):
        return []
    spec = spec_from_args(args, ())
    flags = ["--model", spec.ref, *(arg for i in spec.inputs for arg in ("--input", i.text()))]
    if spec.inputs_function:
        flags += ["--inputs", ":".join(spec.inputs_function)]
    limit = timeout_seconds(args)
    return flags + (["--train"] if spec.train else []) + (["--timeout", f"{limit:g}"] if limit is not None else [])


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """The host as written in a URL (IPv6 in brackets); the wildcard addresses as this machine."""
    if host in ("0.0.0.0", "::", ""):
        return DEFAULT_HOST if host != "::" else "[::1]"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def whole_number(low: int, high: int | None = None):
    """An argparse type: one message, naming what is allowed, for text that is not a number and for one out of range."""
    allowed = f"a whole number from {low} to {high}" if high is not None else f"a whole number, {low} or more"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {text[:40]!r}")
        return value

    return parse


def seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0, or one message naming what is allowed."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {text[:40]!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.token is not None and (len(args.token) < 16 or not all(ch.isalnum() or ch in "-_" for ch in args.token)):
        parser.error("--token must be at least 16 characters of letters, digits, - and _")
    try:
        model = model_arguments(args)
    except ConfigError as error:
        parser.error(str(error))
    if model and args.follow:
        parser.error("--follow shares the presenter's assembled configuration; --model serves one model file")
    token = args.token or secrets.token_urlsafe(32)
    if not is_loopback(args.host):
        print(
            f"WARNING: listening on {args.host}, beyond this machine. Anyone who can reach port {args.port} and learns "
            "the token can drive the app, and the connection is not encrypted. Prefer the default 127.0.0.1 and "
            f"`ssh -L {args.port}:127.0.0.1:{args.port} <this host>`.",
            file=sys.stderr,
            flush=True,
        )
    notes = []
    if args.follow:
        from .follow import follow_file

        notes.append(f"Follow mode: every copy shows, read-only, what `gru-tui --present` shows (via {follow_file()}).")
    server = make_server(
        served_command(args.follow, model), host=args.host, port=args.port, token=token, notes=notes, max_copies=args.max_copies
    )
    pool = start_pool(args.run_limit)
    try:
        server.serve()
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    finally:
        pool.close()
    return 0


def start_pool(run_limit: float | None = DEFAULT_RUN_LIMIT):
    """One pool of device workers for every tab: the app copies it serves join it (they never import torch).

    ``SERVE_CPU_WORKERS`` runs at once on the cpu (one tab's long run leaves the others one), one per GPU
    (one CUDA context each), and a spare with torch loaded. Equal configurations (every follower of a
    presenter) run once. Fair to a class: a run older than ASIDE_SECONDS leaves its place to the tabs
    queued behind it, and one past ``run_limit`` is stopped. The socket is this user's alone and needs a
    secret key: only the copies this server starts, which get both in their environment, can submit work.
    """
    from ..run.pool import ENV_ADDRESS, ENV_KEY, Pool

    pool = Pool(
        cpu_workers=SERVE_CPU_WORKERS, worker_env=SERVE_WORKER_ENV, run_limit=run_limit, aside_after=ASIDE_SECONDS
    ).start()
    address, key = pool.listen()
    os.environ[ENV_ADDRESS], os.environ[ENV_KEY] = address, key.hex()  # textual-serve passes its environment on
    return pool


@functools.cache
def _server_class():
    """Built on first use, so importing this module (``gru-tui --help``) does not load aiohttp."""
    import aiohttp_jinja2
    import jinja2
    from aiohttp import WSMsgType, web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    class _Copy(AppService):
        """One tab's copy of the app: ``exec``'d in place of the shell textual-serve would leave above it, in a
        process group of its own, killed by the kernel if the server dies (however), and stopped within a deadline."""

        async def _open_app_process(self, width: int = 80, height: int = 24):
            self._process = process = await asyncio.create_subprocess_shell(
                f"exec {self.command}",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._build_environment(width=width, height=height),
                start_new_session=True,
                preexec_fn=dies_with_this_process(),
            )
            self._stdin = process.stdin
            return process

        async def stop_within(self, seconds: float) -> None:
            """Ask the copy to quit; kill it (and what it started) if it has not within ``seconds``."""
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            stopping = asyncio.ensure_future(self.stop())  # done once the copy's output has closed
            done, _ = await asyncio.wait([stopping], timeout=seconds)
            process = self._process
            if process is None:  # never started
                await stopping
                return
            try:
                if not done:
                    raise asyncio.TimeoutError
                # Its output closed is not its exit: a copy that stalls on its way out is killed all the same.
                await asyncio.wait_for(process.wait(), timeout=max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except OSError:
                    pass
            await stopping  # ends once the killed copy's output closes
            process.stdin.close()  # now, not when collected after the loop has closed (a logged error)
            await process.wait()

    class _AccessLog(web.AbstractAccessLogger):
        """One line a request: who, the method and the path without its query (where the token would be), the status."""

        def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
            self.logger.info('%s "%s %s" %s %.0f ms', request.remote, request.method, request.path, response.status, time * 1000)

    class _GuardedServer(Server):
        def __init__(self, command: str, host: str, port: int, token: str, notes: Sequence[str], max_copies: int):
            super().__init__(command, host=host, port=port, title="gru-tui", templates_path=TEMPLATES)
            self.max_copies = max_copies
            self.copies = 0  # app copies running now: one per open websocket
            self.token = token
            self.notes = list(notes)
            self.url = f"http://{url_host(host)}:{port}/?token={token}"
            self.cookie = f"{COOKIE_PREFIX}{port}"
            self._websockets: set[object] = set()  # the connections that carry a tab's app: never evicted
            self._copies: set[_Copy] = set()  # the app copies running now
            self._sockets: set[web.WebSocketResponse] = set()  # and their tabs' websockets
            self._stop: asyncio.Event | None = None

        async def _make_app(self) -> web.Application:
            """textual-serve's routes, without a directory listing under /static/, behind the guard."""
            app = web.Application(middlewares=[self._guard])
            aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
            app.add_routes(
                [
                    web.get("/", self.handle_index, name="index"),
                    web.get("/ws", self.handle_websocket, name="websocket"),
                    web.get("/download/{key}", self.handle_download, name="download"),
                    web.static("/static", self.statics_path, show_index=False, name="static"),
                ]
            )
            return app

        @web.middleware
        async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
            try:
                refusal = self.refusal(request)
            except ValueError:  # a token or cookie that is not text (UnicodeError is a ValueError)
                return web.Response(status=400, text="400 Bad Request: malformed token or cookie", headers=SECURITY_HEADERS)
            if refusal is not None:
                hint = "Open the address that <code>gru-tui serve</code> printed when it started: it ends in <code>?token=...</code>."
                return web.Response(
                    status=403, text=page("403 Forbidden", refusal, hint), content_type="text/html", headers=SECURITY_HEADERS
                )
            if "token" in request.query and not _is_websocket(request):
                return self._without_token(request)
            response = await handler(request)
            if not response.prepared:  # the websocket's answer is already on its way
                response.headers.update(SECURITY_HEADERS)
            return response

        def _without_token(self, request: web.Request) -> web.Response:
            """Set the cookie, then send the browser to the same address without the token (as Jupyter does).

            A link followed from another site gets a page that moves on by itself instead of a 303:
            a browser does not send a SameSite=Strict cookie along a redirect that another site started.
            """
            location = str(request.rel_url.without_query_params("token"))
            if request.headers.get("Sec-Fetch-Site", "none") in ("none", "same-origin"):
                response = web.Response(status=303, headers={**SECURITY_HEADERS, "Location": location})
            else:
                attribute = html.escape(location, quote=True)
                response = web.Response(
                    text=f'<!doctype html><meta http-equiv="refresh" content="0; url={attribute}">'
                    f'<title>gru-tui</title><a href="{attribute}">Open gru-tui</a>',
                    content_type="text/html",
                    headers=SECURITY_HEADERS,
                )
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/", secure=request.secure)
            return response

        def refusal(self, request: web.Request) -> str | None:
            """Why this request is refused, or None when it may pass; ValueError for a token that is not text."""
            if is_loopback(self.host) and not is_loopback(_hostname(request.host)):
                return "This server answers only to this machine's own names (localhost, 127.0.0.1)."
            token = request.query.get("token", request.cookies.get(self.cookie, ""))
            if not secrets.compare_digest(token.encode("ascii"), self.token.encode()):
                return "This address needs the right access token." if token else "This address needs an access token."
            if _is_websocket(request):
                origin = request.headers.get("Origin", "")
                parts = urlsplit(origin)
                if (parts.scheme, parts.netloc.lower()) != (request.scheme, request.host.lower()):
                    return f"The websocket may be opened only by this server's own page, not from {origin or 'no origin'}."
            return None

        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
            """textual-serve's, with --max-copies, a capped terminal size, and messages it cannot read ignored.

            The copy always ends with its tab: its slot is freed as the tab closes, and a copy that has not
            quit COPY_STOP_SECONDS later is killed."""
            if self.copies >= self.max_copies:
                return web.Response(
                    status=503,
                    text=f"gru-tui serve runs at most {self.max_copies} copies of the app at once; close a tab and reload.",
                    headers=SECURITY_HEADERS,
                )
            websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=1 << 16, timeout=1)
            width, height = terminal_size(request.query.get("width"), request.query.get("height"))
            self.copies += 1
            self._websockets.add(request.protocol)
            copy = None
            self._sockets.add(websocket)
            try:
                await websocket.prepare(request)
                copy = _Copy(
                    self.command,
                    write_bytes=websocket.send_bytes,
                    write_str=websocket.send_str,
                    close=websocket.close,
                    download_manager=self.download_manager,
                    debug=self.debug,
                )
                await copy.start(width, height)
                self._copies.add(copy)
                await self._process_messages(websocket, copy)
            finally:
                self._sockets.discard(websocket)
                self._websockets.discard(request.protocol)
                self.copies -= 1
                if copy is not None:
                    await copy.stop_within(COPY_STOP_SECONDS)
                    self._copies.discard(copy)
            return websocket

        async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
            async for message in websocket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    kind, data = json.loads(message.data)
                except (ValueError, TypeError, RecursionError):  # not a [type, data] pair; nested too deep
                    continue
                # Empty keystrokes are dropped: Textual's input parser reads an empty packet as the end of
                # its input, after which the copy reads nothing more, not even the quit as its tab closes.
                if kind == "stdin" and isinstance(data, str) and data:
                    await app_service.send_bytes(data.encode("utf-8", "replace"))
                elif kind == "resize" and isinstance(data, dict):
                    await app_service.set_terminal_size(*terminal_size(data.get("width"), data.get("height")))
                elif kind == "ping":
                    await websocket.send_json(["pong", data])
                elif kind == "blur":
                    await app_service.blur()
                elif kind == "focus":
                    await app_service.focus()

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            if self.copies >= self.max_copies:  # a page that says so, and tries again, instead of a dead terminal
                raise web.HTTPServiceUnavailable(
                    text=page(
                        "503 Every copy is in use",
                        f"gru-tui serve runs at most {self.max_copies} copies of the app at once, and all of them are open.",
                        f"This page tries again every {RETRY_SECONDS} seconds; closing another gru-tui tab frees a copy.",
                        retry_seconds=RETRY_SECONDS,
                    ),
                    content_type="text/html",
                    headers={**SECURITY_HEADERS, "Retry-After": str(RETRY_SECONDS)},
                )
            # The page's URLs follow the address the browser used (through ssh -L, or a 0.0.0.0 bind),
            # not the address the server listens on, so its websocket's Origin and Host agree.
            router = request.app.router
            websocket_scheme = "wss" if request.scheme == "https" else "ws"
            static = f"{request.scheme}://{request.host}{router['static'].url_for(filename='/')}"
            return {
                "font_size": to_int(request.query.get("fontsize", "16"), 16),
                "app_websocket_url": f"{websocket_scheme}://{request.host}{router['websocket'].url_for()}",
                "config": {"static": {"url": static.rstrip("/") + "/"}},
                "application": {"name": self.title},
            }

        def initialize_logging(self) -> None:
            """One plain line per event on stderr, rate-limited: no tracebacks (with their local variables)."""
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(OneLineFormatter())
            handler.addFilter(RateLimit(LOG_LINES_PER_SECOND, LOG_BURST))
            logging.basicConfig(level=logging.DEBUG if self.debug else logging.INFO, handlers=[handler], force=True)
            # A malformed request is already the access log's "400" line: not a second one from the parser.
            logging.getLogger("aiohttp.server").addFilter(lambda record: not _is_bad_request(record))

        def request_exit(self) -> None:
            if self._stop is not None:
                self._stop.set()

        def serve(self, debug: bool = False) -> None:
            """Serve until SIGINT or SIGTERM; the address is printed once the port is bound."""
            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._stop = asyncio.Event()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.request_exit)
            try:
                loop.run_until_complete(self._serve())
            finally:
                loop.close()

        async def _serve(self) -> None:
            runner = web.AppRunner(
                await self._make_app(),
                access_log_class=_AccessLog,
                keepalive_timeout=IDLE_SECONDS,
                shutdown_timeout=1,
            )
            await runner.setup()
            server = runner.server
            cap = connection_cap(_raise_open_file_limit(), self.max_copies)

            def connection():  # the protocol factory: one per accepted connection
                make_room(server.connections, cap, keep=self._websockets)
                return server()

            try:
                listener = await asyncio.get_running_loop().create_server(connection, self.host, self.port, backlog=BACKLOG)
                try:
                    self._announce()
                    await self._stop.wait()
                finally:
                    listener.close()  # not wait_closed(): it waits for the websockets, which cleanup() closes
            finally:
                # Every copy at once, briefly, then killed: not one tab's quit after another.
                await asyncio.gather(*(copy.stop_within(SHUTDOWN_GRACE_SECONDS) for copy in list(self._copies)))
                # The tabs' websockets closed here, all at once: cleanup() would wait out its timeout for their handlers.
                closing = [asyncio.ensure_future(ws.close()) for ws in list(self._sockets)]
                if closing:
                    await asyncio.wait(closing, timeout=SHUTDOWN_GRACE_SECONDS)
                await runner.cleanup()

        def _announce(self) -> None:
            lines = [
                f"gru-tui serve: serving `{self.command}`",
                "Open this address in a browser (it holds the access token; share it only with your class):",
                f"    {self.url}",
            ]
            if is_loopback(self.host):
                lines.append(f"From another machine: ssh -L {self.port}:127.0.0.1:{self.port} <this host>, then open it there.")
            lines += self.notes + ["Press Ctrl+C to stop."]
            print("\n".join(lines), flush=True)

    return _GuardedServer


def _is_websocket(request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket" or request.path == "/ws"


def _is_bad_request(record: logging.LogRecord) -> bool:
    from aiohttp.http_exceptions import HttpProcessingError

    return record.exc_info is not None and isinstance(record.exc_info[1], HttpProcessingError)


def terminal_size(width: object, height: object) -> tuple[int, int]:
    """A tab's terminal size as asked (query text or JSON numbers), within 1..MAX_COLUMNS x 1..MAX_ROWS; else 80x24."""

    def whole(value: object, default: int, limit: int) -> int:
        try:
            number = int(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else default
        except ValueError:
            number = default
        return max(1, min(limit, number))

    return whole(width, 80, MAX_COLUMNS), whole(height, 24, MAX_ROWS)


def connection_cap(open_files: int, max_copies: int) -> int:
    """How many connections may be open: below the open-file limit, leaving room for the app copies' pipes,
    the server's own files, and what a flood has in flight (asyncio accepts up to BACKLOG at once, before
    any of them makes room, and a closed connection's file is released a moment later)."""
    return max(16, min(MAX_CONNECTIONS, open_files - 4 * BACKLOG - 4 * max_copies - 64))


def make_room(connections: list, cap: int, keep: set) -> None:
    """Before a new connection is taken on at the cap: close the oldest ones that carry no tab's app.

    ``connections`` is oldest first (aiohttp's order), and holds the ones closing until they have
    closed: those no longer count. A flood of half-open sockets thus cannot lock a new tab
    out: it pushes out the flood's oldest, not the tab.
    """
    open_ = [handler for handler in connections if handler.transport is not None and not handler.transport.is_closing()]
    excess = len(open_) + 1 - cap
    for handler in open_:
        if excess <= 0:
            break
        if handler not in keep:
            handler.force_close()
            excess -= 1


def _raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; return the limit now in force."""
    try:
        import resource
    except ImportError:  # not on this platform: assume the common default
        return 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else MAX_CONNECTIONS * 4


class OneLineFormatter(logging.Formatter):
    """``time level: message``, with an exception as ``: Type: text`` on the same line, cut at MAX_LOG_LINE."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text += f": {type(error).__name__}: {error}"
        dropped = getattr(record, "dropped", 0)
        if dropped:
            text = f"({dropped} lines not logged: too many) {text}"
        text = " ".join(text.split())
        if len(text) > MAX_LOG_LINE:
            text = text[: MAX_LOG_LINE - 1] + "…"
        return f"{time.strftime('%H:%M:%S')} {record.levelname.lower()}: {text}"


class RateLimit(logging.Filter):
    """At most ``rate`` lines a second after a burst of ``burst``; the next line logged says how many were not."""

    def __init__(self, rate: float, burst: int):
        super().__init__()
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.last = time.monotonic()
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            self.dropped += 1
            return False
        self.tokens -= 1
        record.dropped, self.dropped = self.dropped, 0
        return True


def _hostname(host_header: str) -> str:
    """The name in a Host header, without the port ("[::1]:8000" -> "::1")."""
    return urlsplit(f"//{host_header}").hostname or ""


def make_server(command: str, host: str, port: int, token: str, notes: Sequence[str] = (), max_copies: int = DEFAULT_MAX_COPIES):
    """A textual-serve Server for ``command`` with the guards above; ``notes`` are printed with its address."""
    return _server_class()(command, host=host, port=port, token=token, notes=notes, max_copies=max_copies)
