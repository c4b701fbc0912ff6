"""The forward's watchers: a pre-hook and a hook on every module, and a torch-function mode that names a failing call.

Calls are attributed to the path they were made through: a module reachable under several
names (shared by two parents) is credited to the one whose module is running now (the top of
a stack of running modules, kept by the pre-hooks). Each call's inputs and outputs are kept as
plain data; its matmul mult-adds are read from the counter; the module running now is said
(``progress``) at most every ``PROGRESS_EVERY`` seconds.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .cost import MatmulCounter, torchinfo_bytes, value_bytes
from .recurrent import input_of, is_recurrent, recurrent_detail, recurrent_macs
from .report import Recurrent
from .values import Call, call_of, dtype_name

PROGRESS_EVERY = 0.1  # seconds between two progress messages
Progress = Callable[[float, str], None]


@dataclass
class Record:
    """What one path's calls gave: each finished call, the calls under way (inputs, mult-adds when entered), the detail."""

    calls: list[Call] = field(default_factory=list)
    started: list[tuple[tuple, dict, int]] = field(default_factory=list)
    recurrent: Recurrent | None = None
    recurrent_note: str = ""
    macs: int = 0


class Hooks:
    """Pre-hooks and hooks on every module: what each call received and returned, through which path, and which calls are open."""

    def __init__(self, model, counter: MatmulCounter | None = None, progress: Progress | None = None, name: str = "the model"):
        import torch

        # the hooks read shapes without the forward's torch-function mode seeing (and slowing) each attribute read
        self.quiet = torch._C.DisableTorchFunction
        self.modules = dict(model.named_modules(remove_duplicate=False))
        self.recurrent = {id(m) for m in self.modules.values() if is_recurrent(m)}
        self.weighted_leaves = {
            id(m) for m in self.modules.values() if not m._modules and next(m.parameters(recurse=False), None) is not None
        }
        self.paths: dict[int, list[str]] = {}  # every path a module object is reachable by
        for path, m in self.modules.items():
            self.paths.setdefault(id(m), []).append(path)
        self.records: dict[str, Record] = {path: Record() for path in self.modules}
        self.stack: list[str] = []  # the calls under way, outermost first
        self.first: dict[str, int] = {}  # each path's first call, in order
        self.order: list[str] = []  # finished calls, in order: the last recurrent layer before a failure
        self.counter = counter
        self.progress, self.name = progress, name
        self.started = self.said = time.monotonic()
        self.passes = self.torchinfo_passes = 0  # forward/backward pass bytes, by our rule and by torchinfo's
        self.failed_path: str | None = None  # set once the forward failed: the innermost open call's path
        self.failed_message: str | None = None
        self.handles = []
        for m in model.modules():  # each module object once, however many names it has
            self.handles.append(m.register_forward_pre_hook(self._before, with_kwargs=True))
            self.handles.append(m.register_forward_hook(self._after, with_kwargs=True))

    def _path(self, module) -> str | None:
        """The path this call goes through: a child of the module running now, else the nearest one inside it, else the first."""
        paths = self.paths.get(id(module))
        if not paths or len(paths) == 1:
            return paths[0] if paths else None
        if self.stack:
            prefix = f"{self.stack[-1]}." if self.stack[-1] else ""
            inside = [p for p in paths if p.startswith(prefix) and p != self.stack[-1]]
            if inside:
                return min(inside, key=lambda p: p.count("."))
        return paths[0]

    def _before(self, module, args, kwargs):
        with self.quiet():
            self._entered(module, args, kwargs)

    def _after(self, module, args, kwargs, output):
        with self.quiet():
            self._left(module, args, kwargs, output)

    def _entered(self, module, args, kwargs):
        path = self._path(module)
        if path is None:
            return
        self.stack.append(path)
        self.first.setdefault(path, len(self.first))
        macs = self.counter.macs() if self.counter is not None else 0
        self.records[path].started.append((args, kwargs, macs))
        if self.counter is not None and id(module) in self.recurrent:
            self.counter.pause(recurrent_macs(module, input_of(args, kwargs)[0]))
        if self.progress is not None:
            now = time.monotonic()
            if now - self.said >= PROGRESS_EVERY:
                self.said = now
                self.progress(0.5, f"running {path or self.name} · {now - self.started:.1f} s")

    def _left(self, module, args, kwargs, output):
        if id(module) not in self.paths:
            return
        path = None
        while self.stack:  # calls above it still open were left by an error the model caught
            path = self.stack.pop()
            if self.counter is not None and id(self.modules[path]) in self.recurrent:
                self.counter.resume()
            if self.modules[path] is module:
                break
            self.records[path].started.pop()
        if path is None or self.modules[path] is not module:
            return
        record = self.records[path]
        _args, _kwargs, macs = record.started.pop()
        if self.counter is not None:
            record.macs += self.counter.macs() - macs
        call = call_of(args, kwargs, output, returned=True)
        record.calls.append(call)
        self.order.append(path)
        if id(module) in self.weighted_leaves:
            self.passes += 2 * value_bytes(call.output)  # its output kept for backward, and its gradient
            self.torchinfo_passes += 2 * torchinfo_bytes(call.output)
        if id(module) in self.recurrent and record.recurrent is None and not record.recurrent_note:
            try:
                record.recurrent = recurrent_detail(module, args, kwargs, output)
            except Exception as error:  # noqa: BLE001 - a subclass with a forward of its own: its calls still show
                record.recurrent_note = f"no per-layer detail: {error}"

    def open_call(self) -> tuple[str, tuple, dict] | None:
        """The innermost call under way (the forward failed inside it): its path and inputs."""
        if not self.stack:
            return None
        path = self.stack[-1]
        args, kwargs, _macs = self.records[path].started[-1]
        return path, args, kwargs

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


