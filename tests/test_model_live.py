"""Your own model, live (issues #18, #19): trace_model on nn.Modules built here, against torch itself.

Packed lengths against pack_padded_sequence, calls by path against plain forward hooks,
mult-adds against FlopCounterMode, sizes against torchinfo, a failing torch function, a class
used twice, and the person's model left exactly as it was.
"""

from __future__ import annotations

import dataclasses
import inspect
import types

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.flop_counter import FlopCounterMode

from gru_tui import trace_model
from gru_tui.core.tree import render_text
from gru_tui.model import ModelTraceError
from gru_tui.model.values import value_of

FAST = settings(max_examples=50, deadline=None)
FEW = settings(max_examples=12, deadline=None)  # each example runs a forward with every watcher on


def line_of(function, text: str) -> int:
    """The line number of ``text`` in ``function``'s source (so the tests never hard-code one)."""
    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if text in line)


# -- packed sequences ---------------------------------------------------------------------------
lengths_lists = st.lists(st.integers(1, 9), min_size=1, max_size=6)


@FAST
@given(lengths=lengths_lists, enforce_sorted=st.booleans(), batch_first=st.booleans())
def test_packed_lengths_are_the_callers(lengths, enforce_sorted, batch_first):
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    batch, steps = len(lengths), max(lengths)
    x = torch.zeros((batch, steps, 2) if batch_first else (steps, batch, 2))
    packed = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce_sorted)
    _, back = pad_packed_sequence(packed, batch_first=batch_first)  # torch's own reading of the lengths
    assert value_of(packed).lengths == tuple(back.tolist()) == tuple(lengths)


class Packs(nn.Module):
    def __init__(self, mode: str, bidirectional: bool, batch_first: bool):
        super().__init__()
        self.batch_first = batch_first
        self.rnn = getattr(nn, mode)(3, 5, num_layers=2, bidirectional=bidirectional, batch_first=batch_first)

    def forward(self, x, lengths, enforce_sorted):
        packed = pack_padded_sequence(x, lengths, batch_first=self.batch_first, enforce_sorted=enforce_sorted)
        out, _ = self.rnn(packed)
        return pad_packed_sequence(out, batch_first=self.batch_first)[0]


@FEW
@given(
    lengths=lengths_lists,
    mode=st.sampled_from(["GRU", "LSTM", "RNN"]),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    enforce_sorted=st.booleans(),
)
def test_a_packed_input_keeps_the_per_layer_detail(lengths, mode, bidirectional, batch_first, enforce_sorted):
    if enforce_sorted:
        lengths = sorted(lengths, reverse=True)
    model = Packs(mode, bidirectional, batch_first)
    batch, steps = len(lengths), max(lengths)
    x = torch.randn((batch, steps, 3) if batch_first else (steps, batch, 3))
    report = trace_model(model, x, torch.tensor(lengths), enforce_sorted)
    assert report.ok, report.failure
    rnn = report.node("rnn")
    assert rnn.note == "" and rnn.recurrent is not None
    assert rnn.recurrent.config.lengths == tuple(lengths)
    assert rnn.calls[0].args[0].lengths == tuple(lengths)
    assert rnn.recurrent.report.output.data.shape == rnn.calls[0].output.items[0].shape
    assert len(rnn.recurrent.report.directions) == 2 * (2 if bidirectional else 1)


# -- calls by path, children by first call -----------------------------------------------------
class Encoder(nn.Module):
    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding
        self.gru = nn.GRU(6, 8, batch_first=True)

    def forward(self, x):
        return self.gru(self.embedding(x))[1]


class Decoder(nn.Module):
    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding
        self.gru = nn.GRU(6, 8, batch_first=True)

    def forward(self, y, h):
        return self.gru(self.embedding(y), h)[0]


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.unused = nn.Linear(2, 2)
        self.drop = nn.Dropout(0.1)
        embedding = nn.Embedding(20, 6)
        self.decoder = Decoder(embedding)
        self.encoder = Encoder(embedding)

    def forward(self, x, y):
        return self.drop(self.decoder(y, self.encoder(x)))


