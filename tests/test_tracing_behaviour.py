"""How a device run behaves, not how fast: progress, cancellation, the memory guard, the module-against-its-layers check."""

import pytest
import torch
from test_core import assert_matches_torch

from gru_tui import GRUConfig, trace
from gru_tui.core.tracing import CALIBRATE_FROM, LAYERS_END, WINDOW, Cancelled, MemoryGuardError, _Run, memory_check

LONG = dict(input_size=5, hidden_size=8, num_layers=3, bidirectional=True, batch_size=4, seq_len=3 * WINDOW)


def test_progress_rises_to_one():
    seen = []
    trace(
        GRUConfig(num_layers=3, bidirectional=True), progress=lambda fraction, message, estimate: seen.append((fraction, message))
    )
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(message for _, message in seen)
    assert any("layer 1" in message for _, message in seen)


def test_a_long_layer_comes_with_an_estimate_of_its_time():
    """A layer of a long input moved no progress for 39 s (issue #21): a slice of it is timed first, and each
    layer's announcement says about how long the layers left take; a short input's layers go by their own pace."""
    import time

    seen = []

    def progress(fraction, message, estimate):
        seen.append((time.perf_counter(), fraction, message, estimate))

    trace(GRUConfig(hidden_size=64, num_layers=2, seq_len=CALIBRATE_FROM * 4), progress=progress)
    (t0, _, _, first), (t1, _, _, second) = [event for event in seen if "layer" in event[2] and "(" in event[2]]
    assert first is not None and second is not None and first[1] == second[1] == LAYERS_END
    took = t1 - t0  # the first layer, as it ran
    assert took / 10 < first[0] / 2 < took * 10  # two layers of about the first one's time: an estimate, not a timing
    seen.clear()
    trace(GRUConfig(num_layers=2), progress=progress)
    estimates = [event[3] for event in seen if "layer" in event[2] and "(" in event[2]]
    assert estimates[0] is None and estimates[1] is not None  # short: no slice timed; the second layer, the first's pace


def test_cancelled_after_the_first_layer_stops_the_run():
    seen = []

    def is_cancelled():
        return any("layer 1" in message for _, message in seen)  # true once the second layer is announced

    with pytest.raises(Cancelled):
        trace(GRUConfig(num_layers=4), progress=lambda f, m, e: seen.append((f, m)), is_cancelled=is_cancelled)
    assert not any("layer 2" in m or "checking" in m for _, m in seen), "no layer may start after a cancellation"


def test_memory_guard_refuses_before_allocating_and_names_the_figures():
    huge = GRUConfig(
        input_size=1024, hidden_size=8192, num_layers=8, bidirectional=True, batch_first=True, batch_size=4096, seq_len=1_000_000
    )
    needed, free = memory_check(huge)
    assert free is not None and needed > free
    with pytest.raises(MemoryGuardError) as info:
        trace(huge)
    assert (info.value.needed, info.value.device) == (needed, "cpu")
    assert info.value.free > 0 and "--force" in str(info.value)


def test_a_run_that_fits_is_not_refused_and_tags_its_configuration():
    config = GRUConfig(num_layers=2)
    needed, free = memory_check(config)
    assert free is None or needed < free
    report = trace(config)
    assert report.config == config and not report.derived  # what a caller compares to drop stale results


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda:0", marks=pytest.mark.cuda)])
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(
    "kind", [{}, {"mode": "lstm", "proj_size": 3}, {"mode": "rnn", "nonlinearity": "relu"}], ids=["gru", "lstm-proj", "rnn-relu"]
)
def test_sequences_longer_than_the_window_match_torch(packed, batch_first, device, kind):
    """Past WINDOW steps the module itself runs on the first WINDOW steps only; its layers run the whole input."""
    lengths = (3 * WINDOW, 2 * WINDOW + 1, 3 * WINDOW, 5) if packed else None
    config = GRUConfig(**LONG, batch_first=batch_first, lengths=lengths, with_h0=True, device=device, **kind)
    report = assert_matches_torch(config)
    assert report.checks["window_steps"] == WINDOW


