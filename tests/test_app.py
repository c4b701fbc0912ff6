"""The app through Textual's pilot: edits, bad values, devices, stale results, the memory guard, keys.

Every expected shape comes from torch (``torch_shapes``) or from the tracing core
run on the same configuration (``trace``), never from a literal.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from app_helpers import settle, torch_shapes, type_into
from textual import events
from textual.command import CommandPalette
from textual.widgets import Input, Switch

from gru_tui import trace
from gru_tui.app import GruTuiApp, make_app
from gru_tui.app.messages import TraceFinished
from gru_tui.app.screens.help import HelpScreen
from gru_tui.app.widgets.choice import Choice
from gru_tui.app.widgets.form import FOCUS_MARK
from gru_tui.app.widgets.trace_tree import TraceTree, node_label
from gru_tui.cli import build_parser, config_from_args
from gru_tui.core.code import pytorch_code
from gru_tui.core.config import FIRST_EXAMPLE, GRUConfig
from gru_tui.core.shapes import derive

pytestmark = pytest.mark.usefixtures("shared_pool")  # one torch-loaded worker pool for the file's apps (conftest.py)


def tree_of(app: GruTuiApp) -> TraceTree:
    return app.query_one("#trace-tree", TraceTree)


def expected_labels(report) -> list[str]:
    return [str(node_label(node)) for node in report.tree().walk()]


async def test_starts_on_the_first_worked_example_and_traces_it():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "gru-tui" in app.title
        assert app.config == FIRST_EXAMPLE
        output, h_n = torch_shapes(FIRST_EXAMPLE)
        strip = app.query_one("#summary-strip").plain
        assert f"output {output}" in strip and f"h_n {h_n}" in strip
        assert "traced on cpu" in strip
        assert not app.report.derived
        labels = tree_of(app).labels()
        assert any(output in label for label in labels) and any(h_n in label for label in labels)
        assert labels == expected_labels(trace(FIRST_EXAMPLE))


async def test_editing_a_field_retraces_without_a_key_press():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "hidden_size", "64")
        edited = FIRST_EXAMPLE.replace(hidden_size=64)
        # At once, before any device run: the tree and strip show the new configuration.
        assert app.report.config == edited
        assert f"h_n {torch_shapes(edited)[1]}" in app.query_one("#summary-strip").plain
        await settle(pilot)
        assert not app.report.derived
        expected = trace(edited)
        assert app.report.shapes() == expected.shapes()
        assert tree_of(app).labels() == expected_labels(expected)


async def test_switches_and_layers_change_the_tree_as_torch_does():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "num_layers", "2")
        app.query_one("#bidirectional", Switch).focus()
        await pilot.press("space")
        await settle(pilot)
        config = FIRST_EXAMPLE.replace(num_layers=2, bidirectional=True)
        assert app.config == config
        labels = [str(label.render()) for label in app.query(".field-label")]
        # Readable without colour: the switch's state and the focus are written in its label.
        assert ["bidirectional", "on", FOCUS_MARK] in [text.split() for text in labels]
        output, h_n = torch_shapes(config)
        assert f"output {output}" in app.query_one("#summary-strip").plain
        assert f"h_n {h_n}" in app.query_one("#summary-strip").plain
        assert tree_of(app).labels() == expected_labels(trace(config))


async def test_invalid_value_shows_its_message_and_keeps_the_last_tree_marked():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        before = tree_of(app).labels()
        await type_into(pilot, "hidden_size", "0")
        await settle(pilot)
        message = str(app.query_one("#hidden_size-error").render())
        assert "positive integer" in message
        assert app.query_one("#hidden_size-error").display
        assert tree_of(app).labels() == before  # the last good tree stays
        assert tree_of(app).has_class("-stale")
        assert "not matching the form" in app.query_one("#summary-strip").plain
        assert app.stale

        await type_into(pilot, "hidden_size", "")
        assert "empty" in str(app.query_one("#hidden_size-error").render())

        await type_into(pilot, "hidden_size", "32")  # back to the configuration the tree shows
        await settle(pilot)
        assert not app.stale and not tree_of(app).has_class("-stale")
        assert not app.query_one("#hidden_size-error").display
        assert tree_of(app).labels() == before


async def test_typed_lengths_set_the_batch_size_to_their_count():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "lengths", "7,5,2")  # batch_size was 1
        await settle(pilot)
        assert app.query_one("#batch_size", Input).value == "3"
        config = FIRST_EXAMPLE.replace(batch_size=3, lengths=(7, 5, 2))
        assert app.config == config and not app.stale and not app.report.derived
        assert app.report.shapes() == trace(config).shapes()
        await type_into(pilot, "lengths", "")  # cleared: not packed, the batch size stays
        await settle(pilot)
        assert app.config == FIRST_EXAMPLE.replace(batch_size=3)


async def test_error_across_fields_is_shown_at_the_field_the_core_names():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await type_into(pilot, "lengths", "3,2")
        await type_into(pilot, "batch_size", "4")  # the core refuses two lengths for four sequences
        assert "one length per batch item" in str(app.query_one("#lengths-error").render())
        await type_into(pilot, "batch_size", "2")
        await type_into(pilot, "seq_len", "3")
        await settle(pilot)
        config = FIRST_EXAMPLE.replace(batch_size=2, seq_len=3, lengths=(3, 2))
        assert app.config == config and not app.stale
        expected = trace(config)
        assert app.report.shapes() == expected.shapes()
        assert "output (packed)" in app.query_one("#summary-strip").plain


async def test_choosing_the_meta_device_runs_there():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        select = app.query_one("#device", Choice)
        assert "cpu" in [value for _label, value in select.options] and "meta" in [v for _l, v in select.options]
        select.focus()
        await pilot.press("enter", *"meta", "enter")
        await settle(pilot)
        assert select.value == "meta"
        config = FIRST_EXAMPLE.replace(device="meta")
        assert app.config == config and not app.report.derived
        expected = trace(config)
        assert app.report.shapes() == expected.shapes()
        assert "traced on meta" in app.query_one("#summary-strip").plain
        assert all("· cpu" not in label for label in tree_of(app).labels())


async def test_a_choice_builds_its_list_when_opened_and_escape_keeps_the_value():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dtype = app.query_one("#dtype", Choice)
        assert not dtype.query("ChoiceList")  # nothing built for it before it is first opened
        dtype.focus()
        await pilot.press("enter", "b", "f", "escape")
        await pilot.pause()
        assert dtype.value == "float32" and dtype.has_focus and not dtype.has_class("-open")
        labels = [str(label.render()).split() for label in app.query(".field-label")]
        assert ["dtype", FOCUS_MARK] in labels  # the focus mark stays on the field its list closed into
        await pilot.press("enter", "6", "4", "enter")  # typed letters jump to the option that has them
        await settle(pilot)
        assert dtype.value == "float64" and app.config == FIRST_EXAMPLE.replace(dtype="float64")
        assert not app.report.derived and app.report.output.dtype == "float64"


async def test_a_device_this_machine_lacks_is_named_at_the_field():
    app = make_app(FIRST_EXAMPLE.replace(device="cuda:7"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        message = str(app.query_one("#device-error").render())
        assert "cuda:7" in message and "not available" in message
        assert "run failed: device: 'cuda:7' is not available" in app.query_one("#summary-strip").plain  # was "device: device:"
        assert app.report.derived  # the derived tree stays on screen


async def test_a_result_for_an_older_configuration_is_dropped():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = app.report
        older = FIRST_EXAMPLE.replace(hidden_size=48)
        app.post_message(TraceFinished(older, trace(older)))
        await settle(pilot)
        assert app.report is shown
        assert any("dropped a result for an older configuration" in line for line in app.query_one("#log").lines)


async def test_editing_during_a_run_cancels_it_and_the_final_tree_matches_the_final_form():
    slow = GRUConfig(input_size=64, hidden_size=256, num_layers=6, batch_size=8, seq_len=10_000)  # a few seconds
    app = make_app(slow)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(1500):  # the run is under way: up to 30 s for torch to load and the first layer to start
            if "layer 0 (1 of 6)" in app.query_one("#summary-strip").plain:
                break
            await pilot.pause(0.02)
        else:
            pytest.fail(f"the run never started: {app.query_one('#summary-strip').plain!r}")
        await type_into(pilot, "seq_len", "35")  # a small final configuration: its own run takes milliseconds
        await settle(pilot)
        final = slow.replace(seq_len=35)
        assert app.config == final and not app.report.derived
        assert app.report.shapes() == trace(final).shapes()
        assert any("run cancelled" in line for line in app.query_one("#log").lines)


async def test_memory_guard_refuses_and_offers_to_run_anyway():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "hidden_size", str(1 << 20))  # about 12 TiB of weights
        await settle(pilot)
        config = FIRST_EXAMPLE.replace(hidden_size=1 << 20)
        strip = app.query_one("#summary-strip")
        assert "run it anyway (ctrl+g)" in strip.plain and "is free" in strip.plain
        assert app.query_one("#run-anyway").display
        assert app.report.derived and app.report.shapes() == derive(config).shapes()
        assert app.check_action("run_anyway", ())
        await type_into(pilot, "hidden_size", "16")  # a new configuration withdraws the offer
        await settle(pilot)
        assert not app.check_action("run_anyway", ()) and not app.query_one("#run-anyway").display


async def test_a_served_copy_never_runs_past_the_memory_guard(monkeypatch):
    """ctrl+g in a browser tab would let anyone on the class's page exhaust the server's memory (issue #9)."""
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")  # what textual-serve sets
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await type_into(pilot, "hidden_size", str(1 << 20))
        await settle(pilot)
        assert "is free" in app.query_one("#summary-strip").plain  # refused by the guard
        assert not app.check_action("run_anyway", ()) and not any(button.display for button in app.query("#run-anyway"))
        await pilot.press("ctrl+g")
        app.action_run_anyway()
        await pilot.pause()
        assert not any("memory guard overridden" in line for line in app.log_lines)


async def test_open_nodes_stay_open_across_updates():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        tree = tree_of(app)
        forward = next(n for n in tree.root.children[1].children if n.data.key == "layer0.forward")
        forward.expand()
        await pilot.pause()
        await type_into(pilot, "seq_len", "7")
        await settle(pilot)
        forward = next(n for n in tree.root.children[1].children if n.data.key == "layer0.forward")
        assert forward.is_expanded


async def test_panes_are_tabs_at_80x24_and_side_by_side_at_120x40():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert app.query_one("#form-column").display and not tree_of(app).region
        assert "F2 Form" in app.query_one("#pane-tabs").render().plain  # the keys are on the tab bar
        await pilot.press("f3")
        await pilot.pause()
        assert screen.pane == "tree" and tree_of(app).has_focus and tree_of(app).region
        assert not app.query_one("#form-column").region
        await pilot.press("f4")
        await pilot.pause()
        torchinfo = app.query_one("#torchinfo").plain
        assert "parameters" in torchinfo and "forward/backward pass size" in torchinfo  # from the measured run
        await pilot.press("f5")
        await pilot.pause()
        assert app.query_one("#code").code == pytorch_code(app.config, app.report)
        await pilot.press("f2")
        await pilot.pause()
        assert app.query_one("#input_size", Input).has_focus
        tabs = app.query_one("#pane-tabs").render().plain
        await pilot.click("#pane-tabs", offset=(tabs.index("Code"), 0))  # a click on a name shows its pane
        await pilot.pause()
        assert screen.pane == "code" and app.query_one("#code").region
        await pilot.press("f2")
        await pilot.pause()
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert app.query_one("#form-column").region and screen.pane != "form"
        assert "Form" not in app.query_one("#pane-tabs").render().plain  # wide, the form has no tab
        await pilot.press("f3")
        await pilot.pause()
        assert app.query_one("#form-column").region and tree_of(app).region  # side by side


async def test_too_small_terminal_says_so():
    app = make_app()
    async with app.run_test(size=(50, 12)) as pilot:
        await pilot.pause()
        assert app.query_one("#too-small").display and "need 60x16" in str(app.query_one("#too-small").render())
        assert not app.query_one("#main").region
        await settle(pilot)


async def test_help_explains_the_shape_rules_and_lists_every_key():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.query_one("#help-text").source
        assert "batch_first` never applies to `h_n`" in text and "D x num_layers" in text and "Packed" in text
        for binding in app.command_bindings():
            assert binding.description in text
        # How to close it, and the lesson screens' own keys (were missing): the quiz's next question, esc back.
        assert "esc (or f1, ?, q) closes this help" in text
        assert "| quiz | `^n` | Next question" in text and "| compare | `esc` | Back" in text
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_lists_the_apps_actions():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"expand")
        await pilot.pause(0.3)  # the palette searches in the background; this waits, it asserts no timing
        results = app.screen.query_one("CommandList")
        prompts = [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]
        assert any("Expand all" in p for p in prompts)
        await pilot.press("escape")