def test_a_shared_module_shows_each_call_under_the_parent_that_made_it():
    model = Shared().eval()
    x, y = torch.randint(0, 20, (2, 5)), torch.randint(0, 20, (2, 3))
    seen = []  # torch's own: the embedding's calls, in order
    handle = model.encoder.embedding.register_forward_hook(lambda m, a, out: seen.append(tuple(out.shape)))
    with torch.no_grad():
        model(x, y)
    handle.remove()
    report = trace_model(model, x, y)
    assert report.ok
    assert [c.output.shape for c in report.node("encoder.embedding").calls] == [seen[0]]
    assert [c.output.shape for c in report.node("decoder.embedding").calls] == [seen[1]]
    assert report.node("encoder.embedding").shared == ("decoder.embedding",)
    # children in the order they were first called; the one never called last, marked
    assert [c.name for c in report.root.children] == ["encoder", "decoder", "drop", "unused"]
    text = render_text(report.tree())
    assert "unused (Linear)  — not called" in text and "shared with decoder.embedding" in text


# -- a failing torch function between modules --------------------------------------------------
class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(4, 6)
        self.key = nn.Linear(4, 6)

    def forward(self, x):
        q, k = self.query(x), self.key(x)
        return torch.bmm(q, k)  # (b, n, 6) @ (b, n, 6): k must be transposed


class Joins(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 3)

    def forward(self, x, y):
        return torch.cat([self.a(x), y], dim=2)


class Views(nn.Module):
    def forward(self, x):
        return x.view(3, -1, 4)


def test_a_forward_failing_in_torch_bmm_names_the_call_its_operands_and_the_line():
    model, x = Attention(), torch.randn(2, 7, 4)
    with torch.no_grad():
        q, k = model.query(x), model.key(x)
    report = trace_model(model, x)
    failure = report.failure
    assert not report.ok and failure.call == "torch.bmm"
    assert failure.operands == (tuple(q.shape), tuple(k.shape)) and failure.operand_dtypes == ("float32", "float32")
    assert failure.line == line_of(Attention.forward, "torch.bmm(q, k)") and failure.file == __file__
    assert failure.module == "" and failure.code == "return torch.bmm(q, k)  # (b, n, 6) @ (b, n, 6): k must be transposed"
    text = "\n".join(failure.lines())
    assert "the inner sizes must be equal, the last of the first (6) and the second-to-last of the second (7)" in text
    assert failure.fix_checked and "torch.bmm(a, b.transpose(-2, -1)) runs on these operands and gives [2, 7, 7]" in text
    data = report.to_dict()["failure"]
    assert data["call"] == "torch.bmm" and data["operands"] == [list(q.shape), list(k.shape)]
    with pytest.raises(ModelTraceError) as raised:
        report.raise_for_failure()
    assert raised.value.failure is failure


def test_cat_gives_its_lists_shapes_in_order_and_the_dimension_that_differs():
    x, y = torch.randn(2, 5, 4), torch.randn(2, 6, 1)
    report = trace_model(Joins(), x, y)
    failure = report.failure
    assert failure.call == "torch.cat" and failure.operands == ((2, 5, 3), (2, 6, 1))
    assert (
        "torch.cat joins along dim 2: every other dimension must be equal, but dim 1 is 5 in tensor 0 [2, 5, 3] and 6"
        in failure.explanation[0]
    )


def test_view_names_the_element_count():
    report = trace_model(Views(), torch.randn(2, 5, 4))
    failure = report.failure
    assert failure.call == "Tensor.view" and failure.operands == ((2, 5, 4),)
    assert "the sizes other than -1 multiply to 12, which does not divide 40" in failure.explanation[0]


