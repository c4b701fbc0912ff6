"""Test helpers: which processes belong to a test (by a tag in their environment) and what they have loaded."""

from __future__ import annotations

import os
from pathlib import Path


def environ_of(pid: int) -> dict[bytes, bytes]:
    """The process's environment, as /proc has it."""
    return dict(item.split(b"=", 1) for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in item)


def tagged(tag: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose environment holds ``GRU_TUI_TEST_TAG=tag``.

    Children inherit the environment, so a tagged app's worker processes are found too.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"GRU_TUI_TEST_TAG={tag}".encode() not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().split(") ")[-1].startswith("Z"):
                continue  # a zombie is dead: it holds no memory and runs nothing
            found.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()))
        except OSError:
            continue
    return found


def is_worker(pid: int) -> bool:
    """Whether the process is a device worker (started on its own or forked by the zygote): its name in top and ps."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "gru-tui worker"
    except OSError:
        return False


def parent_of(pid: int) -> int:
    """The parent's pid (field 4 of /proc/PID/stat)."""
    return int(Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].split()[1])


def is_gru_tui_run(command: str) -> bool:
    """Whether the command line is one of the pool's processes: a worker, or the zygote and the workers it forked."""
    return "gru_tui.run." in command


def loaded_torch(pid: int) -> bool:
    """Whether the process has torch's native library mapped (it imported torch)."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def gone(pid: int) -> bool:
    """Whether the process has ended (a zombie counts as ended: it runs nothing and holds no memory)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")
    except OSError:
        return True


def user_cpu_seconds(pid: int) -> float:
    """CPU time the process has spent in user mode (utime, field 14 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].split()
    return int(fields[11]) / os.sysconf("SC_CLK_TCK")


def rss_and_uss_bytes(pid: int) -> tuple[int, int]:
    """Resident memory, and the part only this process holds (private pages), from /proc/PID/smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        fields[name] = int(value.split()[0]) * 1024
    return fields["Rss"], fields["Private_Clean"] + fields["Private_Dirty"]


def total_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
