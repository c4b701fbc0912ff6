"""Why a model's forward failed, in words, with a fix that is run before it is shown.

- an ``nn.Linear`` whose ``in_features`` is not its input's last dimension: the mismatch in
  one sentence, naming the Linear and both sizes, and the recurrent layer before it when
  that layer's D*hidden_size explains the size (the classic ``Linear(hidden_size)`` after a
  bidirectional GRU); the fix (the Linear with the size it receives) is run on the model;
- an ``nn.GRU`` / ``nn.LSTM`` / ``nn.RNN``: the shape-error explainer (``lessons.explain``) on
  its configuration, read from the module, and the shapes it received;
- a torch function called in the person's own forward (``torch.cat``, ``torch.bmm``,
  ``torch.matmul``, ``Tensor.view``, ``Tensor.reshape``): the rule it broke in one sentence and,
  where one exists, a fix run on the same operands;
- a class of the person's used several times (CRNN's ``BidirectionalLSTM``): the other
  instances named, the ``__init__`` line that builds the failing submodule, and the fix
  applied to every instance before it is called checked.

Runs in the process that ran the forward (the worker, ``gru-tui trace``, ``trace_model``).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path
from typing import Any

from ..core.config import ConfigError
from ..core.report import format_shape
from ..core.tree import gru_call
from .recurrent import input_of, is_recurrent, module_config
from .values import value_of


def diagnose(
    path: str,
    failed,
    args: tuple,
    kwargs: dict,
    hooks,
    model,
    model_args: tuple,
    model_kwargs: dict,
    owner: tuple[str, list[str], str | None] | None = None,
) -> tuple[list[str], bool]:
    """(sentences, whether the fix they give was run and worked) for the module at ``path`` that raised."""
    import torch

    name = path or "the model"
    if isinstance(failed, torch.nn.Linear):
        return _linear(name, path, failed, args, hooks, model, model_args, model_kwargs, owner)
    lines, checked = _recurrent(name, failed, args, kwargs) if is_recurrent(failed) else ([], False)
    if owner is not None:  # the bug is the class's: say so, and where it builds the module
        lines.append(owner_sentence(owner, path, type(model.get_submodule(owner[0])).__name__))
    return lines, checked


# -- a class used several times ------------------------------------------------------------------
def owner_of(model, path: str) -> tuple[str, list[str], str | None] | None:
    """The nearest module on ``path`` (itself, then its parents) of a class of the person's with other instances in the model:
    (its path, the other instances' paths, "Class.__init__ (file.py:line)" building the submodule on the way to ``path``)."""
    parts = path.split(".") if path else []
    modules = dict(model.named_modules())
    for depth in range(len(parts), -1, -1):
        owner_path = ".".join(parts[:depth])
        owner = modules.get(owner_path)
        if owner is None or type(owner).__module__.startswith("torch."):
            continue
        others = [p for p, m in modules.items() if type(m) is type(owner) and m is not owner]
        if not others:
            continue
        builder = _init_line(type(owner), parts[depth]) if depth < len(parts) else None
        return owner_path, others, builder
    return None


def _init_line(cls, attribute: str) -> str | None:
    """``Class.__init__ (file.py:11)``: the line of the class's __init__ that assigns ``self.<attribute>``."""
    try:
        lines, first = inspect.getsourcelines(cls.__init__)
        file = inspect.getsourcefile(cls.__init__)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == attribute and isinstance(target.value, ast.Name):
                return f"{cls.__name__}.__init__ ({Path(file).name}:{first + node.lineno - 1})"
    return None


def owner_sentence(owner: tuple[str, list[str], str | None], path: str, cls: str) -> str:
    owner_path, others, builder = owner
    inside = path[len(owner_path) :].lstrip(".")
    where = f"; {builder} builds {inside.split('.')[0]}" if builder else ""
    return (
        f"{owner_path or 'the model'} is a {cls}, as {'is' if len(others) == 1 else 'are'} {', '.join(others)}: "
        f"the fix belongs in the class{where}."
    )


# -- an nn.Linear --------------------------------------------------------------------------------
def _linear(name: str, path: str, linear, args: tuple, hooks, model, model_args, model_kwargs, owner) -> tuple[list[str], bool]:
    import torch

    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or x.dim() == 0:
        return [], False
    got, want, out = x.shape[-1], linear.in_features, linear.out_features
    if got == want:
        return [], False
    before = _last_recurrent(hooks)
    sentence = (
        f"{name} is nn.Linear(in_features={want}, out_features={out}) but receives {got} features "
        f"(the last dimension of its input {format_shape(tuple(x.shape))})"
    )
    if before is not None:
        rpath, recurrent = before
        c = recurrent.config
        D, R = c.num_directions, c.state_size
        h = "proj_size" if c.proj_size else "hidden_size"
        if D == 2 and got == D * R and want == R:
            sentence += (
                f": {rpath} (nn.{c.kind.module}) is bidirectional, so its output, and its last forward and backward "
                f"states concatenated, have D*{h} = 2*{R} = {got} features, not {h} = {R}"
            )
        elif got == D * R:
            sentence += f": {rpath} (nn.{c.kind.module}) gives D*{h} = {D}*{R} = {got} features"
    lines = [sentence + f"; make it nn.Linear({got}, {out})."]
    fixes = {path: (got, linear)}
    if owner is not None:  # the same submodule in every instance of the class: scaled as this one is
        owner_path, others, _builder = owner
        inside = path[len(owner_path) :].lstrip(".")
        for other in others:
            twin = model.get_submodule(f"{other}.{inside}" if other else inside)
            if isinstance(twin, torch.nn.Linear):
                size = twin.in_features * got // want if got % want == 0 else got
                fixes[f"{other}.{inside}" if other else inside] = (size, twin)
        lines.append(owner_sentence(owner, path, type(model.get_submodule(owner_path)).__name__))
    replacements = {
        p: torch.nn.Linear(size, m.out_features, bias=m.bias is not None, device=m.weight.device, dtype=m.weight.dtype)
        for p, (size, m) in fixes.items()
    }
    ran, text = run_with(model, replacements, model_args, model_kwargs)
    fixed = ", ".join(f"{p} = nn.Linear({size}, {m.out_features})" for p, (size, m) in fixes.items())
    every = (
        f"every {type(model.get_submodule(owner[0])).__name__}'s {path[len(owner[0]) :].lstrip('.')} fixed ({fixed})"
        if len(fixes) > 1
        else fixed
    )
    if ran:
        lines.append(f"Checked: with {every} the forward runs and returns {text}.")
    else:
        lines.append(f"With {every} the forward still fails: {text}")
    return lines, ran


def _last_recurrent(hooks) -> tuple[str, Any] | None:
    """The recurrent layer that ran last before the failure, and its detail."""
    for path in reversed(hooks.order):
        recurrent = hooks.records[path].recurrent
        if recurrent is not None:
            return path, recurrent
    return None


def run_with(model, replacements: dict[str, Any], args: tuple, kwargs: dict) -> tuple[bool, str]:
    """Run the model with the submodules at the given paths replaced (then put back): (ran, its output or the error)."""
    import torch

    originals = []
    for path, replacement in replacements.items():
        parent_path, _, attr = path.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        originals.append((parent, attr, getattr(parent, attr)))
        setattr(parent, attr, replacement)
    try:
        with torch.no_grad():
            output = model(*args, **kwargs)
        return True, value_of(output).show()
    except Exception as error:  # noqa: BLE001 - the fix's own failure is reported, not raised
        text = str(error).strip().splitlines()
        return False, f"{type(error).__name__}: {text[0] if text else ''}"
    finally:
        for parent, attr, original in reversed(originals):
            setattr(parent, attr, original)


# -- a recurrent module ----------------------------------------------------------------------------
def _recurrent(name: str, module, args: tuple, kwargs: dict) -> tuple[list[str], bool]:
    """The explainer on the module's configuration and the shapes it received."""
    import torch
    from torch.nn.utils.rnn import PackedSequence

    from ..lessons.explain import explain, refusals

    x, hx = input_of(args, kwargs)
    if isinstance(x, PackedSequence):
        return [
            f"{name} received a PackedSequence: its data is {format_shape(tuple(x.data.shape))}; "
            f"the features (last dimension) must equal input_size = {module.input_size}."
        ], False
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


# -- a torch function in the person's own forward --------------------------------------------------
def diagnose_call(name: str, func, args: tuple, kwargs: dict) -> tuple[list[str], bool]:
    """The rule a torch function's call broke, in one sentence, and a fix run on the same operands where one exists."""
    base = name.rpartition(".")[2]
    try:
        if base in ("cat", "concat", "concatenate"):
            return _cat(name, args, kwargs), False
        if base in ("bmm", "matmul", "mm", "__matmul__"):
            return _matmul(name, func, args, kwargs)
        if base in ("view", "reshape"):
            return _view(name, func, args, kwargs)
    except Exception as error:  # noqa: BLE001 - a call the rules do not read: torch's message stands alone
        return [f"(no rule for this call: {type(error).__name__}: {error})"], False
    return [], False


def _cat(name: str, args: tuple, kwargs: dict) -> list[str]:
    tensors = list(args[0] if args else kwargs.get("tensors", ()))
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    shapes = [tuple(t.shape) for t in tensors]
    for i, shape in enumerate(shapes[1:], 1):
        if len(shape) != len(shapes[0]):
            return [
                f"{name} joins tensors with the same number of dimensions, but tensor 0 is {format_shape(shapes[0])} "
                f"({len(shapes[0])} dimensions) and tensor {i} is {format_shape(shape)} ({len(shape)})."
            ]
    ndim = len(shapes[0]) if shapes else 0
    along = dim % ndim if ndim else dim
    for i, shape in enumerate(shapes[1:], 1):
        for d, (a, b) in enumerate(zip(shapes[0], shape)):
            if d != along and a != b:
                return [
                    f"{name} joins along dim {dim}: every other dimension must be equal, but dim {d} is {a} in tensor 0 "
                    f"{format_shape(shapes[0])} and {b} in tensor {i} {format_shape(shape)}."
                ]
    return []


def _matmul(name: str, func, args: tuple, kwargs: dict) -> tuple[list[str], bool]:
    a, b = (list(args) + [kwargs.get("other", kwargs.get("mat2"))])[:2]
    sa, sb = tuple(a.shape), tuple(b.shape)
    inner_b = sb[-2] if len(sb) > 1 else sb[0]
    if name.endswith("bmm") and (len(sa) != 3 or len(sb) != 3):
        return [
            f"{name} multiplies two 3-D batches (b, n, m) and (b, m, p), got {format_shape(sa)} and {format_shape(sb)}."
        ], False
    if name.endswith("bmm") and sa[0] != sb[0]:
        return [
            f"{name} multiplies batch by batch: dim 0 must be equal, got {sa[0]} in {format_shape(sa)} and {sb[0]} in {format_shape(sb)}."
        ], False
    lines = [
        f"{name} multiplies {format_shape(sa)} by {format_shape(sb)}: the inner sizes must be equal, the last of the first "
        f"({sa[-1]}) and the {'second-to-last' if len(sb) > 1 else 'only'} of the second ({inner_b})."
    ]
    if len(sa) > 1 and len(sb) > 1:
        for text, x, y in (("the second transposed", a, b.transpose(-2, -1)), ("the first transposed", a.transpose(-2, -1), b)):
            try:
                result = func(x, y)
            except Exception:  # noqa: BLE001 - not this fix
                continue
            which = "(a, b.transpose(-2, -1))" if x is a else "(a.transpose(-2, -1), b)"
            lines.append(
                f"With {text}: {name}{which} runs on these operands and gives {format_shape(tuple(result.shape))} "
                f"(checked; make sure that is the product you mean)."
            )
            return lines, True
    return lines, False


def _view(name: str, func, args: tuple, kwargs: dict) -> tuple[list[str], bool]:
    import torch

    x = args[0]
    sizes = args[1:] if len(args) > 1 else (kwargs.get("shape") or kwargs.get("size"),)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, torch.Size)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    numel, known = x.numel(), 1
    for s in sizes:
        known *= s if s != -1 else 1
    asked = f"{name}{tuple(sizes) if len(sizes) != 1 else f'({sizes[0]})'}"
    if -1 in sizes:
        fits = known != 0 and numel % known == 0
        sentence = (
            f"{asked} on {format_shape(tuple(x.shape))} ({numel:,} elements): the sizes other than -1 multiply to {known:,}, "
            f"which {'divides' if fits else 'does not divide'} {numel:,}."
        )
    else:
        fits = known == numel
        sentence = f"{asked} asks for {known:,} elements; the tensor {format_shape(tuple(x.shape))} holds {numel:,}."
    if fits:  # the count is right: the memory layout is not (a transposed tensor)
        lines = [
            f"{name} needs a tensor whose memory is laid out in order (contiguous) for this shape; "
            f"{format_shape(tuple(x.shape))} is not (a transpose or a slice before it)."
        ]
        result = x.reshape(sizes)
        lines.append(
            f"Use .reshape{tuple(sizes)} (or .contiguous().view(...)): checked, it runs on this tensor and gives "
            f"{format_shape(tuple(result.shape))}."
        )
        return lines, True
    lines = [sentence]
    if len(sizes) > 1 and -1 not in sizes:  # a hard-coded first size (a batch size) is the usual cause
        rest = 1
        for s in sizes[1:]:
            rest *= s
        if rest and numel % rest == 0:
            result = func(x, -1, *sizes[1:])
            lines.append(
                f"With -1 for dim 0, {name}(-1, {', '.join(map(str, sizes[1:]))}) runs on this tensor and gives "
                f"{format_shape(tuple(result.shape))} (checked)."
            )
            return lines, True
    return lines, False
