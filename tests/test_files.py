"""Configuration files and atomic writes: round trips, refusals, malformed input named by line."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from cli_runs import run_in_process
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import gru_configs

from gru_tui import GRUConfig, trace
from gru_tui.core.config import ConfigError
from gru_tui.core.files import FileExistsRefused, config_toml, load_config, save_config, write_atomic


def configs():
    """Anything valid, up to the limits, and device names that need escaping in TOML: files never run them."""
    return gru_configs(
        max_batch=5,
        max_seq=50,
        max_input=10**6,
        max_hidden=10**6,
        max_layers=1024,
        dropouts=st.floats(0, 1),
        devices=["cpu", "cuda:0", "meta", 'we"ird\\dev\nice\x7f'],
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs())
def test_save_then_load_round_trips(tmp_path, config):
    path = tmp_path / "round.toml"
    save_config(config, path, overwrite=True)
    assert load_config(path) == config


def test_save_refuses_to_overwrite(tmp_path):
    path = tmp_path / "lesson.toml"
    save_config(GRUConfig(hidden_size=7), path)
    before = path.read_bytes()
    with pytest.raises(FileExistsRefused, match="exists; not overwritten"):
        save_config(GRUConfig(hidden_size=8), path)
    assert path.read_bytes() == before
    save_config(GRUConfig(hidden_size=8), path, overwrite=True)
    assert load_config(path).hidden_size == 8
    assert os.listdir(tmp_path) == ["lesson.toml"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "lesson.toml"
    path.write_text("old\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "new and half written \ud800 (a lone surrogate cannot be encoded)", overwrite=True)
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["lesson.toml"]


def test_new_files_get_the_umask_and_replaced_files_keep_their_mode(tmp_path):
    old_umask = os.umask(0o022)
    try:
        fresh = write_atomic(tmp_path / "fresh.md", "x")
        assert fresh.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old_umask)
    kept = tmp_path / "kept.md"
    kept.write_text("x")
    kept.chmod(0o640)
    write_atomic(kept, "y", overwrite=True)
    assert kept.stat().st_mode & 0o777 == 0o640 and kept.read_text() == "y"


def test_missing_directory_is_an_os_error_not_a_half_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "nowhere" / "lesson.md", "x")
    assert os.listdir(tmp_path) == []


def write(tmp_path, text: str | bytes):
    path = tmp_path / "lesson.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.mark.parametrize(
    "text, field, where",
    [
        ("[gru]\ninput_size = 10\nhidden_size = = 3\n", "config", "line 3"),  # malformed TOML
        ("[gru\n", "config", "line 1"),
        ("[gru]\nhidden_size = 1\nhidden_size = 2\n", "config", "line 3"),
        ('[gru]\ninput_size = 10\nhidden_size = "32"\n', "hidden_size", "line 3"),  # a bad value
        ("[gru]\nnum_layers = 0\n", "num_layers", "line 2"),
        ("[gru]\ndropout = 1.5\n", "dropout", "line 2"),
        ("[gru]\nhiden_size = 32\n", "hiden_size", "line 2"),  # a typo in a name
        ("[gru]\nbatch_size = 2\nlengths = 5\n", "lengths", "line 3"),
        ("[gru]\nbatch_size = 2\nseq_len = 4\nlengths = [4, 9]\n", "lengths", "line 4"),
        ('[gru]\ndtype = "float8"\n', "dtype", "line 2"),
        ("[gru]\nhidden_size = 8\nproj_size = 4\n", "proj_size", "line 3"),  # a GRU has no projection
        ('[gru]\nmode = "lstm"\nhidden_size = 8\nproj_size = 8\n', "proj_size", "line 4"),
        ('[gru]\nmode = "lstm"\nnonlinearity = "relu"\n', "nonlinearity", "line 3"),
        ('[gru]\nmode = "transformer"\n', "mode", "line 2"),
        ("gru = 5\n", "gru", "line 1"),
    ],
)
def test_malformed_files_name_the_field_and_line(tmp_path, text, field, where):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.field == field
    assert where in str(error.value) and str(path) in str(error.value)


@pytest.mark.parametrize("content", [b"\xff\xfe[gru]\n", None])
def test_unreadable_files_are_a_message(tmp_path, content):
    path = write(tmp_path, content) if content is not None else tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert error.value.field == "config" and str(path) in str(error.value)


def test_top_level_keys_without_a_table(tmp_path):
    assert load_config(write(tmp_path, "hidden_size = 5\nbatch_first = true\n")) == GRUConfig(hidden_size=5, batch_first=True)


def test_saved_file_is_commented_toml(tmp_path):
    text = config_toml(GRUConfig(lengths=(3, 2), batch_size=2, seq_len=3))
    assert text.startswith("# gru-tui configuration") and "[gru]\n" in text and "lengths = [3, 2]\n" in text


def test_a_file_names_the_kind_and_only_the_fields_that_apply_to_it(tmp_path):
    gru = config_toml(GRUConfig())
    assert 'mode = "gru"\n' in gru and "proj_size" not in gru and "nonlinearity" not in gru
    lstm = config_toml(GRUConfig(mode="lstm", proj_size=8))
    assert "nn.LSTM" in lstm.splitlines()[0] and "proj_size = 8\n" in lstm and "nonlinearity" not in lstm
    rnn = config_toml(GRUConfig(mode="rnn", nonlinearity="relu"))
    assert 'nonlinearity = "relu"\n' in rnn and "proj_size" not in rnn


def test_a_file_saved_before_the_other_kinds_loads_as_a_gru(tmp_path):
    """What the previous version wrote: every field but the kind's, no mode; it is still a GRU."""
    before = "\n".join(
        line for line in config_toml(GRUConfig(hidden_size=16, num_layers=2)).splitlines() if not line.startswith("mode =")
    )
    assert load_config(write(tmp_path, before)) == GRUConfig(hidden_size=16, num_layers=2)