def test_short_sequences_run_the_module_on_the_whole_input():
    report = trace(GRUConfig(**{**LONG, "seq_len": WINDOW - 1}))
    assert report.checks["window_steps"] == WINDOW - 1


def test_every_layer_runs_once_as_a_one_layer_gru_holding_the_modules_parameters():
    config = GRUConfig(**LONG)
    run = _Run(config, lambda fraction, message, estimate=None: None)
    module = run.build_module()
    layers = run.one_layer_modules(module)
    assert [(m.num_layers, m.input_size) for m in layers] == [(1, 5), (1, 16), (1, 16)]
    assert layers[2].weight_hh_l0_reverse is module.weight_hh_l2_reverse  # shared on the CPU, not copied

    calls = []  # (num_layers, time steps of the input) of every nn.GRU forward in the trace
    hook = torch.nn.modules.module.register_module_forward_hook(
        lambda m, inputs, outputs: calls.append((m.num_layers, inputs[0].shape[0])) if isinstance(m, torch.nn.GRU) else None
    )
    try:
        report = trace(config)
    finally:
        hook.remove()
    T, L = config.seq_len, config.num_layers
    assert calls == [(1, T)] * L + [(L, WINDOW)] + [(1, WINDOW)] * L  # the whole input once; the window twice
    assert report.joins[0].output.shape == (T, config.batch_size, 16)  # a lower layer's output, measured


def _checked_against(layers_of, config=GRUConfig(**LONG)):
    """The module's checks when its layers are taken from ``layers_of(run, module)``."""
    run = _Run(config, lambda fraction, message, estimate=None: None)
    torch.manual_seed(0)
    module = run.build_module()
    x, state, lengths = run._inputs()
    layers = layers_of(run, module)
    with torch.inference_mode():
        measured, _ = run._forward(module, layers, x, state, lengths)
        return run.check_module(module, layers, x, state, lengths, measured)


KINDS = {"gru": {}, "lstm-proj": {"mode": "lstm", "proj_size": 3}, "rnn-relu": {"mode": "rnn", "nonlinearity": "relu"}}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("packed", [False, True])
def test_layers_holding_copies_of_the_weights_match_the_module(packed, kind):
    """The CUDA way (copies in each layer's own buffer), run on the CPU: the same numbers as the module's."""
    lengths = (3 * WINDOW, 5, 2 * WINDOW, 1) if packed else None
    config = GRUConfig(**LONG, batch_first=True, lengths=lengths, with_h0=True, **KINDS[kind])

    def copies(run, module):
        layers = run.one_layer_modules(module, copies=True)
        assert layers[1].weight_ih_l0 is not module.weight_ih_l1 and torch.equal(layers[1].weight_ih_l0, module.weight_ih_l1)
        return layers

    checks = _checked_against(copies, config)
    assert checks["output_max_error"] < 1e-6 and checks["h_n_max_error"] < 1e-6 and checks["step_max_error"] < 1e-5
    assert checks.get("c_n_max_error", 0.0) < 1e-6


@pytest.mark.parametrize(
    "layer, name, kind",
    [
        (0, "weight_ih_l0", "gru"),
        (2, "bias_hh_l0_reverse", "gru"),
        (1, "weight_hh_l0", "gru"),
        (0, "weight_hr_l0", "lstm-proj"),
        (1, "weight_ih_l0_reverse", "rnn-relu"),
    ],
)
def test_the_module_check_catches_layers_that_are_not_the_modules(layer, name, kind):
    config = GRUConfig(**LONG, **KINDS[kind])

    def one_wrong_weight(run, module):
        layers = run.one_layer_modules(module)
        wrong = getattr(layers[layer], name).detach() + 1.0
        setattr(layers[layer], name, torch.nn.Parameter(wrong))  # the module keeps its own weight
        return layers

    assert _checked_against(lambda run, module: run.one_layer_modules(module), config)["output_max_error"] == 0.0
    checks = _checked_against(one_wrong_weight, config)
    assert max(checks["output_max_error"], checks["h_n_max_error"]) > 0.1
    if layer < 2:  # a lower layer reaches the module's h_n through its own slot
        assert checks["h_n_max_error"] > 0.1
