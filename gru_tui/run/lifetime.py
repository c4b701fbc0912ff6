"""Every process gru-tui starts ends with the process that started it, whatever ends that one.

The clean paths (a quit, a closed tab, a stopped server) end their children themselves; this is for
the others (SIGKILL, a crash, an SSH session dropped): on Linux the kernel's parent-death signal
(``prctl(PR_SET_PDEATHSIG)``), set in the child between fork and exec. SIGKILL by default: a worker
inside one C call that holds the GIL could not run a Python handler, and a stopped one could not
either; SIGKILL ends both.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Callable

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
REAP_SECONDS = 2.0  # how long a process that was told (or killed) to end is waited for


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()  # looked up once, in the parent: the child only calls it


def dies_with_this_process(signum: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` for Popen: the child gets ``signum`` when this process ends (None where not supported).

    The kernel sends it when the *thread* that forked the child ends; a child forked from a thread
    that ends before this process does is thus ended with that thread (the pool's and the server's
    children are forked on threads that live as long as they do). Checked after setting it: a parent
    that ended before the signal was armed has already left the child to init.
    """
    if _PRCTL is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        _PRCTL(PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return arm


def shut_down(conn) -> None:
    """Shut a connection's socket down both ways: its reader, ours or the peer's, sees the end at once."""
    try:
        with socket.socket(fileno=os.dup(conn.fileno())) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


def name_this_process(name: str) -> None:
    """The name ``top``, ``ps -o comm`` and nvitop show for this process (Linux; 15 bytes at most), in place of "python"."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


EXIT_GRACE_SECONDS = 2.0  # an app asked to end by a signal has this long to end cleanly before it is ended anyway


def end_on_signals() -> None:
    """The CLI's first act: SIGTERM and SIGHUP end the process at once, until the app (or the server) installs
    its own handlers. Nothing is on the terminal yet, and the workers end with the process (see above), so an
    SSH session that drops while the app starts cannot leave it running."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(signum, _end_now)
        except (OSError, ValueError):  # not the main thread, or no such signal here
            pass


def _end_now(signum: int, frame) -> None:
    os._exit(128 + signum)


def exit_soon(status: int, seconds: float = EXIT_GRACE_SECONDS) -> None:
    """End the process with ``status`` in ``seconds`` unless it has ended by then (a daemon thread's timer)."""
    timer = threading.Timer(seconds, os._exit, (status,))
    timer.daemon = True
    timer.start()
