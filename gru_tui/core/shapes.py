"""Shapes derived from the rules, without torch, in time independent of the sequence length.

This is the instant tree the app shows while torch loads and while a device run
is under way; the report says ``derived=True`` until the run confirms it. The
tests check, over the whole configuration space, that every shape here equals
what torch produces (``tracing.trace``).
"""

from __future__ import annotations

from .config import GRUConfig
from .kinds import step_names
from .report import Direction, LayerJoin, Packed, Report, Tensor
from .results import using_results

DIRECTIONS = ("forward", "reverse")
BYTES_PER_ELEMENT = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2}


def gate_rows_dim(c: GRUConfig) -> str:
    """What weight_ih's rows are: one block of hidden_size per gate (3 for a GRU, 4 for an LSTM, 1 for an RNN)."""
    gates = c.kind.gate_count
    return f"{gates}*hidden_size" if gates > 1 else "hidden_size"


def state_dim(c: GRUConfig) -> str:
    """What h's features are: an LSTM with proj_size projects h (not c) to proj_size."""
    return "proj_size" if c.proj_size else "hidden_size"


def direction_parameters(c: GRUConfig, layer: int) -> list[tuple[str, tuple[int, ...], tuple[str, ...]]]:
    """One direction's parameters of a layer as (name without suffix, shape, dims), in named_parameters() order."""
    rows, h, rows_dim = c.kind.gate_count * c.hidden_size, c.hidden_size, gate_rows_dim(c)
    table = [
        ("weight_ih", (rows, c.layer_input_size(layer)), (rows_dim, "input features")),
        ("weight_hh", (rows, c.state_size), (rows_dim, state_dim(c))),
    ]
    if c.bias:
        table += [("bias_ih", (rows,), (rows_dim,)), ("bias_hh", (rows,), (rows_dim,))]
    if c.proj_size:
        table.append(("weight_hr", (c.proj_size, h), ("proj_size", "hidden_size")))
    return table


def direction_suffix(layer: int, d: int) -> str:
    return f"_l{layer}" + ("_reverse" if d else "")


def parameter_shapes(config: GRUConfig) -> dict[str, tuple[int, ...]]:
    """The module's parameters, named and ordered as ``named_parameters()`` gives them."""
    shapes = {}
    for layer in range(config.num_layers):
        table = direction_parameters(config, layer)
        for d in range(config.num_directions):
            suffix = direction_suffix(layer, d)
            shapes.update((name + suffix, shape) for name, shape, _dims in table)
    return shapes


def time_steps(config: GRUConfig) -> int:
    """How many (time step, batch item) pairs the module computes: padding is skipped when packed."""
    if config.lengths is not None:
        return sum(config.lengths)
    return config.seq_len * config.effective_batch


def count_summary(config: GRUConfig, params: dict[str, tuple[int, ...]] | None = None) -> dict[str, int]:
    """Parameter and mult-add counts that are right for batched, unbatched and packed inputs.

    mult_adds counts every parameter once per (step, batch item) pair, as torchinfo
    does for a batched input; matmul_macs counts only the weight products, which is
    what torch's FlopCounterMode sees (its FLOPs are 2 x matmul_macs).
    """
    params = params if params is not None else parameter_shapes(config)
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

    The CPU kernel projects the whole sequence through weight_ih at once (one H
    per gate, step and direction); a layer's input and output are in memory together, beside
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
        + steps * d * h * (config.kind.gate_count + 4)  # gate projections + layer input, output, module output
        + 2 * config.num_layers * d * b * h * (2 if config.kind.has_cell else 1)
    )
    return elements * BYTES_PER_ELEMENT[config.dtype]


