"""Follow mode: the presenter's app publishes its configuration, every follower copy shows it read-only.

The transport is one small JSON file in a private directory (mode 0700), replaced
atomically on each change and stamped with the presenter's id and a sequence
number. Followers poll it (the app every 0.25 s, so a change reaches them within
a second); a poll that finds nothing new reads a few hundred bytes. ``gru-tui --present``
and the copies served by ``gru-tui serve --follow`` run as the same user on the
same machine, so a file is all they need: no port, nothing another user can reach.

Whatever the file holds, a follower does not fail: it reads at most MAX_BYTES, only
from a regular file that is its own user's and that no one else may write (the file
may be in a shared directory: $GRU_TUI_FOLLOW_FILE=/tmp/...), and anything it cannot
use is skipped with one warning while it keeps showing what it showed.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from pathlib import Path

from ..core.config import GRUConfig
from ..core.files import FileRefused, read_small_file, write_atomic

ENV_FILE = "GRU_TUI_FOLLOW_FILE"
FORMAT = "gru-tui follow 1"
POLL_SECONDS = 0.25
MAX_BYTES = 16 * 1024  # a follow file is about 400 bytes

log = logging.getLogger(__name__)


def follow_file() -> Path:
    """Where presenter and followers meet: $GRU_TUI_FOLLOW_FILE, else a private runtime directory."""
    override = os.environ.get(ENV_FILE)
    if override:
        return Path(override)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) if runtime and Path(runtime).is_dir() else Path.home() / ".cache"
    return base / "gru-tui" / "follow.json"


def _private_directory(directory: Path) -> None:
    """Create the directory 0700; tighten our own gru-tui directory, never a shared one such as /tmp."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = directory.stat()
    if directory.name == "gru-tui" and st.st_uid == os.getuid() and st.st_mode & 0o077:
        directory.chmod(0o700)


class Publisher:
    """The presenter's side: ``publish(config)`` on every change (cheap: a few hundred bytes)."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else follow_file()
        self.presenter = secrets.token_hex(8)  # a new presenter is news even if its seq restarts at 1
        self.seq = 0
        self._last: GRUConfig | None = None

    def publish(self, config: GRUConfig) -> bool:
        """Publish ``config`` unless it is the one last published; True when written."""
        if config == self._last:
            return False
        _private_directory(self.path.parent)
        self.seq += 1
        payload = {"format": FORMAT, "presenter": self.presenter, "seq": self.seq, "config": config.to_dict()}
        # 0600 whatever the umask: followers refuse a file that another user could write.
        write_atomic(self.path, json.dumps(payload) + "\n", overwrite=True, mode=0o600)
        self._last = config
        return True


class Follower:
    """A follower's side: ``poll()`` gives the presenter's configuration when it changed, else None.

    A file that is missing, half-understood or invalid is skipped (``last_error`` says
    why, and it is logged once); the follower keeps what it showed.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else follow_file()
        self.last_error: str | None = None
        self._seen: tuple[str, int] | None = None

    def poll(self) -> GRUConfig | None:
        # Read it each time: a few hundred bytes. An mtime/inode check could miss a change, as
        # file systems reuse inode numbers and some clocks tick coarsely; (presenter, seq) cannot.
        try:
            payload = json.loads(read_small_file(self.path, MAX_BYTES, private=True).decode("utf-8"))
        except FileNotFoundError:
            return None  # no presenter yet
        except (OSError, ValueError, RecursionError) as error:  # FileRefused, bad UTF-8 and bad JSON are ValueErrors
            self._skip(str(error) if isinstance(error, FileRefused) else f"{self.path}: {error}")
            return None
        try:
            if not isinstance(payload, dict) or payload.get("format") != FORMAT:
                raise ValueError("not a gru-tui follow file")
            presenter, seq, config = payload.get("presenter"), payload.get("seq"), payload.get("config")
            if not isinstance(presenter, str) or isinstance(seq, bool) or not isinstance(seq, int):
                raise ValueError("presenter must be text and seq a whole number")
            if not isinstance(config, dict):
                raise ValueError("config must be a table of settings")
            if (presenter, seq) == self._seen:
                return None
            config = GRUConfig.from_dict(config)
        except (
            ValueError,
            TypeError,
            RecursionError,
        ) as error:  # ConfigError is a ValueError; TypeError: a value of the wrong kind
            self._skip(f"{self.path}: {error}")
            return None
        self._seen = (presenter, seq)
        self.last_error = None
        return config

    def _skip(self, reason: str) -> None:
        reason = reason if len(reason) <= 300 else reason[:300] + "…"
        if reason != self.last_error:
            log.warning("follow: ignored the presenter's file: %s", reason)
        self.last_error = reason
