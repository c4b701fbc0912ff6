"""What the device worker pool tells the app and its screens. Every run message carries the configuration it belongs to,
so the app can drop a result that no longer matches the form."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..core.config import GRUConfig
from ..core.report import Report


@dataclass
class TorchLoaded(Message):
    """torch imported and the devices of this machine detected: (name, description) pairs."""

    devices: list[tuple[str, str]]
    torch_version: str
    seconds: float


@dataclass
class TorchFailed(Message):
    """torch could not be imported or asked for devices; the derived tree still works."""

    text: str


@dataclass
class PoolLost(Message):
    """The connection to the device worker pool ended (the server that held it stopped)."""

    text: str


@dataclass
class TraceStarted(Message):
    """A worker took the run (it may have waited in the pool's queue until then)."""

    config: GRUConfig


@dataclass
class TraceProgress(Message):
    config: GRUConfig
    fraction: float
    text: str
    estimate: tuple[float, float] | None = None  # (seconds, fraction): tracing.Estimate, when the run made one

    def can_replace(self, message: Message) -> bool:
        # A newer progress report of the same run makes an older, not yet handled one pointless.
        return isinstance(message, TraceProgress) and message.config == self.config


@dataclass
class TraceFinished(Message):
    """The device run gave its measured report."""

    config: GRUConfig
    report: Report


@dataclass
class TraceRefused(Message):
    """The memory guard stopped the run before it started; ``force`` would run it anyway."""

    config: GRUConfig
    text: str


@dataclass
class TraceFailed(Message):
    """torch refused the run or it failed; ``field`` names the form field at fault when there is one."""

    config: GRUConfig
    text: str
    field: str | None = None


@dataclass
class ModelRunEvent(Message):
    """Your own model's run in the worker: ``kind`` started, progress (``fraction``, ``text``), done (``report``), or
    failed (``text``: the worker could not run it at all; the model's own failures are in the report)."""

    spec: object  # model.ModelSpec
    kind: str
    report: object | None = None  # model.ModelReport
    text: str = ""
    fraction: float | None = None


@dataclass
class LessonTraced(Message):
    """The reports of ``configs`` (in order), traced from the real module; or ``error`` saying why not."""

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
