"""What an edit costs the screen: nothing is rebuilt that shows nothing new (a served class pays it in every tab).

Each test checks what a person sees stays right while the work behind it is skipped: the footer's keys, the tree
after a run lands, the panes that are hidden, the log, keys that arrive together.
"""

from __future__ import annotations

import pytest
from app_helpers import screen_lines, settle, type_into
from textual import events
from textual.widgets._footer import FooterKey

from gru_tui.app import make_app
from gru_tui.app.widgets.trace_tree import node_label
from gru_tui.core.code import pytorch_code
from gru_tui.core.config import FIRST_EXAMPLE
from gru_tui.core.summary import summary_lines
from gru_tui.core.tracing import trace

pytestmark = pytest.mark.usefixtures("shared_pool")  # one torch-loaded worker pool for the file's apps (conftest.py)


def footer_keys(app) -> list[FooterKey]:
    return list(app.screen.query(FooterKey))


async def test_the_footer_is_rebuilt_only_when_its_keys_change():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        before = footer_keys(app)
        await type_into(pilot, "hidden_size", "48")  # a new configuration, the same keys
        await settle(pilot)
        assert footer_keys(app) == before  # the same widgets: not rebuilt
        await type_into(pilot, "hidden_size", "")  # an invalid form: ctrl+g cannot act, the keys stay the same
        await settle(pilot)
        assert footer_keys(app) == before and not any(key.action == "run_anyway" for key in footer_keys(app))


async def test_a_run_landing_relabels_the_derived_tree_in_place():
    app = make_app(FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True))
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one("#trace-tree")
        await type_into(pilot, "hidden_size", "40")
        await pilot.pause()
        assert app.report.derived
        derived_root = tree.root
        await settle(pilot)
        assert not app.report.derived
        assert tree.root is derived_root  # the same nodes, not a new tree
        built = {n.data.key: n for n in _walk(tree.root) if n.data is not None}
        traced = {node.key: node for node in app.report.tree().walk()}
        assert set(built) <= set(traced)
        for key, tree_node in built.items():  # every line is the run's, not the derivation's
            assert tree_node.data == traced[key]
            assert str(tree_node.label) == node_label(traced[key]).plain
        assert any("cpu" in str(n.label) for n in built.values())  # the device the run measured on


async def test_a_tree_with_other_nodes_is_rebuilt():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tree = app.query_one("#trace-tree")
        before = tree.root
        await type_into(pilot, "num_layers", "2")  # a second layer: other nodes
        await settle(pilot)
        assert tree.root is not before
        keys = [n.data.key for n in _walk(tree.root) if n.data is not None]
        assert any(key.startswith("layer1") for key in keys), keys


async def test_hidden_panes_show_the_current_configuration_when_opened():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for key in ("f4", "f5", "f6", "f3"):  # each pane mounted once, then hidden behind the tree
            await pilot.press(key)
            await settle(pilot)
        await type_into(pilot, "hidden_size", "77")
        await settle(pilot)
        assert app.config.hidden_size == 77 and not app.report.derived
        await pilot.press("f5")
        await settle(pilot)
        code = app.query_one("#code")
        assert code.code == pytorch_code(app.config, app.report)
        assert code.query_one("#code-text").content.code == code.code  # drawn, not only computed
        await pilot.press("f4")
        await settle(pilot)
        summary = app.query_one("#torchinfo")
        assert summary.query_one("#torchinfo-text").content == summary.plain == "\n".join(summary_lines(app.report))
        await pilot.press("f6")
        await settle(pilot)
        assert any("edit: nn.GRU(10, 77" in line for line in screen_lines(app)), screen_lines(app)  # the log, drawn


async def test_keys_that_arrive_together_build_one_tree():
    """A browser sends what is typed fast in one message, as a paste or SSH does: one tree for the last value."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        field = app.query_one("#hidden_size")
        field.focus()
        await pilot.pause()
        field.select_all()
        edits = len([line for line in app.log_lines if line.startswith("edit:")])
        for character in "417":  # queued together, before the app handles the first
            field.post_message(events.Key(character, character))
        await settle(pilot)
        new = [line for line in app.log_lines if line.startswith("edit:")][edits:]
        assert len(new) == 1 and "nn.GRU(10, 417" in new[0], new
        assert app.config.hidden_size == 417 and not app.report.derived
        assert app.report.shapes() == trace(app.config).shapes()


def _walk(tree_node):
    yield tree_node
    for child in tree_node.children:
        yield from _walk(child)


def test_the_bar_moves_at_the_estimates_pace_and_never_reaches_its_target_alone():
    from gru_tui.app.app import along_estimate

    assert along_estimate(0.05, (100.0, 34.0, 0.9), 100.0) == (0.05, 34.0)
    assert along_estimate(0.05, (100.0, 34.0, 0.9), 117.0) == (pytest.approx(0.475), 17.0)
    fraction, left = along_estimate(0.05, (100.0, 34.0, 0.9), 200.0)  # longer than estimated
    assert 0.8 < fraction < 0.9 and left < 0


async def test_a_long_layer_says_about_how_long_it_has_left():
    """A 1-layer run of seq_len 200,000 sat at 5% for 39 s with no estimate (issue #21)."""
    import time

    from gru_tui.app.messages import TraceProgress

    app = make_app()  # not snapshot mode: timings shown
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app._run_clock = time.monotonic() - 1  # a run under way for a second
        app.post_message(TraceProgress(app.config, 0.05, "layer 0 (1 of 1)", (35.0, 0.9)))
        await pilot.pause()
        status = app.query_one("#summary-strip").plain
        assert "layer 0 (1 of 1)" in status and "about 35 s left" in status
