"""The device run: build the real nn.GRU on the chosen device, run it, measure every shape.

The cost is one inference forward of the module plus one of every layer but the last:

1. The module itself, through torchinfo's summary; a forward hook captures the
   module's own ``output`` and ``h_n``.
2. The layer chain below the last layer: each of those layers (both directions)
   through torch's own GRU kernel (``torch._VF.gru``, which ``nn.GRU.forward``
   calls for all layers at once), each layer's output the next one's input. Its
   h_n must equal the module's h_n for those layers, over the whole sequence.
3. The last layer is the module's own output; it is tied to the chain by
   recomputing it from the chain's last output over a window of steps at each
   end of the sequence (the whole sequence when it is short), and by its h_n,
   which must be the state after each direction's final step.

For each layer and direction, the first time step is also recomputed by hand with
the GRU equations from the module's weights; its h_t must equal the output there.
Every shape in the report comes from a tensor of one of those passes; only the
shape, dtype and device of the intermediate layer outputs are kept, not their values.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from .config import ConfigError, GRUConfig
from .devices import check_device, free_memory
from .report import Direction, LayerJoin, Packed, Report, RunStats, Tensor
from .shapes import count_summary, derive, estimate_run_bytes

Progress = Callable[[float, str], None]
IsCancelled = Callable[[], bool]

# Steps of the last layer recomputed from the layer chain at each end of the sequence (all of it when shorter).
WINDOW = 8


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
    report_progress = progress or (lambda fraction, message: None)

    def checkpoint(fraction: float, message: str) -> None:
        if is_cancelled is not None and is_cancelled():
            raise Cancelled()
        report_progress(fraction, message)

    try:
        return _Run(config, checkpoint).run()
    except (Cancelled, ConfigError, TraceError):
        raise
    except Exception as error:  # torch's own refusals and out-of-memory, as one sentence
        raise TraceError(f"{config.device}: torch failed: {_one_line(error)}") from error


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
    def of(cls, t) -> "_Measured":
        return cls(tuple(t.shape), t.dtype, t.device)

    def direction(self, d: int, hidden_size: int) -> "_Measured":
        """One direction's half of the last dimension, as ``t[..., d*H:(d+1)*H]`` would be."""
        assert self.shape[-1] >= (d + 1) * hidden_size
        return _Measured(self.shape[:-1] + (hidden_size,), self.dtype, self.device)


def _max_error(a, b) -> float:
    return float((a.float() - b.float()).abs().max())


