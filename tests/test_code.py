"""The generated PyTorch code runs, and prints exactly the shapes the report shows."""

import contextlib
import io

import pytest

from gru_tui import GRUConfig, trace
from gru_tui.core.code import pytorch_code
from gru_tui.core.report import Packed


@pytest.mark.parametrize(
    "config",
    [
        GRUConfig(input_size=10, hidden_size=32, batch_first=True, batch_size=1, seq_len=35),
        GRUConfig(input_size=10, hidden_size=32, num_layers=2, bidirectional=True, batch_first=True, with_h0=True),
        GRUConfig(input_size=3, hidden_size=4, batch_size=3, seq_len=7, lengths=(7, 5, 2), dtype="float64"),
        GRUConfig(input_size=3, hidden_size=4, unbatched=True, seq_len=5, bias=False, dropout=0.5, num_layers=2),
        GRUConfig(input_size=3, hidden_size=4, device="meta"),
        GRUConfig(mode="lstm", input_size=10, hidden_size=32, proj_size=8, num_layers=2, bidirectional=True, with_h0=True),
        GRUConfig(mode="lstm", input_size=3, hidden_size=4, batch_size=3, seq_len=7, lengths=(7, 5, 2), with_h0=True),
        GRUConfig(mode="rnn", nonlinearity="relu", input_size=3, hidden_size=4, unbatched=True, with_h0=True),
        # torch's own rules: a batch of 0, dropout 1, a padded input longer than the longest length
        GRUConfig(mode="lstm", input_size=3, hidden_size=4, batch_size=0, num_layers=2, bidirectional=True, with_h0=True),
        GRUConfig(input_size=3, hidden_size=4, num_layers=2, dropout=1.0),
        GRUConfig(mode="rnn", input_size=3, hidden_size=4, batch_size=3, seq_len=35, lengths=(7, 5, 2), batch_first=True),
    ],
)
def test_code_prints_the_report_shapes(config):
    report = trace(config)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(pytorch_code(config, report), {})
    printed = out.getvalue().split("\n")
    first = report.output.data.shape if isinstance(report.output, Packed) else report.output.shape
    assert printed[0] == str(list(first))
    if isinstance(report.output, Packed):
        assert printed[1] == str(list(report.output.padded.shape))
    states = [t for t in (report.h_n, report.c_n) if t is not None]
    assert printed[-1 - len(states) : -1] == [str(list(t.shape)) for t in states]
