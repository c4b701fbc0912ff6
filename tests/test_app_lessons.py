"""The teaching features in the app, through Textual's pilot: presets, quiz, compare, the explainer,
handouts and saved configurations, follow mode.

Every expected shape comes from torch (``torch_shapes``, a plain nn.GRU run here) or
from the tracing core (``trace``); PyTorch's error messages are produced here by torch.
"""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest
import torch
from app_helpers import settle, torch_shapes, type_into
from textual import events
from textual.command import CommandPalette
from textual.widgets import Input, Static, Switch
from torch import nn

from gru_tui import trace
from gru_tui.app import make_app
from gru_tui.app.screens.compare import MARK, CompareScreen
from gru_tui.app.screens.explain import ExplainScreen
from gru_tui.app.screens.quiz import QuizScreen
from gru_tui.app.screens.save import SaveDialog
from gru_tui.app.teaching import FOLLOW_BANNER
from gru_tui.app.widgets.note_line import NoteLine
from gru_tui.app.widgets.trace_tree import TraceTree, node_label
from gru_tui.cli import build_parser, config_from_args
from gru_tui.core.config import FIRST_EXAMPLE
from gru_tui.core.files import load_config
from gru_tui.core.tree import gru_call
from gru_tui.lessons import PRESETS, compare
from gru_tui.share.follow import ENV_FILE

pytestmark = pytest.mark.usefixtures("shared_pool")  # one torch-loaded worker pool for the file's apps (conftest.py)


def labels_of(report) -> list[str]:
    return [str(node_label(node)) for node in report.tree().walk()]


def shape(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.strip("[]").split(","))


async def type_path(pilot, text: str) -> None:
    """Paste over the save dialog's file name, as a person pastes a path (type_into reads the main screen; the
    dialog is over it). A paste, not a key per character: a long temporary path typed key by key took seconds."""
    field = pilot.app.screen.query_one("#save-path", Input)
    field.focus()
    field.select_all()
    field.post_message(events.Paste(text))
    await pilot.pause()


async def screen_settled(pilot) -> None:
    """Wait for the screen's device job (a lesson run, in the worker pool) and the messages it posts."""
    await settle(pilot)


# -- presets ----------------------------------------------------------------------------


async def test_each_preset_key_loads_its_configuration_and_the_tree_is_torchs():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")  # digits type into form fields; elsewhere they load presets
        keyed = [preset for preset in PRESETS.values() if preset.key]
        assert len(keyed) == 10  # 1-9 and 0; the rest are in the command palette
        for preset in keyed:
            await pilot.press(preset.key)
            await settle(pilot)
            assert app.config == preset.config
            assert not app.report.derived  # the load took the edit's path: derived at once, then the device run
            assert app.query_one("#trace-tree", TraceTree).labels() == labels_of(trace(preset.config))
            assert preset.title in app.title
            assert app.query_one("#mode").value == preset.config.mode  # the form shows it too
            if preset.id == "unbatched":
                form_lengths = app.query_one("#lengths", Input).value
                assert form_lengths == ",".join(map(str, preset.config.lengths or ()))
                assert app.query_one("#unbatched", Switch).value is True


async def test_a_preset_loads_from_the_command_palette():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        preset = PRESETS["bidirectional"]
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*f"Load preset: {preset.title}")
        await pilot.pause(0.3)  # the palette searches in the background; this waits, it asserts no timing
        await pilot.press("enter")
        await settle(pilot)
        assert app.config == preset.config
        output, h_n = torch_shapes(preset.config)
        assert (
            f"output {output}" in app.query_one("#summary-strip").plain and f"h_n {h_n}" in app.query_one("#summary-strip").plain
        )


# -- quiz -------------------------------------------------------------------------------


