"""Your own model (issue #13): `gru-tui trace --model`'s work against torchinfo.summary on the same model and input.

For each example of examples/ at its own small sizes and at a person's real sizes (long
sequences, big batches), the median wall time of

- the forward alone (the model called on its input, no hooks, under torch.no_grad),
- torchinfo.summary(model, input_data=...), with the file imported, the model built and the input made as gru-tui does,
- gru_tui.model.trace.trace_file(spec): import, build, input, the forward with hooks on every submodule, a
  torch-function mode that names a failing call, FlopCounterMode for the matmul mult-adds (paused inside recurrent
  layers, counted there by formula), each recurrent layer's per-layer detail (derived from its configuration: no
  second forward), the sizes, the tree's data;

and the ratio trace/torchinfo (issue #18 asks at most 1.2). In process, on the device given.

    python benchmarks/bench_model.py [--quick] [--device cuda:0]
"""

from __future__ import annotations

import os
import statistics

from _common import REPO, Table, guarded, machine, median_time, ratio, run_script, seconds, synchronizer

EXAMPLES = os.path.join(REPO, "examples")
# (name, file:NAME, --input shapes or None for the file's example_inputs, repeats)
SMALL = [
    ("classifier", "classifier.py:make_model", ["4x35:int64"], 31),
    ("seq2seq", "seq2seq.py:Seq2Seq", ["4x12:int64", "4x9:int64"], 31),
    ("packed", "packed.py:make_model", None, 31),
    ("tagger", "tagger.py:make_model", ["2x20:int64"], 31),
]
REAL = [
    ("classifier, batch 64, seq 2000", "classifier.py:make_model", ["64x2000:int64"], 5),
    ("seq2seq, batch 64, 500 → 400", "seq2seq.py:Seq2Seq", ["64x500:int64", "64x400:int64"], 5),
    ("tagger, batch 32, seq 2000", "tagger.py:make_model", ["32x2000:int64"], 5),
]


def cases(quick: bool):
    return SMALL if quick else SMALL + REAL


def spec_of(ref: str, inputs, device: str):
    from gru_tui.model.spec import model_spec

    return model_spec(os.path.join(EXAMPLES, ref), inputs, None, device)


def loaded(spec):
    """The model and its input as gru-tui makes them (the file imported, NAME called, --input tensors made)."""
    import torch

    from gru_tui.model.load import build_inputs, build_model

    module, model = build_model(spec)
    model = model.to(torch.device(spec.device)).eval()
    args, kwargs = build_inputs(spec, model, module, torch.device(spec.device))
    return model, args, kwargs


def forward_alone(spec, model, args, kwargs):
    import warnings

    import torch

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's notes on its own kernels (an LSTM's projection), as trace_model keeps them
        model(*args, **kwargs)


def torchinfo_summary(spec):
    import warnings

    import torchinfo

    model, args, kwargs = loaded(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torchinfo.summary(model, input_data=list(args), device=spec.device, verbose=0, **kwargs)


def gru_tui_trace(spec):
    from gru_tui.model.trace import trace_file

    report = trace_file(spec)
    assert report.ok, report.failure


def interleaved(fns, repeats: int, sync) -> list[tuple[float, float]]:
    """(median wall, median CPU seconds) of each function, run in turns: a busy spell of the machine falls on both."""
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, kept in zip(fns, times):
            kept.append(median_time(fn, 1, sync))
    return [(statistics.median(w for w, _c in kept), statistics.median(c for _w, c in kept)) for kept in times]


def run(quick: bool = False, device: str = "cpu") -> list[Table]:
    sync = synchronizer(device)
    table = Table(
        f"Tracing a model against torchinfo.summary, in process (median wall time, device {device})",
        ["model and input", "forward alone", "torchinfo", "trace_model()", "trace/torchinfo", "trace/torchinfo, CPU time"],
    )
    table.notes.append(f"machine: {machine(device)}")
    table.notes.append(
        "torchinfo and trace_model() both include importing the file, building the model and its input, and run in turns; "
        "each path warmed up once first; CPU time: of this process, all threads, which other work on the "
        "machine does not stretch as it does wall time"
    )
    for name, ref, inputs, repeats in cases(quick):

        def measure(name=name, ref=ref, inputs=inputs, repeats=repeats):
            spec = spec_of(ref, inputs, device)
            model, args, kwargs = loaded(spec)
            for fn in (
                lambda: forward_alone(spec, model, args, kwargs),
                lambda: torchinfo_summary(spec),
                lambda: gru_tui_trace(spec),
            ):
                fn()  # warm-up
                sync()
            alone = median_time(lambda: forward_alone(spec, model, args, kwargs), repeats, sync)[0]
            (info, info_cpu), (ours, ours_cpu) = interleaved(
                [lambda: torchinfo_summary(spec), lambda: gru_tui_trace(spec)], repeats, sync
            )
            table.add(name, seconds(alone), seconds(info), seconds(ours), ratio(ours, info), ratio(ours_cpu, info_cpu))

        guarded(table, name, measure)
    return [table]


if __name__ == "__main__":
    run_script(__doc__, run)
