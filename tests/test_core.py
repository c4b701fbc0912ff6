"""The tracing core against torch itself: every shape the report shows is what nn.GRU produces."""

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.flop_counter import FlopCounterMode

from gru_tui import ConfigError, GRUConfig, derive, trace
from strategies import gru_configs
from torch_reference import run_gru as torch_reference


def assert_matches_torch(c: GRUConfig):
    report = trace(c)
    d = report.to_dict()
    out, h_n, params = torch_reference(c)
    if c.lengths is not None:
        if c.device == "meta":  # pad_packed_sequence reads values meta has not; shapes do not depend on the device
            padded, _ = pad_packed_sequence(torch_reference(c.replace(device="cpu"))[0], batch_first=c.batch_first)
        else:
            padded, _ = pad_packed_sequence(out, batch_first=c.batch_first)
        assert d["output"]["data_shape"] == list(out.data.shape)
        assert d["output"]["batch_sizes"] == out.batch_sizes.tolist()
        assert d["output"]["padded_shape"] == list(padded.shape)
    else:
        assert d["output"]["shape"] == list(out.shape)
    assert d["h_n"]["shape"] == list(h_n.shape)
    assert d["parameters"] == params
    assert list(d["parameters"]) == list(params)  # same names, same order
    D = 2 if c.bidirectional else 1
    assert [(e["layer"], e["direction"], e["h_n_index"]) for e in d["layers"]] == [
        (k, ("forward", "reverse")[i], k * D + i) for k in range(c.num_layers) for i in range(D)
    ]
    for e in d["layers"]:
        suffix = f"_l{e['layer']}" + ("_reverse" if e["direction"] == "reverse" else "")
        assert e["weight_ih"] == params[f"weight_ih{suffix}"]
        assert e["weight_hh"] == params[f"weight_hh{suffix}"]
    # the rules-only report agrees with the measured one on every shape
    assert derive(c).shapes() == report.shapes()
    # the module agrees with its layers run one by one, and the hand-computed gates with the kernel
    if c.device != "meta":
        tol = {"float64": 1e-9, "float32": 1e-4, "float16": 2e-2, "bfloat16": 1e-1}[c.dtype]
        if c.device.startswith("cuda") and c.dtype == "float32":
            tol = 1e-3  # cuDNN uses TF32 for float32 matmuls by default; the hand-computed step does not
        assert report.checks["output_max_error"] <= tol
        assert report.checks["h_n_max_error"] <= tol
        assert report.checks["step_max_error"] <= tol * 10
    return report


@pytest.mark.parametrize(
    "num_layers, bidirectional, output, h_n",
    [(1, False, [1, 35, 32], [1, 1, 32]), (2, False, [1, 35, 32], [2, 1, 32]), (2, True, [1, 35, 64], [4, 1, 32])],
)
def test_worked_examples(num_layers, bidirectional, output, h_n):
    c = GRUConfig(input_size=10, hidden_size=32, num_layers=num_layers, bidirectional=bidirectional,
                  batch_first=True, batch_size=1, seq_len=35)
    report = assert_matches_torch(c)
    assert report.to_dict()["input"]["shape"] == [1, 35, 10]
    assert list(report.output.shape) == output
    assert list(report.h_n.shape) == h_n


# Where a GPU is present (the lent GPU machine), the property test covers it too.
DEVICES = ["cpu", "cpu", "meta"] + (["cuda:0", "cuda:0"] if torch.cuda.is_available() else [])


def configs():
    """Small enough to run each one for real, on every device this machine has."""
    return gru_configs(max_batch=4, max_seq=6, max_input=7, max_hidden=6, max_layers=3,
                       dropouts=st.sampled_from([0.0, 0.25]), devices=DEVICES)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_every_configuration_matches_torch(c):
    assert_matches_torch(c)


def test_packed_output_and_reverse_step():
    c = GRUConfig(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, batch_size=3, seq_len=7,
                  lengths=(7, 5, 2), batch_first=True, with_h0=True)
    report = assert_matches_torch(c)
    d = report.to_dict()
    assert d["output"]["batch_sizes"] == [3, 3, 2, 2, 2, 1, 1]
    reverse = d["layers"][1]
    assert reverse["step_index"] == 6 and reverse["step"]["x_t"]["shape"] == [1, 3]


def test_unbatched_shapes():
    c = GRUConfig(input_size=10, hidden_size=20, num_layers=2, bidirectional=True, unbatched=True, seq_len=35)
    d = assert_matches_torch(c).to_dict()
    assert d["input"]["shape"] == [35, 10]
    assert d["output"]["shape"] == [35, 40]
    assert d["h_n"]["shape"] == [4, 20]


def _flops(c: GRUConfig) -> int:
    gru = nn.GRU(c.input_size, c.hidden_size, c.num_layers, bias=c.bias, batch_first=c.batch_first,
                 bidirectional=c.bidirectional)
    shape = (c.seq_len, c.input_size) if c.unbatched else (c.batch_size, c.seq_len, c.input_size)
    x = torch.randn(shape)
    if c.lengths is not None:
        x = pack_padded_sequence(x, torch.tensor(c.lengths), batch_first=True, enforce_sorted=False)
    with FlopCounterMode(display=False) as counter:
        gru(x)
    return counter.get_total_flops()


