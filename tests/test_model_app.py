"""`gru-tui --model`: the real app over the real worker pool, watching a real folder; and a served copy."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from app_helpers import screen_lines
from processes import gone

from gru_tui.app.model_app import make_model_app
from gru_tui.model.spec import model_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PATIENCE = 300  # seconds to wait for something to happen; not a speed check


async def until(pilot, condition, what: str) -> None:
    """Wait, bounded, until ``condition()`` holds (a wait, not a timing)."""
    for _ in range(PATIENCE * 10):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.1)
    pytest.fail(f"never: {what}; status {pilot.app.status_text!r}")


def tree_text(app) -> str:
    return "\n".join(app.query_one("#model-tree").labels())


async def test_a_saved_edit_is_traced_again_and_a_failing_version_keeps_the_last_good_tree(tmp_path):
    shutil.copy(EXAMPLES / "classifier.py", tmp_path / "classifier.py")
    (tmp_path / "sizes.py").write_text("CLASSES = 5\n")  # a file the model imports from its folder
    source = (
        (tmp_path / "classifier.py").read_text().replace("import torch\n", "import torch\nfrom sizes import CLASSES as N\n", 1)
    )
    source = source.replace("HIDDEN, CLASSES = 1000, 50, 64, 5", "HIDDEN = 1000, 50, 64\nCLASSES = N")
    (tmp_path / "classifier.py").write_text(source)
    app = make_model_app(model_spec(str(tmp_path / "classifier.py") + ":make_model", ["4x35:int64"]), snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.traces == 1, "the first trace")
        assert app.latest.ok and "fc (Linear)  [4, 128] → [4, 5]" in tree_text(app)
        assert "watching" in app.status_text
        first_worker = app.runner.pool.worker_pids()

        (tmp_path / "sizes.py").write_text("CLASSES = 7\n")  # the imported file, saved
        await until(pilot, lambda: "fc (Linear)  [4, 128] → [4, 7]" in tree_text(app), "a trace after sizes.py was saved")

        (tmp_path / "classifier.py").write_text(source.replace("nn.Linear(2 * hidden, classes)", "nn.Linear(hidden, classes)"))
        await until(pilot, lambda: app.stale, "a trace after the bug was saved")
        assert not app.latest.ok
        assert "fc (Linear)  [4, 128] → [4, 7]" in tree_text(app)  # the last good tree stays...
        assert app.query_one("#model-tree").border_title == "⚠ stale: the saved version fails"  # ...marked
        assert "fc is nn.Linear(in_features=64, out_features=7) but receives 128 features" in app.status_text
        await pilot.press("v")  # the failing version's own tree
        assert "✗ fc (Linear)  [4, 128] → ✗" in tree_text(app)

        (tmp_path / "classifier.py").write_text(source.replace("def make_model():", "def make_model(:"))
        await until(pilot, lambda: "SyntaxError" in app.status_text, "a trace after a syntax error was saved")
        assert app.stale and f"{tmp_path / 'classifier.py'}:" in app.status_text and "SyntaxError" in app.status_text

        (tmp_path / "classifier.py").write_text(source)
        await until(pilot, lambda: not app.stale, "a trace after the fix")
        assert app.query_one("#model-tree").border_title is None
        assert all(gone(pid) for pid in first_worker)  # each trace ran in a process of its own, ended after it
        pids = app.runner.pool.worker_pids()
        screen = "\n".join(screen_lines(app))
        assert "SentenceClassifier  [4, 35] int64 → [4, 7]" in screen  # at 80x24
    assert all(gone(pid) for pid in pids)


async def test_a_first_version_that_fails_shows_the_tree_up_to_the_failure():
    app = make_model_app(
        model_spec(str(EXAMPLES / "classifier_bug.py") + ":make_model", ["4x35:int64"]), watch=False, snapshot_mode=True
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.traces == 1, "the trace")
        text = tree_text(app)
        assert "gru (GRU)  [4, 35, 50] → ([4, 35, 128], [4, 4, 64])" in text and "✗ fc (Linear)  [4, 128] → ✗" in text
        assert "fc is nn.Linear(in_features=64, out_features=5) but receives 128 features" in app.status_text


async def test_a_forward_past_the_limit_is_stopped_and_its_worker_killed(tmp_path):
    (tmp_path / "slow.py").write_text(
        "import time\nfrom torch import nn\nclass Slow(nn.Module):\n    def forward(self, x):\n        time.sleep(600)\n        return x\n"
    )
    app = make_model_app(model_spec(str(tmp_path / "slow.py") + ":Slow", ["2"]), timeout=3, watch=False, snapshot_mode=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.runner.pool.busy_pids(), "the run to start")
        (victim,) = app.runner.pool.busy_pids()
        await until(pilot, lambda: "stopped after 3 s (--timeout)" in app.status_text, "the limit")
        await until(pilot, lambda: gone(victim), "the hung worker to be killed")
        assert not app.busy


def test_the_apps_process_never_imports_torch_or_the_model_file(tmp_path):
    (tmp_path / "marker.py").write_text(
        "import os, torch\nfrom torch import nn\nos.environ['MODEL_FILE_RAN'] = '1'\ndef make():\n    return nn.GRU(3, 4)\n"
    )
    code = textwrap.dedent(
        f"""
        import asyncio, os, sys
        from gru_tui.app.model_app import make_model_app
        from gru_tui.model.spec import model_spec

        async def main():
            app = make_model_app(model_spec({str(tmp_path / "marker.py") + ":make"!r}, ["5x2x3"]), watch=False)
            async with app.run_test(size=(80, 24)) as pilot:
                while app.traces < 1:
                    await pilot.pause(0.1)
                print(app.latest.ok, app.latest.node("").calls[0].output.items[1].shape)
        asyncio.run(main())
        print([m for m in ("torch", "torchinfo", "gru_tui.core.tracing") if m in sys.modules], os.environ.get("MODEL_FILE_RAN"))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=PATIENCE)
    assert out.stdout.strip().splitlines()[-2:] == ["True (1, 2, 4)", "[] None"], out.stderr