@functools.cache
def _recording_mode():
    """The torch-function mode class (made once: a class costs a millisecond to build)."""
    from torch.overrides import TorchFunctionMode

    class Recording(TorchFunctionMode):
        def __init__(self, recorder: FailedCall):
            super().__init__()
            self.recorder = recorder

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            try:
                return func(*args, **kwargs)
            except BaseException as error:  # kept, not handled: the forward's caller gets it as it was
                self.recorder.failed = (func, args, kwargs, error)
                raise

    return Recording


class FailedCall:
    """Around the forward: the torch function that raised (``failed``: function, args, kwargs, error). Nothing kept otherwise."""

    def __init__(self):
        self.failed: tuple[Any, tuple, dict, BaseException] | None = None
        self.mode = _recording_mode()(self)

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)

    def raised(self, error: BaseException):
        """(function, args, kwargs) when ``error`` (or one it was raised from) came out of a torch function; else None."""
        if self.failed is None:
            return None
        seen = error
        while seen is not None:
            if seen is self.failed[3]:
                return self.failed[:3]
            seen = seen.__cause__ or seen.__context__
        return None


def function_name(func) -> str:
    """``torch.bmm``, ``torch.cat``, ``torch.nn.functional.linear``, ``Tensor.view``: how a person would write the function."""
    import torch

    name = getattr(func, "__name__", None) or type(func).__name__
    if name == "__get__" and hasattr(func, "__self__"):  # a property: Tensor.shape
        name = getattr(func.__self__, "__name__", name)
    for prefix, space in (
        ("torch", torch),
        ("torch.nn.functional", torch.nn.functional),
        ("torch.linalg", torch.linalg),
        ("torch.fft", torch.fft),
        ("torch.special", torch.special),
    ):
        if getattr(space, name, None) is func:
            return f"{prefix}.{name}"
    qualified = getattr(func, "__qualname__", "")
    if getattr(torch.Tensor, name, None) is func or qualified.split(".")[0] in ("Tensor", "TensorBase", "_TensorBase"):
        return f"Tensor.{name}"
    module = getattr(func, "__module__", None)
    return f"{module}.{name}" if module else name


def operands(args: tuple, kwargs: dict) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]:
    """The shapes and dtypes of a call's tensor arguments, in argument order (a list or tuple argument's tensors in order)."""
    import torch

    tensors = []
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, torch.Tensor):
            tensors.append(arg)
        elif isinstance(arg, (list, tuple)):
            tensors += [t for t in arg if isinstance(t, torch.Tensor)]
    return tuple(tuple(t.shape) for t in tensors), tuple(dtype_name(t) for t in tensors)
