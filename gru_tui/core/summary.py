"""The summary figures of a report as (label, value) rows: parameters, mult-adds, sizes, checks, timing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # report.py prints these lines under its tree
    from .report import Report


def human_bytes(n: int | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.2f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def summary_rows(report: Report) -> list[tuple[str, str]]:
    s = report.summary
    rows = [
        ("parameters", f"{s['total_params']:,} ({human_bytes(s['param_bytes'])})"),
        ("mult-adds", f"{s['mult_adds']:,} (weight products alone: {s['matmul_macs']:,})"),
    ]
    if "torchinfo_mult_adds" in s:
        if s["torchinfo_mult_adds_wrong"]:
            rows.append(
                (
                    "torchinfo mult-adds",
                    f"{s['torchinfo_mult_adds']:,} — wrong for this input: it multiplies by the output's first two dimensions",
                )
            )
        rows += [
            ("input size", human_bytes(s["input_bytes"])),
            ("forward/backward pass size", human_bytes(s["forward_backward_bytes"])),
            ("estimated total size", human_bytes(s["total_bytes"])),
        ]
    else:
        rows.append(("torchinfo", "not run yet: shapes derived from the rules"))
    checks = report.checks
    if "output_max_error" in checks:
        rows.append(
            (
                "checks",
                f"module vs its layers one by one{_window(report)}: output {checks['output_max_error']:.2g}, h_n {checks['h_n_max_error']:.2g}"
                + (f", c_n {checks['c_n_max_error']:.2g}" if "c_n_max_error" in checks else "")
                + "; "
                f"hand-computed gates vs kernel: {checks['step_max_error']:.2g}",
            )
        )
    elif checks:
        rows.append(("checks", checks.get("values", "")))
    if report.run is not None:
        peak = human_bytes(report.run.peak_memory_bytes)
        where = "peak resident memory (torch included)" if report.config.device == "cpu" else "peak allocated"
        rows.append(("device run", f"{report.run.seconds * 1000:,.1f} ms on {report.config.device}, {where} {peak}"))
    return rows


def _window(report: Report) -> str:
    """Say when the module was compared with its layers on the first steps rather than the whole sequence."""
    window = report.checks.get("window_steps")
    c = report.config
    steps = max(c.lengths) if c.lengths is not None else c.seq_len
    return f" (first {window} steps)" if window is not None and window < steps else ""


def summary_lines(report: Report) -> list[str]:
    rows = summary_rows(report)
    width = max(len(label) for label, _ in rows)
    return [f"{label:<{width}}  {value}" for label, value in rows]