# -- gru-tui trace --config, end to end --------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess:
    return run_in_process(*args)  # in this process: torch loads once for the file, not once a call


def test_trace_reads_a_config_file_and_flags_override_it(tmp_path):
    config = GRUConfig(
        input_size=6,
        hidden_size=5,
        num_layers=2,
        bidirectional=True,
        batch_first=True,
        batch_size=3,
        seq_len=4,
        lengths=(4, 2, 1),
        with_h0=True,
    )
    path = save_config(config, tmp_path / "lesson.toml")
    result = run("trace", "--config", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == trace(config).to_dict()
    result = run("trace", "--config", str(path), "--hidden-size", "7", "--json")
    assert json.loads(result.stdout) == trace(config.replace(hidden_size=7)).to_dict()


def test_trace_with_a_malformed_config_file_exits_2_naming_the_line(tmp_path):
    path = write(tmp_path, "[gru]\ninput_size = 10\nnum_layers = -2\n")
    result = run("trace", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith("error: num_layers: must be a positive integer") and "line 3" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


# -- bounds (issue #9): a configuration file is read only when it is a small regular file ------------------


def test_a_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "windows.toml"
    path.write_bytes(b"\xef\xbb\xbf" + config_toml(GRUConfig(hidden_size=7)).encode())
    assert load_config(path) == GRUConfig(hidden_size=7)


@pytest.mark.parametrize("special, kind", [("/dev/zero", "a character device"), ("fifo", "a FIFO"), (".", "a directory")])
def test_devices_fifos_and_directories_are_refused_without_reading(tmp_path, special, kind):
    path = tmp_path / special if special != "/dev/zero" else special
    if special == "fifo":
        os.mkfifo(path)  # nothing ever writes to it: reading it would wait for ever
    with pytest.raises(ConfigError, match=f"^config: {path} is not a regular file \\(it is {kind}\\)$"):
        load_config(path)


def test_a_large_file_is_refused_unread(tmp_path):
    from gru_tui.core.files import MAX_CONFIG_BYTES

    path = tmp_path / "huge.toml"
    path.write_text("[gru]\n" + "# padding\n" * MAX_CONFIG_BYTES)
    with pytest.raises(ConfigError, match=f"larger than {MAX_CONFIG_BYTES:,} bytes"):
        load_config(path)


def test_a_long_value_is_not_echoed_whole(tmp_path):
    path = tmp_path / "long.toml"
    path.write_text(f'[gru]\ndevice = "{"x" * 50_000}"\n')
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert refused.value.field == "device" and "at most 64 characters" in str(refused.value)
    assert len(str(refused.value)) < 500


@pytest.mark.parametrize("mode, options", [("gru", {}), ("lstm", {"proj_size": 8}), ("rnn", {"nonlinearity": "relu"})])
def test_a_configuration_is_saved_under_a_table_naming_its_kind(tmp_path, mode, options):
    config = GRUConfig(mode=mode, hidden_size=16, num_layers=2, **options)
    text = config_toml(config)
    assert f"\n[{mode}]\n" in text and all(f"[{other}]" not in text for other in ("gru", "lstm", "rnn") if other != mode)
    assert load_config(write(tmp_path, text)) == config
    without_mode = "\n".join(line for line in text.splitlines() if not line.startswith("mode ="))
    assert load_config(write(tmp_path, without_mode)) == config  # the table says the kind


@pytest.mark.parametrize("mode, options", [("lstm", {"proj_size": 8}), ("rnn", {"nonlinearity": "relu"})])
def test_an_lstm_or_rnn_saved_under_gru_by_an_earlier_version_still_loads(tmp_path, mode, options):
    """What the previous version wrote for every kind: [gru] with a mode line."""
    config = GRUConfig(mode=mode, hidden_size=16, **options)
    before = config_toml(config).replace(f"[{mode}]", "[gru]")
    assert f'[gru]\nmode = "{mode}"' in before
    assert load_config(write(tmp_path, before)) == config


@pytest.mark.parametrize(
    "text, field",
    [('[lstm]\nmode = "gru"\n', "mode"), ("[lstm]\nhidden_size = 8\n[rnn]\nhidden_size = 8\n", "mode"), ("lstm = 3\n", "lstm")],
)
def test_a_kind_table_that_contradicts_itself_is_refused_by_name(tmp_path, text, field):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert error.value.field == field


def test_a_name_of_the_longest_legal_length_is_written(tmp_path):
    """253 characters and a suffix: the temporary name beside it must not add to the name's length."""
    path = write_atomic(tmp_path / ("h" * 250 + ".md"), "x")
    assert path.read_text() == "x" and os.listdir(tmp_path) == [path.name]
