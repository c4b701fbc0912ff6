"""Which devices this machine really has, detected at run time."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class DeviceInfo:
    name: str  # what torch.device() takes: cpu, cuda:0, mps, meta
    description: str  # what a person reads in a select: "cuda:0 — NVIDIA H200, 139.8 GiB"
    total_memory: int | None = None  # bytes; None where it cannot be known


def available_devices() -> list[DeviceInfo]:
    import torch

    devices = [DeviceInfo("cpu", "cpu", _system_memory()[0])]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(
                DeviceInfo(
                    f"cuda:{index}",
                    f"cuda:{index} — {props.name}, {props.total_memory / 2**30:.1f} GiB",
                    props.total_memory,
                )
            )
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceInfo("mps", "mps — Apple GPU"))
    devices.append(DeviceInfo("meta", "meta — shapes only, no memory, no values"))
    return devices


def device_name(name: str) -> str:
    """The name as the device list writes it, without torch: 'CPU:0' is cpu (torch takes and ignores a cpu index)."""
    name = name.strip().lower()
    return "cpu" if name.startswith("cpu:") and name[4:].isdigit() else name


def normalize_device(name: str) -> str:
    """``device_name``, and 'cuda' means the current CUDA device, as torch reads it; write it out as cuda:N."""
    name = device_name(name)
    if name == "cuda":
        import torch

        return f"cuda:{torch.cuda.current_device()}" if torch.cuda.is_available() else "cuda:0"
    return name


def check_device(name: str) -> str:
    """Return the normalized name of a device this machine has, or raise ConfigError listing those it has."""
    names = [d.name for d in available_devices()]
    normalized = normalize_device(name)
    if normalized not in names:
        raise ConfigError("device", f"{name!r} is not available on this machine; available: {', '.join(names)}")
    return normalized


def free_memory(name: str) -> int | None:
    """Bytes free on the device now (RAM for cpu), or None where it cannot be known (meta, mps)."""
    if name == "cpu":
        return _system_memory()[1]
    if name.startswith("cuda"):
        import torch

        free, _total = torch.cuda.mem_get_info(torch.device(name))
        return free
    return None


def _system_memory() -> tuple[int | None, int | None]:
    """(total, available) bytes of RAM from /proc/meminfo; (None, None) where there is none."""
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if ":" in line}
    except OSError:
        return None, None
    return info.get("MemTotal"), info.get("MemAvailable")
