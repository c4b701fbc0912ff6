"""The device worker: a child process that holds torch and runs one job at a time.

The app never imports torch (the Jupyter kernel model, see ``pool``): a pool starts
this module as ``python -m gru_tui.run.worker FD``, FD being its end of a socket pair, or
forks it from its ``zygote``, which has torch imported already (``serve``). The worker
imports torch, says ``ready`` with the devices it found, then runs the
jobs it is sent, one at a time, answering each with ``progress`` events and one
``done`` or ``failed``. To stop a job the pool kills the process: a forward in
native code cannot be interrupted from inside, a process can be ended from outside.

Everything sent back is plain data (config, report and explanation dataclasses, no
tensors), pickled over a socket that only the pool holds.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ..core.config import ConfigError
from .jobs import Job, JobError, WorkerInfo
from .lifetime import name_this_process

WORKER_NAME = "gru-tui worker"  # its name in top and ps, however it was started

# A lower priority for the worker, so a long CPU run leaves the interface its share of the cores
# (benchmarks/bench_worker.py measures it; GRU_TUI_WORKER_NICE overrides it for that).
NICENESS = 10
PARENT_POLL_SECONDS = 0.1


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    lower_priority()
    name_this_process(WORKER_NAME)
    return serve(Connection(int(argv[0])))


def lower_priority() -> None:
    try:
        os.nice(int(os.environ.get("GRU_TUI_WORKER_NICE", NICENESS)))
    except (OSError, ValueError):
        pass


def serve(conn: Connection, torch_seconds: float = 0.0) -> int:
    """Say ``ready``, then run the jobs sent on ``conn`` until the pool closes it. ``torch_seconds``: how long
    importing torch took where it was imported before (a worker forked by the ``zygote``)."""
    _exit_with_parent()
    info = _load_torch(torch_seconds)
    conn.send(("ready", info))
    if info.error is not None:
        return 1
    while True:
        try:
            job_id, job, reserved = conn.recv()
        except (EOFError, OSError):
            return 0  # the pool closed its end: nothing more to do

        def progress(fraction: float, text: str, estimate=None, job_id: int = job_id) -> None:
            conn.send(("progress", job_id, fraction, text, estimate))

        try:
            result = run_job(job, reserved, progress)
        except JobError as error:
            conn.send(("failed", job_id, error))
        else:
            conn.send(("done", job_id, result))


def _exit_with_parent() -> None:
    """End this process as soon as its parent (the app or the server) is gone: a fallback where the kernel's
    parent-death signal is not to be had (``lifetime``), which ends it even inside a C call or stopped."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="gru-tui parent watch", daemon=True).start()


def _load_torch(torch_seconds: float = 0.0) -> WorkerInfo:
    started = time.perf_counter() - torch_seconds
    try:
        import torch

        threads = os.environ.get("GRU_TUI_WORKER_THREADS")
        if threads:  # for measuring what helps the interface stay live; the default is torch's
            torch.set_num_threads(int(threads))
        from ..core.devices import available_devices

        devices = tuple((d.description, d.name) for d in available_devices())
    except Exception as error:  # a broken torch install is a message in the app, not a crash
        return WorkerInfo(os.getpid(), (), "", 0.0, f"torch could not be loaded: {type(error).__name__}: {error}")
    return WorkerInfo(
        os.getpid(), devices, str(torch.__version__), time.perf_counter() - started
    )  # a plain str: TorchVersion would import torch to unpickle


def run_job(job: Job, reserved: int, progress: Callable[..., None]) -> Any:
    """Run ``job``; every failure is raised as a JobError (plain data), never anything else."""
    from ..core.tracing import MemoryGuardError, TraceError

    _reset_peak_memory()
    try:
        if job.kind == "trace":
            config, force = job.args
            return _trace(config, force, reserved, progress)
        if job.kind == "trace_many":
            (configs,) = job.args
            return tuple(_trace(config, False, reserved, None) for config in configs)
        if job.kind == "explain":
            from ..lessons import explain

            return explain(*job.args)
        if job.kind == "model":
            from ..core.devices import check_device
            from ..model.trace import trace_file

            (spec,) = job.args
            check_device(spec.device)
            return trace_file(spec, progress)
        raise JobError("failed", f"unknown job {job.kind!r}")
    except MemoryGuardError as error:
        raise JobError("refused", str(error), needed=error.needed, free=error.free, device=error.device) from None
    except ConfigError as error:
        raise JobError("config", error.message, field=error.field) from None
    except TraceError as error:
        raise JobError("failed", str(error)) from None
    except JobError:
        raise
    except Exception as error:  # never a traceback: one sentence
        raise JobError("failed", f"unexpected {type(error).__name__}: {error}") from None


def _trace(config, force: bool, reserved: int, progress):
    """Trace ``config``; the memory guard also counts what the pool's other runs on this device hold (``reserved``)."""
    import dataclasses

    from ..core.tracing import MemoryGuardError, memory_check, trace

    if not force:
        config.validate(check_device=False)
        from ..core.devices import check_device

        config = config.replace(device=check_device(config.device))
        needed, free = memory_check(config)
        if free is not None and needed > free - reserved:
            raise MemoryGuardError(needed, max(0, free - reserved), config.device)
    report = trace(config, force=True, progress=progress)
    peak = _peak_memory() if config.device == "cpu" else None
    if peak is not None and report.run is not None:  # this run's own peak, not the worker's since it started
        report = dataclasses.replace(report, run=dataclasses.replace(report.run, peak_memory_bytes=peak))
    return report


def _reset_peak_memory() -> None:
    """Linux: reset this process's peak resident size, so the next reading is one job's own.

    The reset sets the peak to what is resident now: first the memory an earlier run freed goes back to
    the system (glibc keeps freed heap memory otherwise), or a small run after a big one shows the big one's."""
    import gc

    gc.collect()  # tensors an earlier run left in reference cycles
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_memory() -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


if __name__ == "__main__":
    sys.exit(main())
