"""The device run: build the real nn.GRU (or nn.LSTM, nn.RNN) on the chosen device, run it, measure every shape.

The cost is one inference forward of the configuration, plus a few steps:

1. The forward, through torchinfo's summary: the module's layers run one by one as
   one-layer modules of the same kind that hold the module's own parameters (what
   ``num_layers`` means: "stacking GRUs together", each layer's output the next
   one's input), on the user's input, in the user's layout. So every layer's
   output is measured on the full configuration, not only the last one's, and no
   layer is computed twice.
2. The module itself, on the first WINDOW steps of the same input (all of it when
   shorter): its output and h_n must equal the layers' run on that input. That is
   what ties the layers to the module.

For each layer and direction, the first time step is also recomputed by hand with
the kind's equations (``STEPS``) from the module's weights; its h_t must equal the
layer's output there. An LSTM's state is the pair (h, c) wherever a GRU's is h. Every shape in the report comes from a tensor of those passes; only the
shape, dtype and device of the intermediate layer outputs are kept, not their values.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import ConfigError, GRUConfig
from .devices import check_device, free_memory
from .report import Direction, LayerJoin, Packed, Report, RunStats, Tensor
from .results import measure
from .shapes import count_summary, derive, direction_parameters, direction_suffix, estimate_run_bytes

# (seconds, fraction): the run should reach ``fraction`` of its progress in about ``seconds`` from now.
Estimate = tuple[float, float]
# progress(fraction, what it is doing, estimate or None): a long layer moves no fraction until it ends; the
# estimate says how long it should take (timed on a slice of the input first, then on the layers done).
Progress = Callable[[float, str, "Estimate | None"], None]
IsCancelled = Callable[[], bool]

# From this many steps, the first layer's time is estimated first, on slices of 1/4 and 1 of 1/CALIBRATION_SHARE of
# the steps: what it costs is about 1.25/64 (2%) of that layer's time (a shorter input runs without it).
CALIBRATE_FROM = 1024
CALIBRATION_SHARE = 64
LAYERS_END = 0.9  # the progress fraction at which every layer has run
# Steps of the input the module itself runs on, to be compared with its layers (all of them when shorter).
WINDOW = 8
# What torch warns about its own kernels, not about the module: said once a process, so it would come and go.
NOT_THE_USERS = ("LSTM with projections is not supported with oneDNN",)


class TraceError(RuntimeError):
    """The run failed on the device (torch refused it, memory ran out...): the message says why."""


class MemoryGuardError(TraceError):
    """The run would need more memory than the device has free; ``trace(..., force=True)`` runs it anyway."""

    def __init__(self, needed: int, free: int, device: str):
        super().__init__(
            f"device: this run needs about {needed / 2**30:.2f} GiB but only {free / 2**30:.2f} GiB is free on "
            f"{device}; make the configuration smaller, pick the meta device (shapes only), or run it anyway (--force)"
        )
        self.needed, self.free, self.device = needed, free, device


class Cancelled(Exception):
    """The configuration changed while the run was under way; its result would be stale."""


def memory_check(config: GRUConfig) -> tuple[int, int | None]:
    """(estimated bytes the run needs, bytes free on its device or None where unknown)."""
    return estimate_run_bytes(config), free_memory(config.device)


def trace(
    config: GRUConfig,
    *,
    force: bool = False,
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
) -> Report:
    """Run ``config`` on its device and report every tensor shape, measured.

    Raises ConfigError for a bad configuration, MemoryGuardError when the run would
    not fit (unless ``force``), TraceError when torch fails, Cancelled when
    ``is_cancelled()`` turns true between steps.
    """
    config.validate(check_device=False)
    config = config.replace(device=check_device(config.device))
    if not force:
        needed, free = memory_check(config)
        if free is not None and needed > free:
            raise MemoryGuardError(needed, free, config.device)
    report_progress = progress or (lambda fraction, message, estimate: None)

    def checkpoint(fraction: float, message: str, estimate: Estimate | None = None) -> None:
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        report_progress(fraction, message, estimate)

    try:
        return _Run(config, checkpoint).run()
    except (Cancelled, ConfigError, TraceError):
        raise
    except Exception as error:  # torch's own refusals and out-of-memory, as one sentence
        raise TraceError(f"{config.device}: {_failure_text(error, config)}") from error


# What torch's allocators say when a tensor does not fit: CPU ("you tried to allocate N bytes"), CUDA, MPS.
_NO_MEMORY = ("can't allocate memory", "not enough memory", "out of memory")
_ASKED = re.compile(r"allocate (\d+) bytes|[Tt]ried to allocate ([\d.]+ [KMGT]?i?B)")


def _failure_text(error: BaseException, config: GRUConfig) -> str:
    """A failed run in words: an allocation that did not fit says how much it needed, not the allocator's trace."""
    text = str(error)
    if not isinstance(error, MemoryError) and not any(words in text for words in _NO_MEMORY):
        return f"torch failed: {_one_line(error)}"
    from .summary import human_bytes

    asked = _ASKED.search(text)
    tensor = "" if asked is None else f" (one tensor of {human_bytes(int(asked[1])) if asked[1] else asked[2]} did not fit)"
    return (
        f"not enough memory: needed about {human_bytes(estimate_run_bytes(config))} for this run{tensor}; "
        "make the configuration smaller, or pick meta (shapes only)"
    )


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"