async def test_no_two_palette_entries_share_a_name():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"theme")
        await pilot.pause(0.3)  # the palette searches in the background; this waits, it asserts no timing
        results = app.screen.query_one("CommandList")
        names = [str(results.get_option_at_index(i).prompt).splitlines()[0] for i in range(results.option_count)]
        assert len(names) >= 2 and len(names) == len(set(names)), names  # were "Theme" twice
        await pilot.press("escape")


async def test_command_line_flags_prefill_the_form():
    args = build_parser().parse_args(["--hidden-size", "20", "--num-layers", "3", "--bidirectional", "--dropout", "0.25"])
    config = config_from_args(args)  # on top of the first worked example, as `gru-tui` starts without flags
    app = make_app(config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.query_one("#hidden_size", Input).value == "20"
        assert app.query_one("#num_layers", Input).value == "3"
        assert app.query_one("#dropout", Input).value == "0.25"
        assert app.query_one("#bidirectional", Switch).value is True
        assert app.query_one("#batch_first", Switch).value is FIRST_EXAMPLE.batch_first
        assert app.config == config and app.report.shapes() == trace(config).shapes()


async def test_the_garbage_collector_paused_for_the_start_runs_again_after_the_first_frame():
    import gc

    from gru_tui.cli import load_app

    app = load_app(FIRST_EXAMPLE)
    try:
        assert not gc.isenabled()  # paused while the app's modules load and its first screen is built
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert gc.isenabled()
            assert app.report.shapes() == trace(FIRST_EXAMPLE).shapes()
    finally:
        gc.enable()
        gc.unfreeze()


def test_importing_the_app_does_not_import_torch():
    code = textwrap.dedent(
        """
        import sys
        from gru_tui.app import make_app
        make_app()
        loaded = [m for m in ("torch", "torchinfo", "gru_tui.core.tracing", "gru_tui.core.devices") if m in sys.modules]
        print(loaded)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.own_pool  # its workers must find the broken torch on their path
async def test_without_torch_the_form_and_derived_tree_still_work(tmp_path, monkeypatch):
    """A machine whose torch is broken: the app says so and keeps working from the shape rules.

    torch loads only in the device worker, which finds this broken one first on its path.
    """
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text('raise ImportError("torch is broken on this machine")\n')
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        strip = app.query_one("#summary-strip").plain
        assert "torch could not be loaded" in strip and "derived" in strip
        await type_into(pilot, "hidden_size", "64")
        await settle(pilot)
        assert app.report.derived and app.report.h_n.shape == derive(FIRST_EXAMPLE.replace(hidden_size=64)).h_n.shape
        assert "torch is broken on this machine" in app.query_one("#summary-strip").plain


async def test_question_mark_opens_help_even_from_a_number_field():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.query_one("#input_size", Input).has_focus
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.query_one("#input_size", Input).value == str(FIRST_EXAMPLE.input_size)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)  # in the palette, ? is typed into the search
        await pilot.press("escape")


async def test_keys_typed_ahead_of_a_tab_land_in_the_next_field():
    # Over SSH a Tab and the digits after it can arrive in one read, before any of them is handled.
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.query_one("#input_size", Input).has_focus
        for key, character in [("tab", None), ("6", "6"), ("4", "4")]:
            app.post_message(events.Key(key, character))
        await settle(pilot)
        assert app.query_one("#hidden_size", Input).value == "64"
        assert app.query_one("#input_size", Input).value == str(FIRST_EXAMPLE.input_size)
        output, h_n = torch_shapes(FIRST_EXAMPLE.replace(hidden_size=64))
        assert f"output {output}" in app.query_one("#summary-strip").plain


@pytest.mark.cuda
async def test_a_cuda_device_is_listed_with_its_name_and_runs_there():
    import torch

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        select = app.query_one("#device", Choice)
        labels = {value: str(label) for label, value in select.options}
        assert "cuda:0" in labels and torch.cuda.get_device_name(0) in labels["cuda:0"]
        select.focus()
        await pilot.press("enter", *"cuda:0", "enter")
        await settle(pilot)
        config = FIRST_EXAMPLE.replace(device="cuda:0")
        assert app.config == config and not app.report.derived
        assert app.report.shapes() == trace(config).shapes()
        assert "traced on cuda:0" in app.query_one("#summary-strip").plain
        assert any("· cuda:0" in label for label in tree_of(app).labels())


async def test_theme_key_switches_between_dark_and_light():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.current_theme.dark is not dark
        assert app.query_one("#code").code == pytorch_code(app.config, app.report)  # re-highlighted, same code


async def test_keys_that_arrive_together_land_in_a_field_in_the_order_typed():
    """Over SSH (or a paste) keys come in one read; an editing key must not run after the characters behind it."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        field = app.query_one("#hidden_size", Input)
        field.focus()
        await pilot.pause()
        field.cursor_position = len(field.value)
        for key in ["1", "backspace", "ctrl+u", "6", "4", "left", "1"]:  # 32 → 321 → 32 → "" → 64 → 614
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        await settle(pilot)
        assert field.value == "614" and app.config.hidden_size == 614
        assert not app.report.derived and app.report.shapes() == trace(FIRST_EXAMPLE.replace(hidden_size=614)).shapes()
