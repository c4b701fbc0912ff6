"""The tracing core against torch itself: every shape the report shows is what nn.GRU, nn.LSTM or nn.RNN produces."""

import warnings

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import gru_configs
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.flop_counter import FlopCounterMode
from torch_reference import MODULES, build, run_module

from gru_tui import ConfigError, GRUConfig, derive, trace
from gru_tui.core.config import FIRST_EXAMPLE


def assert_matches_torch(c: GRUConfig):
    report = trace(c)
    d = report.to_dict()
    out, h_n, c_n, params = run_module(c)
    if c.lengths is not None:
        if c.device == "meta":  # pad_packed_sequence reads values meta has not; shapes do not depend on the device
            padded, _ = pad_packed_sequence(run_module(c.replace(device="cpu"))[0], batch_first=c.batch_first)
        else:
            padded, _ = pad_packed_sequence(out, batch_first=c.batch_first)
        assert d["output"]["data_shape"] == list(out.data.shape)
        assert d["output"]["batch_sizes"] == out.batch_sizes.tolist()
        assert d["output"]["padded_shape"] == list(padded.shape)
    else:
        assert d["output"]["shape"] == list(out.shape)
    assert d["h_n"]["shape"] == list(h_n.shape)
    if c_n is None:
        assert "c_n" not in d and "c0" not in d and report.c_n is None
    else:
        assert d["c_n"]["shape"] == list(c_n.shape)
        assert [e["c_n"]["shape"] for e in d["layers"]] == [list(c_n[i].shape) for i in range(len(c_n))]
        assert (d["c0"] is not None) == c.with_h0
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
        assert e.get("weight_hr") == params.get(f"weight_hr{suffix}")
    # the rules-only report agrees with the measured one on every shape
    assert derive(c).shapes() == report.shapes()
    # the module agrees with its layers run one by one, and the hand-computed gates with the kernel
    if c.device != "meta":
        tol = {"float64": 1e-9, "float32": 1e-4, "float16": 2e-2, "bfloat16": 1e-1}[c.dtype]
        if c.device.startswith("cuda") and c.dtype == "float32":
            tol = 1e-3  # cuDNN uses TF32 for float32 matmuls by default; the hand-computed step does not
        assert report.checks["output_max_error"] <= tol
        assert report.checks["h_n_max_error"] <= tol
        assert report.checks.get("c_n_max_error", 0.0) <= tol
        assert ("c_n_max_error" in report.checks) == (c.mode == "lstm")
        assert report.checks["step_max_error"] <= tol * 10
    return report


@pytest.mark.parametrize(
    "num_layers, bidirectional, output, h_n",
    [(1, False, [1, 35, 32], [1, 1, 32]), (2, False, [1, 35, 32], [2, 1, 32]), (2, True, [1, 35, 64], [4, 1, 32])],
)
def test_worked_examples(num_layers, bidirectional, output, h_n):
    c = GRUConfig(
        input_size=10,
        hidden_size=32,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=True,
        batch_size=1,
        seq_len=35,
    )
    report = assert_matches_torch(c)
    assert report.to_dict()["input"]["shape"] == [1, 35, 10]
    assert list(report.output.shape) == output
    assert list(report.h_n.shape) == h_n


# Each kind, and each kind's own option set: the cases the tests below run for every kind.
KIND_OPTIONS = {
    "gru": {},
    "lstm": {"mode": "lstm"},
    "lstm-proj": {"mode": "lstm", "proj_size": 3},
    "rnn": {"mode": "rnn"},
    "rnn-relu": {"mode": "rnn", "nonlinearity": "relu"},
}


@pytest.mark.parametrize("options", [k for k in KIND_OPTIONS if k != "gru"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (2, True)])
def test_worked_examples_for_every_kind(num_layers, bidirectional, options):
    """The seed's three worked examples as an LSTM (with and without proj_size) and an RNN (tanh and relu)."""
    c = GRUConfig(
        input_size=10,
        hidden_size=32,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_first=True,
        batch_size=1,
        seq_len=35,
        with_h0=True,
        **KIND_OPTIONS[options],
    )
    assert_matches_torch(c)