def _describe(t, dims: tuple[str, ...]) -> Tensor:
    """A measured tensor, with the meaning of its dimensions from the derived report."""
    if len(t.shape) != len(dims):
        raise TraceError(f"internal: tensor of shape {list(t.shape)} does not match dims {dims}")
    return Tensor(tuple(t.shape), dims, str(t.dtype).removeprefix("torch."), str(t.device))


@dataclass(frozen=True)
class _Measured:
    """The shape, dtype and device of a tensor that was computed and then let go (an intermediate layer's output)."""

    shape: tuple[int, ...]
    dtype: Any
    device: Any

    @classmethod
    def of(cls, t) -> _Measured:
        return cls(tuple(t.shape), t.dtype, t.device)

    def direction(self, d: int, hidden_size: int) -> _Measured:
        """One direction's half of the last dimension, as ``t[..., d*H:(d+1)*H]`` would be."""
        assert self.shape[-1] >= (d + 1) * hidden_size
        return _Measured(self.shape[:-1] + (hidden_size,), self.dtype, self.device)


def _max_error(a, b) -> float:
    """The largest |a - b|; 0 for empty tensors (a batch of 0), where there is nothing to differ."""
    return float((a.float() - b.float()).abs().max()) if a.numel() else 0.0


@dataclass
class _Layers:
    """What the forward through the one-layer modules measured."""

    input: Any = None  # the first layer's input: x, or the PackedSequence made from it
    view: _Measured | None = None  # that input as the layers compute on it: (seq, batch, features) or packed data
    outputs: list[_Measured] = field(default_factory=list)  # each layer's output: its shape, not its values
    steps: list[dict[str, Any]] = field(default_factory=list)  # each layer and direction's first step, by hand
    output: Any = None  # the last layer's output, and every layer's final state: what the module returns
    state: tuple = ()  # (h_n,), or an LSTM's (h_n, c_n)


