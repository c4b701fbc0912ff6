"""Using the results: the slices people take from output and h_n, written for one configuration.

``using_results(config)`` writes, once, every expression a person types next
(``output[:, -1]`` against ``h_n[-1]``; a bidirectional layer's halves; the rows of
``h_n.view(num_layers, D, batch, H)``; the classifier's ``torch.cat``; a padded batch's
``output[range(B), lengths - 1]``) as code text with its shape. The tree, the CLI, the
JSON, the code pane, the handouts and the quiz all read these; nothing else writes them.

Whether two of them are equal is never decided here: ``measure`` evaluates the very code
text on a run's own tensors (in the worker, beside them) and keeps ``torch.equal`` and the
largest difference as plain data. Before a run, and on the meta device, there are shapes only.
No torch import at module level: the derived tree needs this before torch has loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .config import GRUConfig

PAD = "pad_packed_sequence"


@dataclass(frozen=True)
class Use:
    """One expression on the results, and what it is compared with (``torch.equal``), if anything."""

    id: str  # stable: "last_step", "reverse_first_step", "classifier"...
    expression: str  # code a person types, e.g. "output[:, -1, :32]"
    shape: tuple[int, ...]
    dims: tuple[str, ...]
    note: str  # what the expression holds, in words (never whether it is equal: that is measured)
    compared_with: str | None = None  # code of the other side, of the same shape; None: the expression alone
    equal: bool | None = None  # torch.equal on a run's tensors; None before a run, on meta, or with nothing compared
    max_difference: float | None = None  # the largest |a - b| on the run (0.0 when equal)

    @property
    def check(self) -> str | None:
        """The line that compares the two sides, as a person types it."""
        return f"torch.equal({self.expression}, {self.compared_with})" if self.compared_with else None

    def verdict(self) -> str:
        """'✓ equal', '✗ max difference 0.41', or '' when not measured (or nothing compared)."""
        if self.equal is None:
            return ""
        if self.equal:
            return "✓ equal"
        return f"✗ max difference {self.max_difference:.3g}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "expression": self.expression,
            "shape": list(self.shape),
            "dims": list(self.dims),
            "compared_with": self.compared_with,
            "equal": self.equal,
            "max_difference": self.max_difference,
            "note": self.note,
        }


@dataclass(frozen=True)
class Results:
    """The "using the results" branch: the setup line (packed), the layout rule, the uses, how they were checked."""

    setup: str | None  # a packed batch is padded first: "output, lengths = pad_packed_sequence(output, batch_first=True)"
    note: str  # where the time index is in output, and that h_n has none
    output_time_dim: int  # output's time dimension (after the setup when packed)
    uses: tuple[Use, ...]
    checked: str  # how equality was decided: not yet (derived), on a device, or not at all (meta)

    def use(self, id: str) -> Use | None:
        return next((u for u in self.uses if u.id == id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "setup": self.setup,
            "output_time_dim": self.output_time_dim,
            "note": self.note,
            "checked": self.checked,
            "uses": [u.to_dict() for u in self.uses],
        }


NOT_YET = "derived: shapes only until the run"
NO_VALUES = "meta device: shapes only, no values"


def using_results(c: GRUConfig) -> Results:
    """Every use for this configuration, with shapes from the rules. O(1): no loop over layers or steps."""
    D, H, L, B, Hc = c.num_directions, c.state_size, c.num_layers, c.effective_batch, c.hidden_size
    h_dim = "proj_size" if c.proj_size else "hidden_size"
    batched = not c.unbatched
    bf = batched and c.batch_first

    def out(t: str, feature: str | None = None) -> str:
        """output at time index ``t`` (a step, or "lengths - 1" with the batch index), in this layout."""
        if c.packed and t == "ends":
            parts = [f"range({B})", "lengths - 1"] if bf else ["lengths - 1", f"range({B})"]
        elif bf:
            parts = [":", t]
        else:
            parts = [t] + ([":"] if batched and feature else [])
        return f"output[{', '.join(parts + ([feature] if feature else []))}]"

    def row(width: int, dim: str) -> tuple[tuple[int, ...], tuple[str, ...]]:
        return ((B, width), ("batch", dim)) if batched else ((width,), (dim,))

    fwd, rev = f":{H}", f"{H}:"
    uses: list[Use] = []

    def add(id: str, expression: str, width: int, dim: str, note: str, compared_with: str | None = None) -> None:
        shape, dims = row(width, dim)
        uses.append(Use(id, expression, shape, dims, note, compared_with))

    if c.packed:
        longest, T, F = max(c.lengths or (0,)), c.seq_len, D * H
        shape, dims = (
            ((B, longest, F), ("batch", "longest length", f"D*{h_dim}"))
            if bf
            else ((longest, B, F), ("longest length", "batch", f"D*{h_dim}"))
        )
        than = f"not to seq_len ({T}) the input was padded to" if longest != T else "here seq_len too"
        uses.append(
            Use(
                "padded_back",
                "output",
                shape,
                dims,
                f"{PAD} pads back to the longest length, {longest}, {than}; "
                f"{PAD}(..., total_length={T}) in the setup line pads to {T} steps",
            )
        )
    if D == 1:
        add(
            "last_step",
            out("-1"),
            H,
            h_dim,
            "the last layer's output at the last step"
            + (" of the padded batch: zeros where a sequence is shorter" if c.packed else ""),
            "h_n[-1]",
        )
        add("first_step", out("0"), H, h_dim, "the output at step 0: after the first step", "h_n[-1]")
        if c.packed:
            add("sequence_ends", out("ends"), H, h_dim, "each sequence's own last step", "h_n[-1]")
    else:
        add(
            "last_step",
            out("-1"),
            D * H,
            f"D*{h_dim}",
            f"both directions at the last step, D*{h_dim} wide: not comparable with h_n[-1], {h_dim} wide",
        )
        add(
            "last_step_forward",
            out("-1", fwd),
            H,
            h_dim,
            "the forward half at the last step" + (" of the padded batch: zeros where a sequence is shorter" if c.packed else ""),
            "h_n[-2]",
        )
        add(
            "last_step_reverse",
            out("-1", rev),
            H,
            h_dim,
            "the reverse half at the last step: the reverse direction after its first step",
            "h_n[-1]",
        )
        add(
            "first_step_reverse",
            out("0", rev),
            H,
            h_dim,
            "the reverse half at step 0: where the reverse direction ends",
            "h_n[-1]",
        )
        if c.packed:
            add(
                "sequence_ends_forward",
                out("ends", fwd),
                H,
                h_dim,
                "the forward half at each sequence's own last step",
                "h_n[-2]",
            )
        dim = 0 if c.unbatched else 1
        ends = out("ends", fwd) if c.packed else out("-1", fwd)
        add(
            "classifier",
            f"torch.cat((h_n[-2], h_n[-1]), dim={dim})",
            2 * H,
            f"2*{h_dim}",
            "the usual classifier input: the last layer's two final states side by side",
            f"torch.cat(({ends}, {out('0', rev)}), dim={dim})",
        )
    view = f"h_n.view({L}, {D}, {B}, {H})" if batched else f"h_n.view({L}, {D}, {H})"
    for d, name in enumerate(("forward", "reverse")[:D]):
        add(
            f"h_n_view_{name}",
            f"{view}[{L - 1}, {d}]",
            H,
            h_dim,
            f"h_n.view(num_layers, D, batch, {h_dim})[layer, direction]: the last layer, {name}; row layer*D + direction of h_n",
            f"h_n[{(L - 1) * D + d}]",
        )
    if c.kind.has_cell:
        project = f"; proj_size {c.proj_size} narrows output and h_n, never c" if c.proj_size else ""
        add(
            "c_n",
            "c_n[-1]",
            Hc,
            "hidden_size",
            f"the last layer's final cell state: c_n has no counterpart in output, which holds only h at each step{project}",
        )
    time_dim = 1 if bf else 0
    setup = f"output, lengths = {PAD}(output, batch_first={c.batch_first})" if c.packed else None
    return Results(setup, _layout_note(c, time_dim), time_dim, tuple(uses), NOT_YET)


def _layout_note(c: GRUConfig, time_dim: int) -> str:
    where = "output[:, t]" if time_dim else "output[t]"
    layout = "unbatched" if c.unbatched else f"batch_first={c.batch_first}"
    padded = ", once padded" if c.packed else ""
    return (
        f"{layout}: a time step of output is {where}{padded} (time is dim {time_dim}); "
        "h_n has no time dimension: h_n[layer*D + direction] whatever batch_first says"
    )


def measure(results: Results, output, h_n, c_n=None) -> Results:
    """The uses evaluated on a run's own tensors: each expression's shape, and torch.equal where two are compared.

    ``output`` is what the module returned (a PackedSequence when packed): the setup line
    runs on it, then each expression's code text, so what is checked is what is shown.
    """
    import torch
    from torch.nn.utils.rnn import pad_packed_sequence

    if h_n.device.type == "meta":
        return dataclasses.replace(results, checked=NO_VALUES)
    names: dict[str, Any] = {"torch": torch, PAD: pad_packed_sequence, "output": output, "h_n": h_n, "c_n": c_n}
    if results.setup is not None:
        exec(results.setup, {"__builtins__": {}}, names)
    scope = {"__builtins__": {"range": range}}
    measured = []
    for use in results.uses:
        a = eval(use.expression, scope, names)
        if tuple(a.shape) != use.shape:
            raise RuntimeError(f"internal: {use.expression} is {list(a.shape)} on the run, {list(use.shape)} by the rules")
        if use.compared_with is None:
            measured.append(use)
            continue
        b = eval(use.compared_with, scope, names)
        equal = bool(torch.equal(a, b))
        difference = 0.0 if equal else float((a.double() - b.double()).abs().max())
        measured.append(dataclasses.replace(use, equal=equal, max_difference=difference))
    device = h_n.device.type if h_n.device.index is None else str(h_n.device)
    return dataclasses.replace(results, uses=tuple(measured), checked=f"torch.equal on the run's tensors ({device})")