@pytest.mark.parametrize(
    "c",
    [
        GRUConfig(input_size=10, hidden_size=20, num_layers=2, bidirectional=True, unbatched=True, seq_len=35),
        GRUConfig(input_size=10, hidden_size=20, num_layers=2, bidirectional=True, batch_first=True, batch_size=3, seq_len=35),
        GRUConfig(input_size=10, hidden_size=20, num_layers=2, bidirectional=True, batch_first=True, batch_size=3,
                  seq_len=35, lengths=(35, 20, 5)),
        GRUConfig(input_size=5, hidden_size=8, num_layers=3, bias=False, batch_first=True, batch_size=2, seq_len=9),
    ],
    ids=["unbatched", "batched", "packed", "no-bias"],
)
def test_mult_adds_match_flop_counter(c):
    summary = trace(c).summary
    assert 2 * summary["matmul_macs"] == _flops(c)
    bias_terms = summary["total_params"] - sum(
        p.numel() for n, p in nn.GRU(c.input_size, c.hidden_size, c.num_layers, bias=c.bias,
                                      bidirectional=c.bidirectional).named_parameters() if n.startswith("weight")
    )
    steps = summary["mult_adds"] // summary["total_params"]
    assert summary["mult_adds"] - bias_terms * steps == summary["matmul_macs"]
    assert summary["torchinfo_total_params"] == summary["total_params"]
    # torchinfo is right only for a plain batched input
    assert summary["torchinfo_mult_adds_wrong"] == (c.unbatched or c.lengths is not None)


def test_torchinfo_unbatched_figure_from_the_issue():
    c = GRUConfig(input_size=10, hidden_size=20, num_layers=2, bidirectional=True, unbatched=True, seq_len=35)
    s = trace(c).summary
    assert (s["mult_adds"], s["torchinfo_mult_adds"]) == (394_800, 15_792_000)


def test_dropout_with_one_layer_is_allowed_and_warned_like_torch():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nn.GRU(4, 4, 1, dropout=0.5)
    report = trace(GRUConfig(input_size=4, hidden_size=4, dropout=0.5))
    assert report.warnings == tuple(str(w.message) for w in caught)
    assert derive(GRUConfig(input_size=4, hidden_size=4, dropout=0.5)).warnings == report.warnings


BAD_VALUES = [
    ("input_size", 0), ("input_size", -3), ("input_size", 2.5), ("input_size", True), ("hidden_size", 0),
    ("num_layers", 0), ("batch_size", 0), ("seq_len", 0), ("seq_len", "35"), ("dropout", 1.0), ("dropout", -0.1),
    ("dropout", "x"), ("dtype", "int8"), ("device", "tpu"), ("device", "cuda:99"), ("bias", 1),
]


@pytest.mark.parametrize("field, value", BAD_VALUES)
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ConfigError) as info:
        trace(GRUConfig().replace(**{field: value}))
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "changes",
    [dict(batch_size=3, lengths=(2, 2)), dict(batch_size=2, seq_len=5, lengths=(6, 1)), dict(batch_size=2, lengths=(0, 1)),
     dict(unbatched=True, batch_size=1, lengths=(3,))],
)
def test_bad_lengths(changes):
    with pytest.raises(ConfigError) as info:
        trace(GRUConfig(**changes))
    assert info.value.field == "lengths"


def test_unavailable_device_lists_the_available_ones():
    with pytest.raises(ConfigError) as info:
        trace(GRUConfig(device="cuda:99"))
    assert "available: cpu" in str(info.value) and "meta" in str(info.value)


def test_memory_guard_refuses_and_force_is_explained():
    from gru_tui.tracing import MemoryGuardError

    huge = GRUConfig(input_size=4096, hidden_size=65536, num_layers=64, seq_len=10)
    with pytest.raises(MemoryGuardError) as info:
        trace(huge)
    assert "--force" in str(info.value) and "GiB" in str(info.value)


def test_cancellation_stops_a_run():
    from gru_tui.tracing import Cancelled

    with pytest.raises(Cancelled):
        trace(GRUConfig(num_layers=3), is_cancelled=lambda: True)


def test_derive_cost_does_not_depend_on_seq_len():
    """Counting work, not time: derive builds the same number of nodes at seq 10 and 1,000,000."""
    small = derive(GRUConfig(seq_len=10, batch_size=4, lengths=(10, 9, 3, 3)))
    big = derive(GRUConfig(seq_len=1_000_000, batch_size=4, lengths=(1_000_000, 900_000, 3, 3)))
    assert len(list(small.tree().walk())) == len(list(big.tree().walk()))
    assert big.output.batch_size_runs == ((4, 3), (2, 899_997), (1, 100_000))


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("packed", [False, True])
def test_cuda_matches_torch(dtype, packed):
    c = GRUConfig(input_size=10, hidden_size=32, num_layers=2, bidirectional=True, batch_first=True,
                  batch_size=3, seq_len=35, dtype=dtype, device="cuda:0", with_h0=True,
                  lengths=(35, 20, 5) if packed else None)
    report = assert_matches_torch(c)
    assert report.output.data.device == "cuda:0" if packed else report.output.device == "cuda:0"
    assert report.run.peak_memory_bytes > 0


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_what_torch_warns_in_the_forward_is_in_the_report_not_on_stderr(dtype):
    # bfloat16 weights are not flattened for cuDNN, and torch warns at every forward that it compacts them.
    c = GRUConfig(num_layers=2, dtype=dtype, device="cuda:0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch_reference(c)
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        report = trace(c)
    assert [str(w.message) for w in leaked] == []
    assert set(str(w.message) for w in caught) <= set(report.warnings)


@pytest.mark.cuda
def test_cuda_alias_is_normalized():
    assert trace(GRUConfig(device="cuda")).config.device.startswith("cuda:")
