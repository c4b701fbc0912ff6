"""The app's side of the device worker pool: jobs go out, Textual messages come back.

torch never loads in the app's process: a standalone app runs its own ``Pool`` (a
thread and its worker processes); a copy served by ``gru-tui serve`` joins the
server's pool, shared by every tab. Every message carries what it answers (the
configuration), so a screen drops an answer to an older request.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable
from multiprocessing import AuthenticationError

from textual.message import Message

from ..core.config import GRUConfig
from ..core.summary import human_bytes
from ..run.jobs import Job, JobError, WorkerInfo
from ..run.pool import Pool, PoolClient, connect_from_environment
from .messages import (
    Explained,
    LessonTraced,
    ModelRunEvent,
    PoolLost,
    TorchFailed,
    TorchLoaded,
    TraceFailed,
    TraceFinished,
    TraceProgress,
    TraceRefused,
    TraceStarted,
)

Post = Callable[[Message], object]


def refusal_text(error: JobError, can_force: bool = True) -> str:
    """The memory guard's refusal, saying how to go on in the app (its own message names the CLI flag)."""
    anyway = ", or run it anyway (ctrl+g)" if can_force else " (a browser tab cannot run past this guard)"
    return (
        f"{error.device}: this run needs about {human_bytes(error.needed)} but only {human_bytes(error.free)} is free; "
        f"make it smaller or pick meta (shapes only){anyway}"
    )


class DeviceRunner:
    """Runs the app's jobs in worker processes; ``close()`` ends the app's own pool and its workers."""

    def __init__(self, post: Post, *, can_force: bool = True):
        """``can_force``: the person may run past the memory guard (ctrl+g); not in a served copy."""
        self.post = post
        self.can_force = can_force
        self.pool: Pool | None = None
        try:
            conn = connect_from_environment()  # served: the server's pool
        except (OSError, EOFError, AuthenticationError):  # gone, or not ours: this copy does its runs itself
            conn = None
        if conn is None:
            self.pool = Pool(cpu_workers=1).start()
            atexit.register(self.pool.close)  # also when the app ends by an exception
            conn = self.pool.connect()
        self.client = PoolClient(conn, self._on_pool_event)

    @property
    def busy(self) -> bool:
        """A job was asked for and its answer has not come yet."""
        return bool(self.client.pending)

    def close(self) -> None:
        self.client.close()
        if self.pool is not None:
            self.pool.close()
            atexit.unregister(self.pool.close)

    def cancel(self, slot: str) -> None:
        self.client.cancel(slot)

    # -- jobs ------------------------------------------------------------------------------
    def trace(self, config: GRUConfig, force: bool = False, *, reuse: bool = True) -> None:
        """The form's configuration on its device: TraceStarted, TraceProgress, then TraceFinished, -Refused or -Failed."""

        def answer(kind: str, payload) -> Message | None:
            if kind == "started":
                return TraceStarted(config)
            if kind == "progress":
                return TraceProgress(config, *payload)
            if kind == "done":
                return TraceFinished(config, payload)
            if payload.kind == "refused":
                return TraceRefused(config, refusal_text(payload, self.can_force))
            return TraceFailed(config, payload.text, field=payload.field)

        self._submit("main", Job("trace", (config, force)), answer, reuse=reuse)

    def trace_lesson(self, slot: str, configs: tuple[GRUConfig, ...], post: Post) -> None:
        """Trace a lesson's configurations (a quiz question, a pair to compare): one LessonTraced."""

        def answer(kind: str, payload) -> Message | None:
            if kind == "done":
                return LessonTraced(configs, payload)
            if kind == "failed":
                text = refusal_text(payload, self.can_force) if payload.kind == "refused" else payload.text
                return LessonTraced(configs, None, text)
            return None

        self._submit(slot, Job("trace_many", (configs,)), answer, post=post)

    def explain(self, request: tuple, post: Post) -> None:
        """Run the shape-error explainer on ``request`` (config, input shape, h0 shape): one Explained."""

        def answer(kind: str, payload) -> Message | None:
            if kind == "done":
                return Explained(request, payload)
            if kind == "failed":
                return Explained(request, None, payload.text, payload.field)
            return None

        self._submit("explain", Job("explain", request), answer, post=post)

    def trace_model(self, spec, post: Post | None = None) -> None:
        """Your own model in a fresh worker process (always run again: the file may have changed): ModelRunEvents."""

        def answer(kind: str, payload) -> Message | None:
            if kind == "progress":
                return ModelRunEvent(spec, kind, fraction=payload[0], text=payload[1])
            if kind == "done":
                return ModelRunEvent(spec, kind, report=payload)
            if kind == "failed":
                return ModelRunEvent(spec, kind, text=payload.text)
            return ModelRunEvent(spec, kind)

        self._submit("model", Job("model", (spec,)), answer, reuse=False, post=post)

    def _submit(self, slot: str, job: Job, answer, *, reuse: bool = True, post: Post | None = None) -> None:
        post = post or self.post

        def on_event(kind: str, payload) -> None:
            message = answer(kind, payload)
            if message is not None:
                post(message)

        self.client.submit(slot, job, on_event, reuse=reuse)

    def _on_pool_event(self, kind: str, payload) -> None:
        if kind == "ready":
            info: WorkerInfo = payload
            if info.error is not None:
                self.post(TorchFailed(info.error))
            else:
                self.post(TorchLoaded(list(info.devices), info.torch_version, info.seconds))
        elif kind == "lost":
            self.post(PoolLost(payload))
