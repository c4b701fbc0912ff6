"""One forward of a model with hooks on every module: every shape, the failure, the cost. One core for both ways in.

- ``trace_model(model, *args, device=None, train=False, **kwargs)``: a live ``nn.Module``
  (a notebook's, a script's), called with the given inputs;
- ``trace_file(spec)``: ``gru-tui trace --model FILE.py:NAME``: the file imported, NAME
  built (with its literal arguments), the inputs made, then the same core.

The forward runs without gradients, in eval mode (or train), with a pre-hook and a hook on
every module, a torch-function mode that names a failing call, and FlopCounterMode for the
matmul mult-adds. Every nn.GRU / nn.LSTM / nn.RNN inside gets the per-layer detail of an
assembled configuration. A forward that fails is a report (``failure``), never an exception,
with the tree up to the failure and the diagnosis. Nothing of the person's model is changed:
hooks removed, each module's train/eval mode restored, buffers (a BatchNorm's running
statistics in train mode) restored, no gradients kept, the global RNG state (CPU and CUDA)
restored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.report import RunStats
from .cost import MatmulCounter, sizes, storage_bytes, value_bytes
from .diagnose import diagnose, diagnose_call, owner_of, owner_sentence
from .failure import Failure, FileFailure, cut, error_message, failure_from
from .hooks import FailedCall, Hooks, Progress, function_name, operands
from .load import build_inputs, build_model, to_device
from .report import ModelNode, ModelReport
from .spec import ModelSpec
from .values import call_of, value_of

MAX_WARNINGS = 20
NOT_THE_USERS = ("LSTM with projections is not supported with oneDNN",)  # torch's notes on its own kernels


def trace_model(model, *args, device=None, train: bool = False, **kwargs) -> ModelReport:
    """One forward of a live ``nn.Module`` on ``args`` and ``kwargs``: every module's shapes, the failure, the cost.

    ``device``: when given, the module and the inputs are moved there first (else used where
    they are); ``train``: trace in training mode (default eval). A failing forward is a report
    (``report.ok`` False, ``report.failure``; ``report.raise_for_failure()`` raises it).
    """
    import torch

    if isinstance(model, ModelSpec):  # the name gru_tui.model.trace_model(spec) had before the package
        raise TypeError(
            "trace_model takes an nn.Module; a ModelSpec (--model FILE.py:NAME) is traced by "
            "gru_tui.model.trace.trace_file(spec, progress)"
        )
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"trace_model takes an nn.Module, got a {type(model).__name__}")
    return _collected(
        lambda: run_forward(model, args, kwargs, device=device, train=train),
        lambda error: _internal(error, None, type(model).__name__, str(device or "cpu"), train),
    )


def trace_file(spec: ModelSpec, progress: Progress | None = None) -> ModelReport:
    """``gru-tui trace --model``: import, build, make the inputs, then ``run_forward``; every failure is in the report."""
    return _collected(
        lambda: _from_file(spec, progress or (lambda fraction, text: None)),
        lambda error: _internal(error, spec, spec.short, spec.device, spec.train),
    )


def _from_file(spec: ModelSpec, say: Progress) -> ModelReport:
    import torch

    device = torch.device(spec.device)
    model = None
    with contextlib.redirect_stdout(sys.stderr), torch.random.fork_rng(devices=_cuda_devices(spec.device)):
        # the person's prints must not mix with --json on stdout; random inputs are the same each run
        if spec.device.startswith("cuda"):
            torch.manual_seed(0)
        else:  # torch.manual_seed also queues a CUDA seeding, formatting a stack trace: most of a millisecond
            torch.default_generator.manual_seed(0)
        try:
            say(0.0, f"importing {Path(spec.file).name}")
            module, model = build_model(spec)
            model = model.to(device)
            say(0.2, "building the inputs")
            args, kwargs = build_inputs(spec, model, module, device)
        except FileFailure as error:
            root = _tree(model, None, spec.short) if model is not None else None
            return ModelReport(
                spec,
                root,
                None,
                None,
                error.failure,
                _params(model) if model is not None else {},
                name=spec.short,
                device=spec.device,
                train=spec.train,
            )
        return run_forward(model, args, kwargs, train=spec.train, progress=say, spec=spec)


def run_forward(
    model,
    args: tuple,
    kwargs: dict,
    *,
    device=None,
    train: bool = False,
    progress: Progress | None = None,
    spec: ModelSpec | None = None,
) -> ModelReport:
    """The core: one forward of ``model`` with every watcher on, the person's model left as it was found."""
    import torch

    name = spec.short if spec is not None else type(model).__name__
    say = progress or (lambda fraction, text: None)
    with _untouched(model, train, device):
        if device is not None:
            model.to(device)
            args, kwargs = to_device(args, device), to_device(kwargs, device)
        where = str(device) if device is not None else _device_of(model, args, kwargs)
        given = call_of(args, kwargs)
        counter, recorder = MatmulCounter(), FailedCall()
        hooks = Hooks(model, counter, progress, name)
        say(0.3, "running the forward")
        error = None
        try:
            with torch.no_grad(), recorder, counter:
                output = model(*args, **kwargs)
        except BaseException as raised:  # noqa: BLE001 - whatever the forward raised is the report's
            if isinstance(raised, KeyboardInterrupt):
                raise
            error = raised
        finally:
            hooks.remove()
        params = _params(model)
        if error is not None:
            failure = _forward_failure(error, spec, model, hooks, recorder, args, kwargs)
            return ModelReport(
                spec, _tree(model, hooks, name), given, None, failure, params, name=name, device=where, train=train
            )
        say(0.95, "writing the tree")
        inputs_bytes = sum(value_bytes(v) for v in given.values())
        summary = {
            **params,
            "matmul_macs": counter.macs(),
            **sizes(inputs_bytes, hooks.passes, params["param_bytes"], storage_bytes([args, kwargs]), hooks.torchinfo_passes),
        }
        return ModelReport(
            spec, _tree(model, hooks, name), given, value_of(output), None, summary, name=name, device=where, train=train
        )


