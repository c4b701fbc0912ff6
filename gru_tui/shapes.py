"""Shapes derived from the rules, without torch, in time independent of the sequence length.

This is the instant tree the app shows while torch loads and while a device run
is under way; the report says ``derived=True`` until the run confirms it. The
tests check, over the whole configuration space, that every shape here equals
what torch produces (``tracing.trace``).
"""

from __future__ import annotations

from .config import GRUConfig
from .report import Direction, LayerJoin, Packed, Report, Tensor

DIRECTIONS = ("forward", "reverse")
BYTES_PER_ELEMENT = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2}


def parameter_shapes(config: GRUConfig) -> dict[str, tuple[int, ...]]:
    """nn.GRU's parameters, named and ordered as ``named_parameters()`` gives them."""
    h3 = 3 * config.hidden_size
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(config.num_layers):
        for d in range(config.num_directions):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            shapes[f"weight_ih{suffix}"] = (h3, config.layer_input_size(layer))
            shapes[f"weight_hh{suffix}"] = (h3, config.hidden_size)
            if config.bias:
                shapes[f"bias_ih{suffix}"] = (h3,)
                shapes[f"bias_hh{suffix}"] = (h3,)
    return shapes


def time_steps(config: GRUConfig) -> int:
    """How many (time step, batch item) pairs the module computes: padding is skipped when packed."""
    if config.lengths is not None:
        return sum(config.lengths)
    return config.seq_len * config.effective_batch


def count_summary(config: GRUConfig) -> dict[str, int]:
    """Parameter and mult-add counts that are right for batched, unbatched and packed inputs.

    mult_adds counts every parameter once per (step, batch item) pair, as torchinfo
    does for a batched input; matmul_macs counts only the weight products, which is
    what torch's FlopCounterMode sees (its FLOPs are 2 x matmul_macs).
    """
    params = parameter_shapes(config)
    total = sum(_numel(s) for s in params.values())
    weights = sum(_numel(s) for name, s in params.items() if name.startswith("weight"))
    steps = time_steps(config)
    return {
        "total_params": total,
        "trainable_params": total,
        "param_bytes": total * BYTES_PER_ELEMENT[config.dtype],
        "mult_adds": total * steps,
        "matmul_macs": weights * steps,
    }


def estimate_run_bytes(config: GRUConfig) -> int:
    """A generous estimate of the memory a device run needs: parameters, input, per-layer activations.

    The CPU kernel projects the whole sequence through weight_ih at once (3H per
    step and direction); a layer's input and output are in memory together, beside
    the last layer's output kept as the module's. On CUDA the layers run on copies
    of the weights (``tracing.one_layer_modules``).
    """
    b = config.effective_batch
    steps = time_steps(config)
    d, h = config.num_directions, config.hidden_size
    weight_copies = 2 if config.device.startswith("cuda") else 1
    elements = (
        weight_copies * sum(_numel(s) for s in parameter_shapes(config).values())
        + config.seq_len * b * config.input_size
        + steps * d * h * 7  # 3H projections + layer input, layer output, module output per direction
        + 2 * config.num_layers * d * b * h
    )
    return elements * BYTES_PER_ELEMENT[config.dtype]


