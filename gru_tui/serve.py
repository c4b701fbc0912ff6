"""``gru-tui serve``: the app in a browser (textual-serve), behind a token and an Origin check.

textual-serve starts one copy of the app per browser tab and has no access control:
any page a user opens could connect to its websocket and drive the app. Here:

- every request needs the token printed at start (``?token=...`` once, as Jupyter
  does; the answer sets an HttpOnly cookie so the page's assets and websocket work);
- the websocket is refused unless its Origin is the server's own (same scheme, host
  and port as the request's Host), so no other page can open it with the cookie;
- bound to loopback (the default), only loopback host names are answered, which
  stops DNS-rebinding; any other address gets a loud warning.

The page is never framed by another one (X-Frame-Options, CSP) and sends no Referer.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import html
import ipaddress
import os
import secrets
import shlex
import signal
import sys
from typing import Any, Sequence
from urllib.parse import urlsplit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Each browser tab runs its own copy of the app, and each copy imports torch (a few hundred MiB of memory):
# a limit keeps a large class, or a page reloaded in a loop, from exhausting the machine.
DEFAULT_MAX_COPIES = 32
COOKIE_PREFIX = "gru_tui_token_"  # + the port: cookies ignore ports, and two servers must not share one
# The served command, for the serve layer's own development with a tiny app; users never set it.
ENV_COMMAND = "GRU_TUI_SERVE_COMMAND"
LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
RETRY_SECONDS = 10  # how often the "all copies in use" page reloads itself


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
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument(
        "--follow", action="store_true", help="every served copy follows the configuration of `gru-tui --present`, read-only"
    )
    parser.add_argument(
        "--max-copies", type=int, default=DEFAULT_MAX_COPIES, metavar="N",
        help=f"at most N browser tabs at once, each its own copy of the app with torch loaded (default {DEFAULT_MAX_COPIES})",
    )
    parser.add_argument(
        "--token", default=None, help="the access token (default: a new random one each start; a token given here shows in `ps`)",
    )
    return parser


def served_command(follow: bool) -> str:
    command = os.environ.get(ENV_COMMAND) or f"{shlex.quote(sys.executable)} -m gru_tui"
    return command + (" --follow" if follow else "")


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be from 1 to 65535, got {args.port}")
    if args.max_copies < 1:
        parser.error(f"--max-copies must be 1 or more, got {args.max_copies}")
    if args.token is not None and (len(args.token) < 16 or not all(ch.isalnum() or ch in "-_" for ch in args.token)):
        parser.error("--token must be at least 16 characters of letters, digits, - and _")
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
        served_command(args.follow), host=args.host, port=args.port, token=token, notes=notes, max_copies=args.max_copies
    )
    try:
        server.serve()
    except OSError as error:
        print(f"error: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    return 0


@functools.cache
def _server_class():
    """Built on first use, so importing this module (``gru-tui --help``) does not load aiohttp."""
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.server import Server, to_int

    class _GuardedServer(Server):
        def __init__(self, command: str, host: str, port: int, token: str, notes: Sequence[str], max_copies: int):
            super().__init__(command, host=host, port=port, title="gru-tui")
            self.max_copies = max_copies
            self.copies = 0  # app copies running now: one per open websocket
            self.token = token
            self.notes = list(notes)
            self.url = f"http://{url_host(host)}:{port}/?token={token}"
            self.cookie = f"{COOKIE_PREFIX}{port}"

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(self._guard)
            return app

        @web.middleware
        async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
            refusal = self.refusal(request)
            if refusal is not None:
                hint = "Open the address that <code>gru-tui serve</code> printed when it started: it ends in <code>?token=...</code>."
                return web.Response(
                    status=403, text=page("403 Forbidden", refusal, hint), content_type="text/html", headers=SECURITY_HEADERS
                )
            response = await handler(request)
            if not response.prepared:  # the websocket's answer is already on its way
                response.headers.update(SECURITY_HEADERS)
                if "token" in request.query:
                    response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/", secure=request.secure)
            return response

        def refusal(self, request: web.Request) -> str | None:
            """Why this request is refused, or None when it may pass."""
            if is_loopback(self.host) and not is_loopback(_hostname(request.host)):
                return "This server answers only to this machine's own names (localhost, 127.0.0.1)."
            token = request.query.get("token", request.cookies.get(self.cookie, ""))
            if not secrets.compare_digest(token.encode(), self.token.encode()):
                return "This address needs the right access token." if token else "This address needs an access token."
            if request.headers.get("Upgrade", "").lower() == "websocket" or request.path == "/ws":
                origin = request.headers.get("Origin", "")
                parts = urlsplit(origin)
                if (parts.scheme, parts.netloc.lower()) != (request.scheme, request.host.lower()):
                    return f"The websocket may be opened only by this server's own page, not from {origin or 'no origin'}."
            return None

        async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
            if self.copies >= self.max_copies:
                return web.Response(
                    status=503,
                    text=f"gru-tui serve runs at most {self.max_copies} copies of the app at once; close a tab and reload.",
                    headers=SECURITY_HEADERS,
                )
            self.copies += 1
            try:
                return await super().handle_websocket(request)
            finally:
                self.copies -= 1

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

        async def on_startup(self, app: web.Application) -> None:
            pass  # textual-serve prints its banner here, before the port is bound; see serve()

        def serve(self, debug: bool = False) -> None:
            """As textual-serve's, but the address is printed once the port is bound, not before."""
            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, self.request_exit)
            web.run_app(
                self._make_app(), host=self.host, port=self.port, handle_signals=False, loop=loop, print=self._announce
            )

        def _announce(self, _aiohttp_banner: str) -> None:
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


def _hostname(host_header: str) -> str:
    """The name in a Host header, without the port ("[::1]:8000" -> "::1")."""
    return urlsplit(f"//{host_header}").hostname or ""


def make_server(
    command: str, host: str, port: int, token: str, notes: Sequence[str] = (), max_copies: int = DEFAULT_MAX_COPIES
):
    """A textual-serve Server for ``command`` with the guards above; ``notes`` are printed with its address."""
    return _server_class()(command, host=host, port=port, token=token, notes=notes, max_copies=max_copies)