@contextlib.contextmanager
def _untouched(model, train: bool, device):
    """The model's modes, its buffers (in train mode) and the global RNG state, as they were once the block ends."""
    import torch

    modes = [(m, m.training) for m in model.modules()]
    saved = {name: b.detach().clone() for name, b in model.named_buffers()} if train else {}
    with torch.random.fork_rng(devices=_cuda_devices(str(device or ""))):
        model.train(train)
        try:
            yield
        finally:
            for m, mode in modes:
                m.training = mode
            if saved:
                with torch.no_grad():
                    for name, b in model.named_buffers():
                        if name in saved:
                            b.copy_(saved[name])


def _cuda_devices(device: str) -> list[int]:
    import torch

    if device.startswith("cuda") or torch.cuda.is_initialized():
        return list(range(torch.cuda.device_count()))
    return []


def _device_of(model, args, kwargs) -> str:
    for p in model.parameters():
        return str(p.device)
    leaves = call_of(args, kwargs).values()
    for value in leaves:
        for leaf in value.leaves():
            return leaf.device or "cpu"
    return "cpu"


def _collected(run: Callable[[], ModelReport], fallback: Callable[[Exception], ModelReport]) -> ModelReport:
    """``run()`` with its warnings kept (torch's notes on its own kernels left out) and its time; a bug of ours as a report."""
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            report = run()
        except Exception as error:  # noqa: BLE001 - a bug of ours, or a model that breaks the hooks: a message
            report = fallback(error)
    messages = tuple(dict.fromkeys(m for m in (str(w.message) for w in caught) if not any(n in m for n in NOT_THE_USERS)))
    return dataclasses.replace(report, warnings=messages[:MAX_WARNINGS], run=RunStats(time.perf_counter() - started, None))


def _internal(error: Exception, spec: ModelSpec | None, name: str, device: str, train: bool) -> ModelReport:
    failure = Failure(
        "internal",
        type(error).__name__,
        cut(f"gru-tui could not trace this model: {error_message(error)}"),
        spec.shown_file if spec is not None else None,
    )
    return ModelReport(spec, None, None, None, failure, name=name, device=device, train=train)


