"""How a device run behaves, not how fast: progress, cancellation, the memory guard, the last-layer checks."""

import pytest
import torch

from gru_tui import GRUConfig, trace
from gru_tui.tracing import WINDOW, Cancelled, MemoryGuardError, _Run, memory_check

from test_core import assert_matches_torch

LONG = dict(input_size=5, hidden_size=8, num_layers=3, bidirectional=True, batch_size=4, seq_len=3 * WINDOW)


def test_progress_rises_to_one():
    seen = []
    trace(GRUConfig(num_layers=3, bidirectional=True), progress=lambda fraction, message: seen.append((fraction, message)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(message for _, message in seen)
    assert any("layer 1" in message for _, message in seen)


def test_cancelled_after_the_first_layer_stops_the_run():
    seen = []

    def is_cancelled():
        return any("layer 1" in message for _, message in seen)  # true once the second layer is announced

    with pytest.raises(Cancelled):
        trace(GRUConfig(num_layers=4), progress=lambda f, m: seen.append((f, m)), is_cancelled=is_cancelled)
    assert not any(f >= 0.8 for f, _ in seen), "the module forward must not start after a cancellation"


def test_memory_guard_refuses_before_allocating_and_names_the_figures():
    huge = GRUConfig(input_size=1024, hidden_size=8192, num_layers=8, bidirectional=True, batch_first=True,
                     batch_size=4096, seq_len=1_000_000)
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
def test_sequences_longer_than_the_window_match_torch(packed, batch_first, device):
    """Past WINDOW steps the last layer is checked at both ends, not recomputed whole."""
    lengths = (3 * WINDOW, 2 * WINDOW + 1, 3 * WINDOW, 5) if packed else None
    config = GRUConfig(**LONG, batch_first=batch_first, lengths=lengths, with_h0=True, device=device)
    report = assert_matches_torch(config)
    assert report.checks["window_steps"] == WINDOW


def test_short_sequences_recompute_the_whole_last_layer():
    report = trace(GRUConfig(**{**LONG, "seq_len": WINDOW - 1}))
    assert report.checks["window_steps"] == WINDOW - 1


def _last_layer_run(config):
    """The pieces _last_layer works on, for the one check below that has to plant a wrong value."""
    run = _Run(config.replace(device="cpu"), lambda fraction, message: None)
    torch.manual_seed(0)
    module = torch.nn.GRU(config.input_size, config.hidden_size, config.num_layers, bidirectional=config.bidirectional).eval()
    x, h0, lengths = run._inputs()
    with torch.inference_mode():
        chain = run._chain(module, x, h0, lengths)
        out, h_n = module(x)
    return run, module, chain, out, h_n


@pytest.mark.parametrize("step, half", [(0, "forward"), (WINDOW - 1, "forward"), (-1, "reverse"), (-WINDOW, "reverse")])
def test_the_window_check_catches_a_wrong_last_layer(step, half):
    config = GRUConfig(**LONG)
    run, module, chain, out, h_n = _last_layer_run(config)
    H = config.hidden_size
    wrong = out.clone()
    wrong[step, 0, (0 if half == "forward" else H)] += 1.0
    with torch.inference_mode():
        run._last_layer(module, chain, wrong, h_n)
    assert chain["checks"]["output_max_error"] > 0.5


def test_the_h_n_check_catches_a_last_layer_state_that_is_not_its_final_step():
    config = GRUConfig(**LONG)
    run, module, chain, out, h_n = _last_layer_run(config)
    wrong = h_n.clone()
    wrong[-1] += 1.0  # the reverse direction of the last layer
    with torch.inference_mode():
        run._last_layer(module, chain, out, wrong)
    assert chain["checks"]["h_n_max_error"] > 0.5
    assert chain["checks"]["output_max_error"] < 1e-4
