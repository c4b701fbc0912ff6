"""Why a report has no complete tree (``Failure``): the file (import, NAME, inputs) or the forward, where, and what to do.

Plain data, no torch. ``failure_from`` places an exception at the innermost line of the
person's own files; the forward's failures are completed by ``diagnose``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .values import Call

MAX_TEXT = 600  # characters of an error message kept


@dataclass(frozen=True)
class Failure:
    """Why there is no complete tree: the file (import, NAME, inputs) or the forward, where, and what to do."""

    stage: str  # "file", "build", "inputs", "forward", "internal"
    error_type: str
    message: str  # the exception's own words (torch's, Python's)
    file: str | None = None  # as the person named it (relative stays relative)
    line: int | None = None
    code: str | None = None  # that line's text
    module: str | None = None  # the module that failed (its path; "" the model itself)
    module_type: str | None = None
    received: Call | None = None  # what that module was given
    explanation: tuple[str, ...] = ()  # why, and the fix (checked: ``fix_checked``)
    fix_checked: bool = False
    call: str | None = None  # the torch function that raised: "torch.bmm", "torch.cat", "Tensor.view"
    operands: tuple[tuple[int, ...], ...] = ()  # its tensor arguments' shapes, in argument order (a list argument's in order)
    operand_dtypes: tuple[str, ...] = ()
    instances: tuple[str, ...] = ()  # the other modules of the failing class (the class the fix belongs in)
    builder: str | None = None  # "BidirectionalLSTM.__init__ (crnn.py:11)": the line that builds the failing submodule

    @property
    def where(self) -> str:
        if self.file is None:
            return ""
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def headline(self) -> str:
        """One line: where, what."""
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        if self.stage == "forward" and self.module is not None:
            at = f" (at {Path(self.file).name}:{self.line})" if self.file and self.line else ""
            inside = f" in {self.call}" if self.call else ""
            return f"{module_name(self.module)} ({self.module_type}) failed{inside}{at}: {self.error_type}: {first}"
        where = f"{self.where}: " if self.where else ""
        return f"{where}{self.error_type}: {first}"

    def lines(self) -> list[str]:
        """What the terminal prints: the headline, what the failed module (or function) received, the explanation."""
        lines = [self.headline()]
        if self.code:
            lines.append(f"    {self.code}")
        if self.call:
            operands = ", ".join(
                f"[{', '.join(map(str, s))}]" + ("" if d == "float32" else f" {d}")
                for s, d in zip(self.operands, self.operand_dtypes)
            )
            lines.append(f"{self.call} received {operands or 'no tensors'}")
        elif self.received is not None:
            lines.append(f"{module_name(self.module)} received {self.received.inputs_text()}")
        lines += list(self.explanation)
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "error_type": self.error_type,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "code": self.code,
            "module": self.module,
            "module_type": self.module_type,
            "received": self.received.to_dict() if self.received is not None else None,
            "call": self.call,
            "operands": [list(s) for s in self.operands],
            "operand_dtypes": list(self.operand_dtypes),
            "instances": list(self.instances),
            "builder": self.builder,
            "explanation": list(self.explanation),
            "fix_checked": self.fix_checked,
        }


class ModelTraceError(RuntimeError):
    """``report.raise_for_failure()``: the failure, for a script that wants an exception."""

    def __init__(self, failure: Failure):
        super().__init__("\n".join(failure.lines()))
        self.failure = failure


class FileFailure(Exception):
    """Loading, building or making the inputs failed: the report says so (raised inside the package only)."""

    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.failure = failure


def module_name(path: str | None) -> str:
    return path if path else "the model"


def failure_from(
    error: BaseException, stage: str, folder: str | None, message: str | None = None, shown: Callable[[str], str] = str
) -> Failure:
    """An exception as a Failure, placed at the innermost line of the person's own files (their ``folder``), named by ``shown``."""
    import linecache
    import traceback

    file = line = None
    if isinstance(error, SyntaxError) and error.filename:
        file, line = error.filename, error.lineno
    elif folder is not None:
        for frame, lineno in traceback.walk_tb(error.__traceback__):
            name = frame.f_code.co_filename
            if in_folder(name, folder):
                file, line = name, lineno
    code = linecache.getline(file, line).strip() if file and line else None
    return Failure(
        stage,
        type(error).__name__,
        cut(message if message is not None else error_message(error)),
        shown(file) if file else None,
        line,
        code or None,
    )


def error_message(error: BaseException) -> str:
    if isinstance(error, SyntaxError):
        return error.msg or str(error)
    return str(error) or type(error).__name__


def in_folder(file: str, folder: str) -> bool:
    try:
        return Path(file).resolve().parent == Path(folder)
    except (OSError, ValueError):
        return False


def cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
