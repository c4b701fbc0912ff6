#!/usr/bin/env python3
"""Regenerate screenshots/*.svg: the app renders each one itself (Textual's save_screenshot).

    python scripts/screenshots.py

The app runs in snapshot mode (no timings or peak memory on screen), and each
picture is taken once the device run has landed, so reruns give the same files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from gru_tui.app import make_app
from gru_tui.app.pilot import settle
from gru_tui.core.config import FIRST_EXAMPLE, GRUConfig
from gru_tui.lessons import PRESETS

OUT = Path(__file__).resolve().parents[1] / "screenshots"


async def nothing(pilot: Pilot) -> None:
    return None


async def press(pilot: Pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def quiz(pilot: Pilot) -> None:
    """A wrong h_n (one slot per layer, the directions forgotten): the grade names the dimension and the rule."""
    await press(pilot, "q")
    await pilot.press(*"1, 35, 64", "enter", *"2, 1, 32", "enter")
    await pilot.pause()


async def compare_two_layers(pilot: Pilot) -> None:
    """A is the form as it starts; B has two layers."""
    await pilot.press("a")
    pilot.app.query_one("#num_layers", Input).value = "2"
    await settle(pilot)
    await press(pilot, "v")


SHOTS: list[tuple[str, GRUConfig, tuple[int, int], Callable[[Pilot], Awaitable[None]]]] = [
    ("main-80x24", FIRST_EXAMPLE, (80, 24), nothing),
    ("tree-80x24", FIRST_EXAMPLE, (80, 24), lambda pilot: press(pilot, "f3")),
    ("main-120x40", FIRST_EXAMPLE, (120, 40), nothing),
    ("help-120x40", FIRST_EXAMPLE, (120, 40), lambda pilot: press(pilot, "f1")),
    (
        "bidirectional-2-layers-120x40",
        FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True),
        (120, 40),
        lambda pilot: press(pilot, "f3", "e"),
    ),
    ("code-120x40", FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True), (120, 40), lambda pilot: press(pilot, "f5")),
    ("quiz-80x24", FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True), (80, 24), quiz),
    ("compare-120x40", FIRST_EXAMPLE, (120, 40), compare_two_layers),
    # An LSTM with proj_size: h projected (output, h_n, weight_hh), c not (c_n); the form shows proj_size.
    ("lstm-proj-120x40", PRESETS["lstm-proj"].config, (120, 40), nothing),
    ("lstm-proj-tree-120x40", PRESETS["lstm-proj"].config, (120, 40), lambda pilot: press(pilot, "f3", "e")),
]


async def shoot(name: str, config: GRUConfig, size: tuple[int, int], then: Callable[[Pilot], Awaitable[None]]) -> Path:
    app = make_app(config, snapshot_mode=True)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await then(pilot)
        await pilot.pause()
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(OUT)))


EXAMPLES = OUT.parent / "examples"
# Your own model (gru-tui --model): (name, file:NAME, inputs, size, the tree nodes to open by key)
MODEL_SHOTS = [
    (
        "model-classifier-120x40",
        "classifier.py:make_model",
        ["4x35:int64"],
        (120, 40),
        ("m:gru", "m:gru/layer0", "m:gru/layer0.forward", "m:gru/layer0.forward.step"),
    ),
    ("model-classifier-bug-80x24", "classifier_bug.py:make_model", ["4x35:int64"], (80, 24), ()),
    ("model-classifier-bug-120x40", "classifier_bug.py:make_model", ["4x35:int64"], (120, 40), ()),
]


async def shoot_model(name: str, ref: str, inputs: list[str], size: tuple[int, int], open_keys: tuple[str, ...]) -> Path:
    from gru_tui.app.model_app import make_model_app
    from gru_tui.model.spec import model_spec

    app = make_model_app(model_spec(str(EXAMPLES / ref), inputs), watch=False, snapshot_mode=True)
    async with app.run_test(size=size) as pilot:
        while app.traces < 1:
            await pilot.pause(0.1)
        await pilot.pause()
        tree = app.query_one("#model-tree")
        for key in open_keys:
            stack = [tree.root]
            while stack:
                node = stack.pop()
                if node.data is not None and node.data.key == key:
                    node.expand()
                stack.extend(node.children)
            await pilot.pause()
        await pilot.pause()
        return Path(app.save_screenshot(filename=f"{name}.svg", path=str(OUT)))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, config, size, then in SHOTS:
        print(asyncio.run(shoot(name, config, size, then)).relative_to(OUT.parent))
    for shot in MODEL_SHOTS:
        print(asyncio.run(shoot_model(*shot)).relative_to(OUT.parent))


if __name__ == "__main__":
    main()