class _Run:
    def __init__(self, config: GRUConfig, checkpoint: Callable[[float, str], None]):
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
        self.checkpoint(0.0, "building nn.GRU")
        # Seeded, and without disturbing the caller's random state: the same configuration gives the same report.
        rng_devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=rng_devices):
            torch.manual_seed(0)
            return self._run_seeded(started)

    def _run_seeded(self, started: float) -> Report:
        torch, c = self.torch, self.config
        # What torch warns while building and running the module is the user's to see (e.g. dropout with one
        # layer; bfloat16 weights cuDNN compacts at every call): it goes into the report, not to stderr.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = torch.nn.GRU(
                c.input_size, c.hidden_size, c.num_layers, bias=c.bias, batch_first=c.batch_first,
                dropout=c.dropout, bidirectional=c.bidirectional, device=self.device, dtype=self.dtype,
            )
            module.eval()  # dropout between layers is random in training mode; shapes are the same
            x, h0, lengths = self._inputs()
            with torch.inference_mode():
                chain = self._chain(module, x, h0, lengths)
                self.checkpoint(0.8, "module forward and torchinfo summary")
                module_out, module_h_n, info = self._module_forward(module, x, h0, lengths)
                self.checkpoint(0.95, "checking the last layer against the layer chain")
                self._last_layer(module, chain, module_out, module_h_n)
        torch_warnings = tuple(dict.fromkeys(str(w.message) for w in caught))  # each once, in order
        report = self._report(module, x, h0, chain, module_out, module_h_n, info, torch_warnings)
        peak = self._peak_memory()
        self.checkpoint(1.0, "done")
        return _with_run(report, RunStats(time.perf_counter() - started, peak))

    # -- inputs ------------------------------------------------------------
    def _inputs(self):
        torch, c = self.torch, self.config
        inp = self.expected.input
        shape = inp.padded.shape if isinstance(inp, Packed) else inp.shape
        x = torch.randn(shape, device=self.device, dtype=self.dtype)
        h0 = None
        if c.with_h0:
            h0 = torch.randn(self.expected.h0.shape, device=self.device, dtype=self.dtype)
        lengths = torch.tensor(c.lengths, dtype=torch.int64) if c.lengths is not None else None
        return x, h0, lengths

    # -- the layer chain, below the last layer ------------------------------------
    def _chain(self, module, x, h0, lengths) -> dict[str, Any]:
        """Run every layer but the last with torch's GRU kernel; instrument each direction's first step.

        The last layer is the module's own (``_last_layer``): running it here too
        would cost a whole layer more and only repeat the same kernel call.
        """
        torch, c = self.torch, self.config
        from torch.nn.utils.rnn import pack_padded_sequence

        D, H = c.num_directions, c.hidden_size
        packed = None
        if lengths is not None:
            packed = pack_padded_sequence(x, lengths, batch_first=c.batch_first, enforce_sorted=False)
            layer_in = packed.data
        elif c.unbatched:
            layer_in = x.unsqueeze(1)
        else:
            layer_in = x.transpose(0, 1) if c.batch_first else x
        view = layer_in
        B = c.effective_batch
        if h0 is None:
            hx = torch.zeros(D * c.num_layers, B, H, device=self.device, dtype=self.dtype)
        else:
            hx = h0.unsqueeze(1) if c.unbatched else h0
            if packed is not None:
                hx = hx.index_select(1, packed.sorted_indices.to(hx.device))

        layer_outputs, h_n_parts, steps = [], [], []
        for layer in range(c.num_layers - 1):
            self.checkpoint(0.05 + 0.75 * layer / c.num_layers, f"layer {layer} of {c.num_layers}")
            layer_weights, layer_hx = self._layer_weights(module, layer), hx[layer * D : (layer + 1) * D]
            out, h_n = self._gru_layer(layer_in, packed, layer_hx, layer_weights)
            for d in range(D):
                w = self._direction_weights(layer_weights, d)
                steps.append(self._step(layer_in, layer_hx[d], out[..., d * H : (d + 1) * H], w, packed, reverse=bool(d)))
            layer_outputs.append(_Measured.of(out))  # its shape, not its values: one layer's output in memory at a time
            h_n_parts.append(h_n)
            layer_in = out
        return {"view": _Measured.of(view), "packed": packed, "hx": hx, "last_layer_input": layer_in,
                "layer_outputs": layer_outputs, "h_n_parts": h_n_parts, "steps": steps, "checks": {}}

    def _layer_weights(self, module, layer: int) -> list:
        per_layer = self.config.num_directions * (4 if self.config.bias else 2)
        weights = module._flat_weights[layer * per_layer : (layer + 1) * per_layer]
        if self.device.type == "cuda":
            # cuDNN would read views into the module's flat weight buffer with that buffer's alignment
            # padding and compute wrong values for later layers (seen on an H200, hidden_size 1); copies are safe.
            weights = [w.clone() for w in weights]
        return weights

    def _direction_weights(self, layer_weights, d: int) -> list:
        per_direction = 4 if self.config.bias else 2
        return layer_weights[d * per_direction : (d + 1) * per_direction]

    def _gru_layer(self, layer_in, packed, layer_hx, layer_weights, batch_sizes=None):
        """One layer, both directions, through the kernel nn.GRU.forward calls: (output, h_n)."""
        from torch import _VF

        c = self.config
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
            if packed is not None:
                sizes = packed.batch_sizes if batch_sizes is None else batch_sizes
                return _VF.gru(layer_in, sizes, layer_hx, layer_weights, c.bias, 1, 0.0, False, c.bidirectional)
            return _VF.gru(layer_in, layer_hx, layer_weights, c.bias, 1, 0.0, False, c.bidirectional, False)

    def _step(self, layer_in, h_prev, direction_out, w, packed, reverse: bool) -> dict[str, Any]:
        """The GRU equations by hand for the first step a direction takes, with the module's weights."""
        torch = self.torch
        if packed is not None:
            sizes = packed.batch_sizes
            n = int(sizes[-1] if reverse else sizes[0])
            rows = slice(layer_in.shape[0] - n, None) if reverse else slice(0, n)
            x_t, expected = layer_in[rows], direction_out[rows]
        else:
            t = layer_in.shape[0] - 1 if reverse else 0
            x_t, expected = layer_in[t], direction_out[t]
        h_prev = h_prev[: x_t.shape[0]]  # packed, reverse: only the longest sequences start here
        w_ih, w_hh = w[0], w[1]
        gi = x_t @ w_ih.t()
        gh = h_prev @ w_hh.t()
        if len(w) == 4:
            gi, gh = gi + w[2], gh + w[3]
        i_r, i_z, i_n = gi.chunk(3, dim=1)
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        r_t = torch.sigmoid(i_r + h_r)
        z_t = torch.sigmoid(i_z + h_z)
        n_t = torch.tanh(i_n + r_t * h_n)
        h_t = (1 - z_t) * n_t + z_t * h_prev
        error = _max_error(h_t, expected) if self.values else None
        return {"x_t": x_t, "h_prev": h_prev, "r_t": r_t, "z_t": z_t, "n_t": n_t, "h_t": h_t, "error": error}

    # -- the module itself, through torchinfo ------------------------------------
    def _module_forward(self, module, x, h0, lengths):
        import torchinfo

        captured: dict[str, Any] = {}

        def hook(_module, _inputs, outputs):
            captured["output"], captured["h_n"] = outputs

        handle = module.register_forward_hook(hook)
        try:
            if lengths is not None:
                # torchinfo cannot take a PackedSequence as the model's input; pack inside a wrapper.
                model: Any = _packing_wrapper(module, lengths, self.config.batch_first)
            else:
                model = module
            args = [x] + ([h0] if h0 is not None else [])
            info = torchinfo.summary(model, input_data=args, device=self.device, verbose=0)
        finally:
            handle.remove()
        if "output" not in captured:
            raise TraceError("internal: the module's forward hook did not fire")
        return captured["output"], captured["h_n"], info

    # -- the last layer: the module's output, tied to the chain ---------------------
    def _last_layer(self, module, chain, module_out, module_h_n) -> None:
        """Add the last layer to ``chain`` from the module's output, and check it against the chain.

        Its first step in each direction is recomputed by hand from the chain's last
        output; its first WINDOW steps (forward) and last WINDOW steps (reverse) are
        recomputed with the kernel, and its h_n must be the output after each
        direction's final step. Adds "steps", "layer_outputs" and "checks" to ``chain``.
        """
        c, packed = self.config, chain["packed"]
        D, H, last = c.num_directions, c.hidden_size, c.num_layers - 1
        out = self._layer_layout(module_out)
        layer_in, layer_hx = chain["last_layer_input"], chain["hx"][last * D :]
        weights = self._layer_weights(module, last)
        for d in range(D):
            w = self._direction_weights(weights, d)
            chain["steps"].append(self._step(layer_in, layer_hx[d], out[..., d * H : (d + 1) * H], w, packed, reverse=bool(d)))
        chain["layer_outputs"].append(_Measured.of(out))
        chain["last_layer_input"] = None  # the chain's last output is no longer needed
        if not self.values:
            return
        module_h_n = module_h_n.unsqueeze(1) if c.unbatched else module_h_n
        if packed is not None:  # the chain works in the packed (sorted) order
            module_h_n = module_h_n.index_select(1, packed.sorted_indices.to(module_h_n.device))
        below = module_h_n[: last * D]
        chain["checks"] = {
            "output_max_error": self._window_error(layer_in, packed, layer_hx, weights, out),
            "h_n_max_error": max(
                [_max_error(chain_h, below[i * D : (i + 1) * D]) for i, chain_h in enumerate(chain["h_n_parts"])]
                + [_max_error(self._final_states(out, packed), module_h_n[last * D :])]
            ),
            "window_steps": min(WINDOW, self._steps(packed, out)),
        }

    def _layer_layout(self, module_out):
        """The module's output as the layers hold it: packed data, or (seq, batch, features)."""
        c = self.config
        if c.packed:
            return module_out.data
        if c.unbatched:
            return module_out.unsqueeze(1)
        return module_out.transpose(0, 1) if c.batch_first else module_out

    @staticmethod
    def _steps(packed, layer_out) -> int:
        return len(packed.batch_sizes) if packed is not None else layer_out.shape[0]

    def _window_error(self, layer_in, packed, layer_hx, weights, out) -> float:
        """Max error between the module's last layer and the kernel run on the chain's output, at both ends."""
        H, T = self.config.hidden_size, self._steps(packed, out)
        k = min(WINDOW, T)
        if k == T:  # short enough: the whole layer, both directions
            return _max_error(self._gru_layer(layer_in, packed, layer_hx, weights)[0], out)
        if packed is None:
            head = self._gru_layer(layer_in[:k], None, layer_hx, weights)[0]
            errors = [_max_error(head[..., :H], out[:k, ..., :H])]
            if self.config.bidirectional:  # the reverse direction starts at the end: run the last k steps
                tail = self._gru_layer(layer_in[T - k :], None, layer_hx, weights)[0]
                errors.append(_max_error(tail[..., H:], out[T - k :, ..., H:]))
            return max(errors)
        sizes = packed.batch_sizes
        head_rows = int(sizes[:k].sum())
        head = self._gru_layer(layer_in[:head_rows], packed, layer_hx, weights, sizes[:k])[0]
        errors = [_max_error(head[:, :H], out[:head_rows, :H])]
        if self.config.bidirectional:
            # The last k steps hold the longest sequences only; each starts its reverse pass there from h0.
            tail_rows = int(sizes[T - k :].sum())
            tail_hx = layer_hx[:, : int(sizes[T - k])]
            tail = self._gru_layer(layer_in[-tail_rows:], packed, tail_hx.contiguous(), weights, sizes[T - k :])[0]
            errors.append(_max_error(tail[:, H:], out[-tail_rows:, H:]))
        return max(errors)

    def _final_states(self, out, packed):
        """Each direction's output after its final step, (D, batch, H): what the last layer's h_n must be."""
        torch, c = self.torch, self.config
        D, H = c.num_directions, c.hidden_size
        if packed is None:
            ends = [out[-1, :, :H]] + ([out[0, :, H:]] if D == 2 else [])
            return torch.stack(ends)
        sizes = packed.batch_sizes
        B = int(sizes[0])
        rows = torch.arange(B)
        lengths = (sizes.unsqueeze(0) > rows.unsqueeze(1)).sum(1)  # of each sequence, in the packed order
        step_starts = torch.cumsum(sizes, 0) - sizes  # the first row of each time step in the packed data
        last_rows = (step_starts[lengths - 1] + rows).to(out.device)
        ends = [out[last_rows, :H]] + ([out[:B, H:]] if D == 2 else [])  # reverse ends at step 0: rows 0..B-1
        return torch.stack(ends)

    # -- the report ---------------------------------------------------------
    def _report(self, module, x, h0, chain, module_out, module_h_n, info, torch_warnings) -> Report:
        torch, c, e = self.torch, self.config, self.expected
        from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

        def seq(t, expected: Tensor | Packed) -> Tensor | Packed:
            if isinstance(t, PackedSequence):
                assert isinstance(expected, Packed)
                if self.values:
                    padded, _ = pad_packed_sequence(t, batch_first=c.batch_first)
                else:  # pad_packed_sequence reads the sort order's values, which meta has not; the padding op itself runs
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

        packed_input = chain["packed"]
        inp = seq(packed_input if packed_input is not None else x, e.input)
        input_view = _describe(chain["view"], e.input_view.dims) if e.input_view is not None else None

        params = dict(module.named_parameters())
        D, H = c.num_directions, c.hidden_size
        directions = []
        for i, (d_exp, step) in enumerate(zip(e.directions, chain["steps"])):
            d = i % D
            out = chain["layer_outputs"][d_exp.layer].direction(d, H)
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
                    h_n=_describe(module_h_n[d_exp.h_n_index], d_exp.h_n.dims),
                    step_error=step["error"],
                )
            )
        joins = tuple(
            LayerJoin(j.layer, _describe(chain["layer_outputs"][j.layer], j.output.dims), j.dropout) for j in e.joins
        )
        summary = {**count_summary(c), **_torchinfo_figures(info)}
        summary["torchinfo_mult_adds_wrong"] = summary["torchinfo_mult_adds"] != summary["mult_adds"]
        return Report(
            config=c,
            derived=False,
            input=inp,
            input_view=input_view,
            h0=_describe(h0, e.h0.dims) if h0 is not None else None,
            parameters={name: tuple(p.shape) for name, p in params.items()},
            directions=tuple(directions),
            joins=joins,
            output=seq(module_out, e.output),
            h_n=_describe(module_h_n, e.h_n.dims),
            summary=summary,
            warnings=torch_warnings,
            checks=self._checks(chain),
        )

    def _checks(self, chain) -> dict[str, Any]:
        """How far the layer chain and the hand-computed steps are from the module's own results."""
        if not self.values:
            return {"values": "meta device: shapes only, no values to compare"}
        return {**chain["checks"], "step_max_error": max(s["error"] for s in chain["steps"])}

    def _peak_memory(self) -> int | None:
        if self.device.type == "cuda":
            return int(self.torch.cuda.max_memory_allocated(self.device))
        if self.device.type == "cpu":
            import resource

            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # process peak, Linux kB
        return None


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


def _packing_wrapper(gru, lengths, batch_first: bool):
    """A module that packs the padded batch, then calls the GRU: torchinfo takes only tensors as input.

    The lengths stay inside: torchinfo moves every input to the device, and packing needs them on the CPU.
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence

    class PackingWrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = gru

        def forward(self, x, h0=None):
            return self.gru(pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False), h0)

    return PackingWrapper()
