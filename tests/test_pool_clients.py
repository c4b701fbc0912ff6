"""The pool's socket serves each client on its own (issue 20): garbage, a wrong key, a stall or a malformed
message costs that client alone, and the accept loop never ends while the pool lives. Real sockets, real workers."""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time

import pytest
from processes import gone

from gru_tui.core.config import FIRST_EXAMPLE
from gru_tui.run.jobs import Job
from gru_tui.run.pool import Pool, PoolClient, _socket_address, connect_remote

PATIENCE = 120


@pytest.fixture
def listening(session_zygote):
    pool = Pool(cpu_workers=1, zygote=session_zygote).start()
    address, key = pool.listen()
    yield pool, address, key
    pids = pool.worker_pids()
    pool.close()
    assert all(gone(pid) for pid in pids)


def raw(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(_socket_address(address))
    return sock


def traces(address: str, key: bytes) -> bool:
    """A new client connects, and its small trace comes back done."""
    finished = threading.Event()
    outcome = []

    def on_job(kind, payload):
        if kind in ("done", "failed"):
            outcome.append(kind)
            finished.set()

    client = PoolClient(connect_remote(address, key), lambda kind, payload: None)
    try:
        client.submit("main", Job("trace", (FIRST_EXAMPLE, False)), on_job, reuse=False)
        assert finished.wait(PATIENCE)
    finally:
        client.close()
    return outcome == ["done"]


def test_garbage_a_wrong_key_and_a_hang_up_in_the_handshake_leave_the_pool_accepting(listening):
    pool, address, key = listening
    garbage = raw(address)
    garbage.sendall(b"x" * 18)  # 18 bytes without the key: the accept loop used to end here
    garbage.close()
    with pytest.raises((multiprocessing.AuthenticationError, EOFError, OSError)):  # refused, or hung up on
        connect_remote(address, b"not the key" * 3)
    raw(address).close()  # a hang-up mid-handshake
    for _ in range(4):
        assert traces(address, key)


def test_a_client_that_stalls_in_the_handshake_holds_up_nobody(listening):
    pool, address, key = listening
    stalled = raw(address)  # connects, then says nothing
    try:
        started = time.monotonic()
        conn = connect_remote(address, key)
        assert time.monotonic() - started < 1.5  # its own handshake, not after the stalled one's
        conn.close()
    finally:
        stalled.close()


def test_a_key_holder_s_malformed_message_drops_that_client_alone(listening):
    pool, address, key = listening
    bad = connect_remote(address, key)
    bad.send(5)  # not a message: it used to kill the pool's thread in its own error handler
    assert traces(address, key)
    assert pool._thread.is_alive()
    with pytest.raises((EOFError, OSError)):  # the bad client was dropped
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if bad.poll(0.1):
                bad.recv()