def _params(model) -> dict[str, Any]:
    params = list(model.parameters())
    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return {
        "total_params": total,
        "trainable_params": trainable,
        "non_trainable_params": total - trainable,
        "param_bytes": sum(p.numel() * p.element_size() for p in params),
    }


def _tree(model, hooks: Hooks | None, name: str) -> ModelNode:
    """The module tree with the calls the hooks saw through each path; children in the order they were first called."""
    counted: dict[int, tuple[int, int]] = {}
    paths: dict[int, list[str]] = {}
    for path, m in model.named_modules(remove_duplicate=False):
        paths.setdefault(id(m), []).append(path)

    def counts(m) -> tuple[int, int]:
        if id(m) not in counted:
            params = list(m.parameters())
            counted[id(m)] = (sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad))
        return counted[id(m)]

    def node(path: str, label: str, m) -> ModelNode:
        record = hooks.records.get(path) if hooks is not None else None
        named = [(f"{path}.{child_name}" if path else child_name, child_name, child) for child_name, child in m.named_children()]
        if hooks is not None:  # first called first; those never called after them, in registration order
            named.sort(key=lambda item: hooks.first.get(item[0], len(hooks.first)))
        params, trainable = counts(m)
        extra = m.extra_repr().splitlines()[0] if m.extra_repr() else ""
        return ModelNode(
            path=path,
            name=label,
            type=type(m).__name__,
            params=params,
            trainable=trainable,
            extra=extra,
            calls=tuple(record.calls) + tuple(call_of(a, k) for a, k, _m in record.started) if record else (),
            children=tuple(node(*item) for item in named),
            recurrent=record.recurrent if record else None,
            error=hooks.failed_message if hooks is not None and hooks.failed_path == path else None,
            note=record.recurrent_note if record else "",
            matmul_macs=record.macs if record is not None else None,
            shared=tuple(p for p in paths.get(id(m), ()) if p != path),
        )

    return node("", name, model)


def _forward_failure(
    error: BaseException, spec: ModelSpec | None, model, hooks: Hooks, recorder: FailedCall, args: tuple, kwargs: dict
) -> Failure:
    folder, shown = (spec.folder, spec.shown) if spec is not None else (_code_folder(model), str)
    located = failure_from(error, "forward", folder, shown=shown)
    path, received_args, received_kwargs = hooks.open_call() or ("", args, kwargs)
    failed = hooks.modules[path]
    hooks.failed_path, hooks.failed_message = path, located.message
    called = recorder.raised(error)
    own_code = not type(failed).__module__.startswith("torch.")  # the person's forward, not one of torch's modules
    call_name, shapes, dtypes = None, (), ()
    try:
        owner = owner_of(model, path)
        if called is not None and own_code:
            func, call_args, call_kwargs = called
            call_name = function_name(func)
            shapes, dtypes = operands(call_args, call_kwargs)
            explanation, checked = diagnose_call(call_name, func, call_args, call_kwargs)
            if owner is not None:
                explanation.append(owner_sentence(owner, path, type(model.get_submodule(owner[0])).__name__))
        else:
            explanation, checked = diagnose(path, failed, received_args, received_kwargs, hooks, model, args, kwargs, owner)
    except Exception as problem:  # noqa: BLE001 - the failure itself is still reported, with torch's message
        owner, explanation, checked = None, [f"(no diagnosis: {type(problem).__name__}: {error_message(problem)})"], False
    return dataclasses.replace(
        located,
        module=path,
        module_type=type(failed).__name__,
        received=call_of(received_args, received_kwargs),
        explanation=tuple(explanation),
        fix_checked=checked,
        call=call_name,
        operands=shapes,
        operand_dtypes=dtypes,
        instances=tuple(owner[1]) if owner else (),
        builder=owner[2] if owner else None,
    )


def _code_folder(model) -> str | None:
    """A live module's own folder: where its class's forward is written (a notebook's cells have one too)."""
    code = getattr(type(model).forward, "__code__", None)
    return str(Path(code.co_filename).resolve().parent) if code is not None else None
