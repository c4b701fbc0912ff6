"""The lesson screens' background work: trace a question or a pair to compare, run the explainer.

Like ``runner``, these bodies run in thread workers and only post messages, each
tagged with what it was asked, so a screen can drop an answer to an older request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from textual.message import Message

from ..config import ConfigError, GRUConfig
from ..report import Report
from .runner import Post, refusal_text


@dataclass
class LessonTraced(Message):
    """The reports of ``configs`` (in order), traced from the real nn.GRU; or ``error`` saying why not."""

    configs: tuple[GRUConfig, ...]
    reports: tuple[Report, ...] | None
    error: str | None = None


@dataclass
class Explained(Message):
    """The explainer ran ``request`` (config, input shape, h0 shape); ``field`` names the bad field on error."""

    request: tuple
    explanation: object | None  # lessons.Explanation
    error: str | None = None
    field: str | None = None


def trace_lesson(configs: tuple[GRUConfig, ...], is_cancelled: Callable[[], bool], post: Post) -> None:
    try:
        from ..tracing import Cancelled, MemoryGuardError, TraceError, trace

        reports = tuple(trace(config, is_cancelled=is_cancelled) for config in configs)
    except Cancelled:
        return
    except MemoryGuardError as error:
        post(LessonTraced(configs, None, refusal_text(error)))
    except (TraceError, ConfigError) as error:
        post(LessonTraced(configs, None, str(error)))
    except Exception as error:  # never a traceback on screen
        post(LessonTraced(configs, None, f"unexpected {type(error).__name__}: {error}"))
    else:
        post(LessonTraced(configs, reports))


def run_explainer(request: tuple, post: Post) -> None:
    from ..lessons import explain

    config, input_shape, h0_shape = request
    try:
        explanation = explain(config, input_shape, h0_shape)
    except ConfigError as error:
        post(Explained(request, None, error.message, error.field))
    except Exception as error:  # never a traceback on screen
        post(Explained(request, None, f"unexpected {type(error).__name__}: {error}"))
    else:
        post(Explained(request, explanation))
