"""What crosses between the app, the worker pool and the device workers: plain, picklable data.

No torch and no Textual here: the app, the pool and the workers all import it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """One piece of device work: ``kind`` names what the worker runs, ``args`` its arguments.

    - ``trace``: ``(config, force)``, answered with a Report;
    - ``trace_many``: ``(configs,)``, answered with a tuple of Reports (the lesson screens);
    - ``explain``: the explainer's arguments ``(config, input_shape, h0_shape[, c0_shape])``, answered with a
      lessons.Explanation;
    - ``model``: ``(model.ModelSpec,)``, your own model file traced, answered with a model.ModelReport (its
      failures are in the report). The person's code runs in a process of its own that ends with the job
      (``fresh_process``), so a re-trace imports the saved file anew and a crash, a hang or a leak takes nothing else.

    Equal jobs are the same work: the pool runs a job asked by several clients once.
    """

    kind: str
    args: tuple[Hashable, ...]

    @property
    def device(self) -> str:
        """The device the job runs on: its configuration's (the explainer always runs on the CPU)."""
        if self.kind == "trace":
            return self.args[0].device
        if self.kind == "trace_many":
            return self.args[0][0].device if self.args[0] else "cpu"
        if self.kind == "model":
            return self.args[0].device
        return "cpu"

    @property
    def fresh_process(self) -> bool:
        """The worker that ran this job is ended after it: it ran the person's own code."""
        return self.kind == "model"


class JobError(Exception):
    """Why a job gave no result, as plain data.

    ``kind``: ``refused`` (the memory guard: ``needed``, ``free``, ``device``), ``config``
    (a bad value: ``field``), ``failed`` (torch refused it or it raised), ``died`` (the
    worker process ended during the job: killed, crashed, out of memory).
    """

    def __init__(
        self,
        kind: str,
        text: str,
        *,
        field: str | None = None,
        needed: int | None = None,
        free: int | None = None,
        device: str | None = None,
    ):
        super().__init__(text)
        self.kind, self.text, self.field = kind, text, field
        self.needed, self.free, self.device = needed, free, device

    def __reduce__(self):  # keyword arguments survive pickling
        return _job_error, (self.kind, self.text, self.field, self.needed, self.free, self.device)


def _job_error(kind, text, field, needed, free, device) -> JobError:
    return JobError(kind, text, field=field, needed=needed, free=free, device=device)


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker says once torch has loaded (``error`` when it could not)."""

    pid: int
    devices: tuple[tuple[str, str], ...]  # (description, name) pairs: cpu, cuda:N, mps, meta
    torch_version: str
    seconds: float  # how long importing torch and detecting devices took
    error: str | None = None


def death_text(returncode: int | None) -> str:
    """A worker's end in words a person understands."""
    if returncode is not None and returncode < 0:
        import signal

        number = -returncode
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        hint = "; out of memory?" if number == signal.SIGKILL else ""
        return f"the device run was killed (signal {number}, {name}){hint}"
    return f"the device run's process exited unexpectedly (status {returncode})"
