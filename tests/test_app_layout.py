"""The screen at 80x24 and 120x40 (issue #14): messages wrapped, never cut; no blank rows under a field's
message; notes that neither cover the tree nor stack; tree lines that fit without sideways scrolling;
compare readable at 80x24."""

from __future__ import annotations

import pytest
from app_helpers import screen_lines, settle, type_into

from gru_tui.app import make_app
from gru_tui.app.screens.compare import MARK, CompareScreen
from gru_tui.app.widgets.note_line import NoteLine
from gru_tui.app.widgets.trace_tree import TraceTree
from gru_tui.core.config import FIRST_EXAMPLE

pytestmark = pytest.mark.usefixtures("shared_pool")  # one torch-loaded worker pool for the file's apps (conftest.py)


def screen_words(app) -> set[str]:
    return set(" ".join(screen_lines(app)).split())


async def test_the_memory_guards_sentence_is_wrapped_whole_at_80x24():
    app = make_app(snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "hidden_size", str(1 << 20))
        await settle(pilot)
        await pilot.press("f3")
        status = app.query_one("#summary-strip").plain.splitlines()[1]
        assert "is free" in status and len(status) > 80
        assert set(status.split()) <= screen_words(app)  # every word on screen: was cut at "but only"


async def test_a_field_message_at_120x40_leaves_no_blank_rows_under_it():
    app = make_app(snapshot_mode=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for field, text, after in (("hidden_size", "0", "#num_layers"), ("lengths", "7,5,90,3,3,3,3,3,3,3,3,3,3,3,3", "#dtype")):
            await type_into(pilot, field, text)
            await settle(pilot)
            message = app.query_one(f"#{field}-error")
            assert message.display and message.region.height >= 2  # wrapped in the field's column
            assert app.query_one(after).region.y == message.region.bottom  # the next field right under it
        assert app.query_one("#device").region.bottom <= app.query_one("#form-column").region.bottom  # all in view


async def test_notes_take_their_own_rows_above_the_tree_and_do_not_stack_at_80x24():
    app = make_app(snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "3")  # a preset: its note
        await settle(pilot)
        await pilot.press("a")  # pinned: its note replaces the preset's
        await pilot.pause()
        notes = app.screen.query(NoteLine)
        assert len(notes) == 1 and notes.first().plain.startswith("Pinned as A")
        assert not app.screen.query("Toast")  # no toast over the tree
        tree = app.query_one(TraceTree)
        assert tree.region.y >= notes.first().region.bottom and tree.region.height > 5
        assert "Pinned as A:" in " ".join(screen_lines(app))


async def test_tree_lines_fit_at_120_columns_and_a_preset_starts_at_the_top():
    app = make_app(FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True), snapshot_mode=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "e")  # every node open: the deepest lines are the longest
        await pilot.pause()
        tree = app.query_one(TraceTree)
        assert tree.virtual_size.width <= tree.scrollable_content_region.width  # no sideways scrolling
        shown = "\n".join(screen_lines(app))
        lines = [line for line in shown.splitlines() if "_t = " in line]  # a step's gates: the longest names
        assert len(lines) >= 5 and all(line.rstrip(" ▁▇█").endswith("]") for line in lines)  # each ends with its shape
        tree.scroll_end(animate=False)
        await pilot.pause()
        assert tree.scroll_y > 0
        await pilot.press("1")
        await settle(pilot)
        assert tree.scroll_offset == (0, 0)  # the preset is read from its first line


async def test_compare_at_80x24_stacks_the_trees_and_keeps_every_mark():
    app = make_app(snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "a")
        await type_into(pilot, "num_layers", "2")
        await settle(pilot)
        await pilot.press("f3", "v")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen) and screen.reports is not None
        a, b = screen.query_one("#compare-a"), screen.query_one("#compare-b")
        assert a.region.bottom <= b.region.y and a.region.width == b.region.width == 80  # A above B
        for tree, side in ((a, "a"), (b, "b")):
            assert tree.virtual_size.width <= tree.scrollable_content_region.width
            lines = [
                tree.render_label(node, tree.rich_style, tree.rich_style).plain
                for node in _nodes(tree)
                if node.data.key in screen.marked[side]
            ]
            assert lines and all(MARK in line for line in lines)
            assert tree.cursor_node.data.key in screen.marked[side]  # in view: the first difference, not the top


