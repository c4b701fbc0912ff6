"""Follow mode's transport: the presenter publishes, followers poll; bad files never crash a follower."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gru_tui import GRUConfig
from gru_tui.lessons import PRESETS
from gru_tui.share.follow import ENV_FILE, Follower, Publisher, follow_file


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
        ("[1, 2, 3]", "not a gru-tui follow file"),
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
        "import sys; from gru_tui.share.follow import Publisher; from gru_tui.lessons import PRESETS;"
        "Publisher(sys.argv[1]).publish(PRESETS['bidirectional'].config)"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
    assert follower.poll() == PRESETS["bidirectional"].config


# -- a follower survives whatever the file holds (issue #9) ------------------------------------

FOLLOW_FORMAT = "gru-tui follow 1"


def payload(config) -> str:
    return json.dumps({"format": FOLLOW_FORMAT, "presenter": "p", "seq": 1, "config": config})


@pytest.mark.parametrize(
    "content",
    [
        '{"format": "gru-tui follow 1", "presenter": "p", "seq": 1e999, "config": {}}',  # was OverflowError
        '{"format": "gru-tui follow 1", "presenter": "p", "seq": 1, "config": []}',  # was AttributeError
        '{"format": "gru-tui follow 1", "presenter": "p", "seq": 1, "config": ' + "[" * 5000 + "]" * 5000 + "}",
        "[" * 4000 + "]" * 4000,  # was RecursionError (under the size cap)
        '{"format": "gru-tui follow 1", "presenter": "p", "seq": 1, "config": {"hidden_size": ' + "1" * 5000 + "}}",
        '{"format": "gru-tui follow 1", "presenter": {"a": 1}, "seq": 1, "config": {}}',
        '{"format": "gru-tui follow 1", "presenter": "p", "seq": true, "config": {}}',
        payload({"mode": []}),
        payload({"lengths": [[1]], "batch_size": 1}),
        payload({"device": "x" * 10_000}),
        payload({"y" * 10_000: 1}),
    ],
)
def test_what_crashed_followers_is_skipped_with_one_warning(path, caplog, content):
    publisher, follower = Publisher(path), Follower(path)
    publisher.publish(GRUConfig(hidden_size=9))
    assert follower.poll() == GRUConfig(hidden_size=9)
    path.write_text(content)
    assert follower.poll() is None and follower.poll() is None
    assert len(caplog.records) == 1 and "ignored the presenter's file" in caplog.text
    assert len(follower.last_error) < 400  # the reason names the file, it does not echo it
    publisher.publish(GRUConfig(hidden_size=10))
    assert follower.poll() == GRUConfig(hidden_size=10)


def test_a_file_larger_than_the_cap_is_not_read(path, caplog):
    from gru_tui.share.follow import MAX_BYTES

    Publisher(path).publish(GRUConfig())
    text = path.read_text()
    path.write_text(text.rstrip("\n") + " " * MAX_BYTES)  # still valid JSON, but too large
    follower = Follower(path)
    assert follower.poll() is None and f"larger than {MAX_BYTES:,} bytes" in follower.last_error


def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "follow.json"
    os.mkfifo(fifo)
    follower = Follower(fifo)
    assert follower.poll() is None  # returns at once: nothing writes to the FIFO, and it is not waited on
    assert follower.last_error == f"{fifo} is not a regular file (it is a FIFO)"


def test_a_file_others_may_write_is_refused(path):
    publisher, follower = Publisher(path), Follower(path)
    publisher.publish(GRUConfig(hidden_size=3))
    path.chmod(0o666)
    assert follower.poll() is None
    assert follower.last_error == f"{path} can be written by other users (mode 666); chmod go-w it"
    path.chmod(0o644)
    assert follower.poll() == GRUConfig(hidden_size=3)


def test_the_presenters_file_is_readable_by_followers_whatever_the_umask(path):
    old = os.umask(0o002)  # a user-private group's usual umask: new files are group-writable
    try:
        Publisher(path).publish(GRUConfig(hidden_size=3))
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Follower(path).poll() == GRUConfig(hidden_size=3)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a file to another user")
def test_another_users_file_is_refused(path):
    publisher, follower = Publisher(path), Follower(path)
    publisher.publish(GRUConfig(hidden_size=3))
    os.chown(path, 65534, -1)  # nobody: what another user sharing /tmp could have written
    assert follower.poll() is None
    assert follower.last_error == f"{path} belongs to another user (uid 65534); only this user's own file is read"


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
CONFIG_FIELDS = st.sampled_from(list(GRUConfig().to_dict()))


@st.composite
def follow_files(draw) -> bytes:
    """What a follow file could hold: any JSON, a follow file with any values, or any bytes; up to the cap and a little over."""
    from gru_tui.share.follow import MAX_BYTES

    kind = draw(st.sampled_from(["json", "follow", "bytes", "large"]))
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode()
    if kind == "follow":
        config = draw(st.dictionaries(CONFIG_FIELDS, JSON_VALUES, max_size=6) | JSON_VALUES)
        document = {"format": FOLLOW_FORMAT, "presenter": draw(JSON_VALUES), "seq": draw(JSON_VALUES), "config": config}
        return json.dumps(document).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=2048))
    return draw(st.binary(min_size=1, max_size=64)) * draw(st.integers(MAX_BYTES // 64 - 2, MAX_BYTES // 64 + 2))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(content=follow_files())
def test_fuzz_any_follow_file_is_shown_or_skipped(path, content):
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_bytes(content)
    follower = Follower(path)
    result = follower.poll()  # never raises
    assert result is None and follower.last_error or isinstance(result, GRUConfig) and result.validate(check_device=False)
