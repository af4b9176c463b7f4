"""Settings resolved once for every command: flags beat the environment, which beats the config
file, which beats the defaults; a broken config file is one line for every command."""
from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from voicecoach import cli
from voicecoach.config import ConfigError
from voicecoach.settings import Settings, resolve_settings


def args(**flags) -> argparse.Namespace:
    return argparse.Namespace(**flags)


@pytest.fixture
def config(tmp_path, monkeypatch):
    """Write a config file and point VOICECOACH_CONFIG at it; no environment settings leak in."""
    for name in ("VOICECOACH_DB", "VOICECOACH_ASR_MODEL", "VOICECOACH_VOICE", "VOICECOACH_READER_MODEL", "VOICECOACH_TUNED_READER",
                 "VOICECOACH_KEYWORD_MODEL", "VOICECOACH_ENCODER_MODEL", "VOICECOACH_RATE", "VOICECOACH_VOLUME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = tmp_path / "config.yaml"
    monkeypatch.setenv("VOICECOACH_CONFIG", str(path))

    def write(text: str) -> Path:
        path.write_text(text)
        return path
    return write


def test_flags_beat_the_environment_which_beats_the_config_file_which_beats_the_defaults(config, tmp_path):
    config("db: /from/config.db\nrate: 1.5\nvoice: espeak\n")
    env = {"VOICECOACH_DB": "/from/env.db", "VOICECOACH_RATE": "0.75"}
    settings = resolve_settings(args(db="/from/flag.db", rate=None), env)
    assert (settings.db, settings.rate, settings.voice, settings.volume) == (Path("/from/flag.db"), 0.75, "espeak", 1.0)
    assert dict(settings.sources) == {"db": "flag", "rate": "env", "voice": "config", "volume": "default",
                                      "asr_model": "default", "reader_model": "default", "tuned_reader": "default",
                                      "keyword_model": "default", "encoder_model": "default"}
    assert resolve_settings(args(), {}).db == Path("/from/config.db")
    config("")
    assert resolve_settings(args(), {}).db == tmp_path / "data" / "voicecoach" / "history.sqlite3"


def test_settings_are_frozen_and_a_value_remembers_where_it_came_from(config):
    config("asr_model: /models/whisper\n")
    settings = resolve_settings(args(), {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.rate = 2.0                                        # type: ignore[misc]
    # A part handed the value is told where it came from, without reading the file again.
    assert (settings.asr_model, settings.sources["asr_model"]) == ("/models/whisper", "config")
    assert "asr_model = /models/whisper (from config)" in settings.explained()


@pytest.mark.parametrize("source, expected", [
    ("flag", "--rate 4.0 is outside 0.5 to 2.0"),
    ("env", "$VOICECOACH_RATE=4 is outside 0.5 to 2.0"),
    ("config", "config.yaml:2: rate 4 is outside 0.5 to 2.0"),
])
def test_rate_is_checked_wherever_it_comes_from(config, source, expected):
    config("voice: espeak\nrate: 4\n" if source == "config" else "")
    with pytest.raises(ConfigError) as problem:
        resolve_settings(args(rate=4.0 if source == "flag" else None), {"VOICECOACH_RATE": "4"} if source == "env" else {})
    assert str(problem.value).endswith(expected)


@pytest.mark.parametrize("volume", [1.5, -0.1, float("nan"), float("inf")])
def test_volume_out_of_range_or_not_finite_is_refused(config, volume):
    config("")
    with pytest.raises(ConfigError, match=r"^--volume .* is outside 0.0 to 1.0$"):
        resolve_settings(args(volume=volume), {})


def test_a_number_that_is_not_a_number_is_refused(config):
    config("")
    with pytest.raises(ConfigError, match=r"^\$VOICECOACH_VOLUME=loud is not a number$"):
        resolve_settings(args(), {"VOICECOACH_VOLUME": "loud"})


# ----- every command: a broken config file is one line, never a traceback, never ignored ----------

BROKEN = {
    "bad YAML": ("rate: 1.0\nvoice: [espeak\n", "invalid YAML"),
    "unknown key": ("rate: 1.0\nsped: 2\n", ":2: unknown setting 'sped'"),
    "wrong type": ("db: /x.db\nvolume: loud\n", ":2: volume has the wrong type: 'loud'"),
    "out of range": ("rate: 9\n", ":1: rate 9 is outside 0.5 to 2.0"),
}
COMMANDS = {
    "transcribe": ["transcribe", "a.wav"], "audio-in": ["--audio-in", "a.wav"], "text": ["--text"],
    "say": ["say", "hello"], "history": ["history"], "simulate": ["simulate", "s.txt"], "parse": ["parse", "hi"],
}


@pytest.mark.parametrize("broken", BROKEN)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_broken_config_file_is_one_line_for_every_command(config, capsys, broken, command):
    text, expected = BROKEN[broken]
    path = config(text)
    assert cli.main(COMMANDS[command]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"voicecoach: {path}:") and expected in captured.err


def vc(*argv: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "voicecoach", *argv], input=stdin, capture_output=True, text=True,
                          cwd=REPO, timeout=120, env={**os.environ, **(env or {})})


def test_a_broken_config_file_is_one_line_in_a_real_process(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("volume: loud\n")
    result = vc("--text", stdin="start\n", env={"VOICECOACH_CONFIG": str(config)})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == f"voicecoach: {config}:1: volume has the wrong type: 'loud'\n"


def test_a_configured_db_is_where_text_mode_records_and_history_reads(tmp_path):
    db = tmp_path / "mine.db"
    config = tmp_path / "config.yaml"
    config.write_text(f"db: {db}\n")
    env = {"VOICECOACH_CONFIG": str(config), "VOICECOACH_DB": ""}
    result = vc("--text", stdin="start the stretch\n", env=env)
    assert result.returncode == 0, result.stderr
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1
    shown = vc("history", "--json", env=env)
    assert f'"database": "{db}"' in shown.stdout


@pytest.mark.slow
def test_simulate_keeps_scripted_sessions_out_of_a_configured_db_and_says_so_when_verbose(tmp_path):
    db = tmp_path / "mine.db"
    config = tmp_path / "config.yaml"
    config.write_text(f"db: {db}\n")
    script = tmp_path / "s.txt"
    script.write_text("@0 start the stretch\n@40 stop\n")
    env = {"VOICECOACH_CONFIG": str(config), "VOICECOACH_DB": ""}
    quiet = vc("simulate", str(script), env=env)
    assert quiet.returncode == 0 and quiet.stderr == "" and not db.exists()
    told = vc("simulate", str(script), "--verbose", env=env)
    assert "simulate records a session only in a database named with --db" in told.stderr
    recorded = vc("simulate", str(script), "--db", str(db), env=env)
    assert recorded.returncode == 0, recorded.stderr
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1


def test_rate_and_volume_are_checked_for_the_coach_as_say_checks_them(tmp_path):
    env = {"VOICECOACH_CONFIG": str(tmp_path / "none.yaml")}
    for argv in (["--text", "--rate", "5"], ["say", "hi", "--rate", "5"]):
        result = vc(*argv, env=env)
        assert (result.returncode, result.stderr) == (2, "voicecoach: --rate 5.0 is outside 0.5 to 2.0\n")


@pytest.fixture(autouse=True)
def _logging_restored(restore_logging):
    """Every test here runs cli.main, which sets up logging."""


def test_verbose_shows_the_settings_and_where_they_came_from(config, capsys, tmp_path):
    config(f"db: {tmp_path / 'h.db'}\n")
    assert cli.main(["history", "--verbose"]) == 0
    err = capsys.readouterr().err
    assert f"voicecoach: db = {tmp_path / 'h.db'} (from config)" in err
    assert cli.main(["history"]) == 0
    assert capsys.readouterr().err == ""
    assert isinstance(resolve_settings(args(), {}), Settings)


def test_the_database_comes_from_the_flag_then_the_environment_then_the_data_directory(config, tmp_path):
    config("")
    env = {"VOICECOACH_DB": str(tmp_path / "env.db")}
    assert resolve_settings(args(db=str(tmp_path / "flag.db")), env).db == tmp_path / "flag.db"
    assert resolve_settings(args(), env).db == tmp_path / "env.db"
    assert resolve_settings(args(), {}).db == tmp_path / "data" / "voicecoach" / "history.sqlite3"


def test_the_catalog_cache_is_on_unless_the_environment_turns_it_off(config):
    config("")
    assert resolve_settings(args(), {}).catalog_cache is True
    assert resolve_settings(args(), {"VOICECOACH_NO_CATALOG_CACHE": "1"}).catalog_cache is False


def test_without_the_cache_the_catalog_is_compiled_and_nothing_is_kept(tmp_path, monkeypatch):
    from voicecoach.intents import load
    from voicecoach.intents.load import load_catalog

    kept_in = []
    real = load.cached
    monkeypatch.setattr(load, "default_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(load, "cached", lambda directory, build, cache_dir, **kw: (kept_in.append(cache_dir),
                                                                                    real(directory, build, cache_dir, **kw))[1])
    load_catalog.cache_clear()              # each call compiles (load_catalog keeps its last few)
    assert load_catalog(cache=False).intents
    load_catalog.cache_clear()
    assert load_catalog().intents
    load_catalog.cache_clear()
    assert kept_in == [None, tmp_path / "cache"]