async def test_quiz_hides_the_answers_names_the_wrong_dimension_and_its_rule_and_scores():
    config = PRESETS["bidirectional"].config
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")  # letter keys work outside the form: its fields take every key
        await pilot.press("q")
        await screen_settled(pilot)
        quiz = app.screen
        assert isinstance(quiz, QuizScreen)
        output, h_n = torch_shapes(config)
        shown = quiz.query_one("#quiz-tree", TraceTree).labels()
        assert not any(output in label or h_n in label for label in shown)  # nothing gives the answer away

        # h_n with one slot per layer, forgetting the directions: dimension 0 is wrong, the D x num_layers rule says why.
        expected_h_n = shape(h_n)
        wrong_h_n = (expected_h_n[0] // 2, *expected_h_n[1:])
        await pilot.press(*output, "enter", *str(list(wrong_h_n)), "enter")
        await pilot.pause()
        assert f"Dimension 0 is {expected_h_n[0]}, not {wrong_h_n[0]}." in quiz.feedback
        assert "D x num_layers" in quiz.feedback and f"output: {output} is right." in quiz.feedback
        assert quiz.session.score == "0/1"
        assert any(h_n in label for label in quiz.query_one("#quiz-tree", TraceTree).labels())  # the answer, shown
        question_line = str(quiz.query_one("#quiz-question", Static).render())
        assert "Not quite: see the feedback below. Now: Which slices" in question_line  # sentences, not "see below Now:"

        await pilot.press("ctrl+n")  # the next question: the first preset
        await screen_settled(pilot)
        question = quiz.session.current
        assert question == PRESETS["one-layer"].config and quiz.session.asked == 2
        output, h_n = torch_shapes(question)
        quiz.query_one("#predict-output", Input).focus()
        await pilot.press(*output, "tab", *h_n, "enter")
        await pilot.pause()
        assert "is right" in quiz.feedback and "Rule" not in quiz.feedback
        assert quiz.session.score == "1/2"

        await pilot.press("escape")
        await pilot.press("q")  # the session, and its score, go on
        await screen_settled(pilot)
        assert app.screen.session.score == "1/2"  # the new question is not answered yet: not counted


async def test_quiz_shows_no_score_before_an_answer_and_a_skipped_question_is_not_wrong():
    app = make_app()  # the first worked example: also the first preset, which the quiz must not ask again
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "q")
        await screen_settled(pilot)
        quiz = app.screen
        heading = str(quiz.query_one("#quiz-question").render())
        assert heading.startswith("Question 1\n") and "score" not in heading  # was "score 0/1" before any answer
        await pilot.press("ctrl+n")  # skipped
        await screen_settled(pilot)
        assert quiz.session.current != FIRST_EXAMPLE  # Q2 was Q1 again
        output, h_n = torch_shapes(quiz.session.current)
        quiz.query_one("#predict-output", Input).focus()
        await pilot.press(*output, "tab", *h_n, "enter")
        await pilot.pause()
        assert quiz.session.score == "1/1"  # the skipped question does not count as wrong
        assert "Question 2 · score 1/1" in str(quiz.query_one("#quiz-question").render())


async def test_quiz_names_the_field_of_an_unreadable_answer():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await pilot.press("q")
        await screen_settled(pilot)
        await pilot.press(*"1, 35, 32", "tab", *"one", "enter")
        await pilot.pause()
        assert app.screen.feedback.startswith("h_n: type a shape")
        assert app.screen.session.score == "0/0"  # not graded: no answer given yet
        assert app.screen.focused.id == "predict-h_n"


# -- compare ----------------------------------------------------------------------------