# -- a class used several times ------------------------------------------------------------------
class BiLSTM(nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.rnn = nn.LSTM(n_in, hidden, bidirectional=True)
        self.embedding = nn.Linear(hidden, n_out)  # the bug: a bidirectional LSTM gives 2 * hidden

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.embedding(out)


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.Sequential(BiLSTM(8, 16, 16), BiLSTM(16, 16, 5))

    def forward(self, x):
        return self.rnn(x)


def test_a_class_used_twice_names_its_instances_its_init_line_and_fixes_every_one():
    report = trace_model(Stack(), torch.randn(7, 2, 8))
    failure = report.failure
    assert failure.module == "rnn.0.embedding" and failure.instances == ("rnn.1",)
    assert failure.builder == f"BiLSTM.__init__ (test_model_live.py:{line_of(BiLSTM.__init__, 'self.embedding =')})"
    text = "\n".join(failure.lines())
    assert "rnn.0 is a BiLSTM, as is rnn.1: the fix belongs in the class; BiLSTM.__init__ (test_model_live.py:" in text
    assert failure.fix_checked
    assert (
        "Checked: with every BiLSTM's embedding fixed (rnn.0.embedding = nn.Linear(32, 16), rnn.1.embedding = nn.Linear(32, 5)) "
        "the forward runs and returns [7, 2, 5]."
    ) in text


# -- the cost ----------------------------------------------------------------------------------
def flop_counter_macs(model, args) -> int:
    """FlopCounterMode's count / 2 on a plain forward, oneDNN off (torch's own reference)."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False), counter:
        model(*args)
    return counter.get_total_flops() // 2


class Generated(nn.Module):
    def __init__(self, mode, layers, bidirectional, proj, batch_first, vocab):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 6)
        self.conv = nn.Conv1d(6, 6, 3, padding=1)  # counted by FlopCounterMode whether oneDNN is on or off
        extra = {"proj_size": proj} if mode == "LSTM" else {}
        self.rnn = getattr(nn, mode)(6, 7, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, **extra)
        width = (2 if bidirectional else 1) * (proj or 7 if mode == "LSTM" else 7)
        self.head = nn.Sequential(nn.Linear(width, 4), nn.Tanh(), nn.Linear(4, 3))

    def forward(self, tokens, lengths=None):
        x = self.embedding(tokens)
        x = self.conv(x.transpose(-1, -2)).transpose(-1, -2)
        if lengths is not None:
            x = pack_padded_sequence(x, lengths, batch_first=self.rnn.batch_first, enforce_sorted=False)
        out, _ = self.rnn(x)
        if lengths is not None:
            out = pad_packed_sequence(out, batch_first=self.rnn.batch_first)[0]
        return self.head(out)


@FEW
@given(
    mode=st.sampled_from(["GRU", "LSTM", "RNN"]),
    layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    proj=st.sampled_from([0, 3]),
    batch_first=st.booleans(),
    lengths=st.none() | lengths_lists,
)
def test_matmul_macs_are_flop_counter_modes(mode, layers, bidirectional, proj, batch_first, lengths):
    model = Generated(mode, layers, bidirectional, proj if mode == "LSTM" else 0, batch_first, 30).eval()
    batch, steps = (len(lengths), max(lengths)) if lengths else (3, 5)
    tokens = torch.randint(0, 30, (batch, steps) if batch_first else (steps, batch))
    args = (tokens, torch.tensor(lengths)) if lengths else (tokens,)
    report = trace_model(model, *args)
    assert report.ok, report.failure
    assert report.summary["matmul_macs"] == flop_counter_macs(model, args) == report.root.matmul_macs
    if lengths is None:
        assert report.node("rnn").matmul_macs == flop_counter_macs(model.rnn, (torch.randn(tokens.shape + (6,)),))
    assert (
        next(c for c in report.to_dict()["tree"]["children"] if c["name"] == "rnn")["matmul_macs"]
        == report.node("rnn").matmul_macs
    )


def test_the_four_sizes_and_torchinfos_beside_them():
    torchinfo = pytest.importorskip("torchinfo")
    model = Generated("LSTM", 2, True, 0, True, 50).eval()
    tokens = torch.randint(0, 50, (4, 9))
    summary = trace_model(model, tokens).summary
    info = torchinfo.summary(model, input_data=[tokens], verbose=0)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    assert summary["input_bytes"] == tokens.numel() * tokens.element_size()
    assert summary["param_bytes"] == params == info.total_param_bytes
    assert summary.get("torchinfo_input_bytes", summary["input_bytes"]) == info.total_input
    assert summary.get("torchinfo_forward_backward_bytes", summary["forward_backward_bytes"]) == info.total_output_bytes
    # ours: every output of each leaf with weights, twice (kept, and its gradient): the LSTM's h_n and c_n too
    with torch.no_grad():
        x = model.conv(model.embedding(tokens).transpose(1, 2)).transpose(1, 2)
        out, (h_n, c_n) = model.rnn(x)
        first = model.head[0](out)
        outputs = [model.embedding(tokens), x.transpose(1, 2), out, h_n, c_n, first, model.head[2](torch.tanh(first))]
    assert summary["forward_backward_bytes"] == 2 * sum(t.numel() * t.element_size() for t in outputs)
    assert summary["total_bytes"] == summary["input_bytes"] + summary["forward_backward_bytes"] + params


# -- nothing changed in the person's model ----------------------------------------------------------
class Busy(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(4)
        self.gru = nn.GRU(4, 6, batch_first=True, dropout=0.5, num_layers=2)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        x = self.norm(x.transpose(1, 2)).transpose(1, 2)
        return self.fc(self.drop(self.gru(x)[0]))


def all_hooks(model) -> int:
    from torch.nn.modules import module as nn_module

    own = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())
    return own + len(nn_module._global_forward_hooks) + len(nn_module._global_forward_pre_hooks)


@pytest.mark.parametrize("train", [False, True])
def test_nothing_changes_in_the_persons_model(train):
    model = Busy()
    model.train()
    model.gru.eval()  # a mixed state, each module's own
    x = torch.randn(3, 5, 4)
    modes = [m.training for m in model.modules()]
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    hooks = all_hooks(model)
    rng = torch.get_rng_state()
    model.eval()
    with torch.no_grad():
        before = model(x)
    for m, mode in zip(model.modules(), modes):
        m.training = mode
    report = trace_model(model, x, train=train)
    assert report.ok and report.train is train
    assert f"in {'train' if train else 'eval'} mode" in render_text(report.tree()).splitlines()[0]
    assert [m.training for m in model.modules()] == modes
    assert all(torch.equal(v, buffers[k]) for k, v in model.state_dict().items())
    assert all_hooks(model) == hooks
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(torch.get_rng_state(), rng)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), before)


def test_device_moves_the_model_and_the_inputs_there():
    report = trace_model(nn.GRU(3, 4), torch.randn(5, 2, 3), device="cpu")
    assert report.ok and report.device == "cpu" and report.node("").calls[0].args[0].device == "cpu"
    with pytest.raises(TypeError, match="trace_model takes an nn.Module"):
        trace_model(lambda x: x, torch.randn(2))


# -- inputs: keywords, and objects holding tensors ---------------------------------------------
@dataclasses.dataclass
class Batch:
    text: torch.Tensor
    label: torch.Tensor
    name: str = "train"


class ReadsBatches(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10, 3)

    def forward(self, batch, extra=None):
        return self.embedding(batch.text), extra


def test_objects_holding_tensors_show_their_shapes_never_their_values():
    text = torch.tensor([[7, 3, 1], [2, 9, 4]])
    for batch in (types.SimpleNamespace(text=text, label=torch.tensor([1, 0])), Batch(text, torch.tensor([1, 0]))):
        report = trace_model(ReadsBatches(), batch, extra={"mask": torch.ones(2, 3, dtype=torch.bool)})
        assert report.ok, report.failure
        shown = report.inputs.inputs_text()
        name = type(batch).__name__
        assert shown.startswith(f"{name}(text=[2, 3] int64, label=[2] int64") and "extra={mask: [2, 3] bool}" in shown
        assert "7" not in shown.replace("[2, 3]", "")  # no token id shows
        data = report.to_dict()["input"]["input"][0]
        assert data["object"] == name and data["fields"]["text"]["shape"] == [2, 3]
    assert value_of(types.SimpleNamespace(vocab=list(range(50)))).show() == "SimpleNamespace"  # no tensor inside: named only
