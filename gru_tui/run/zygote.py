"""The zygote: a process that imports torch once and forks each device worker from itself.

``import torch`` costs seconds of CPU (2.5 s on a 2-core machine). A pool starts a worker for
each model run (the person's code runs in a process of its own), one for each cancelled run,
and a spare beside them: started as processes of their own, each paid it again. Forked from a
process that holds torch, a worker is ready in milliseconds, and its siblings share torch's
pages with it until one writes them.

Only torch is imported before a fork: CUDA, OpenMP's threads and the devices are first touched
in each worker (CUDA cannot be used in a child forked after it was initialised). Linux only;
elsewhere, and once a zygote has gone, the pool starts workers as processes of their own.

pool → zygote: ``("fork", n)``, then the worker's socket and, where it has one, its stderr file
(SCM_RIGHTS); zygote → pool: ``("forked", pid)`` in the order asked, and ``("exited", pid,
returncode)`` as Popen writes it (negative: the signal). Each worker is a session of its own,
SIGKILLed when the zygote ends (``lifetime``), and its process group is killed when it ends, so
what its job started goes too; the zygote ends with the pool's process the same way.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing import reduction
from multiprocessing.connection import Connection, wait
from typing import Any

from . import worker
from .lifetime import REAP_SECONDS, dies_with_this_process, name_this_process, shut_down

SUPPORTED = sys.platform.startswith("linux")  # fork after `import torch` is what DataLoader workers do there


class Forked:
    """A worker forked by the zygote, with what the pool uses of a Popen: pid, returncode, wait, kill."""

    def __init__(self) -> None:
        self.pid: int | None = None  # known once the zygote has forked it
        self.returncode: int | None = None
        self._ended = threading.Event()

    def wait(self, timeout: float | None = None) -> int | None:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired("gru-tui worker", timeout or 0)
        return self.returncode

    def kill(self) -> None:
        if self.pid is not None and self.returncode is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except OSError:
                pass

    def ended(self, returncode: int | None) -> None:
        self.returncode = returncode
        self._ended.set()


class Zygote:
    """The pool's side of a zygote: ``fork`` a worker, ``close`` it (its workers end with it)."""

    def __init__(self, popen: Callable[[str, socket.socket, Any], subprocess.Popen]) -> None:
        """``popen(module, socket, stderr)``: start ``python -m module FD`` as the pool starts its workers."""
        ours, theirs = socket.socketpair()
        self.process = popen(__name__, theirs, subprocess.DEVNULL)
        theirs.close()
        self.conn = Connection(ours.detach())
        self.alive = True
        self._lock = threading.Lock()
        self._asked: collections.deque[Forked] = collections.deque()  # fork requests not yet answered, in order
        self._children: dict[int, Forked] = {}
        self._reader = threading.Thread(target=self._read, name="gru-tui zygote", daemon=True)
        self._reader.start()

    def fork(self, sock: socket.socket, stderr: Any) -> Forked | None:
        """A worker on ``sock`` printing to ``stderr`` (a file, or None: the zygote's); None when the zygote is gone."""
        fds = [sock.fileno()] + ([stderr.fileno()] if stderr is not None else [])
        with self._lock:
            if not self.alive:
                return None
            try:
                self.conn.send(("fork", len(fds)))
                with socket.socket(fileno=os.dup(self.conn.fileno())) as raw:
                    reduction.sendfds(raw, fds)
            except OSError:
                return None
            child = Forked()
            self._asked.append(child)
        return child

    def close(self) -> None:
        """End the zygote and every worker it forked. With workers, its loop runs: told, it kills their process
        groups, reaps them and exits. Without, it may still be importing torch, deaf to being told: killed."""
        with self._lock:
            forked = bool(self._children)
        if forked:
            shut_down(self.conn)
            try:
                self.process.wait(timeout=REAP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        self.process.kill()  # (gone already, or wedged; a worker left ends with it: its parent-death signal)
        self.process.wait()
        self._reader.join(timeout=REAP_SECONDS)  # it reads the socket's end and ends every worker's wait
        self.conn.close()

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                if message[0] == "forked" and self._asked:
                    child = self._asked.popleft()
                    child.pid = message[1]
                    self._children[child.pid] = child
                elif message[0] == "exited" and message[1] in self._children:
                    self._children.pop(message[1]).ended(message[2])
        with self._lock:  # the zygote has gone, and its workers with it (their parent-death signal)
            self.alive = False
            for child in self._children.values():
                child.ended(-signal.SIGKILL)
            for child in self._asked:  # never forked: the zygote's own end is theirs
                child.ended(self.process.poll())
            self._children.clear()
            self._asked.clear()


# -- the zygote's process ------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    conn = Connection(int(argv[0]))
    name_this_process("gru-tui zygote")
    worker.lower_priority()  # before the forks: every worker inherits it
    started = time.perf_counter()
    try:
        import torch  # noqa: F401
    except Exception:
        pass  # each worker imports it again, and says in words why it cannot
    torch_seconds = time.perf_counter() - started
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that each child's end writes to the wakeup pipe
    arm = dies_with_this_process()  # a worker is SIGKILLed when this process ends
    parent = os.getppid()
    children: set[int] = set()
    try:
        while os.getppid() == parent:  # the parent-death signal's fallback
            readable = wait([conn, wake_r], timeout=worker.PARENT_POLL_SECONDS)
            if wake_r in readable:
                os.read(wake_r, 4096)
            _report_exits(conn, children)
            if conn not in readable:
                continue
            try:
                _, count = conn.recv()
                with socket.socket(fileno=os.dup(conn.fileno())) as raw:
                    fds = reduction.recvfds(raw, count)
            except (EOFError, OSError):
                break  # the pool closed it
            pid = os.fork()
            if pid == 0:
                _become_worker(fds, arm, torch_seconds, inherited=(conn.fileno(), wake_r, wake_w))
            for fd in fds:
                os.close(fd)
            children.add(pid)
            conn.send(("forked", pid))
    finally:
        for pid in children:
            _kill_group(pid)
        for pid in children:
            os.waitpid(pid, 0)
    return 0


def _report_exits(conn: Connection, children: set[int]) -> None:
    while children:
        try:
            ended = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if ended is None:
            return
        _kill_group(ended.si_pid)  # before the reap, while its number still names its group
        _, status = os.waitpid(ended.si_pid, 0)
        children.discard(ended.si_pid)
        conn.send(("exited", ended.si_pid, os.waitstatus_to_exitcode(status)))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _become_worker(fds: list[int], arm, torch_seconds: float, inherited: tuple[int, ...]) -> None:
    """In the forked child: a session of its own, ended with the zygote, printing to its own stderr; never returns."""
    code = 1
    try:
        os.setsid()
        if arm is not None:
            arm()
        name_this_process(worker.WORKER_NAME)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in inherited:
            os.close(fd)
        sock, *stderr = fds
        if stderr:
            os.dup2(stderr[0], 2)
            os.close(stderr[0])
        code = worker.serve(Connection(sock), torch_seconds)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
