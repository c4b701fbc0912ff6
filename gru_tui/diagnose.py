"""Why a model's forward failed, in words, with a fix that is run before it is shown.

- an ``nn.Linear`` whose ``in_features`` is not its input's last dimension: the mismatch in
  one sentence, naming the Linear and both sizes, and the recurrent layer before it when
  that layer's D*hidden_size explains the size (the classic ``Linear(hidden_size)`` after a
  bidirectional GRU); the fix (the Linear with the size it receives) is run on the model;
- an ``nn.GRU`` / ``nn.LSTM`` / ``nn.RNN``: the shape-error explainer (``lessons.explain``) on
  its configuration, read from the module, and the shapes it received: the rule each shape
  broke, and a fix checked by running it.

Runs in the process that ran the forward (the worker, or ``gru-tui trace``).
"""

from __future__ import annotations

from typing import Any

from .config import ConfigError
from .report import format_shape


def diagnose(path: str, failed, args: tuple, kwargs: dict, hooks, model, model_args: tuple, model_kwargs: dict) -> tuple[list[str], bool]:
    """(sentences, whether the fix they give was run and worked) for the module at ``path`` that raised."""
    import torch

    name = path or "the model"
    if isinstance(failed, torch.nn.Linear):
        return _linear(name, path, failed, args, hooks, model, model_args, model_kwargs)
    from .model import is_recurrent

    if is_recurrent(failed):
        return _recurrent(name, failed, args, kwargs)
    return [], False


def _linear(name: str, path: str, linear, args: tuple, hooks, model, model_args, model_kwargs) -> tuple[list[str], bool]:
    import torch

    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or x.dim() == 0:
        return [], False
    got, want, out = x.shape[-1], linear.in_features, linear.out_features
    if got == want:
        return [], False
    before = _last_recurrent(hooks)
    sentence = (f"{name} is nn.Linear(in_features={want}, out_features={out}) but receives {got} features "
                f"(the last dimension of its input {format_shape(tuple(x.shape))})")
    if before is not None:
        rpath, recurrent = before
        c = recurrent.config
        D, R = c.num_directions, c.state_size
        h = "proj_size" if c.proj_size else "hidden_size"
        if D == 2 and got == D * R and want == R:
            sentence += (f": {rpath} (nn.{c.kind.module}) is bidirectional, so its output, and its last forward and backward "
                         f"states concatenated, have D*{h} = 2*{R} = {got} features, not {h} = {R}")
        elif got == D * R:
            sentence += f": {rpath} (nn.{c.kind.module}) gives D*{h} = {D}*{R} = {got} features"
    lines = [sentence + f"; make it nn.Linear({got}, {out})."]
    ran, text = _run_with(model, path, torch.nn.Linear(got, out, bias=linear.bias is not None,
                                                        device=linear.weight.device, dtype=linear.weight.dtype),
                          model_args, model_kwargs)
    if ran:
        lines.append(f"Checked: with {name} = nn.Linear({got}, {out}) the forward runs and returns {text}.")
    else:
        lines.append(f"With {name} = nn.Linear({got}, {out}) the forward still fails: {text}")
    return lines, ran


def _last_recurrent(hooks) -> tuple[str, Any] | None:
    """The recurrent layer that ran last before the failure, and its detail."""
    for path in reversed(hooks.order):
        recurrent = hooks.records[path].recurrent
        if recurrent is not None:
            return path, recurrent
    return None


def _run_with(model, path: str, replacement, args: tuple, kwargs: dict) -> tuple[bool, str]:
    """Run the model with the submodule at ``path`` replaced (then put back): (ran, its output or the error)."""
    import torch

    from .model import value_of

    parent_path, _, attr = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    original = getattr(parent, attr)
    setattr(parent, attr, replacement)
    try:
        with torch.no_grad():
            output = model(*args, **kwargs)
        return True, value_of(output).show()
    except Exception as error:  # noqa: BLE001 - the fix's own failure is reported, not raised
        text = str(error).strip().splitlines()
        return False, f"{type(error).__name__}: {text[0] if text else ''}"
    finally:
        setattr(parent, attr, original)


def _recurrent(name: str, module, args: tuple, kwargs: dict) -> tuple[list[str], bool]:
    """The explainer on the module's configuration and the shapes it received."""
    import torch
    from torch.nn.utils.rnn import PackedSequence

    from .lessons.explain import explain, refusals
    from .model import module_config
    from .tree import gru_call

    x = args[0] if args else kwargs.get("input")
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    if isinstance(x, PackedSequence):
        return [f"{name} received a PackedSequence: its data is {format_shape(tuple(x.data.shape))}; "
                f"the features (last dimension) must equal input_size = {module.input_size}."], False
    if not isinstance(x, torch.Tensor):
        return [f"{name} takes a tensor (or a PackedSequence) as its input, not a {type(x).__name__}."], False
    h0 = c0 = None
    if isinstance(hx, tuple) and len(hx) == 2 and all(isinstance(t, torch.Tensor) for t in hx):
        h0, c0 = tuple(hx[0].shape), tuple(hx[1].shape)
    elif isinstance(hx, torch.Tensor):
        h0 = tuple(hx.shape)
    try:
        config = module_config(module, x if x.dim() in (2, 3) else None, None)
    except ConfigError as error:
        return [f"{name}: {error}"], False
    if x.dim() in (2, 3):
        config = config.replace(unbatched=x.dim() == 2, batch_size=1 if x.dim() == 2 else config.batch_size)
    lines = [f"{name} is {gru_call(config)} (read from the module)."]
    shape = tuple(x.shape)
    try:
        explanation = explain(config, shape, h0, c0)
    except ConfigError:  # too large for the explainer to run: its rules alone
        problems = refusals(config, shape, h0, c0)
        return lines + [f"- {p}" for p in problems], False
    return lines + explanation.lines(), explanation.fix_checked and explanation.needs_fix
