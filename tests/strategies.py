"""Hypothesis strategies shared by the tests: GRU configurations over the whole configuration space."""

from hypothesis import strategies as st

from gru_tui import GRUConfig
from gru_tui.config import DTYPES


@st.composite
def gru_configs(draw, *, max_batch: int, max_seq: int, max_input: int, max_hidden: int, max_layers: int,
                dropouts: st.SearchStrategy[float], devices: list[str]) -> GRUConfig:
    """Valid configurations: batched, unbatched or packed (lengths), with or without h0, every dtype."""
    batch_size = draw(st.integers(1, max_batch))
    seq_len = draw(st.integers(1, max_seq))
    unbatched = draw(st.booleans())
    lengths = None
    if not unbatched and draw(st.booleans()):
        lengths = tuple(draw(st.lists(st.integers(1, seq_len), min_size=batch_size, max_size=batch_size)))
    return GRUConfig(
        input_size=draw(st.integers(1, max_input)),
        hidden_size=draw(st.integers(1, max_hidden)),
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
    )
