"""A model file: imported (its folder on ``sys.path``, for its own imports), NAME built, the forward's inputs made.

Every failure is a ``FileFailure`` holding the report's ``Failure``, at the file and line of
the person's that raised, named as they typed it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from .failure import Failure, FileFailure, error_message, failure_from
from .spec import INPUTS_FUNCTION, ModelSpec

_loaded = 0


def load_file(file: str, spec: ModelSpec | None = None):
    """Import the person's file as a new module (its folder first on sys.path, for its own imports)."""
    import importlib.util

    global _loaded
    shown = spec.shown if spec is not None else str
    folder = str(Path(file).parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    _loaded += 1
    name = f"_gru_tui_model_{_loaded}_{re.sub(r'[^0-9A-Za-z_]', '_', Path(file).stem)}"
    loader_spec = importlib.util.spec_from_file_location(name, file)
    if loader_spec is None or loader_spec.loader is None:
        raise FileFailure(Failure("file", "ImportError", f"cannot import {shown(file)}", shown(file)))
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        loader_spec.loader.exec_module(module)
    except BaseException as error:  # noqa: BLE001 - a SystemExit in the file is its error too
        sys.modules.pop(name, None)
        if isinstance(error, KeyboardInterrupt):
            raise
        raise FileFailure(failure_from(error, "file", folder, shown=shown)) from None
    return module


def _named(module, file: str, name: str, what: str):
    if not hasattr(module, name):
        defined = sorted(
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == module.__name__
        )
        offer = f"; it defines {', '.join(defined[:12])}" if defined else ""
        raise FileFailure(Failure("file", "NameError", f"{file} has no {what} named {name!r}{offer}", file))
    return getattr(module, name)


def build_model(spec: ModelSpec, module=None):
    """The nn.Module NAME gives: a module object, or what calling NAME (a function or class) with its literal arguments returns."""
    import torch

    module = module if module is not None else load_file(spec.file, spec)
    target = _named(module, spec.shown_file, spec.name, "function, class or module")
    args, kwargs = spec.constructor()
    if isinstance(target, torch.nn.Module) and not spec.arguments:
        return module, target
    if not callable(target):
        raise FileFailure(
            Failure(
                "build",
                "TypeError",
                f"{spec.name} is a {type(target).__name__}, not a function, class or nn.Module",
                spec.shown_file,
            )
        )
    try:
        model = target(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001
        if isinstance(error, KeyboardInterrupt):
            raise
        message = error_message(error)
        if isinstance(error, TypeError) and "argument" in message:
            message += (
                f" (gru-tui calls {spec.name}{spec.arguments or '() with no arguments'}: give its arguments as "
                f"--model 'FILE.py:{spec.name}(1, 2, key=3)' (literals), defaults, or a function that builds the model)"
            )
        raise FileFailure(failure_from(error, "build", spec.folder, message, shown=spec.shown)) from None
    if not isinstance(model, torch.nn.Module):
        raise FileFailure(
            Failure(
                "build",
                "TypeError",
                f"{spec.name}{spec.arguments or '()'} returned a {type(model).__name__}, not an nn.Module",
                spec.shown_file,
            )
        )
    return module, model


def build_inputs(spec: ModelSpec, model, module, device) -> tuple[tuple, dict]:
    """The forward's (args, kwargs): random tensors of the --input shapes, or what the inputs function returns."""
    import torch

    function = spec.inputs_function
    if function is None and not spec.inputs and hasattr(module, INPUTS_FUNCTION):
        function = (spec.file, INPUTS_FUNCTION)
    if function is not None:
        source = module if function[0] == spec.file else load_file(function[0], spec)
        fn = _named(source, spec.shown(function[0]), function[1], "function")
        try:
            given = fn()
        except BaseException as error:  # noqa: BLE001
            if isinstance(error, KeyboardInterrupt):
                raise
            raise FileFailure(failure_from(error, "inputs", str(Path(function[0]).parent), shown=spec.shown)) from None
        args, kwargs = arguments_of(given)
        return to_device(args, device), to_device(kwargs, device)
    if not spec.inputs:
        raise FileFailure(
            Failure(
                "inputs",
                "ConfigError",
                f"no input: give --input SHAPE[:dtype] for each positional tensor of {spec.name}'s forward (e.g. --input 4x35:int64), "
                f"or --inputs FILE.py:FUNCTION, or define {INPUTS_FUNCTION}() in {Path(spec.file).name}",
                spec.shown_file,
            )
        )
    high = _token_bound(model)
    args = []
    for inp in spec.inputs:
        dtype = getattr(torch, inp.dtype)
        if inp.dtype == "bool":
            args.append(torch.ones(inp.shape, dtype=dtype, device=device))
        elif dtype.is_floating_point:
            args.append(torch.randn(inp.shape, dtype=dtype, device=device))
        else:  # token ids: valid for every embedding of the model
            args.append(torch.randint(0, high, inp.shape, dtype=dtype, device=device))
    return tuple(args), {}


def arguments_of(given: Any) -> tuple[tuple, dict]:
    """What an inputs function returned as the forward's (args, kwargs): ``(args, kwargs)``, a dict (keywords),
    a tuple or list (positional ones), or one value."""
    if isinstance(given, tuple) and len(given) == 2 and isinstance(given[0], (tuple, list)) and isinstance(given[1], dict):
        return tuple(given[0]), dict(given[1])
    if isinstance(given, dict):
        return (), dict(given)
    if isinstance(given, (tuple, list)) and not hasattr(given, "_fields"):
        return tuple(given), {}
    return (given,), {}


def _token_bound(model) -> int:
    import torch

    sizes = [m.num_embeddings for m in model.modules() if isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag))]
    return max(1, min(sizes)) if sizes else 2


def to_device(value, device):
    """Tensors moved to ``device``, inside tuples, lists and dicts too."""
    import torch
    from torch.nn.utils.rnn import PackedSequence

    if isinstance(value, (torch.Tensor, PackedSequence)):
        return value.to(device)
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(to_device(v, device) for v in value)
    if isinstance(value, list):
        return [to_device(v, device) for v in value]
    if isinstance(value, dict):
        return {k: to_device(v, device) for k, v in value.items()}
    return value
