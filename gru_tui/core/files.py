"""Configuration files (TOML) and atomic writes: nothing the user saved is lost or half-written.

A configuration is saved under a table naming its kind, [gru], [lstm] or [rnn], one setting a line.
Files saved before the kinds had their own tables ([gru] with mode = "lstm" inside) still load.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib  # type: ignore[no-redef]

from .config import ConfigError, GRUConfig
from .kinds import KINDS, MODES


class FileExistsRefused(FileExistsError):
    """The file exists and the caller did not say it may be overwritten."""


MAX_CONFIG_BYTES = 64 * 1024  # a saved configuration is about 400 bytes


class FileRefused(ValueError):
    """A file that is not read: not a regular file, too large, or (when it must be private) another user's."""


def read_small_file(path: str | os.PathLike[str], limit: int, private: bool = False) -> bytes:
    """The bytes of the regular file ``path``, of at most ``limit`` bytes.

    Opened without blocking, so a FIFO or a device is refused (FileRefused), never waited
    on or read without end. ``private``: refused too unless this user owns it and no
    other user may write it. OSError when it cannot be opened or read.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise FileRefused(f"{path} is not a regular file (it is {_file_kind(st.st_mode)})")
        if private and hasattr(os, "getuid") and st.st_uid != os.getuid():
            raise FileRefused(f"{path} belongs to another user (uid {st.st_uid}); only this user's own file is read")
        if private and st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise FileRefused(f"{path} can be written by other users (mode {stat.S_IMODE(st.st_mode):o}); chmod go-w it")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileRefused(f"{path} is larger than {limit:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a file")


def load_config(path: str | os.PathLike[str]) -> GRUConfig:
    """Read a configuration saved by the app (or written by hand; a UTF-8 BOM is fine). Errors name the file and line."""
    path = Path(path)
    try:
        text = read_small_file(path, MAX_CONFIG_BYTES).decode("utf-8-sig")  # -sig: editors on Windows start with a BOM
    except FileRefused as error:
        raise ConfigError("config", str(error)) from None
    except OSError as error:
        raise ConfigError("config", f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError("config", f"{path} is not a text file (not UTF-8 at byte {error.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("config", f"{path}: not valid TOML: {error}") from None
    data = _kind_table(data, path, text)
    try:
        return GRUConfig.from_dict(data)
    except ConfigError as error:
        raise ConfigError(error.field, f"{error.message} (in {_where(path, text, error.field)})") from None


def _kind_table(data: dict[str, Any], path: Path, text: str) -> dict[str, Any]:
    """The settings: the table naming the kind ([gru], [lstm], [rnn]), or top-level keys when there is none.

    A file saved before the kinds had tables of their own keeps its settings under [gru] with a mode line
    (mode = "lstm"): that mode is used. Under [lstm] or [rnn], a mode line must name the table's kind.
    """
    tables = [name for name in MODES if name in data]
    if not tables:
        return data
    if len(tables) > 1:
        raise ConfigError(
            "mode",
            f"one table only, named by the kind ([gru], [lstm] or [rnn]); got {', '.join(f'[{t}]' for t in tables)} (in {path})",
        )
    kind = tables[0]
    table = data[kind]
    if not isinstance(table, dict):
        raise ConfigError(kind, f"must be a table ([{kind}] followed by one setting a line) (in {_where(path, text, kind)})")
    mode = table.get("mode", kind)
    if kind != "gru" and mode != kind:
        raise ConfigError(
            "mode",
            f"the table [{kind}] holds an nn.{KINDS[kind].module}: mode must be {kind!r} or left out, "
            f"got {mode!r} (in {_where(path, text, 'mode')})",
        )
    return {**table, "mode": mode}


def _where(path: Path, text: str, field: str) -> str:
    line = _line_of(text, field)
    return f"{path}, line {line}" if line else str(path)


def config_toml(config: GRUConfig) -> str:
    """The configuration as TOML, under a table naming its kind, [gru], [lstm] or [rnn], its mode line first."""
    lines = [f"# gru-tui configuration: an nn.{config.kind.module} and the input it is fed", f"[{config.mode}]"]
    for name, value in config.to_dict().items():
        if value is None or not config.applies(name):  # proj_size in a GRU's file would only puzzle its reader
            continue
        lines.append(f"{name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_config(config: GRUConfig, path: str | os.PathLike[str], overwrite: bool = False) -> Path:
    return write_atomic(path, config_toml(config), overwrite=overwrite)


def write_atomic(path: str | os.PathLike[str], text: str, overwrite: bool = False, mode: int | None = None) -> Path:
    """Write ``text`` to a temporary file beside ``path``, fsync it, then move it into place.

    A crash leaves either the old file or the new one, never half of one, and no
    temporary file behind. Without ``overwrite``, an existing file is refused
    (FileExistsRefused) and left as it is. The new file gets ``mode`` when given, else
    the usual permissions (the umask's), or the replaced file's.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsRefused(f"{path} exists; not overwritten")
    directory = path.parent
    tmp = (
        directory / f".gru-tui-{secrets.token_hex(6)}.tmp"
    )  # short: a name of NAME_MAX characters is legal, its own + more is not
    # os.open with 0o666 lets the umask decide, as for any file the user creates (mkstemp would force 0600).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if mode is not None:
                os.chmod(f.fileno(), mode)
            elif overwrite and path.exists():
                os.chmod(f.fileno(), stat.S_IMODE(path.stat().st_mode))
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
        _fsync_directory(directory)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _link_new(tmp: Path, path: Path) -> None:
    """Move tmp to a path that must not exist yet: a hard link fails if the file appeared meanwhile, unlike a rename."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsRefused(f"{path} exists; not overwritten") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        # A file system without hard links: check, then rename (a narrow race, the best it allows).
        if path.exists():
            raise FileExistsRefused(f"{path} exists; not overwritten") from None
        os.rename(tmp, path)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; some file systems cannot open a directory, which is fine."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    # A JSON string with only ASCII in it is a valid TOML basic string, once DEL is escaped too.
    return json.dumps(str(value)).replace("\x7f", "\\u007f")


def _line_of(text: str, field: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if line.split("=")[0].strip() == field and "=" in line:
            return number
    return None