def derive(config: GRUConfig) -> Report:
    """The report as the rules give it. Costs O(num_layers + distinct lengths), whatever seq_len is."""
    c = config
    dt, dev = c.dtype, c.device
    D, H, T = c.num_directions, c.hidden_size, c.seq_len
    B = c.effective_batch

    def tensor(shape: tuple[int, ...], dims: tuple[str, ...]) -> Tensor:
        return Tensor(shape, dims, dt, dev)

    def seq_tensor(features: int, feature_dim: str, *, user_layout: bool) -> Tensor | Packed:
        """A tensor over the sequence: in the user's layout (batch_first, unbatched) or the layers' (seq, batch, ...)."""
        if c.lengths is not None:
            return _packed(c, features, feature_dim)
        if c.unbatched and user_layout:
            return tensor((T, features), ("seq", feature_dim))
        if c.batch_first and user_layout:
            return tensor((B, T, features), ("batch", "seq", feature_dim))
        return tensor((T, B, features), ("seq", "batch", feature_dim))

    inp = seq_tensor(c.input_size, "input_size", user_layout=True)
    needs_view = c.lengths is None and (c.batch_first or c.unbatched)
    input_view = seq_tensor(c.input_size, "input_size", user_layout=False) if needs_view else None

    h_dims = ("D*num_layers", "batch", "hidden_size")
    h0 = None
    if c.with_h0:
        h0 = tensor((D * c.num_layers, H), (h_dims[0], h_dims[2])) if c.unbatched else tensor((D * c.num_layers, B, H), h_dims)

    params = parameter_shapes(c)
    directions = []
    joins = []
    for layer in range(c.num_layers):
        features = c.layer_input_size(layer)
        for d in range(D):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            weights = {
                name: tensor(params[name], dims)
                for name, dims in (
                    (f"weight_ih{suffix}", ("3*hidden_size", "input features")),
                    (f"weight_hh{suffix}", ("3*hidden_size", "hidden_size")),
                    (f"bias_ih{suffix}", ("3*hidden_size",)),
                    (f"bias_hh{suffix}", ("3*hidden_size",)),
                )
                if name in params
            }
            step_batch = _first_step_batch(c, reverse=bool(d))
            step = {
                "x_t": tensor((step_batch, features), ("batch", "input features")),
                **{
                    name: tensor((step_batch, H), ("batch", "hidden_size"))
                    for name in ("h_prev", "r_t", "z_t", "n_t", "h_t")
                },
            }
            directions.append(
                Direction(
                    layer=layer,
                    direction=DIRECTIONS[d],
                    h_n_index=layer * D + d,
                    input_features=features,
                    weights=weights,
                    step_index=_first_step_index(c, reverse=bool(d)),
                    step=step,
                    output=_layer_seq(c, H, "hidden_size"),
                    h_n=tensor((H,) if c.unbatched else (B, H), ("hidden_size",) if c.unbatched else ("batch", "hidden_size")),
                )
            )
        joins.append(
            LayerJoin(
                layer=layer,
                output=_layer_seq(c, D * H, "D*hidden_size"),
                dropout=c.dropout if layer < c.num_layers - 1 else 0.0,
            )
        )

    output = seq_tensor(D * H, "D*hidden_size", user_layout=True)
    h_n = tensor((D * c.num_layers, H), (h_dims[0], h_dims[2])) if c.unbatched else tensor((D * c.num_layers, B, H), h_dims)
    return Report(
        config=c,
        derived=True,
        input=inp,
        input_view=input_view,
        h0=h0,
        parameters=params,
        directions=tuple(directions),
        joins=tuple(joins),
        output=output,
        h_n=h_n,
        summary=count_summary(c),
        warnings=tuple(config_warnings(c)),
    )


def config_warnings(config: GRUConfig) -> list[str]:
    """Warnings torch gives for a configuration it accepts (checked against torch in the tests)."""
    if config.dropout > 0 and config.num_layers == 1:
        return [
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
            f"num_layers greater than 1, but got dropout={config.dropout} and num_layers={config.num_layers}"
        ]
    return []


def _layer_seq(c: GRUConfig, features: int, feature_dim: str) -> Tensor:
    """A layer's output over the sequence as the layers hold it: (seq, batch, f), or packed data (steps, f)."""
    if c.lengths is not None:
        return Tensor((sum(c.lengths), features), ("packed steps", feature_dim), c.dtype, c.device)
    return Tensor((c.seq_len, c.effective_batch, features), ("seq", "batch", feature_dim), c.dtype, c.device)


def _packed(c: GRUConfig, features: int, feature_dim: str) -> Packed:
    lengths = c.lengths or ()
    padded_len = max(lengths)
    padded = (
        (c.batch_size, padded_len, features) if c.batch_first else (padded_len, c.batch_size, features)
    )
    padded_dims = ("batch", "seq", feature_dim) if c.batch_first else ("seq", "batch", feature_dim)
    return Packed(
        data=Tensor((sum(lengths), features), ("packed steps", feature_dim), c.dtype, c.device),
        batch_size_runs=batch_size_runs(lengths),
        padded=Tensor(padded, padded_dims, c.dtype, c.device),
        lengths=tuple(lengths),
    )


def batch_size_runs(lengths: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """PackedSequence.batch_sizes as (size, count) runs: at step t, the number of sequences longer than t."""
    runs = []
    previous = 0
    remaining = len(lengths)
    for length in sorted(set(lengths)):
        runs.append((remaining, length - previous))
        remaining -= lengths.count(length)
        previous = length
    return tuple(runs)


def _first_step_index(c: GRUConfig, reverse: bool) -> int:
    """The time step a direction computes first: 0 forward, the last one in reverse."""
    if not reverse:
        return 0
    return (max(c.lengths) if c.lengths is not None else c.seq_len) - 1


def _first_step_batch(c: GRUConfig, reverse: bool) -> int:
    """How many sequences take part in that first step (in reverse, packed: only the longest ones)."""
    if c.lengths is None:
        return c.effective_batch
    if not reverse:
        return len(c.lengths)
    return c.lengths.count(max(c.lengths))


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
