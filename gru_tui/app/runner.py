"""The bodies of the app's background workers, kept free of widgets: they run in threads and only post messages.

torch is imported here, inside the functions, never when the app starts.
"""

from __future__ import annotations

import time
from typing import Callable

from textual.message import Message

from ..config import ConfigError, GRUConfig
from ..summary import human_bytes
from .messages import TorchFailed, TorchLoaded, TraceFailed, TraceFinished, TraceProgress, TraceRefused

Post = Callable[[Message], object]


def refusal_text(error) -> str:
    """The memory guard's refusal, saying how to go on in the app (its own message names the CLI flag)."""
    return (
        f"{error.device}: this run needs about {human_bytes(error.needed)} but only {human_bytes(error.free)} is free; "
        "make it smaller, pick meta (shapes only), or run it anyway (ctrl+g)"
    )


def load_torch(post: Post) -> None:
    """Import torch and detect this machine's devices (cpu, cuda:N, mps, meta)."""
    started = time.perf_counter()
    try:
        import torch

        from ..devices import available_devices

        devices = [(d.description, d.name) for d in available_devices()]
    except Exception as error:  # a broken torch install must not take the app down
        post(TorchFailed(f"torch could not be loaded: {type(error).__name__}: {error}"))
        return
    post(TorchLoaded(devices, torch.__version__, time.perf_counter() - started))


def device_run(config: GRUConfig, force: bool, is_cancelled: Callable[[], bool], post: Post) -> None:
    """Trace ``config`` on its device and post the outcome, tagged with ``config``.

    A cancelled run posts nothing: a newer configuration has replaced it.
    """
    try:
        import torch  # noqa: F401  (here, so a broken install is reported as such, not as a failed run)

        from ..tracing import Cancelled, MemoryGuardError, TraceError, trace
    except Exception as error:
        post(TraceFailed(config, f"torch could not be loaded: {type(error).__name__}: {error}"))
        return
    try:
        report = trace(
            config,
            force=force,
            progress=lambda fraction, text: post(TraceProgress(config, fraction, text)),
            is_cancelled=is_cancelled,
        )
    except Cancelled:
        return
    except MemoryGuardError as error:
        post(TraceRefused(config, refusal_text(error)))
    except ConfigError as error:
        post(TraceFailed(config, str(error), field=error.field))
    except TraceError as error:
        post(TraceFailed(config, str(error)))
    except Exception as error:  # never a traceback on screen: the log keeps the sentence
        post(TraceFailed(config, f"{config.device}: unexpected {type(error).__name__}: {error}"))
    else:
        post(TraceFinished(config, report))
