"""Configuration files (TOML) and atomic writes: nothing the user saved is lost or half-written."""

from __future__ import annotations

import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from .config import ConfigError, GRUConfig


class FileExistsRefused(FileExistsError):
    """The file exists and the caller did not say it may be overwritten."""


def load_config(path: str | os.PathLike[str]) -> GRUConfig:
    """Read a configuration saved by the app (or written by hand). Errors name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError("config", f"cannot read {path}: {error.strerror or error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("config", f"{path}: not valid TOML: {error}") from None
    data = data.get("gru", data)  # the table [gru] when present, else top-level keys
    try:
        return GRUConfig.from_dict(data)
    except ConfigError as error:
        line = _line_of(text, error.field)
        where = f"{path}, line {line}" if line else str(path)
        raise ConfigError(error.field, f"{error.message} (in {where})") from None
    except TypeError as error:
        raise ConfigError("config", f"{path}: {error}") from None


def config_toml(config: GRUConfig) -> str:
    lines = ["# gru-tui configuration: an nn.GRU and the input it is fed", "[gru]"]
    for name, value in config.to_dict().items():
        if value is None:
            continue
        lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_config(config: GRUConfig, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    return write_atomic(path, config_toml(config), overwrite=overwrite)


def write_atomic(path: str | os.PathLike[str], text: str, overwrite: bool = False) -> Path:
    """Write ``text`` to a temporary file beside ``path``, fsync it, then rename it into place.

    A crash leaves either the old file or the new one, never half of one. Without
    ``overwrite``, an existing file is refused (FileExistsRefused) and left as it is.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsRefused(f"{path} exists; not overwritten")
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if the file appeared meanwhile, unlike a rename
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _line_of(text: str, field: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.split("=")[0].strip() == field and "=" in line:
            return number
    return None