class _Run:
    def __init__(self, config: GRUConfig, checkpoint: Callable[..., None]):
        import torch

        self.torch = torch
        self.config = config
        self.checkpoint = checkpoint
        self.expected = derive(config)  # only the meaning of each dimension is taken from here
        self.device = torch.device(config.device)
        self.dtype = getattr(torch, config.dtype)
        self.values = config.device != "meta"

    def run(self) -> Report:
        torch = self.torch
        started = time.perf_counter()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self.checkpoint(0.0, f"building nn.{self.config.kind.module}")
        # Seeded, and without disturbing the caller's random state: the same configuration gives the same report.
        rng_devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=rng_devices):
            if self.device.type == "cpu":
                torch.default_generator.manual_seed(0)  # torch.manual_seed also queues a CUDA seeding, with a stack trace
            else:
                torch.manual_seed(0)
            return self._run_seeded(started)

    def _run_seeded(self, started: float) -> Report:
        torch = self.torch
        # What torch warns while building and running the module is the user's to see (e.g. dropout with one
        # layer; bfloat16 weights cuDNN compacts at every call): it goes into the report, not to stderr.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = self.build_module()
            x, state, lengths = self._inputs()
            layers = self.one_layer_modules(module)
            with torch.inference_mode():
                measured, info = self._forward(module, layers, x, state, lengths)
                self.checkpoint(LAYERS_END, "checking the module itself against its layers")
                checks = self.check_module(module, layers, x, state, lengths, measured)
                self.checkpoint(0.95, "evaluating the slices people take of output and h_n")
                results = measure(self.expected.results, measured.output, *measured.state)
        messages = (str(w.message) for w in caught)
        torch_warnings = tuple(dict.fromkeys(m for m in messages if not any(n in m for n in NOT_THE_USERS)))  # each once
        report = self._report(module, x, state, measured, info, checks, torch_warnings, results)
        peak = self._peak_memory()
        self.checkpoint(1.0, "done")
        return _with_run(report, RunStats(time.perf_counter() - started, peak))

    # -- the module, its layers and the input ----------------------------------------
    def _new_module(self, input_size: int, num_layers: int, dropout: float, device):
        c = self.config
        return getattr(self.torch.nn, c.kind.module)(
            input_size,
            c.hidden_size,
            num_layers,
            bias=c.bias,
            batch_first=c.batch_first,
            dropout=dropout,
            bidirectional=c.bidirectional,
            device=device,
            dtype=self.dtype,
            **c.options(),
        ).eval()  # dropout between layers is random in training mode; shapes are the same

    def build_module(self):
        return self._new_module(self.config.input_size, self.config.num_layers, self.config.dropout, self.device)

    def one_layer_modules(self, module, copies: bool | None = None) -> list:
        """The module's layers as one-layer modules of its kind that hold its parameters, or copies of them.

        Copies on CUDA (``copies=None``): cuDNN reads views into the module's flat weight
        buffer with that buffer's alignment padding and computes wrong values for later
        layers (seen on an H200, hidden_size 1); each one-layer module's own flat buffer,
        filled with copies, is safe.
        """
        torch, c = self.torch, self.config
        copies = self.device.type == "cuda" if copies is None else copies
        layers = []
        for layer in range(c.num_layers):
            # meta: no weights to initialise, the module's own are set in
            one = self._new_module(c.layer_input_size(layer), 1, 0.0, self.device if copies else "meta")
            for name, parameter in list(one.named_parameters()):
                source = getattr(module, name.replace("_l0", f"_l{layer}", 1))
                if copies:
                    with torch.no_grad():
                        parameter.copy_(source)
                else:
                    setattr(one, name, source)  # the module's own Parameter; nn.RNNBase keeps its weight list in step
            layers.append(one)
        return layers

    def _inputs(self):
        torch, c = self.torch, self.config
        inp = self.expected.input
        shape = inp.padded.shape if isinstance(inp, Packed) else inp.shape
        x = torch.randn(shape, device=self.device, dtype=self.dtype)
        initial = (self.expected.h0, self.expected.c0) if c.with_h0 else ()
        state = tuple(torch.randn(t.shape, device=self.device, dtype=self.dtype) for t in initial if t is not None)
        lengths = torch.tensor(c.lengths, dtype=torch.int64) if c.lengths is not None else None
        return x, state, lengths

    # -- the forward: the layers one by one, through torchinfo ------------------------------
    def _forward(self, module, layers, x, state, lengths):
        import torchinfo

        c, measured = self.config, _Layers()
        calibrated = self._calibrate(layers[0], x, state)  # before torchinfo's hooks are on the layers
        started: list[float] = []  # when the first layer began

        def before(layer: int) -> None:
            if layer == 0:
                per_layer = calibrated
                started.append(time.perf_counter())
            else:  # the pace of the layers done
                self._sync()
                per_layer = (time.perf_counter() - started[0]) / layer
            estimate = None if per_layer is None else (per_layer * (c.num_layers - layer), LAYERS_END)
            self.checkpoint(
                0.05 + (LAYERS_END - 0.05) * layer / c.num_layers, f"layer {layer} ({layer + 1} of {c.num_layers})", estimate
            )

        def after(layer: int, layer_in, hx, out) -> None:
            self._measure_layer(module, measured, layer, layer_in, hx, out)

        def forward(x, *state):
            measured.output, measured.state = run_layers(layers, x, state, lengths, c.batch_first, before, after)
            return (measured.output, *measured.state)

        model = _layer_stack(layers, forward)
        args = [x, *state]
        try:
            info = torchinfo.summary(model, input_data=args, device=self.device, verbose=0)
        except RuntimeError as error:
            # torchinfo wraps whatever the forward raised (a cancellation, torch's own refusal) in a message of its own
            if error.__cause__ is not None:
                raise error.__cause__ from None
            raise
        if measured.output is None:
            raise TraceError("internal: the last layer did not run")
        return measured, info

    def _calibrate(self, layer, x, state: tuple) -> float | None:
        """About how long one layer takes on the whole input: the first layer timed on two slices of its first steps.

        A call costs a fixed time besides its steps (setting up, waking threads): several times the steps' own on a
        short slice. So a slice of k/4 steps and one of k, the difference their per-step cost, and the fixed cost once.
        None for a short input (its layers' own pace is estimate enough) and on meta (nothing is computed)."""
        c = self.config
        time_dim = 1 if c.batch_first and not c.unbatched else 0
        steps = x.shape[time_dim]
        if not self.values or steps < CALIBRATE_FROM:
            return None
        k = steps // CALIBRATION_SHARE
        hx = _hx(tuple(s[: c.num_directions] for s in state))

        def timed(n: int) -> float:
            self._sync()
            started = time.perf_counter()
            layer(x.narrow(time_dim, 0, n), hx)
            self._sync()
            return time.perf_counter() - started

        short, long = timed(k // 4), timed(k)
        per_step = (long - short) / (k - k // 4)
        if per_step <= 0:  # a busy machine's noise: the long slice's own pace
            return long * steps / k
        return long + per_step * (steps - k)

    def _sync(self) -> None:
        """Wait for the device's queued work (CUDA runs it asynchronously), so a clock read measures it."""
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def _measure_layer(self, module, measured: _Layers, layer: int, layer_in, hx, out) -> None:
        """Keep what the report needs of one layer: its output's shape, each direction's first step by hand."""
        from torch.nn.utils.rnn import PackedSequence

        c = self.config
        R = c.state_size
        packed = layer_in if isinstance(layer_in, PackedSequence) else None
        seq_in, seq_out = self._seq_first(layer_in), self._seq_first(out)
        if layer == 0:
            measured.input, measured.view = layer_in, _Measured.of(seq_in)
        initial = self._initial_state(hx, packed)
        for d in range(c.num_directions):
            weights = self._direction_weights(module, layer, d)
            direction_out = seq_out[..., d * R : (d + 1) * R]
            prev = tuple(s[d] for s in initial)
            measured.steps.append(self._step(seq_in, prev, direction_out, weights, packed, reverse=bool(d)))
        measured.outputs.append(_Measured.of(seq_out))

    def _seq_first(self, t):
        """A layer's input or output as the layer computes on it: packed data, or (seq, batch, features)."""
        c = self.config
        if c.packed:
            return t.data
        if c.unbatched:
            return t.unsqueeze(1)
        return t.transpose(0, 1) if c.batch_first else t

    def _initial_state(self, hx: tuple, packed) -> tuple:
        """The state the layer's directions start from: (h,) or (h, c), each (D, batch, size), in the layer's order."""
        torch, c = self.torch, self.config
        if not hx:
            sizes = (c.state_size, c.hidden_size) if c.kind.has_cell else (c.state_size,)
            return tuple(torch.zeros(c.num_directions, c.effective_batch, n, device=self.device, dtype=self.dtype) for n in sizes)
        hx = tuple(s.unsqueeze(1) for s in hx) if c.unbatched else hx
        if packed is not None:  # a packed batch is sorted by length, longest first
            hx = tuple(s.index_select(1, packed.sorted_indices.to(s.device)) for s in hx)
        return hx

    def _direction_weights(self, module, layer: int, d: int) -> dict[str, Any]:
        suffix = direction_suffix(layer, d)
        return {name: getattr(module, name + suffix) for name, _shape, _dims in direction_parameters(self.config, layer)}

    def _step(self, layer_in, prev: tuple, direction_out, w, packed, reverse: bool) -> dict[str, Any]:
        """The kind's equations by hand for the first step a direction takes, with the module's weights."""
        if packed is not None:
            sizes = packed.batch_sizes
            n = int(sizes[-1] if reverse else sizes[0])
            rows = slice(layer_in.shape[0] - n, None) if reverse else slice(0, n)
            x_t, expected = layer_in[rows], direction_out[rows]
        else:
            t = layer_in.shape[0] - 1 if reverse else 0
            x_t, expected = layer_in[t], direction_out[t]
        prev = tuple(s[: x_t.shape[0]] for s in prev)  # packed, reverse: only the longest sequences start here
        step = {"x_t": x_t, "h_prev": prev[0], **({"c_prev": prev[1]} if len(prev) > 1 else {})}
        step.update(STEPS[self.config.mode](self.torch, self.config, x_t, prev, w))
        step["error"] = _max_error(step["h_t"], expected) if self.values else None
        return step

    # -- the module itself, against its layers ---------------------------------------
    def check_module(self, module, layers, x, state, lengths, measured: _Layers) -> dict[str, Any]:
        """Run the module on the first WINDOW steps of the input, and its layers on the same: they must agree.

        Also, the module's h_n (and c_n) there must have the shape of the layers' over the
        whole input (they have no time dimension).
        """
        from torch.nn.utils.rnn import pack_padded_sequence

        c = self.config
        steps = max(c.lengths) if c.lengths is not None else c.seq_len
        k = min(WINDOW, steps)
        time_dim = 1 if c.batch_first and not c.unbatched else 0
        x_k = x.narrow(time_dim, 0, k)
        lengths_k = lengths.clamp(max=k) if lengths is not None else None
        module_in = (
            x_k if lengths_k is None else pack_padded_sequence(x_k, lengths_k, batch_first=c.batch_first, enforce_sorted=False)
        )
        module_out, module_state = module(module_in, _hx(state))
        module_state = _as_tuple(module_state)
        layers_out, layers_state = run_layers(layers, x_k, state, lengths_k, c.batch_first)
        if c.packed:
            module_out, layers_out = module_out.data, layers_out.data
        shapes = [[list(t.shape) for t in s] for s in (module_state, layers_state, measured.state)]
        if module_out.shape != layers_out.shape or not shapes[0] == shapes[1] == shapes[2]:
            raise TraceError(
                f"internal: on its first {k} steps the module gives output {list(module_out.shape)} and state "
                f"{shapes[0]}, its layers {list(layers_out.shape)} and {shapes[1]}"
            )
        if not self.values:
            return {"values": "meta device: shapes only, no values to compare"}
        errors = {f"{name}_max_error": _max_error(a, b) for name, a, b in zip(("h_n", "c_n"), module_state, layers_state)}
        return {
            "output_max_error": _max_error(module_out, layers_out),
            **errors,
            "window_steps": k,
            "step_max_error": max(s["error"] for s in measured.steps),
        }

    # -- the report ---------------------------------------------------------
    def _report(self, module, x, state, measured: _Layers, info, checks, torch_warnings, results) -> Report:
        torch, c, e = self.torch, self.config, self.expected
        from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

        def seq(t, expected: Tensor | Packed, padded=None) -> Tensor | Packed:
            """The input (``padded``: the tensor it was packed from) or the output (padded back here), as measured."""
            if isinstance(t, PackedSequence):
                assert isinstance(expected, Packed)
                if padded is None and self.values:
                    padded, _ = pad_packed_sequence(t, batch_first=c.batch_first)
                elif padded is None:  # pad_packed_sequence reads the sort order's values, which meta has not; the op runs
                    padded = torch._VF._pad_packed_sequence(t.data, t.batch_sizes, c.batch_first, 0.0, t.batch_sizes.numel())[0]
                sizes, counts = torch.unique_consecutive(t.batch_sizes, return_counts=True)
                return Packed(
                    data=_describe(t.data, expected.data.dims),
                    batch_size_runs=tuple(zip(sizes.tolist(), counts.tolist())),
                    padded=_describe(padded, expected.padded.dims),
                    lengths=tuple(c.lengths or ()),
                )
            assert isinstance(expected, Tensor)
            return _describe(t, expected.dims)

        h_n = measured.state[0]
        c_n = measured.state[1] if c.kind.has_cell else None
        params = dict(module.named_parameters())
        D = c.num_directions
        directions = []
        for i, (d_exp, step) in enumerate(zip(e.directions, measured.steps)):
            d = i % D
            out = measured.outputs[d_exp.layer].direction(d, c.state_size)
            directions.append(
                Direction(
                    layer=d_exp.layer,
                    direction=d_exp.direction,
                    h_n_index=d_exp.h_n_index,
                    input_features=params[f"weight_ih_l{d_exp.layer}{'_reverse' if d else ''}"].shape[1],
                    weights={name: _describe(params[name], t.dims) for name, t in d_exp.weights.items()},
                    step_index=d_exp.step_index,
                    step={name: _describe(step[name], t.dims) for name, t in d_exp.step.items()},
                    output=_describe(out, d_exp.output.dims),
                    h_n=_describe(h_n[d_exp.h_n_index], d_exp.h_n.dims),
                    step_error=step["error"],
                    c_n=_describe(c_n[d_exp.h_n_index], d_exp.c_n.dims) if c_n is not None else None,
                )
            )
        joins = tuple(LayerJoin(j.layer, _describe(measured.outputs[j.layer], j.output.dims), j.dropout) for j in e.joins)
        summary = {**count_summary(c), **_torchinfo_figures(info)}
        summary["torchinfo_mult_adds_wrong"] = summary["torchinfo_mult_adds"] != summary["mult_adds"]
        return Report(
            config=c,
            derived=False,
            input=seq(measured.input, e.input, padded=x),
            input_view=_describe(measured.view, e.input_view.dims) if e.input_view is not None else None,
            h0=_describe(state[0], e.h0.dims) if state else None,
            c0=_describe(state[1], e.c0.dims) if len(state) > 1 else None,
            parameters={name: tuple(p.shape) for name, p in params.items()},
            directions=tuple(directions),
            joins=joins,
            output=seq(measured.output, e.output),
            h_n=_describe(h_n, e.h_n.dims),
            c_n=_describe(c_n, e.c_n.dims) if c_n is not None else None,
            summary=summary,
            warnings=torch_warnings,
            notes=e.notes,
            checks=checks,
            results=results,
        )

    def _peak_memory(self) -> int | None:
        if self.device.type == "cuda":
            return int(self.torch.cuda.max_memory_allocated(self.device))
        if self.device.type == "cpu":
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # process peak, Linux kB
        return None


def run_layers(layers, x, state: tuple, lengths, batch_first: bool, before=None, after=None):
    """The one-layer modules one by one, each one's output the next one's input.

    ``state`` is the initial state as a tuple: () for none, (h0,), or an LSTM's (h0, c0).
    Returns (output, final state as a tuple: (h_n,) or (h_n, c_n)), as the whole module gives them.
    ``before(layer)`` and ``after(layer, layer_input, layer_state, output)`` see each layer run.
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    if lengths is not None:
        x = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    D = 2 if layers[0].bidirectional else 1
    final = []
    for layer, module in enumerate(layers):
        hx = tuple(s[layer * D : (layer + 1) * D] for s in state)
        if before is not None:
            before(layer)
        out, layer_state = module(x, _hx(hx))
        if after is not None:
            after(layer, x, hx, out)
        final.append(_as_tuple(layer_state))
        x = out
    return x, tuple(torch.cat(parts) for parts in zip(*final))


def _hx(state: tuple):
    """The state as the module takes it: None, h0, or an LSTM's (h0, c0)."""
    return None if not state else state[0] if len(state) == 1 else state


def _as_tuple(state) -> tuple:
    """The state as a module returns it (h_n, or an LSTM's (h_n, c_n)) as a tuple."""
    return state if isinstance(state, tuple) else (state,)


def _projections(x_t, h_prev, w):
    """W_ih x_t + b_ih and W_hh h_(t-1) + b_hh, every gate's rows at once."""
    gi, gh = x_t @ w["weight_ih"].t(), h_prev @ w["weight_hh"].t()
    if "bias_ih" in w:
        gi, gh = gi + w["bias_ih"], gh + w["bias_hh"]
    return gi, gh


def _gru_step(torch, config, x_t, prev, w) -> dict[str, Any]:
    (h_prev,) = prev
    gi, gh = _projections(x_t, h_prev, w)
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r_t = torch.sigmoid(i_r + h_r)
    z_t = torch.sigmoid(i_z + h_z)
    n_t = torch.tanh(i_n + r_t * h_n)  # the reset gate scales W_hn h + b_hn, not h alone
    return {"r_t": r_t, "z_t": z_t, "n_t": n_t, "h_t": (1 - z_t) * n_t + z_t * h_prev}


def _lstm_step(torch, config, x_t, prev, w) -> dict[str, Any]:
    h_prev, c_prev = prev
    gi, gh = _projections(x_t, h_prev, w)
    i, f, g, o = (gi + gh).chunk(4, dim=1)
    i_t, f_t, g_t, o_t = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_t = f_t * c_prev + i_t * g_t
    m_t = o_t * torch.tanh(c_t)
    step = {"i_t": i_t, "f_t": f_t, "g_t": g_t, "o_t": o_t, "c_t": c_t}
    if "weight_hr" in w:  # the projection applies at every step, so h_(t-1) is proj_size wide too
        return {**step, "m_t": m_t, "h_t": m_t @ w["weight_hr"].t()}
    return {**step, "h_t": m_t}


def _rnn_step(torch, config, x_t, prev, w) -> dict[str, Any]:
    gi, gh = _projections(x_t, prev[0], w)
    return {"h_t": getattr(torch, config.nonlinearity)(gi + gh)}


# Each kind's step by hand, computing what kinds.KINDS[mode].equations write down, in that order.
STEPS = {"gru": _gru_step, "lstm": _lstm_step, "rnn": _rnn_step}


def _torchinfo_figures(info) -> dict[str, Any]:
    """Read from torchinfo's result object, not its printed table."""
    return {
        "torchinfo_total_params": int(info.total_params),
        "torchinfo_mult_adds": int(info.total_mult_adds),
        "input_bytes": int(info.total_input),
        "forward_backward_bytes": int(info.total_output_bytes),
        "torchinfo_param_bytes": int(info.total_param_bytes),
        "total_bytes": int(info.total_input + info.total_output_bytes + info.total_param_bytes),
    }


def _with_run(report: Report, run: RunStats) -> Report:
    import dataclasses

    return dataclasses.replace(report, run=run)


def _layer_stack(layers, forward):
    """A module holding the one-layer modules, for torchinfo, whose forward is ``forward(x, *initial_state)``.

    torchinfo takes only tensors as the model's input, so packing a padded batch happens inside.
    """
    import torch

    class Layers(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(layers)

        def forward(self, x, *state):
            return forward(x, *state)

    return Layers()
