"""A write that fails (a full disk, a file gone read-only) is told at once in one line; history is
then off and the session goes on. The failure is injected with a connection that refuses writes."""
from __future__ import annotations

import io
import sqlite3
import sys

import pytest

from voicecoach import cli
from voicecoach.coach.events import CoachEvent
from voicecoach.history import store

FULL = "database or disk is full"


class FullDisk:
    """A connection whose writes fail once `room` of them have been made, as on a full disk."""

    def __init__(self, db: sqlite3.Connection, room: int) -> None:
        self._db, self.room, self.refused = db, room, 0

    def execute(self, sql: str, *params):
        if sql.lstrip().upper().startswith(("INSERT", "UPDATE")):
            if self.room <= 0:
                self.refused += 1
                raise sqlite3.OperationalError(FULL)
            self.room -= 1
        return self._db.execute(sql, *params)

    def __getattr__(self, name: str):
        return getattr(self._db, name)


@pytest.fixture(autouse=True)
def _logging_restored(restore_logging):
    """Every test here runs cli.main, which sets up logging."""


@pytest.fixture
def full_disk(monkeypatch, tmp_path):
    """Every history opened from now on fills up after `room` writes."""
    monkeypatch.setenv("VOICECOACH_CONFIG", str(tmp_path / "none.yaml"))
    opened: list[FullDisk] = []
    real_connect = store.connect

    def set_room(room: int) -> list[FullDisk]:
        def connect(path, timeout=store.LOCK_WAIT_SECONDS):
            opened.append(FullDisk(real_connect(path, timeout), room))
            return opened[-1]
        monkeypatch.setattr(store, "connect", connect)
        return opened
    return set_room


def test_a_failed_write_is_told_once_and_recording_stops(tmp_path):
    told: list[str] = []
    recorder, _ = store.open_history(tmp_path / "h.db", on_failure=told.append)
    recorder.db = FullDisk(recorder.db, room=2)
    recorder.record(CoachEvent("session_started", 0.0))            # two writes: the session and its event
    for t in range(5):
        recorder.record(CoachEvent("side_done", float(t), "it_band_stretch", "left", 30.0))
    assert told == [f"history disabled: cannot write to {tmp_path / 'h.db'} ({FULL}); the session goes on without it"]
    assert recorder.db.refused == 1 and not recorder.db.in_transaction


def test_simulate_says_at_once_that_the_disk_is_full_and_the_session_goes_on(tmp_path, capsys, full_disk):
    script = tmp_path / "s.txt"
    script.write_text("@1 start the stretch\n")
    assert cli.main(["simulate", str(script)]) == 0
    without_history = capsys.readouterr().out
    opened = full_disk(3)
    assert cli.main(["simulate", str(script), "--db", str(tmp_path / "h.db")]) == 0
    captured = capsys.readouterr()
    assert captured.err == (f"voicecoach: history disabled: cannot write to {tmp_path / 'h.db'} ({FULL}); "
                            "the session goes on without it\n")
    assert captured.out == without_history and "That's all for the IT band stretch." in captured.out
    assert opened[0].refused == 1


def test_text_mode_says_it_at_once_not_at_exit(tmp_path, monkeypatch, full_disk):
    full_disk(0)                                   # the very first write fails: when the routine starts
    merged = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO("start the stretch\nwhat is the IT band\n"))
    monkeypatch.setattr(sys, "stdout", merged)
    monkeypatch.setattr(sys, "stderr", merged)
    assert cli.main(["--text", "--db", str(tmp_path / "h.db")]) == 0
    lines = merged.getvalue().splitlines()
    problem = [i for i, line in enumerate(lines) if "history disabled" in line]
    assert len(problem) == 1 and FULL in lines[problem[0]]
    started = lines.index("coach: Let's do the IT band stretch.")
    assert problem[0] < started < len(lines) - 2         # told before the coach went on, not at exit
