"""The benchmark scripts still run against the current core (smallest sizes; no timing is asserted)."""

import os
import sys

import pytest

from gru_tui.core.config import FIRST_EXAMPLE

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

import bench_derive  # noqa: E402
import bench_latency  # noqa: E402
import bench_trace  # noqa: E402
from _common import Table, percentile  # noqa: E402


def assert_ran(tables: list[Table], rows: int) -> None:
    for table in tables:
        errors = [note for note in table.notes if note.startswith("error")]
        assert not errors, errors
    assert sum(len(t.rows) for t in tables) == rows
    for table in tables:
        assert table.title in table.text() and table.markdown().count("\n|") == len(table.rows) + 2  # header, rule, rows


def test_derive_benchmark_covers_every_seq_len_padded_packed_and_an_lstm():
    tables = bench_derive.run(quick=True)
    assert_ran(tables, len(bench_derive.VARIANTS) * len(bench_derive.SEQ_LENS))
    assert any(row[0].startswith("LSTM") for row in tables[0].rows)
    assert [row[1] for row in tables[0].rows][-1] == "1,000,000"


def test_trace_benchmark_runs_each_configuration(monkeypatch):
    cases = bench_trace.configurations(quick=True, large_seq=4)
    assert [name for name, *_ in cases][:3] == ["small", "mid", "large"] and cases[2][1].seq_len == 4
    assert {c.mode for _name, c, *_ in cases} == {"gru", "lstm"}
    # The same paths on smaller sizes: the benchmark's own sizes take tens of seconds on two cores.
    small = FIRST_EXAMPLE.replace(seq_len=12)
    monkeypatch.setattr(
        bench_trace,
        "configurations",
        lambda quick, large_seq: [
            ("small", small, 1, 1),
            ("two layers", small.replace(num_layers=2, bidirectional=True), 1, 1),
            ("LSTM", small.replace(mode="lstm", proj_size=4), 1, 1),
        ],
    )
    tables = bench_trace.run(quick=True, subprocesses=False)
    assert_ran(tables, 3)
    # Fresh processes, each importing torch: one configuration walks every path of that table.
    assert_ran([bench_trace.run_subprocesses(bench_trace.configurations(True, 4)[:1], "cpu", quick=True)], 1)


@pytest.mark.usefixtures("shared_pool")  # its apps join the session's worker pool (conftest.py)
def test_latency_benchmark_runs_or_says_why_not():
    tables = bench_latency.run(quick=True)
    if bench_latency.app_missing() is not None:
        assert "not importable" in tables[0].notes[0]
    else:
        assert_ran(tables, 2)


def test_nearest_rank_percentile_is_a_value_that_occurred():
    values = [0.5, 0.1, 0.4, 0.2, 0.3]
    assert percentile(values, 50) == 0.3 and percentile(values, 95) == 0.5 and percentile(values, 1) == 0.1
    with pytest.raises(IndexError):
        percentile([], 50)


def test_model_benchmark_runs_each_example_beside_torchinfo():
    import bench_model

    tables = bench_model.run(quick=True)
    assert_ran(tables, len(bench_model.SMALL))
    assert all(row[-1].endswith("x") for row in tables[0].rows)  # the ratio trace/torchinfo, printed
