"""Files we did not create are never changed: the history carries our application id, other files
are refused before anything is written, forget deletes only our history, links are followed, and
the database is private to its owner."""
from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from voicecoach.coach.events import CoachEvent
from voicecoach.history import commands
from voicecoach.history.store import APPLICATION_ID, connect, forget, open_history
from test_history_commands import run_history


def fingerprint(path: Path) -> tuple[str, list[str]]:
    """The file's bytes and what else lies in its folder: both must stay as they were."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(p.name for p in path.parent.iterdir())


def foreign_database(path: Path, application_id: int = 0) -> Path:
    other = sqlite3.connect(path)
    if application_id:
        other.execute(f"PRAGMA application_id = {application_id}")
    other.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    other.execute("INSERT INTO notes (body) VALUES ('my thesis outline')")
    other.commit()
    other.close()
    return path


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def vc(*args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, timeout=120, env=env)


# ----- our id, and refusing what is not ours ------------------------------------------------

def test_a_new_history_carries_our_application_id(tmp_path):
    path = tmp_path / "h.db"
    connect(path).close()
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert int.from_bytes(path.read_bytes()[68:72], "big") == APPLICATION_ID


def test_another_programs_database_with_an_id_is_refused_and_left_as_it_was(tmp_path):
    path = foreign_database(tmp_path / "other.db", application_id=0x12345678)
    before = fingerprint(path)
    recorder, reason = open_history(path)
    assert recorder is None
    assert reason.startswith(f"{path} is another program's SQLite database (application id {0x12345678})")
    assert "\n" not in reason and fingerprint(path) == before


def test_another_programs_database_without_an_id_is_refused_and_left_as_it_was(tmp_path):
    path = foreign_database(tmp_path / "other.db")
    before = fingerprint(path)
    recorder, reason = open_history(path)
    assert recorder is None and "another program's SQLite database (tables notes)" in reason
    assert fingerprint(path) == before
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"       # never switched to WAL
    assert {r[0] for r in db.execute("SELECT name FROM sqlite_master")} == {"notes"}


@pytest.mark.slow
def test_a_text_file_given_as_db_is_refused_by_every_command(tmp_path):
    thesis = tmp_path / "papers" / "thesis.txt"
    thesis.parent.mkdir()
    thesis.write_text("Chapter 1. The iliotibial band.\n" * 50)
    before = fingerprint(thesis)
    shown = vc("history", "--db", str(thesis))
    assert shown.returncode == 1 and shown.stderr.count("\n") == 1 and "not a voicecoach history" in shown.stderr
    forgot = vc("history", "--forget", "--yes", "--db", str(thesis))
    assert forgot.returncode == 1 and forgot.stderr == f"voicecoach: {thesis} is not a voicecoach history; nothing deleted\n"
    script = tmp_path / "s.txt"
    script.write_text("@1 start the stretch\n")
    simulated = vc("simulate", str(script), "--db", str(thesis))
    assert simulated.returncode == 0 and "not a voicecoach history" in simulated.stderr
    assert fingerprint(thesis) == before


def test_forget_refuses_another_programs_database(tmp_path, capsys):
    path = foreign_database(tmp_path / "other.db")
    before = fingerprint(path)
    assert run_history("--db", str(path), "--forget", "--yes") == 1
    assert "not a voicecoach history; nothing deleted" in capsys.readouterr().err
    assert fingerprint(path) == before


def test_a_history_written_before_the_id_is_adopted(tmp_path):
    from test_history_store import write_v1_database

    path = tmp_path / "old.db"
    write_v1_database(path)
    assert forget(tmp_path / "nothing.db") == []
    db = connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()
    assert forget(path) == [path]


# ----- forget says what it deleted, and follows links ------------------------------------------

def test_forget_names_every_file_it_deleted(tmp_path, capsys):
    path = tmp_path / "h.db"
    held = connect(path)          # left open: the -wal and -shm files stay
    held.execute("INSERT INTO sessions (started_at) VALUES (1.0)")
    assert run_history("--db", str(path), "--forget", "--yes") == 0
    out = capsys.readouterr().out
    assert out == f"History deleted: {path}, {path}-wal, {path}-shm.\n"
    held.close()


def test_forget_through_a_link_deletes_the_history_it_points_at_and_keeps_the_link(tmp_path, capsys):
    real = tmp_path / "real" / "h.db"
    connect(real).close()
    link = tmp_path / "link.db"
    link.symlink_to(real)
    assert run_history("--db", str(link), "--forget", "--yes") == 0
    assert capsys.readouterr().out == f"History deleted: {real}.\n"
    assert not real.exists() and link.is_symlink()


def test_a_history_that_is_a_link_is_written_in_its_target(tmp_path):
    real = tmp_path / "elsewhere" / "h.db"
    real.parent.mkdir()
    link = tmp_path / "h.db"
    link.symlink_to(real)                          # a dangling link: the history is made at its target
    recorder, reason = open_history(link)
    assert reason is None and recorder.path == real
    recorder.record(CoachEvent("session_started", 0.0))
    recorder.close()
    assert link.is_symlink() and real.is_file()
    assert sqlite3.connect(real).execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 1


def test_a_link_to_a_file_that_is_not_ours_is_refused(tmp_path):
    thesis = tmp_path / "thesis.txt"
    thesis.write_text("my thesis\n")
    link = tmp_path / "h.db"
    link.symlink_to(thesis)
    recorder, reason = open_history(link)
    assert recorder is None and f"{thesis} is not a voicecoach history" in reason
    assert thesis.read_text() == "my thesis\n" and link.is_symlink()


# ----- private to the user ----------------------------------------------------------------------

def test_the_database_is_0600_and_a_folder_it_needs_is_made_0700(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "h.db"
        recorder, reason = open_history(path)
        recorder.record(CoachEvent("session_started", 0.0))
        assert mode_of(path) == 0o600 and mode_of(path.parent) == 0o700
        assert mode_of(Path(f"{path}-wal")) == 0o600
        recorder.close()
    finally:
        os.umask(old)


def test_an_older_readable_history_is_made_private_but_a_folder_we_did_not_make_is_left_alone(tmp_path):
    path = tmp_path / "h.db"
    connect(path).close()
    os.chmod(path, 0o644)
    os.chmod(tmp_path, 0o755)
    connect(path).close()
    assert mode_of(path) == 0o600 and mode_of(tmp_path) == 0o755


def test_our_own_data_folder_is_made_private(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("VOICECOACH_DB", raising=False)
    folder = tmp_path / "data" / "voicecoach"
    folder.mkdir(parents=True, mode=0o755)
    os.chmod(folder, 0o755)
    connect(folder / "history.sqlite3").close()
    assert mode_of(folder) == 0o700 and mode_of(folder / "history.sqlite3") == 0o600


def test_the_prompt_names_the_target_of_a_link(tmp_path, capsys):
    real = tmp_path / "real.db"
    connect(real).close()
    link = tmp_path / "link.db"
    link.symlink_to(real)
    assert commands.forget_history(link, False, io.StringIO("n\n"), sys.stdout) == 1
    assert f"Delete all history in {real} (the link {link} points there)?" in capsys.readouterr().out