def test_the_app_needs_a_terminal_and_says_so():
    result = subprocess.run(
        [sys.executable, "-m", "gru_tui", "--model", str(EXAMPLES / "classifier.py") + ":make_model", "--input", "4x35:int64"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2 and "use `gru-tui trace --model ...`" in result.stderr and "Traceback" not in result.stderr


def test_the_app_refuses_a_model_flag_it_cannot_use():
    result = subprocess.run(
        [sys.executable, "-m", "gru_tui", "--model", "examples/nothing.py:x"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=EXAMPLES.parent,
    )
    assert result.returncode == 2 and "error: model: examples/nothing.py: no such file" in result.stderr


# -- served: only the server's command line names a file -------------------------------------------


def test_serve_fixes_the_model_on_its_own_command_line():
    from gru_tui.share.serve import build_parser, model_arguments, served_command

    args = build_parser().parse_args(
        ["--model", str(EXAMPLES / "packed.py") + ":make_model", "--inputs", str(EXAMPLES / "packed.py") + ":example_inputs"]
    )
    command = served_command(False, model_arguments(args))
    assert command.endswith(
        f" -m gru_tui --model {EXAMPLES / 'packed.py'}:make_model --inputs {EXAMPLES / 'packed.py'}:example_inputs"
    )
    bad = subprocess.run(
        [sys.executable, "-m", "gru_tui", "serve", "--model", "nowhere.py:make"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "model: nowhere.py: no such file" in bad.stderr and "Traceback" not in bad.stderr


async def test_a_browser_cannot_name_a_file(tmp_path):
    """A tab asking for another file in its address gets the server's model; nothing it sends opens a file."""
    import aiohttp
    from served import serve
    from test_serve import cookie_name

    secret = tmp_path / "secret.py"
    secret.write_text("raise SystemExit('the browser chose this file')\n")
    with serve("--model", str(EXAMPLES / "classifier.py") + ":make_model", "--input", "4x35:int64") as (base, token, _):
        headers = {"Origin": base, "Cookie": f"{cookie_name(base)}={token}"}
        async with aiohttp.ClientSession(headers={"Cookie": headers["Cookie"]}) as session:
            query = f"width=100&height=30&model={secret}:x&argv=--model+{secret}:x"
            ws = await session.ws_connect(f"{base.replace('http:', 'ws:')}/ws?{query}", headers=headers, max_msg_size=0)
            seen = ""

            async def read() -> None:
                nonlocal seen
                async for message in ws:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        seen += message.data.decode("utf-8", "replace")
                        if "traced on cpu" in seen and "SentenceClassifier" in seen:
                            return

            try:
                await ws.send_json(["stdin", f"--model {secret}:x\r"])
                await asyncio.wait_for(read(), PATIENCE)  # a bound against hanging, not a timing
            finally:
                await ws.close()
    assert "classifier.py:make_model" in seen and "secret" not in seen


async def test_the_handout_of_the_tree_shown(tmp_path, monkeypatch):
    from textual.widgets import Input

    monkeypatch.chdir(tmp_path)
    app = make_model_app(
        model_spec(str(EXAMPLES / "classifier_bug.py") + ":make_model", ["4x35:int64"]), watch=False, snapshot_mode=True
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.traces == 1, "the trace")
        await pilot.press("x")
        await pilot.pause()
        assert app.screen.query_one("#save-path", Input).value == "classifier_bug-make_model.md"
        await pilot.press("enter")
        await until(pilot, lambda: (tmp_path / "classifier_bug-make_model.md").exists(), "the handout")
    text = (tmp_path / "classifier_bug-make_model.md").read_text()
    assert "## What failed" in text and "fc is nn.Linear(in_features=64, out_features=5) but receives 128 features" in text


async def test_the_error_panel_shows_the_checked_fix_without_scrolling_at_80x24():
    """At 80x24 the fix was below the panel's fold, after the whole explanation (issue #21)."""
    app = make_model_app(
        model_spec(str(EXAMPLES / "classifier_bug.py") + ":make_model", ["4x35:int64"]), watch=False, snapshot_mode=True
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.traces == 1, "the trace")
        await pilot.pause()
        box = app.query_one("#model-status-box")
        assert box.scroll_y == 0
        panel = " ".join(screen_lines(app)[box.region.y : box.region.bottom])
        assert "Checked: with fc = nn.Linear(128, 5) the forward runs and returns [4, 5]." in panel
