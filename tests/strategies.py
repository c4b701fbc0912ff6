"""Hypothesis strategies shared by the tests: configurations over the whole configuration space, all three kinds."""

from hypothesis import strategies as st

from gru_tui import GRUConfig
from gru_tui.core.config import DTYPES


@st.composite
def gru_configs(
    draw,
    *,
    max_batch: int,
    max_seq: int,
    max_input: int,
    max_hidden: int,
    max_layers: int,
    dropouts: st.SearchStrategy[float],
    devices: list[str],
    modes: tuple[str, ...] = ("gru", "lstm", "rnn"),
) -> GRUConfig:
    """Valid configurations of nn.GRU, nn.LSTM (with or without proj_size) and nn.RNN (tanh or relu):
    batched (a batch of 0 too), unbatched or packed (lengths), with or without an initial state, every dtype."""
    batch_size = draw(st.integers(0, max_batch))  # torch runs a batch of 0: empty tensors
    seq_len = draw(st.integers(1, max_seq))
    unbatched = draw(st.booleans())
    lengths = None
    if not unbatched and batch_size and draw(st.booleans()):
        lengths = tuple(draw(st.lists(st.integers(1, seq_len), min_size=batch_size, max_size=batch_size)))
    mode = draw(st.sampled_from(modes))
    hidden_size = draw(st.integers(1, max_hidden))
    proj_size = draw(st.integers(0, hidden_size - 1)) if mode == "lstm" else 0
    nonlinearity = draw(st.sampled_from(["tanh", "relu"])) if mode == "rnn" else "tanh"
    return GRUConfig(
        mode=mode,
        input_size=draw(st.integers(1, max_input)),
        hidden_size=hidden_size,
        num_layers=draw(st.integers(1, max_layers)),
        bias=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        dropout=draw(dropouts),
        bidirectional=draw(st.booleans()),
        batch_size=batch_size,
        seq_len=seq_len,
        unbatched=unbatched,
        lengths=lengths,
        with_h0=draw(st.booleans()),
        dtype=draw(st.sampled_from(DTYPES)),
        device=draw(st.sampled_from(devices)),
        proj_size=proj_size,
        nonlinearity=nonlinearity,
    )