@pytest.mark.parametrize(
    "unbatched, packed", [(False, False), (True, False), (False, True)], ids=["batched", "unbatched", "packed"]
)
def test_lstm_projection_rules_from_the_issue(unbatched, packed):
    """proj_size shrinks h (h_n, output, weight_hh's columns, the next layer's input), never c (c_n stays hidden_size)."""
    H, P, L, D, B = 12, 5, 3, 2, 3
    c = GRUConfig(
        mode="lstm",
        input_size=4,
        hidden_size=H,
        proj_size=P,
        num_layers=L,
        bidirectional=True,
        batch_size=B,
        seq_len=6,
        unbatched=unbatched,
        lengths=(6, 2, 4) if packed else None,
        with_h0=True,
    )
    report = assert_matches_torch(c)
    batch = () if unbatched else (B,)
    assert report.h_n.shape == (D * L, *batch, P) and report.c_n.shape == (D * L, *batch, H)
    assert report.h0.shape == report.h_n.shape and report.c0.shape == report.c_n.shape
    out = report.output.data if packed else report.output
    assert out.shape[-1] == D * P
    p = report.parameters
    assert p["weight_ih_l1"] == (4 * H, D * P) and p["weight_hh_l1"] == (4 * H, P) and p["weight_hr_l1_reverse"] == (P, H)
    for direction in report.directions:  # the projection applies at every step: m_t is H wide, h_t P wide
        assert direction.step["m_t"].shape[-1] == H and direction.step["h_t"].shape[-1] == P
        assert direction.step["h_prev"].shape[-1] == P and direction.step["c_prev"].shape[-1] == H


@pytest.mark.parametrize(
    "changes, field",
    [
        (dict(proj_size=3), "proj_size"),
        (dict(mode="rnn", proj_size=3), "proj_size"),
        (dict(nonlinearity="relu"), "nonlinearity"),
        (dict(mode="lstm", nonlinearity="relu"), "nonlinearity"),
        (dict(mode="lstm", proj_size=32), "proj_size"),
        (dict(mode="lstm", proj_size=40), "proj_size"),
        (dict(mode="lstm", proj_size=-1), "proj_size"),
        (dict(mode="lstm", proj_size=2.0), "proj_size"),
        (dict(mode="rnn", nonlinearity="sigmoid"), "nonlinearity"),
        (dict(mode="LSTM"), "mode"),
        (dict(mode="transformer"), "mode"),
    ],
)
def test_refused_kind_combinations_name_the_field(changes, field):
    with pytest.raises(ConfigError) as info:
        trace(GRUConfig(**changes))
    assert info.value.field == field
    with pytest.raises(ConfigError):
        GRUConfig.from_dict(GRUConfig().replace(**changes).to_dict())
    if field != "mode":  # torch refuses the same module (it knows no mode, only its classes)
        with pytest.raises((ValueError, TypeError)):
            MODULES[changes.get("mode", "gru")](10, 32, **{field: changes[field]})


def test_a_field_of_another_kind_at_its_default_is_accepted():
    """A TOML file saved by an earlier version has none of the new keys; one saved now has them all, at their defaults."""
    for mode in ("gru", "lstm", "rnn"):
        c = GRUConfig.from_dict({"mode": mode, "proj_size": 0, "nonlinearity": "tanh"})
        assert c.mode == mode and GRUConfig.from_dict(c.to_dict()) == c
    assert GRUConfig.from_dict({"hidden_size": 8}).mode == "gru"


# Where a GPU is present (the lent GPU machine), the property test covers it too.
DEVICES = ["cpu", "cpu", "meta"] + (["cuda:0", "cuda:0"] if torch.cuda.is_available() else [])


