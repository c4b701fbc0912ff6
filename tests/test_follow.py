"""Follow mode's transport: the presenter publishes, followers poll; bad files never crash a follower."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gru_tui import GRUConfig
from gru_tui.follow import ENV_FILE, Follower, Publisher, follow_file
from gru_tui.lessons import PRESETS


@pytest.fixture
def path(tmp_path):
    return tmp_path / "gru-tui" / "follow.json"


def test_publish_then_poll(path):
    publisher, follower = Publisher(path), Follower(path)
    assert follower.poll() is None  # no presenter yet
    config = PRESETS["stacked"].config
    assert publisher.publish(config)
    assert follower.poll() == config
    assert follower.poll() is None  # nothing new
    assert not publisher.publish(config)  # the same configuration is not news
    assert follower.poll() is None
    publisher.publish(config.replace(bidirectional=True))
    assert follower.poll() == config.replace(bidirectional=True)


def test_every_change_is_seen_even_within_one_clock_tick(path):
    publisher, follower = Publisher(path), Follower(path)
    for hidden in range(1, 30):
        publisher.publish(GRUConfig(hidden_size=hidden))
        assert follower.poll() == GRUConfig(hidden_size=hidden)


def test_a_late_follower_gets_the_current_configuration(path):
    Publisher(path).publish(PRESETS["packed"].config)
    assert Follower(path).poll() == PRESETS["packed"].config


def test_a_new_presenter_is_followed_though_its_count_restarts(path):
    follower = Follower(path)
    Publisher(path).publish(GRUConfig(hidden_size=3))
    assert follower.poll() == GRUConfig(hidden_size=3)
    Publisher(path).publish(GRUConfig(hidden_size=4))
    assert follower.poll() == GRUConfig(hidden_size=4)


@pytest.mark.parametrize(
    "content, reason",
    [
        ("{not json", "Expecting property name"),
        ('{"format": "something else"}', "not a gru-tui follow file"),
        ('{"format": "gru-tui follow 1", "presenter": "p", "seq": 1}', "config"),
        ('{"format": "gru-tui follow 1", "presenter": "p", "seq": 1, "config": {"hidden_size": -1}}', "hidden_size"),
        ('{"format": "gru-tui follow 1", "presenter": "p", "seq": 1, "config": [1, 2]}', ""),
        ('[1, 2, 3]', "not a gru-tui follow file"),
    ],
)
def test_a_bad_file_is_ignored_with_a_reason(path, caplog, content, reason):
    publisher, follower = Publisher(path), Follower(path)
    publisher.publish(GRUConfig(hidden_size=9))
    assert follower.poll() == GRUConfig(hidden_size=9)
    path.write_text(content)
    assert follower.poll() is None
    assert follower.last_error and reason in follower.last_error
    assert "ignored the presenter's file" in caplog.text
    publisher.publish(GRUConfig(hidden_size=10))  # the presenter carries on; the follower recovers
    assert follower.poll() == GRUConfig(hidden_size=10) and follower.last_error is None


def test_the_directory_is_private(path):
    Publisher(path).publish(GRUConfig())
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["follow.json"]  # no temporary file left


def test_where_the_file_lives(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_FILE, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert follow_file() == tmp_path / "gru-tui" / "follow.json"
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "missing"))
    assert follow_file().parent.parent.name == ".cache"
    monkeypatch.setenv(ENV_FILE, str(tmp_path / "class.json"))
    assert follow_file() == tmp_path / "class.json"
    Publisher().publish(GRUConfig(hidden_size=2))
    assert json.loads((tmp_path / "class.json").read_text())["config"]["hidden_size"] == 2


def test_across_processes(path):
    follower = Follower(path)
    code = (
        "import sys; from gru_tui.follow import Publisher; from gru_tui.lessons import PRESETS;"
        "Publisher(sys.argv[1]).publish(PRESETS['bidirectional'].config)"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
    assert follower.poll() == PRESETS["bidirectional"].config
