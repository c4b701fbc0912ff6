"""The app in a real terminal: started in tmux like a person starts it, keys sent, the screen read back."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from app_helpers import torch_shapes

from gru_tui.app.widgets.form import field_label
from gru_tui.core.config import FIRST_EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
PATIENCE_SECONDS = 120  # how long to wait for the screen to show something before giving up; not a speed check


def focused(label: str) -> str:
    """How a text field's label reads on screen while the field has the focus."""
    return field_label(label, None, focused=True).rstrip()


class Terminal:
    def __init__(self, width: int, height: int):
        # A socket of its own in a directory of its own, removed by close(): `-L name` left one in /tmp/tmux-UID per run.
        self.home = Path(tempfile.mkdtemp(prefix="gru-tui-tmux-"))
        self.tmux = ["tmux", "-S", str(self.home / "socket"), "-f", "/dev/null"]
        self.width, self.height = width, height

    def start(self, command: str) -> None:
        # The shell stays after the app ends, so a crash leaves its message on the screen for the failure report.
        shell = f"{command}; echo app exited with status $?; sleep 600"
        subprocess.run(
            [*self.tmux, "new-session", "-d", "-s", "app", "-x", str(self.width), "-y", str(self.height), "-c", str(ROOT), shell],
            check=True,
        )

    def screen(self) -> str:
        return subprocess.run([*self.tmux, "capture-pane", "-p", "-t", "app"], capture_output=True, text=True).stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", "app", *(["-l"] if literal else []), *keys], check=True)

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        pytest.fail(f"{text!r} never appeared on the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.mark.tmux
def test_a_terminal_leaves_no_tmux_server_or_socket_behind():
    terminal = Terminal(80, 24)
    terminal.start("true")
    socket = Path(terminal.tmux[2])
    assert socket.exists()
    terminal.close()
    assert not socket.exists() and not terminal.home.exists()
    assert subprocess.run([*terminal.tmux, "has-session"], capture_output=True).returncode != 0  # no server


@pytest.mark.tmux
def test_the_app_in_tmux_shows_the_new_shape_after_an_edit():
    terminal = Terminal(80, 24)
    try:
        terminal.start(f"{shlex.quote(sys.executable)} -m gru_tui")
        output, h_n = torch_shapes(FIRST_EXAMPLE)
        terminal.wait_for(f"output {output}")
        screen = terminal.wait_for("traced on cpu")
        assert "gru-tui" in screen and f"h_n {h_n}" in screen

        # Keys sent at once can reach a field before the Tab before them moves the focus, so each
        # step waits for the focus mark: the cursor starts in input_size, Tab moves it to hidden_size.
        terminal.wait_for(focused("input_size"))
        terminal.keys("Tab")
        terminal.wait_for(focused("hidden_size"))
        terminal.keys("64", literal=True)  # replaces 32: focus selects the field's text
        edited = FIRST_EXAMPLE.replace(hidden_size=64)
        new_output, new_h_n = torch_shapes(edited)
        screen = terminal.wait_for(f"output {new_output}")
        assert f"h_n {new_h_n}" in screen and "hidden_size" in screen

        terminal.keys("F3")  # the tree tab: its lines carry the shapes too
        screen = terminal.wait_for("h_n  " + new_h_n)
        assert "layer 0" in screen

        terminal.keys("C-q")
        terminal.wait_for("app exited with status 0")
    finally:
        terminal.close()
