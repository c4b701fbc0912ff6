"""The worker pool: device workers (``gru_tui.run.worker``) shared by one app, or by every tab of ``gru-tui serve``.

The Jupyter kernel model: the process that draws never runs torch. The pool, a
thread without torch, keeps child processes that hold it:

- **lanes**: each CUDA device has one lane of one worker (one CUDA context per GPU,
  however many clients); cpu, meta and mps share the ``cpu`` lane of ``cpu_workers``;
- **a spare**: one more worker with torch already loaded, so a cancelled run's
  replacement does not wait for ``import torch``; on Linux every worker is forked from
  a ``zygote`` that imported torch once, so a new worker costs milliseconds, not seconds;
- **cancel is a kill**: a forward in native code cannot be interrupted, so a job
  nobody waits for any more ends with its process (SIGKILL), and the spare takes over;
- **one run for equal jobs**: clients asking the same job (every follower of a
  presenter) share one run and its result; recent results are kept for ``reuse``;
- **fair and fresh**: each client has one job per *slot* (the form, the quiz...); a
  new one supersedes the old, so the queue holds every client's newest request only,
  in the order they came;
- **a death is a message**: a worker that dies during a job fails that job with words
  ("the device run was killed (signal 9, SIGKILL); out of memory?"); the next job gets
  a new worker;
- **the memory guard counts the pool**: a trace is checked against what its device
  has free less what the pool's other runs there are estimated to hold.

Clients talk to the pool over a ``multiprocessing`` Connection: an in-process pipe
(``Pool.connect``), or a Unix socket (abstract on Linux, else in a private directory) with a
secret key, for app copies in other processes (``Pool.listen`` / ``connect_remote``). Workers are
SIGKILLed by the kernel when the pool's process dies (``lifetime``); a serving pool is fair (``aside_after``,
``run_limit``). Messages:

client → pool: ``("submit", job_id, slot, job, reuse)``, ``("cancel", slot)``;
pool → client: ``("ready", WorkerInfo)``, ``("started", job_id)``,
``("progress", job_id, fraction, text, estimate)``, ``("done", job_id, result)``, ``("failed", job_id, JobError)``.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Client, Connection, Pipe, answer_challenge, deliver_challenge, wait
from pathlib import Path
from typing import Any

from .jobs import Job, JobError, WorkerInfo, death_text
from .lifetime import REAP_SECONDS, dies_with_this_process, shut_down
from .zygote import SUPPORTED as ZYGOTE_SUPPORTED
from .zygote import Forked, Zygote

ENV_ADDRESS = "GRU_TUI_POOL"  # a served app copy finds the server's pool here...
ENV_KEY = "GRU_TUI_POOL_KEY"  # ...and proves it was started by the server with this secret (hex)
RESULTS_KEPT = 32  # recent results, for equal jobs asked again with reuse
STARTUP_FAILURES_ALLOWED = 3  # workers dying before they load torch, in a row, before the pool gives up
ASIDE_WORKERS = 2  # workers a lane may have beyond its own, for jobs queued behind runs moved aside
HANDSHAKE_SECONDS = 2.0  # a remote client proves it holds the key within this, or is turned away
CLIENT_IO_SECONDS = 2.0  # a client's message is read, and an answer written, within this, or the client is dropped

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Worker:
    process: subprocess.Popen | Forked
    conn: Connection
    stderr: Any  # an unlinked temporary file: what the process printed, read when it dies (None: it prints to ours)
    lane: str | None = None  # None: the spare
    task: _Task | None = None
    ready: bool = False


@dataclass(eq=False)
class _Client:
    conn: Connection
    slots: dict[str, tuple[int, _Task]] = field(default_factory=dict)


@dataclass(eq=False)
class _Task:
    job: Job
    subscribers: list[tuple[_Client, int]] = field(default_factory=list)
    worker: _Worker | None = None
    progress: tuple[float, str] | None = None  # the latest, for a client that joins mid-run
    started: float = 0.0  # time.monotonic() when a worker took it


def lane_of(device: str) -> str:
    return device if device.startswith("cuda") else "cpu"


class Pool:
    """Device workers for one or more clients; ``start()`` it, ``close()`` it (also at exit and on signals)."""

    def __init__(
        self,
        *,
        cpu_workers: int = 1,
        spare: bool = True,
        worker_env: dict[str, str] | None = None,
        run_limit: float | None = None,
        aside_after: float | None = None,
        share_stderr: bool = False,
        zygote: Zygote | None = None,
    ):
        """``run_limit``: a run longer than this many seconds is stopped (None: no limit). ``aside_after``: a run
        this old no longer holds its lane's place: a job queued behind it gets a worker of its own, up to
        ASIDE_WORKERS more in the lane (None: never), so a long run cannot hold short ones back. ``share_stderr``:
        the workers print to this process's stderr (the CLI: a model's own prints), not to a file read when one dies.
        ``zygote``: one to fork the workers from, the caller's to close (the tests share one among their pools);
        None: with ``spare``, the pool starts its own where supported."""
        self.share_stderr = share_stderr
        self.cpu_workers = cpu_workers
        self.run_limit = run_limit
        self.aside_after = aside_after
        self.spare = spare
        self.worker_env = worker_env or {}  # defaults for the workers' environment; the caller's own settings win
        self.info: WorkerInfo | None = None  # from the first worker that loaded torch
        self.broken: str | None = None  # torch cannot be loaded here: every job fails with this
        self._clients: list[_Client] = []
        self._workers: list[_Worker] = []
        self._queue: list[_Task] = []
        self._tasks: dict[Job, _Task] = {}
        self._results: collections.OrderedDict[Job, Any] = collections.OrderedDict()
        self._startup_failures = 0
        self.jobs_run = 0  # jobs handed to a worker, for tests and benchmarks
        self._incoming: list[Connection] = []
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = Pipe(duplex=False)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None
        self._socket_dir: str | None = None
        self._zygote = zygote
        self._owns_zygote = False

    # -- life ---------------------------------------------------------------------------
    def start(self) -> Pool:
        if self.spare and self._zygote is None and ZYGOTE_SUPPORTED:  # torch starts loading now
            self._zygote, self._owns_zygote = Zygote(self._popen), True
        if self.spare:
            self._spawn(lane=None)
        self._thread = threading.Thread(target=self._loop, name="gru-tui worker pool", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop every worker (killed, and reaped) and the pool's thread; safe to call more than once."""
        self._stopping = True
        self._wake()
        workers = list(self._workers)
        for worker in workers:  # every one signalled first, so they end together, not one after another
            self._signal(worker)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=REAP_SECONDS)
        if self._owns_zygote:
            self._zygote.close()  # first: the workers it forked end with it, one not yet forked never starts
        for worker in workers:
            self._kill(worker)
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept thread (a close alone does not)
            except OSError:
                pass
            self._listener.close()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in list(self._workers) if w.process.pid is not None]

    def busy_pids(self) -> list[int]:
        """The workers running a job now."""
        return [w.process.pid for w in list(self._workers) if w.task is not None and w.process.pid is not None]

    # -- clients ------------------------------------------------------------------------
    def connect(self) -> Connection:
        """A client in this process: its end of a new pipe."""
        mine, theirs = Pipe()
        self._add_client(mine)
        return theirs

    def listen(self) -> tuple[str, bytes]:
        """Accept clients from other processes of this user: (address, key) for ``connect_remote``.

        On Linux the socket is abstract (``@name``: nothing in the file system, so nothing is left
        behind when the server is SIGKILLed) and a peer of another user is refused by its credentials;
        elsewhere it lives in a new 0700 directory. A client must also prove it knows the key (an HMAC
        challenge), so no other user of the machine can submit work.
        """
        key = os.urandom(32)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if sys.platform.startswith("linux"):
            address = f"@gru-tui-pool-{os.getpid()}-{os.urandom(8).hex()}"
        else:
            self._socket_dir = tempfile.mkdtemp(prefix="gru-tui-pool-")  # mode 0700
            address = os.path.join(self._socket_dir, "pool.sock")
        listener.bind(_socket_address(address))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener, key), name="gru-tui pool accept", daemon=True).start()
        return address, key

    def _accept(self, listener: socket.socket, key: bytes) -> None:
        """Never ends while the pool lives: each client's handshake runs on its own, with a deadline."""
        while not self._stopping:
            try:
                sock, _ = listener.accept()
            except OSError:
                if self._stopping or listener.fileno() < 0:
                    return  # closed
                time.sleep(0.05)  # out of files, say: the next try may work
                continue
            if not _same_user(sock):
                sock.close()
                continue
            threading.Thread(target=self._handshake, args=(sock, key), name="gru-tui pool handshake", daemon=True).start()

    def _handshake(self, sock: socket.socket, key: bytes) -> None:
        """The key challenge both ways, each read and write within HANDSHAKE_SECONDS: a client that stalls,
        closes or fails it costs itself alone."""
        _set_timeouts(sock, HANDSHAKE_SECONDS)
        conn = Connection(sock.detach())
        try:
            deliver_challenge(conn, key)
            answer_challenge(conn, key)
        except Exception:  # wrong key, garbage, a close or a stall: this client alone is turned away
            conn.close()
            return
        # From now on the loop reads it only when it is readable, and a message comes whole: a client
        # that stalls mid-message, or stops reading its answers, is dropped after CLIENT_IO_SECONDS.
        _set_timeouts(conn, CLIENT_IO_SECONDS)
        self._add_client(conn)

    def _add_client(self, conn: Connection) -> None:
        with self._lock:
            self._incoming.append(conn)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"!")
        except OSError:
            pass

    # -- the loop -------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping:
            by_conn: dict[Any, Any] = {c.conn: c for c in self._clients}
            by_conn.update({w.conn: w for w in self._workers})
            for conn in wait([self._wake_r, *by_conn], timeout=self._next_deadline()):
                if conn is self._wake_r:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                    with self._lock:
                        incoming, self._incoming = self._incoming, []
                    for new in incoming:
                        self._clients.append(_Client(new))
                        if self.info is not None:
                            self._send(self._clients[-1], ("ready", self.info))
                    continue
                peer = by_conn[conn]
                if peer not in self._clients and peer not in self._workers:
                    continue  # dropped or killed while handling an earlier one of this round
                try:
                    message = conn.recv()
                except Exception:  # closed, timed out mid-message, or not a message of ours
                    if isinstance(peer, _Client):
                        self._drop_client(peer)
                    else:
                        self._worker_ended(peer)
                    continue
                if isinstance(peer, _Client):
                    try:
                        self._on_client(peer, message)
                    except Exception:  # a malformed message costs its client alone
                        log.warning("worker pool: a client sent a malformed message; dropped it")
                        self._drop_client(peer)
                    continue
                try:
                    self._on_worker(peer, message)
                except Exception:  # a bug here must not stop the pool for every client: logged, not raised
                    log.exception("worker pool: handling a worker's message")
            self._stop_overlong()
            self._dispatch()

    def _on_client(self, client: _Client, message: tuple) -> None:
        if not isinstance(message, tuple) or not message:
            raise ValueError("not a message")
        if message[0] == "submit":
            _, job_id, slot, job, reuse = message
            if not isinstance(job, Job) or not isinstance(slot, str):
                raise ValueError("not a job")
            self._unsubscribe(client, slot)
            if self.broken is not None:
                self._send(client, ("failed", job_id, JobError("failed", self.broken)))
            elif reuse and job in self._results:
                self._results.move_to_end(job)
                self._send(client, ("done", job_id, self._results[job]))
            else:
                task = self._tasks.get(job)
                if task is None:
                    task = self._tasks[job] = _Task(job)
                    self._queue.append(task)
                task.subscribers.append((client, job_id))
                client.slots[slot] = (job_id, task)
                if task.worker is not None:  # joined a run under way
                    self._send(client, ("started", job_id))
                    if task.progress is not None:
                        self._send(client, ("progress", job_id, *task.progress))
        elif message[0] == "cancel":
            self._unsubscribe(client, message[1])
        else:
            raise ValueError("not a message")

    def _drop_client(self, client: _Client) -> None:
        if client not in self._clients:
            return
        for slot in list(client.slots):
            self._unsubscribe(client, slot)
        self._clients.remove(client)
        client.conn.close()

    def _unsubscribe(self, client: _Client, slot: str) -> None:
        """The client no longer waits for its job in ``slot``; a job nobody waits for is dropped, or killed."""
        job_id, task = client.slots.pop(slot, (None, None))
        if task is None:
            return
        task.subscribers.remove((client, job_id))
        if task.subscribers:
            return
        self._tasks.pop(task.job, None)
        if task.worker is None:
            self._queue.remove(task)
        else:
            self._kill(task.worker)

    def _dispatch(self) -> None:
        # Fair: the jobs of clients with the fewest runs under way go first (each client's in the order asked).
        for task in sorted(self._queue, key=self._runs_of_subscribers):
            worker = self._worker_for(lane_of(task.job.device))
            if worker is None:
                continue
            self._queue.remove(task)
            task.worker, worker.task = worker, task
            task.started = time.monotonic()
            self.jobs_run += 1
            self._send_worker(worker, (id(task), task.job, self._reserved(task)))
            for client, job_id in task.subscribers:
                self._send(client, ("started", job_id))
        # A new spare once no worker is loading torch: two imports at once would slow the run waiting for one.
        if self.spare and self.broken is None and all(w.ready and w.lane is not None for w in self._workers):
            self._spawn(lane=None)

    @staticmethod
    def _runs_of_subscribers(task: _Task) -> int:
        return min(sum(held.worker is not None for _id, held in client.slots.values()) for client, _ in task.subscribers)

    def _worker_for(self, lane: str) -> _Worker | None:
        """An idle worker of ``lane``; else the spare, or a new worker, while the lane has room.

        Runs moved aside (older than ``aside_after``) leave their place to the queue, up to ASIDE_WORKERS more."""
        if self.broken is not None:
            return None
        in_lane = [w for w in self._workers if w.lane == lane]
        for worker in in_lane:
            if worker.task is None:
                return worker
        room = self.cpu_workers if lane == "cpu" else 1
        holding = [w for w in in_lane if not self._aside(w.task)]
        if len(holding) >= room or len(in_lane) >= room + (ASIDE_WORKERS if self.aside_after is not None else 0):
            return None
        for worker in self._workers:
            if worker.lane is None:
                worker.lane = lane
                return worker
        return self._spawn(lane)

    def _aside(self, task: _Task | None) -> bool:
        return task is not None and self.aside_after is not None and time.monotonic() - task.started >= self.aside_after

    def _next_deadline(self) -> float | None:
        """Seconds until a run must be stopped (run_limit) or moved aside for a queued job; None: nothing to time."""
        now, ends = time.monotonic(), []
        for worker in self._workers:
            if worker.task is not None:
                if self.run_limit is not None:
                    ends.append(worker.task.started + self.run_limit)
                if self._queue and self.aside_after is not None and not self._aside(worker.task):
                    ends.append(worker.task.started + self.aside_after)
        return max(0.0, min(ends) - now) + 0.01 if ends else None

    def _stop_overlong(self) -> None:
        """A run past ``run_limit`` is stopped (its process killed): its clients get one sentence."""
        if self.run_limit is None:
            return
        now = time.monotonic()
        for worker in list(self._workers):
            task = worker.task
            if task is not None and now - task.started >= self.run_limit:
                self._kill(worker)
                self._tasks.pop(task.job, None)
                text = (
                    f"stopped after {self.run_limit:g} s: a run here may take at most {self.run_limit:g} s "
                    "(gru-tui serve --run-limit); make it smaller"
                )
                self._finish(task, ("failed", JobError("failed", text)))

    def _reserved(self, task: _Task) -> int:
        """What the pool's other runs on this job's device are estimated to hold, for the memory guard."""
        from ..core.shapes import estimate_run_bytes

        return sum(
            estimate_run_bytes(other.job.args[0])
            for other in self._tasks.values()
            if other is not task
            and other.worker is not None
            and other.job.kind == "trace"
            and other.job.device == task.job.device
        )

    # -- workers ------------------------------------------------------------------------
    def _spawn(self, lane: str | None) -> _Worker:
        ours, theirs = socket.socketpair()
        stderr = None if self.share_stderr else tempfile.TemporaryFile()
        process = self._zygote.fork(theirs, stderr) if self._zygote is not None else None
        if process is None:  # no zygote here, or it has gone
            process = self._popen("gru_tui.run.worker", theirs, stderr)
        theirs.close()
        worker = _Worker(process, Connection(ours.detach()), stderr, lane=lane)
        self._workers.append(worker)
        return worker

    def _popen(self, module: str, theirs: socket.socket, stderr) -> subprocess.Popen:
        """``python -m module FD``, FD its end of a socket pair, in the workers' environment."""
        package_parent = str(Path(__file__).resolve().parents[2])  # gru_tui/run/pool.py
        env = {
            **self.worker_env,
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])),
        }
        return subprocess.Popen(
            [sys.executable, "-m", module, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
            start_new_session=True,  # the terminal's signals are the app's to handle, not the worker's
            preexec_fn=dies_with_this_process(),  # SIGKILLed with the pool's process, whatever ends that
        )

    def _on_worker(self, worker: _Worker, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            info: WorkerInfo = message[1]
            worker.ready = True
            if worker.process.pid is None:  # forked: it may say so before the zygote does
                worker.process.pid = info.pid
            if worker.task is not None:  # given its job while loading torch: the job's time starts now
                worker.task.started = time.monotonic()
            if info.error is not None:  # torch cannot load here: say so once, and fail what waits
                self.broken = info.error
                if worker.task is not None:  # the job it was given before it loaded
                    self._tasks.pop(worker.task.job, None)
                    self._finish(worker.task, ("failed", JobError("failed", info.error)))
                    worker.task = None
                self._fail_all(JobError("failed", info.error))
            else:
                self._startup_failures = 0
            if self.info is None or info.error is not None:
                self.info = info
                for client in self._clients:
                    self._send(client, ("ready", info))
            return
        task = worker.task
        if task is None or message[1] != id(task):
            return
        if kind == "progress":
            task.progress = message[2:]
            for client, job_id in task.subscribers:
                self._send(client, ("progress", job_id, *task.progress))
            return
        worker.task = None  # done or failed: the worker is free for the next job
        self._tasks.pop(task.job, None)
        if kind == "done":
            self._results[task.job] = message[2]
            while len(self._results) > RESULTS_KEPT:
                self._results.popitem(last=False)
        if task.job.fresh_process:  # it ran the person's code: no other job runs in that process
            self._kill(worker)
        self._finish(task, (kind, message[2]))

    def _worker_ended(self, worker: _Worker) -> None:
        """A worker's pipe closed without the pool killing it: it crashed, was killed, or exited."""
        self._forget(worker)
        self._signal(worker)  # what it started, in its process group, ends with it
        try:
            returncode = worker.process.wait(timeout=REAP_SECONDS)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            returncode = worker.process.wait()
        text = death_text(returncode)
        if not worker.ready:
            self._startup_failures += 1
            if self._startup_failures >= STARTUP_FAILURES_ALLOWED:
                self.broken = f"the device worker could not start: {text}{_last_line(worker.stderr)}"
                self._fail_all(JobError("failed", self.broken))
        if worker.stderr is not None:
            worker.stderr.close()
        if worker.task is not None:
            self._tasks.pop(worker.task.job, None)
            self._finish(worker.task, ("failed", JobError("died", text)))

    def _kill(self, worker: _Worker) -> None:
        """End a worker at once (its job is no longer wanted, or the pool closes) and reap it."""
        self._forget(worker)
        self._signal(worker)
        try:
            worker.process.wait(timeout=REAP_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        if worker.stderr is not None:
            worker.stderr.close()

    @staticmethod
    def _signal(worker: _Worker) -> None:
        """SIGKILL to the worker's process group (its own session): any process its job started goes too.
        Also after the worker itself has ended: not yet reaped, its number still names its group."""
        if worker.process.returncode is None and worker.process.pid is not None:
            try:
                os.killpg(worker.process.pid, signal.SIGKILL)
            except OSError:
                pass

    def _forget(self, worker: _Worker) -> None:
        if worker in self._workers:
            self._workers.remove(worker)
        worker.conn.close()

    def _fail_all(self, error: JobError) -> None:
        for task in list(self._queue):
            self._queue.remove(task)
            self._tasks.pop(task.job, None)
            self._finish(task, ("failed", error))

    def _finish(self, task: _Task, outcome: tuple[str, Any]) -> None:
        """Tell every client waiting for ``task`` its outcome; their slots are free again."""
        kind, payload = outcome
        for client, job_id in task.subscribers:
            client.slots = {slot: held for slot, held in client.slots.items() if held[1] is not task}
            self._send(client, (kind, job_id, payload))

    def _send_worker(self, worker: _Worker, message: tuple) -> None:
        try:
            worker.conn.send(message)
        except OSError:
            pass  # it died; its end of file comes next and says so

    def _send(self, client: _Client, message: tuple) -> None:
        try:
            client.conn.send(message)
        except OSError:  # gone, or not reading its answers (CLIENT_IO_SECONDS): its end of file comes next
            shut_down(client.conn)


def _last_line(stderr) -> str:
    if stderr is None:
        return ""
    try:
        stderr.seek(0)
        lines = stderr.read()[-2000:].decode(errors="replace").strip().splitlines()
    except (OSError, ValueError):
        return ""
    return f" ({lines[-1]})" if lines else ""


def _socket_address(address: str) -> str:
    """``@name`` is Linux's abstract namespace (a leading NUL byte, which an environment variable cannot hold)."""
    return "\0" + address[1:] if address.startswith("@") else address


def _same_user(sock: socket.socket) -> bool:
    """Whether the peer runs as this user (Linux: its credentials); elsewhere the 0700 directory sees to it."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True
    try:
        _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    except OSError:
        return False
    return uid == os.getuid()


def _set_timeouts(sock_or_conn, seconds: float) -> None:
    """Kernel timeouts for one read and one write on a blocking socket (a timed-out one raises OSError)."""
    whole = int(seconds)
    value = struct.pack("ll", whole, int((seconds - whole) * 1e6))
    with socket.socket(fileno=os.dup(sock_or_conn.fileno())) as sock:  # a duplicate shares the socket's options
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def connect_remote(address: str, key: bytes) -> Connection:
    return Client(_socket_address(address), family="AF_UNIX", authkey=key)


def connect_from_environment() -> Connection | None:
    """The server's pool, for an app copy started by ``gru-tui serve`` (None when not served)."""
    address, key = os.environ.get(ENV_ADDRESS), os.environ.get(ENV_KEY)
    if not address or not key:
        return None
    return connect_remote(address, bytes.fromhex(key))


class PoolClient:
    """A client's side: submit jobs by slot, get their events in a callback (called on the client's reader thread).

    ``on_event(kind, payload)`` receives ``("ready", WorkerInfo)`` and ``("lost", text)``
    (the pool's connection ended); each job's events go to the callback given with it.
    """

    _ids = itertools.count(1)

    def __init__(self, conn: Connection, on_event):
        self.conn = conn
        self.on_event = on_event
        self._callbacks: dict[int, Any] = {}
        self.pending: dict[str, int] = {}  # slot -> the job it waits for
        self._send_lock = threading.Lock()
        self.closed = False
        self._reader = threading.Thread(target=self._read, name="gru-tui pool client", daemon=True)
        self._reader.start()

    def submit(self, slot: str, job: Job, callback, *, reuse: bool = True) -> int:
        """Ask for ``job`` in ``slot`` (superseding that slot's previous job); ``callback(kind, payload)``."""
        job_id = next(self._ids)
        self._callbacks[job_id] = callback
        self.pending[slot] = job_id
        self._send(("submit", job_id, slot, job, reuse))
        return job_id

    def cancel(self, slot: str) -> None:
        """Stop waiting for ``slot``'s job; the pool ends its run when no other client waits for it."""
        job_id = self.pending.pop(slot, None)
        if job_id is not None:
            self._callbacks.pop(job_id, None)
            self._send(("cancel", slot))

    def close(self) -> None:
        """Leave the pool: it drops this client's jobs (killing runs nobody else waits for)."""
        self.closed = True
        shut_down(self.conn)  # first: that wakes our reader and tells the pool at once
        if self._reader is not threading.current_thread():
            # Closed only once the reader has left it: a reader still in os.read on a closed file number
            # would read from the next socket given that number.
            self._reader.join(timeout=1)
        self.conn.close()

    def _send(self, message: tuple) -> None:
        with self._send_lock:
            try:
                self.conn.send(message)
            except OSError:
                pass  # the reader reports the loss

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError, TypeError):  # TypeError: closed by close() while reading
                self.pending.clear()
                if not self.closed:
                    self.on_event("lost", "the device worker pool stopped")
                return
            kind = message[0]
            if kind == "ready":
                self.on_event("ready", message[1])
                continue
            job_id, payload = message[1], message[2:]
            callback = self._callbacks.get(job_id)
            if callback is not None:
                callback(kind, payload[0] if len(payload) == 1 else payload)
            if kind in ("done", "failed"):  # after the callback: not pending means its answer is out
                self._callbacks.pop(job_id, None)
                self.pending = {slot: held for slot, held in self.pending.items() if held != job_id}