def _nodes(tree):
    stack = [tree.root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


async def test_the_shapes_line_wraps_whole_at_80x24():
    big = FIRST_EXAMPLE.replace(hidden_size=(1 << 20) - 1, bidirectional=True, batch_size=8, lengths=(35,) * 8, device="meta")
    app = make_app(big, snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shapes = app.query_one("#summary-strip").plain.splitlines()[0]
        assert len(shapes) > 78 and set(shapes.split()) <= screen_words(app)


async def test_run_anyway_past_the_memory_guard_says_not_enough_memory_in_words_at_80x24():
    beyond = FIRST_EXAMPLE.replace(batch_size=1 << 24, seq_len=1 << 20, input_size=1024)  # a 64 PiB input
    app = make_app(beyond, snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "ctrl+g")  # run anyway: torch's allocator fails
        await settle(pilot)
        status = app.query_one("#summary-strip").plain.splitlines()[1]
        assert "run failed: cpu: not enough memory: needed about" in status and "enforce fail" not in status
        assert set(status.split()) <= screen_words(app)  # wrapped whole


async def test_the_footer_shows_whole_keys_only_at_80x24():
    """A key that does not fit is left out whole (f1 lists them all), never cut mid-word as "f2 For" was."""
    from textual.widgets._footer import FooterKey

    app = make_app(snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for keys in ((), ("f3",), ("q",)):  # the form, the tree (its own keys too), the quiz
            await pilot.press(*keys)
            await settle(pilot)
            footer = screen_lines(app)[-1]
            shown = [key for key in app.screen.query(FooterKey) if key.display]
            assert any(key.action == "quit" for key in shown)
            for key in shown:
                assert key.description in footer, (key.description, footer)
            left = [key for key in shown if not key.has_class("-command-palette")]
            assert all(key.region.right <= app.screen.query_one("FooterKey.-command-palette").region.x for key in left)
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        shown = [key.description for key in app.screen.query(FooterKey) if key.display]
        assert "Re-run" in shown  # wider again: the keys left out come back


LSTM_PACKED = FIRST_EXAMPLE.replace(
    mode="lstm", hidden_size=64, proj_size=16, num_layers=3, bidirectional=True, batch_size=3, lengths=(7, 5, 2)
)


async def test_the_footer_under_a_dialog_shows_whole_keys_only_at_80x24():
    """Under the export dialog the footer is rebuilt but not laid out again: it showed `^r Re-▏^p palette` (issue #21)."""
    from textual.widgets._footer import FooterKey

    app = make_app(LSTM_PACKED, snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "x")
        await pilot.pause()
        assert app.screen.id != "_default" and len(app.screen_stack) == 2
        footer = screen_lines(app)[-1]
        keys = {f"{key.key_display} {key.description}" for key in app.screen_stack[0].query(FooterKey)}
        left = footer.split("▏")[0]
        assert all(chunk.strip() in keys for chunk in left.split("  ") if chunk.strip()), footer


async def test_run_anyway_is_in_the_footer_only_when_it_can_act():
    from textual.widgets._footer import FooterKey

    def offered(app) -> bool:
        return any(key.action == "run_anyway" and key.display for key in app.screen_stack[0].query(FooterKey))

    app = make_app(snapshot_mode=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert not offered(app)  # nothing refused
        await type_into(pilot, "hidden_size", str(1 << 20))  # refused by the memory guard
        await settle(pilot)
        assert offered(app)
        await pilot.press("f3", "x")  # a dialog open: ctrl+g would run behind it
        await pilot.pause()
        assert not offered(app) and not app.check_action("run_anyway", ())
        await pilot.press("escape")
        await pilot.pause()
        assert offered(app)
        await type_into(pilot, "num_layers", "0")  # an invalid form: nothing to run
        await settle(pilot)
        assert not offered(app) and not app.check_action("run_anyway", ())


async def test_the_strip_never_splits_a_name_from_its_shape_at_80x24():
    """`c_n` ended one line and `[6, 3, 64]` began the next (issue #21): each "name shape" stays on one line."""
    app = make_app(LSTM_PACKED, snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lines = screen_lines(app)
        for item in ("h_n [6, 3, 16]", "c_n [6, 3, 64]", "output (packed) data [14, 32] · padded [3, 7, 32]"):
            assert any(item in line for line in lines), (item, lines[:4])
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert any("h_n [6, 3, 16]    c_n [6, 3, 64]" in line for line in screen_lines(app))  # one line when it fits


async def test_the_code_pane_wraps_long_lines_and_y_copies_the_code_at_80_columns():
    """`…batch_first=True, enfor` was cut at 80 and 120 columns; the code could not be copied out (issue #21).

    80 columns wide and tall enough for the whole code: every word of every long line is on screen, wrapped."""
    from gru_tui.core.code import pytorch_code

    config = LSTM_PACKED.replace(dropout=0.5)
    app = make_app(config, snapshot_mode=True)
    async with app.run_test(size=(80, 200)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await pilot.pause()
        code = pytorch_code(app.report.config, app.report)
        long_lines = [line for line in code.splitlines() if len(line) > 80]
        assert long_lines
        pane = app.query_one("#code")
        assert pane.max_scroll_x == 0  # no line runs past the pane's right edge
        assert pane.max_scroll_y == 0, "the test's screen must hold the whole code"
        words = screen_words(app)
        for line in long_lines:
            assert set(line.split()) <= words, line  # every word of it on screen, wrapped
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == code
        assert "copied the PyTorch code" in app.query_one(NoteLine).plain
        assert any(binding.action == "copy_code" and binding.description == "Copy code" for binding in app.command_bindings())