def configs():
    """Small enough to run each one for real, on every device this machine has."""
    return gru_configs(
        max_batch=4,
        max_seq=6,
        max_input=7,
        max_hidden=6,
        max_layers=3,
        dropouts=st.sampled_from([0.0, 0.25, 1.0]),
        devices=DEVICES,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_every_configuration_matches_torch(c):
    assert_matches_torch(c)


def test_packed_output_and_reverse_step():
    c = GRUConfig(
        input_size=3,
        hidden_size=4,
        num_layers=2,
        bidirectional=True,
        batch_size=3,
        seq_len=7,
        lengths=(7, 5, 2),
        batch_first=True,
        with_h0=True,
    )
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
    module = build(c.replace(dtype="float32", device="cpu"))
    shape = (c.seq_len, c.input_size) if c.unbatched else (c.batch_size, c.seq_len, c.input_size)
    x = torch.randn(shape)
    if c.lengths is not None:
        x = pack_padded_sequence(x, torch.tensor(c.lengths), batch_first=True, enforce_sorted=False)
    # oneDNN's fused LSTM kernel (batched input on the CPU) is invisible to FlopCounterMode: count the plain kernel.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # setting the flags warns about Intel GPUs
        with torch.backends.mkldnn.flags(enabled=False), FlopCounterMode(display=False) as counter:
            module(x)
    return counter.get_total_flops()


MULT_ADD_CASES = {
    "unbatched": dict(input_size=10, hidden_size=20, num_layers=2, bidirectional=True, unbatched=True, seq_len=35),
    "batched": dict(input_size=10, hidden_size=20, num_layers=2, bidirectional=True, batch_first=True, batch_size=3, seq_len=35),
    "packed": dict(
        input_size=10,
        hidden_size=20,
        num_layers=2,
        bidirectional=True,
        batch_first=True,
        batch_size=3,
        seq_len=35,
        lengths=(35, 20, 5),
    ),
    "no-bias": dict(input_size=5, hidden_size=8, num_layers=3, bias=False, batch_first=True, batch_size=2, seq_len=9),
}


@pytest.mark.parametrize("kind", list(KIND_OPTIONS))
@pytest.mark.parametrize("case", list(MULT_ADD_CASES))
def test_mult_adds_match_flop_counter(case, kind):
    c = GRUConfig(**MULT_ADD_CASES[case], **KIND_OPTIONS[kind])
    summary = trace(c).summary
    assert 2 * summary["matmul_macs"] == _flops(c)
    bias_terms = summary["total_params"] - sum(p.numel() for n, p in build(c).named_parameters() if n.startswith("weight"))
    steps = summary["mult_adds"] // summary["total_params"]
    assert summary["mult_adds"] - bias_terms * steps == summary["matmul_macs"]
    assert summary["torchinfo_total_params"] == summary["total_params"]
    # torchinfo is right only for a plain batched input
    assert summary["torchinfo_mult_adds_wrong"] == (c.unbatched or c.lengths is not None)


def test_torchinfo_rnn_figure_from_the_issue():
    """nn.RNN(10, 32, 2, nonlinearity="relu") on a (35, 10) input: torchinfo says 3,942,400, FlopCounterMode 237,440 FLOPs."""
    c = GRUConfig(mode="rnn", nonlinearity="relu", input_size=10, hidden_size=32, num_layers=2, unbatched=True, seq_len=35)
    s = trace(c).summary
    assert (s["torchinfo_mult_adds"], 2 * s["matmul_macs"]) == (3_942_400, _flops(c)) == (3_942_400, 237_440)
    assert s["torchinfo_mult_adds_wrong"]


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
    ("input_size", 0),
    ("input_size", -3),
    ("input_size", 2.5),
    ("input_size", True),
    ("hidden_size", 0),
    ("num_layers", 0),
    ("batch_size", -1),
    ("seq_len", 0),
    ("seq_len", "35"),
    ("dropout", 1.01),
    ("dropout", -0.1),
    ("dropout", "x"),
    ("dtype", "int8"),
    ("device", "tpu"),
    ("device", "cuda:99"),
    ("bias", 1),
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
    [
        dict(batch_size=3, lengths=(2, 2)),
        dict(batch_size=2, seq_len=5, lengths=(6, 1)),
        dict(batch_size=2, lengths=(0, 1)),
        dict(unbatched=True, batch_size=1, lengths=(3,)),
        dict(batch_size=0, lengths=()),
    ],
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
    from gru_tui.core.tracing import MemoryGuardError

    huge = GRUConfig(input_size=4096, hidden_size=65536, num_layers=64, seq_len=10)
    with pytest.raises(MemoryGuardError) as info:
        trace(huge)
    assert "--force" in str(info.value) and "GiB" in str(info.value)


def test_an_allocation_that_does_not_fit_is_said_in_words():
    """Past the guard (--force, ctrl+g), torch's allocator fails: "not enough memory: needed ...", not its C++ trace."""
    from gru_tui.core.shapes import estimate_run_bytes
    from gru_tui.core.summary import human_bytes
    from gru_tui.core.tracing import TraceError

    huge = GRUConfig(batch_size=1 << 24, seq_len=1 << 20, input_size=1024)  # a 64 PiB input: beyond any address space
    with pytest.raises(TraceError) as info:
        trace(huge, force=True)
    message = str(info.value)
    assert message.startswith(f"cpu: not enough memory: needed about {human_bytes(estimate_run_bytes(huge))}")
    assert "enforce fail" not in message and "did not fit" in message


def test_cancellation_stops_a_run():
    from gru_tui.core.tracing import Cancelled

    with pytest.raises(Cancelled):
        trace(GRUConfig(num_layers=3), is_cancelled=lambda: True)


@pytest.mark.parametrize("kind", list(KIND_OPTIONS))
def test_derive_cost_does_not_depend_on_seq_len(kind):
    """Counting work, not time: derive builds the same number of nodes at seq 10 and 1,000,000."""
    options = KIND_OPTIONS[kind]
    small = derive(GRUConfig(seq_len=10, batch_size=4, lengths=(10, 9, 3, 3), **options))
    big = derive(GRUConfig(seq_len=1_000_000, batch_size=4, lengths=(1_000_000, 900_000, 3, 3), **options))
    assert len(list(small.tree().walk())) == len(list(big.tree().walk()))
    assert big.output.batch_size_runs == ((4, 3), (2, 899_997), (1, 100_000))


@pytest.mark.cuda
@pytest.mark.parametrize("kind", list(KIND_OPTIONS))
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("packed", [False, True])
def test_cuda_matches_torch(dtype, packed, kind):
    c = GRUConfig(
        input_size=10,
        hidden_size=32,
        num_layers=2,
        bidirectional=True,
        batch_first=True,
        batch_size=3,
        seq_len=35,
        dtype=dtype,
        device="cuda:0",
        with_h0=True,
        lengths=(35, 20, 5) if packed else None,
        **KIND_OPTIONS[kind],
    )
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
        steps = (c.batch_size, c.seq_len) if c.batch_first else (c.seq_len, c.batch_size)
        build(c)(torch.randn(*steps, c.input_size, dtype=getattr(torch, dtype), device=c.device))  # plain torch, warnings kept
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        report = trace(c)
    assert [str(w.message) for w in leaked] == []
    assert set(str(w.message) for w in caught) <= set(report.warnings)


@pytest.mark.cuda
def test_cuda_alias_is_normalized():
    assert trace(GRUConfig(device="cuda")).config.device.startswith("cuda:")


@pytest.mark.parametrize("kind", list(KIND_OPTIONS))
def test_reports_of_every_kind_cross_a_process_boundary_pickled(kind):
    """The app's worker process sends reports back pickled: plain data, no torch object inside."""
    import io
    import pickle

    class OnlyPlainData(pickle.Unpickler):
        def find_class(self, module, name):
            assert module.startswith("gru_tui.") or module == "builtins", f"{module}.{name} in a report"
            return super().find_class(module, name)

    report = trace(GRUConfig(num_layers=2, bidirectional=True, with_h0=True, **KIND_OPTIONS[kind]))
    assert OnlyPlainData(io.BytesIO(pickle.dumps(report))).load() == report


# -- torch's own rules (issue 21): a batch of 0 and dropout 1 are accepted, as torch accepts them -----------------


@pytest.mark.parametrize("mode", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_a_batch_of_zero_gives_torchs_empty_tensors(mode, batch_first, bidirectional, num_layers):
    c = GRUConfig(
        mode=mode,
        input_size=5,
        hidden_size=4,
        num_layers=num_layers,
        batch_first=batch_first,
        bidirectional=bidirectional,
        batch_size=0,
        seq_len=6,
        with_h0=bidirectional,
    )
    report = assert_matches_torch(c)  # the forward itself, torchinfo's summary and the hand-computed step all ran
    out, h_n, _c_n, _params = run_module(c)
    assert out.numel() == 0 and h_n.shape[1] == 0
    assert any("batch_size 0" in note and "empty tensors" in note for note in report.notes)
    assert report.to_dict()["notes"] == list(report.notes)
    assert any(node.label.startswith("note: batch_size 0") for node in report.tree().walk())
    uses = report.results.uses
    assert all(use.shape[0] == 0 for use in uses)  # every slice people take is empty too, as torch gives it


@pytest.mark.parametrize("mode", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dropout_one_is_accepted_and_means_what_torch_does(mode, bidirectional):
    c = GRUConfig(
        mode=mode, input_size=5, hidden_size=4, num_layers=2, bidirectional=bidirectional, batch_size=2, seq_len=6, dropout=1.0
    )
    report = assert_matches_torch(c)
    assert report.joins[0].dropout == 1.0 and report.joins[1].dropout == 0.0
    note = next(n for n in report.notes if n.startswith("dropout 1"))
    assert "zeroes everything a layer passes to the next" in note
    # What the note says, asked of torch: in training mode, layer 1 sees only zeros, so the module's output is
    # layer 1's alone run on zeros (its own weights); in eval mode, dropout does nothing.
    torch.manual_seed(0)
    module = build(c).train()
    x = torch.randn(c.seq_len, c.batch_size, c.input_size)
    top = build(c.replace(num_layers=1, dropout=0.0, input_size=c.num_directions * c.hidden_size))
    with torch.no_grad():
        for name, p in top.named_parameters():
            p.copy_(getattr(module, name.replace("_l0", "_l1")))
        zeros = torch.zeros(c.seq_len, c.batch_size, c.num_directions * c.hidden_size)
        assert torch.allclose(module(x)[0], top(zeros)[0])
        eval_out = module.eval()(x)[0]
        assert not torch.allclose(eval_out, top(zeros)[0])


def test_dropout_below_one_has_no_note():
    assert not derive(GRUConfig(num_layers=2, dropout=0.5)).notes and not derive(FIRST_EXAMPLE).notes


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("mode", ["gru", "lstm"])
def test_with_lengths_seq_len_is_the_padded_inputs_length(batch_first, mode):
    """--lengths 7,5,2 --seq-len 35: the tensor packed is [3, 35, 10]; pad_packed_sequence gives back the longest, 7."""
    c = GRUConfig(
        mode=mode,
        input_size=10,
        hidden_size=8,
        batch_first=batch_first,
        batch_size=3,
        seq_len=35,
        lengths=(7, 5, 2),
        bidirectional=True,
    )
    report = assert_matches_torch(c)
    x = torch.randn((3, 35, 10) if batch_first else (35, 3, 10))
    packed = pack_padded_sequence(x, torch.tensor(c.lengths), batch_first=batch_first, enforce_sorted=False)
    out, _state = build(c)(packed)
    back, _lengths = pad_packed_sequence(out, batch_first=batch_first)
    full, _lengths = pad_packed_sequence(out, batch_first=batch_first, total_length=35)
    d = report.to_dict()
    assert d["input"]["shape"] == list(x.shape) and d["input"]["lengths"] == [7, 5, 2]
    assert d["output"]["padded_shape"] == list(back.shape)
    padded_back = report.results.use("padded_back")
    assert padded_back.shape == tuple(back.shape)  # measured on the run: measure() evaluates it on torch's output
    assert (
        "longest length, 7" in padded_back.note
        and f"total_length=35) in the setup line pads to {full.shape[1 if batch_first else 0]}" in padded_back.note
    )
    assert derive(c).to_dict()["input"]["shape"] == list(x.shape)


def test_lengths_longer_than_seq_len_name_both_fields():
    with pytest.raises(ConfigError) as info:
        GRUConfig(batch_size=3, seq_len=5, lengths=(7, 5, 2)).validate(check_device=False)
    assert info.value.field == "lengths" and "seq_len (5)" in info.value.message and "at least 7" in info.value.message


def test_the_forms_validation_names_lengths_and_seq_len_and_accepts_torchs_values():
    """The app's form checks with field_errors, the same GRUConfig validation: one message, under lengths."""
    from gru_tui.core.config import field_errors

    errors = field_errors({"lengths": (7, 5, 2), "batch_size": 3, "seq_len": 5})
    assert list(errors) == ["lengths"] and "seq_len (5)" in errors["lengths"]
    assert field_errors({"batch_size": 0, "num_layers": 2, "dropout": 1.0}) == {}
    assert set(field_errors({"batch_size": -1, "dropout": 1.5})) == {"batch_size", "dropout"}