async def test_compare_marks_every_node_that_differs_between_one_and_two_layers():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await pilot.press("a")  # pin the form as A
        assert app.pinned == FIRST_EXAMPLE
        await type_into(pilot, "num_layers", "2")
        await settle(pilot)
        await pilot.press("f3")
        await pilot.press("v")
        await screen_settled(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        a, b = FIRST_EXAMPLE, FIRST_EXAMPLE.replace(num_layers=2)
        differences = compare(trace(a), trace(b))
        assert screen.marked["a"] == {d.key for d in differences if d.a is not None}
        assert screen.marked["b"] == {d.key for d in differences if d.b is not None}
        assert torch_shapes(a)[1] != torch_shapes(b)[1] and "h_n" in screen.marked["b"]
        assert torch_shapes(a)[0] == torch_shapes(b)[0] and "output" not in screen.marked["b"]
        for side, tree_id in (("a", "#compare-a"), ("b", "#compare-b")):
            marked = [str(n.label) for n in _tree_nodes(screen.query_one(tree_id)) if n.data.key in screen.marked[side]]
            unmarked = [str(n.label) for n in _tree_nodes(screen.query_one(tree_id)) if n.data.key not in screen.marked[side]]
            assert marked and all(label.startswith(MARK) for label in marked)
            assert not any(label.startswith(MARK) for label in unmarked)
        text = str(screen.query_one("#compare-configs").render())
        assert "num_layers: 1 → 2" in text and gru_call(b) in text


async def test_compare_without_a_pin_pins_first():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await pilot.press("v")
        await pilot.pause()
        assert app.pinned == FIRST_EXAMPLE and not isinstance(app.screen, CompareScreen)


def _tree_nodes(tree):
    stack = [tree.root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


# -- the shape-error explainer ------------------------------------------------------------


async def test_explainer_shows_torchs_own_message_for_h0_laid_out_batch_first():
    config = FIRST_EXAMPLE.replace(batch_size=3, num_layers=2)
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, ExplainScreen)
        # The mistake: h0 as (batch, layers, hidden) because batch_first is on. torch says what it says:
        wrong_h0 = (config.batch_size, config.num_layers, config.hidden_size)
        gru = nn.GRU(config.input_size, config.hidden_size, config.num_layers, batch_first=True)
        try:
            gru(torch.zeros(config.batch_size, config.seq_len, config.input_size), torch.zeros(wrong_h0))
        except RuntimeError as error:
            torch_message = str(error)
        await pilot.press(*str(list(wrong_h0)), "enter")
        await screen_settled(pilot)
        assert torch_message in screen.result
        assert "batch_first applies to the input and the output only" in screen.result
        right_h0 = (config.num_layers, config.batch_size, config.hidden_size)
        assert f"h0 {list(right_h0)}" in screen.result.replace("Fix: ", "") and "Checked: nn.GRU runs it" in screen.result


async def test_explainer_names_a_field_it_cannot_read():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await pilot.press("w")
        await pilot.press(*"1 by 2", "enter")
        await screen_settled(pilot)
        assert app.screen.result.startswith("h0_shape: type a shape")


# -- handouts and saved configurations ---------------------------------------------------


async def test_export_writes_a_handout_and_overwrites_only_when_confirmed(tmp_path):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        target = tmp_path / "lesson.md"
        await pilot.press("f3")
        await pilot.press("x")
        dialog = app.screen
        assert isinstance(dialog, SaveDialog)
        await type_path(pilot, str(target))
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, SaveDialog)
        first = target.read_text()
        assert gru_call(FIRST_EXAMPLE) in first and torch_shapes(FIRST_EXAMPLE)[1] in first

        target.write_text("the teacher's own notes\n")
        await type_into(pilot, "hidden_size", "16")
        await settle(pilot)
        await pilot.press("f3")
        await pilot.press("x")
        dialog = app.screen
        await type_path(pilot, str(target))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog) and "exists" in dialog.message
        assert target.read_text() == "the teacher's own notes\n"  # refused: untouched
        assert dialog.query_one("#overwrite").display
        await pilot.click("#overwrite")
        await pilot.pause()
        assert not isinstance(app.screen, SaveDialog)
        assert gru_call(FIRST_EXAMPLE.replace(hidden_size=16)) in target.read_text()