def derive(config: GRUConfig) -> Report:
    """The report as the rules give it. Costs O(num_layers + distinct lengths), whatever seq_len is."""
    c = config
    dt, dev = c.dtype, c.device
    D, H, R, T = c.num_directions, c.hidden_size, c.state_size, c.seq_len
    B = c.effective_batch
    h_dim = state_dim(c)

    def tensor(shape: tuple[int, ...], dims: tuple[str, ...]) -> Tensor:
        return Tensor(shape, dims, dt, dev)

    def seq_tensor(features: int, feature_dim: str, *, user_layout: bool, padded_len: int = 0) -> Tensor | Packed:
        """A tensor over the sequence: in the user's layout (batch_first, unbatched) or the layers' (seq, batch, ...).

        Packed: ``padded_len`` steps padded (the input: seq_len; the output, padded back: the longest length)."""
        if c.lengths is not None:
            return _packed(c, features, feature_dim, padded_len)
        if c.unbatched and user_layout:
            return tensor((T, features), ("seq", feature_dim))
        if c.batch_first and user_layout:
            return tensor((B, T, features), ("batch", "seq", feature_dim))
        return tensor((T, B, features), ("seq", "batch", feature_dim))

    def state(size: int, dim: str) -> Tensor:
        """h0, h_n (size R) or c0, c_n (size H): (D*num_layers, batch, size), no batch when unbatched."""
        if c.unbatched:
            return tensor((D * c.num_layers, size), ("D*num_layers", dim))
        return tensor((D * c.num_layers, B, size), ("D*num_layers", "batch", dim))

    def slot(size: int, dim: str) -> Tensor:
        """One direction's slot of h_n or c_n."""
        return tensor((size,), (dim,)) if c.unbatched else tensor((B, size), ("batch", dim))

    params = parameter_shapes(c)
    inp = seq_tensor(c.input_size, "input_size", user_layout=True, padded_len=T)
    needs_view = c.lengths is None and (c.batch_first or c.unbatched)
    input_view = seq_tensor(c.input_size, "input_size", user_layout=False) if needs_view else None
    cell = c.kind.has_cell

    directions = []
    joins = []
    for layer in range(c.num_layers):
        features = c.layer_input_size(layer)
        table = direction_parameters(c, layer)
        for d in range(D):
            suffix = direction_suffix(layer, d)
            step_batch = _first_step_batch(c, reverse=bool(d))

            def row(size: int, dim: str) -> Tensor:
                return tensor((step_batch, size), ("batch", dim))

            step = {"x_t": row(features, "input features"), "h_prev": row(R, h_dim)}
            if cell:
                step["c_prev"] = row(H, "hidden_size")
            for name in step_names(c):
                step[name] = row(R, h_dim) if name == "h_t" else row(H, "hidden_size")
            directions.append(
                Direction(
                    layer=layer,
                    direction=DIRECTIONS[d],
                    h_n_index=layer * D + d,
                    input_features=features,
                    weights={name + suffix: tensor(shape, dims) for name, shape, dims in table},
                    step_index=_first_step_index(c, reverse=bool(d)),
                    step=step,
                    output=_layer_seq(c, R, h_dim),
                    h_n=slot(R, h_dim),
                    c_n=slot(H, "hidden_size") if cell else None,
                )
            )
        joins.append(
            LayerJoin(
                layer=layer,
                output=_layer_seq(c, D * R, f"D*{h_dim}"),
                dropout=c.dropout if layer < c.num_layers - 1 else 0.0,
            )
        )

    return Report(
        config=c,
        derived=True,
        input=inp,
        input_view=input_view,
        h0=state(R, h_dim) if c.with_h0 else None,
        parameters=params,
        directions=tuple(directions),
        joins=tuple(joins),
        output=seq_tensor(D * R, f"D*{h_dim}", user_layout=True, padded_len=max(c.lengths or (0,))),
        h_n=state(R, h_dim),
        summary=count_summary(c, params),
        warnings=tuple(config_warnings(c)),
        notes=tuple(config_notes(c)),
        c0=state(H, "hidden_size") if c.with_h0 and cell else None,
        c_n=state(H, "hidden_size") if cell else None,
        results=using_results(c),
    )


def config_warnings(config: GRUConfig) -> list[str]:
    """Warnings torch gives for a configuration it accepts (checked against torch in the tests)."""
    if config.dropout > 0 and config.num_layers == 1:
        return [
            "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
            f"num_layers greater than 1, but got dropout={config.dropout} and num_layers={config.num_layers}"
        ]
    return []


def config_notes(config: GRUConfig) -> list[str]:
    """What torch's rules mean for values it accepts without a warning but a learner may not expect."""
    notes = []
    if config.effective_batch == 0:
        notes.append(
            "batch_size 0: torch runs it and returns empty tensors of the shapes shown (nothing is computed); "
            "torch.equal on two empty tensors is True with nothing compared"
        )
    if config.dropout == 1 and config.num_layers > 1:
        notes.append(
            "dropout 1: in training mode it zeroes everything a layer passes to the next, so every layer after "
            "the first sees only zeros; in eval mode (as traced here) dropout does nothing"
        )
    return notes


def _layer_seq(c: GRUConfig, features: int, feature_dim: str) -> Tensor:
    """A layer's output over the sequence as the layers hold it: (seq, batch, f), or packed data (steps, f)."""
    if c.lengths is not None:
        return Tensor((sum(c.lengths), features), ("packed steps", feature_dim), c.dtype, c.device)
    return Tensor((c.seq_len, c.effective_batch, features), ("seq", "batch", feature_dim), c.dtype, c.device)


def _packed(c: GRUConfig, features: int, feature_dim: str, padded_len: int) -> Packed:
    lengths = c.lengths or ()
    padded = (c.batch_size, padded_len, features) if c.batch_first else (padded_len, c.batch_size, features)
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