async def test_export_json_and_svg_and_an_unwritable_path(tmp_path):
    app = make_app(snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        for fmt in ("json", "svg"):
            await pilot.press("x")
            dialog = app.screen
            dialog.query_one("#save-format").value = fmt
            await pilot.pause()
            assert dialog.query_one("#save-path", Input).value == f"gru-lesson.{fmt}"  # the suffix follows
            await type_path(pilot, str(tmp_path / f"lesson.{fmt}"))
            await pilot.press("enter")
            await pilot.pause()
        assert '"output"' in (tmp_path / "lesson.json").read_text()
        svg = (tmp_path / "lesson.svg").read_text()
        assert svg.startswith("<svg") and "traced" in svg  # the app's own screen, not the dialog over it
        await pilot.press("f3")
        await pilot.press("x")
        await type_path(pilot, str(tmp_path / "no such directory" / "lesson.md"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, SaveDialog) and app.screen.message.startswith("cannot write")


async def test_saved_says_the_whole_path_of_a_file_named_without_a_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "s")
        await type_path(pilot, "class.toml")
        await pilot.press("enter")
        await pilot.pause()
        assert (tmp_path / "class.toml").exists()
        assert str(tmp_path / "class.toml") in app.query_one(NoteLine).plain  # the directory too, not "class.toml"


async def test_save_configuration_then_load_it_back(tmp_path):
    config = PRESETS["packed"].config
    app = make_app(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        target = tmp_path / "class.toml"
        await pilot.press("f3")
        await pilot.press("s")
        await type_path(pilot, str(target))
        await pilot.press("enter")
        await pilot.pause()
        assert load_config(target) == config
        await pilot.press("s")
        await type_path(pilot, str(target))
        await pilot.press("enter")
        await pilot.pause()
        assert "exists" in app.screen.message  # the same refusal as handouts

    # `gru-tui --config FILE` opens the app on it, form and tree.
    reopened = make_app(config_from_args(build_parser().parse_args(["--config", str(target)])))
    async with reopened.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert reopened.config == config and reopened.report.shapes() == trace(config).shapes()
        assert reopened.query_one("#lengths", Input).value == ",".join(map(str, config.lengths))


def test_the_app_refuses_a_malformed_config_file_naming_the_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[gru]\ninput_size = 10\nhidden_size = -3\n")
    result = subprocess.run([sys.executable, "-m", "gru_tui", "--config", str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: hidden_size:") and f"{bad}, line 3" in result.stderr
    assert "Traceback" not in result.stderr


# -- follow mode ---------------------------------------------------------------------------


async def test_the_follower_shows_the_presenters_edits_read_only(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_FILE, str(tmp_path / "follow.json"))
    presenter = make_app(present=True)
    follower = make_app(follow=True)
    async with presenter.run_test(size=(80, 24)) as p, follower.run_test(size=(80, 24)) as f:
        await settle(p)
        await settle(f)
        assert FOLLOW_BANNER in str(follower.query_one("#follow-banner").render())
        assert all(field.disabled for field in follower.query("#form-column Input, #form-column Switch"))

        await type_into(p, "num_layers", "3")
        await settle(p)
        edited = FIRST_EXAMPLE.replace(num_layers=3)
        assert presenter.config == edited
        while follower.config != edited:  # the follower polls every POLL_SECONDS; a wait, not a timing check
            await f.pause(0.05)
        await settle(f)
        assert follower.query_one("#num_layers", Input).value == "3"
        assert follower.query_one("#trace-tree", TraceTree).labels() == labels_of(trace(edited))

        await f.press("f3", "2")  # a follower loads no preset of its own
        await settle(f)
        assert follower.config == edited


@pytest.mark.tmux
def test_follow_mode_across_two_real_terminals(tmp_path):
    """`gru-tui --present` in one terminal, a copy as `gru-tui serve --follow` starts it in another."""
    from test_app_terminal import Terminal

    env = f"{ENV_FILE}={shlex.quote(str(tmp_path / 'follow.json'))}"
    app = f"{shlex.quote(sys.executable)} -m gru_tui"
    presenter, follower = Terminal(80, 24), Terminal(80, 24)
    presenter.tmux[2] += "-presenter"  # two tmux servers: each Terminal drives its own
    follower.tmux[2] += "-follower"
    try:
        presenter.start(f"env {env} {app} --present")
        follower.start(f"env {env} {app} --follow")
        presenter.wait_for("traced on cpu")
        follower.wait_for("following the presenter — read-only")
        presenter.keys("Tab", "Tab")  # to num_layers, whose text focus selects
        presenter.keys("2", literal=True)
        edited = FIRST_EXAMPLE.replace(num_layers=2)
        output, h_n = torch_shapes(edited)
        presenter.wait_for(f"h_n {h_n}")
        screen = follower.wait_for(f"h_n {h_n}")
        assert f"output {output}" in screen and PRESETS["stacked"].title in screen  # the title names the preset
        follower.keys("Tab", "Tab")
        follower.keys("3", literal=True)  # read-only: nothing changes
        assert f"h_n {h_n}" in follower.wait_for("traced on cpu")
        presenter.keys("C-q")
        follower.keys("C-q")
        presenter.wait_for("app exited with status 0")
        follower.wait_for("app exited with status 0")
    finally:
        presenter.close()
        follower.close()


async def test_the_export_format_follows_the_file_names_extension(tmp_path):
    """lesson.json with the format left at md held Markdown (issue #14); the CLI's --handout goes by the suffix too."""
    import json

    app = make_app(snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await pilot.press("x")
        dialog = app.screen
        assert dialog.fmt == "md"
        await type_path(pilot, str(tmp_path / "lesson.json"))
        await pilot.pause()
        assert dialog.fmt == "json" and dialog.message == "format: json, from the file name's extension"
        await pilot.press("enter")
        await pilot.pause()
        assert json.loads((tmp_path / "lesson.json").read_text())["output"]["shape"] == [1, 35, 32]


async def test_a_follower_says_why_it_ignored_the_presenters_file(tmp_path, monkeypatch):
    """Another user's file, or one others may write, is refused by name, on the follower's screen too (issue #9)."""
    from gru_tui.app.widgets.note_line import NoteLine
    from gru_tui.share.follow import Publisher

    follow_file = tmp_path / "follow.json"
    monkeypatch.setenv(ENV_FILE, str(follow_file))
    Publisher(follow_file).publish(FIRST_EXAMPLE.replace(num_layers=2))
    follow_file.chmod(0o666)
    follower = make_app(follow=True)
    async with follower.run_test(size=(80, 24)) as f:
        await settle(f)
        note = follower.query_one(NoteLine)
        for _ in range(600):  # the first poll; a deadline against hanging, not a timing check
            if "ignored the presenter's file" in note.plain:
                break
            await f.pause(0.05)
        assert f"{follow_file} can be written by other users (mode 666)" in note.plain
        assert follower.config == FIRST_EXAMPLE and follower.is_running  # it keeps what it showed
