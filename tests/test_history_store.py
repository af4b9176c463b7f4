"""The history store: recording events, reading sessions, migrations, damaged and locked files,
and durability when the writing process is killed."""
from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, default_signals
from voicecoach.coach.events import CoachEvent
from voicecoach.history.store import (
    APPLICATION_ID, SCHEMA_VERSION, V1, HistoryRecorder, PainReport, SideResult, connect, forget, open_history, read_sessions,
    schema_version,
)

START = 1_800_000_000.0


class FakeWallClock:
    def __init__(self, t: float = START) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def ev(kind: str, exercise: str | None = None, side: str | None = None, value: float | None = None, **detail) -> CoachEvent:
    return CoachEvent(kind, 0.0, exercise, side, value, detail)


ONE_SESSION = [
    ev("session_started", plan=["foam_rolling", "it_band_stretch"]),
    ev("exercise_started", "foam_rolling"),
    ev("side_done", "foam_rolling", "left", 60.0),
    ev("paused", "foam_rolling"),
    ev("resumed", "foam_rolling", value=12.5),
    ev("side_done", "foam_rolling", "right", 60.0),
    ev("exercise_done", "foam_rolling"),
    ev("exercise_started", "it_band_stretch"),
    ev("side_done", "it_band_stretch", "left", 35.0),
    ev("pain_reported", "it_band_stretch", text="my knee hurts"),
    ev("skipped", "it_band_stretch"),
    ev("session_ended", reason="pain"),
]


def recorder_at(path: Path, clock: FakeWallClock) -> HistoryRecorder:
    recorder, reason = open_history(path, wall_clock=clock)
    assert reason is None and recorder is not None
    return recorder


def play(recorder: HistoryRecorder, clock: FakeWallClock, events: list[CoachEvent], step: float = 10.0) -> None:
    """Record `events` `step` seconds apart on both the session clock and the wall clock."""
    session_t = 100.0
    for event in events:
        recorder.record(dataclasses.replace(event, t=session_t))
        clock.t += step
        session_t += step


def test_times_within_a_session_follow_the_session_clock(tmp_path):
    clock = FakeWallClock()
    recorder = recorder_at(tmp_path / "h.db", clock)
    recorder.record(CoachEvent("session_started", 5.0))
    clock.t += 1.0                 # a virtual clock runs ahead of the wall clock
    recorder.record(CoachEvent("pain_reported", 65.0, "glute_bridge"))
    recorder.record(CoachEvent("session_ended", 95.0, detail={"reason": "pain"}))
    clock.t += 1.0
    recorder.record(CoachEvent("pain_reported", 0.0))          # outside a session: the wall clock
    [s] = recorder.sessions()
    assert (s.started_at, s.ended_at) == (START, START + 90)
    assert [p.at for p in s.pains] == [START + 60, START + 2]


def test_a_session_is_recorded_side_by_side_with_pauses_skips_and_pain(tmp_path):
    clock = FakeWallClock()
    recorder = recorder_at(tmp_path / "h.db", clock)
    play(recorder, clock, ONE_SESSION)
    [s] = recorder.sessions()
    assert s.started_at == START and s.ended_at == START + 110 and s.end_reason == "pain"
    assert s.done == [SideResult("foam_rolling", "left", 60.0), SideResult("foam_rolling", "right", 60.0),
                      SideResult("it_band_stretch", "left", 35.0)]
    assert s.results == {"foam_rolling": [60.0, 60.0], "it_band_stretch": [35.0]}
    assert s.pains == [PainReport(START + 90, "it_band_stretch", "my knee hurts")]
    assert s.skipped == ["it_band_stretch"] and s.pauses == 1 and s.paused_seconds == 12.5
    kinds = [row[0] for row in recorder.db.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds == [e.kind for e in ONE_SESSION]
    assert recorder.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert recorder.session_id is None


def test_sessions_come_oldest_first_and_limit_keeps_the_latest(tmp_path):
    clock = FakeWallClock()
    recorder = recorder_at(tmp_path / "h.db", clock)
    for hold in (30.0, 35.0, 40.0):
        play(recorder, clock, [ev("session_started"), ev("side_done", "it_band_stretch", "left", hold),
                               ev("session_ended", reason="done")])
        clock.t += 86400
    assert [s.results["it_band_stretch"] for s in recorder.sessions()] == [[30.0], [35.0], [40.0]]
    assert [s.results["it_band_stretch"] for s in recorder.sessions(limit=2)] == [[35.0], [40.0]]


def test_pain_reported_between_sessions_belongs_to_the_session_before(tmp_path):
    clock = FakeWallClock()
    recorder = recorder_at(tmp_path / "h.db", clock)
    recorder.record(ev("pain_reported", text="before any session"))        # nothing to belong to
    clock.t += 30
    play(recorder, clock, [ev("session_started"), ev("side_done", "glute_bridge", None, 10.0),
                           ev("session_ended", reason="done")])
    clock.t += 3600
    recorder.record(ev("pain_reported", text="it hurts now"))
    [s] = recorder.sessions()
    assert s.pains == [PainReport(START + 3660, None, "it hurts now")] and s.painful
    assert recorder.db.execute("SELECT COUNT(*) FROM events WHERE kind = 'pain_reported'").fetchone()[0] == 2


def test_a_session_cut_off_without_an_end_is_kept(tmp_path):
    path = tmp_path / "h.db"
    clock = FakeWallClock()
    first = recorder_at(path, clock)
    play(first, clock, ONE_SESSION[:3])
    first.close()
    again = recorder_at(path, clock)
    [s] = again.sessions()
    assert s.ended_at is None and s.results == {"foam_rolling": [60.0]}


def test_a_failed_event_is_rolled_back_whole(tmp_path):
    clock = FakeWallClock()
    recorder = recorder_at(tmp_path / "h.db", clock)
    recorder.record(ev("session_started"))
    recorder.db.execute("CREATE TRIGGER no_results BEFORE INSERT ON results BEGIN SELECT RAISE(ABORT, 'full disk'); END")
    with pytest.raises(sqlite3.DatabaseError):
        recorder.record(ev("side_done", "it_band_stretch", "left", 30.0))
    assert recorder.db.execute("SELECT COUNT(*) FROM events WHERE kind = 'side_done'").fetchone()[0] == 0
    assert not recorder.db.in_transaction


# ----- where the database lives -------------------------------------------------------------

def test_the_data_directory_is_created(tmp_path):
    recorder, reason = open_history(tmp_path / "new" / "dir" / "h.db")
    assert reason is None and (tmp_path / "new" / "dir" / "h.db").exists()


# ----- migrations -----------------------------------------------------------------------------

def write_v1_database(path: Path) -> None:
    """A database as version 1 left it: sessions and events, no results table."""
    old = sqlite3.connect(path)
    for statement in V1:
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO sessions (id, started_at, ended_at, end_reason) VALUES (1, 1000.0, 1400.0, 'done')")
    rows = [(1, 1001, "session_started", None, None, None), (1, 1100, "side_done", "foam_rolling", "left", 60),
            (1, 1200, "side_done", "foam_rolling", "right", 45), (1, 1300, "pain_reported", "foam_rolling", None, None)]
    old.executemany("INSERT INTO events (session_id, at, kind, exercise, side, value) VALUES (?, ?, ?, ?, ?, ?)", rows)
    old.commit()
    old.close()


def test_a_version_1_database_is_migrated_keeping_its_data(tmp_path):
    path = tmp_path / "old.db"
    write_v1_database(path)
    db = connect(path)
    assert schema_version(db) == SCHEMA_VERSION == 3
    [s] = read_sessions(db)
    assert s.done == [SideResult("foam_rolling", "left", 60.0), SideResult("foam_rolling", "right", 45.0)]
    assert s.pains[0].exercise == "foam_rolling" and s.end_reason == "done"
    recorder = HistoryRecorder(db, path, FakeWallClock(2000.0))
    recorder.record(ev("session_started"))
    recorder.record(ev("side_done", "glute_bridge", None, 10.0))
    assert [x.results for x in recorder.sessions()] == [{"foam_rolling": [60.0, 45.0]}, {"glute_bridge": [10.0]}]


def test_a_new_database_gets_every_migration(tmp_path):
    db = connect(tmp_path / "h.db")
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"sessions", "events", "results"} and schema_version(db) == 3


def test_a_migration_that_fails_leaves_the_old_schema_untouched(tmp_path, monkeypatch):
    from voicecoach.history import store

    path = tmp_path / "old.db"
    write_v1_database(path)
    monkeypatch.setattr(store, "MIGRATIONS", [V1, store.V2[:1] + ["INSERT INTO no_such_table VALUES (1)"]])
    recorder, reason = open_history(path)
    assert recorder is None and "no_such_table" in reason
    old = sqlite3.connect(path)
    assert schema_version(old) == 1
    assert "results" not in {row[0] for row in old.execute("SELECT name FROM sqlite_master")}


def test_a_database_from_a_newer_version_is_left_alone(tmp_path):
    path = tmp_path / "new.db"
    newer = sqlite3.connect(path)
    newer.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    newer.execute("PRAGMA user_version = 9")
    newer.close()
    recorder, reason = open_history(path)
    assert recorder is None and reason == (f"the history database {path} is from a newer voicecoach (schema 9, this one "
                                           "knows up to 3); the coach runs without history")


# ----- damaged and locked files ---------------------------------------------------------------

def test_a_file_that_is_not_a_database_gives_one_line_and_no_recorder(tmp_path):
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not a database at all" * 100)
    recorder, reason = open_history(path)
    assert recorder is None
    assert reason == (f"{path} is not a voicecoach history (not an SQLite database); voicecoach leaves it alone "
                      "(choose another --db); the coach runs without history")
    assert path.read_bytes() == b"this is not a database at all" * 100      # left as it was


def test_a_database_with_damaged_pages_gives_one_line_and_no_recorder(tmp_path):
    path = tmp_path / "h.db"
    clock = FakeWallClock()
    recorder = recorder_at(path, clock)
    for i in range(300):
        recorder.record(ev("side_done", "it_band_stretch", "left", float(i), text="x" * 200))
    recorder.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    recorder.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    data[2 * page:5 * page] = b"\xff" * (3 * page)          # smash pages of the events table
    path.write_bytes(bytes(data))
    recorder, reason = open_history(path)
    assert recorder is None and "is damaged" in reason and "\n" not in reason


def test_a_locked_database_gives_one_line_and_no_recorder(tmp_path):
    path = tmp_path / "h.db"
    holder = connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        recorder, reason = open_history(path, timeout=0.0)
        assert recorder is None
        assert reason == f"the history database {path} is in use by another program; the coach runs without history"
    finally:
        holder.execute("ROLLBACK")
    recorder, reason = open_history(path, timeout=0.0)
    assert recorder is not None and reason is None


def test_a_database_in_an_unwritable_place_gives_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    recorder, reason = open_history(blocker / "h.db")
    assert recorder is None and reason.startswith(f"cannot create the history database {blocker / 'h.db'}")


def test_forget_deletes_the_database_and_its_write_ahead_files(tmp_path):
    path = tmp_path / "h.db"
    clock = FakeWallClock()
    recorder = recorder_at(path, clock)
    play(recorder, clock, ONE_SESSION)
    assert Path(f"{path}-wal").exists()
    recorder.close()
    connect(path)      # left open: the -wal and -shm files stay
    deleted = forget(path)
    assert path in deleted and not path.exists() and not Path(f"{path}-wal").exists()


# ----- durability: a real process killed while it writes --------------------------------------

WRITER = """
import itertools, pathlib, sys
from voicecoach.coach.events import CoachEvent
from voicecoach.history.store import open_history
recorder, reason = open_history(pathlib.Path(sys.argv[1]))
assert recorder is not None, reason
recorder.record(CoachEvent("session_started", 0.0))
for i in itertools.count():
    recorder.record(CoachEvent("side_done", float(i), "it_band_stretch", "left", float(i)))
    if i == 100:
        print("ready", flush=True)
"""


def run_writer_and_signal(path: Path, signum: int) -> int:
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, cwd=REPO, preexec_fn=default_signals)
    try:
        assert child.stdout.readline().strip() == "ready"
        os.kill(child.pid, signum)
        return child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def check_whole(path: Path) -> int:
    """The file is sound and every event is whole: its event row and its result, or neither."""
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    amounts = [row[0] for row in db.execute("SELECT amount FROM results ORDER BY id")]
    events = [row[0] for row in db.execute("SELECT value FROM events WHERE kind = 'side_done' ORDER BY id")]
    assert len(amounts) >= 101
    assert amounts == events == [float(i) for i in range(len(amounts))]
    db.close()
    return len(amounts)


def test_kill_9_while_writing_never_corrupts_and_loses_at_most_the_event_in_flight(tmp_path):
    path = tmp_path / "h.db"
    assert run_writer_and_signal(path, signal.SIGKILL) == -signal.SIGKILL
    assert Path(f"{path}-wal").stat().st_size > 0        # the killed writer left work to recover
    written = check_whole(path)
    recorder, reason = open_history(path)                # and the coach goes on with it
    assert reason is None
    recorder.record(CoachEvent("session_started", 0.0))
    recorder.record(CoachEvent("side_done", 0.0, "it_band_stretch", "left", 30.0))
    assert [len(s.done) for s in recorder.sessions()] == [written, 1]


def test_ctrl_c_while_writing_never_corrupts_and_loses_at_most_the_event_in_flight(tmp_path):
    path = tmp_path / "h.db"
    assert run_writer_and_signal(path, signal.SIGINT) != 0
    check_whole(path)


def test_the_page_cache_is_small_so_a_long_session_does_not_grow():
    """SQLite's default cache (2 MB) fills as the history grows: memory rises with every line typed
    until it is full. bench/history_memory.py shows the 20,000-line run flat with this cap."""
    import tempfile

    from voicecoach.history.store import CACHE_KIB

    with tempfile.TemporaryDirectory() as folder:
        db = connect(Path(folder) / "h.db")
        assert db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB <= -64
        db.close()


# ----- answers from the most recent sessions ---------------------------------------------------

def _bench_history():
    from bench import history_answers

    return history_answers


@pytest.mark.parametrize("every_day", [False, True])
def test_answers_from_the_recent_sessions_are_the_answers_from_all_of_them(tmp_path, every_day):
    from voicecoach.history.answers import WHAT, answer_history_question

    bench = _bench_history()
    path = tmp_path / "h.db"
    bench.build(path, 400, every_day, seed=7)
    recorder = HistoryRecorder(connect(path), path, wall_clock=lambda: bench.NOW)
    for days_later in (0, 1, 3, 9):
        now = bench.NOW + days_later * 86400
        recorder.wall_clock = lambda: now
        for what in WHAT:
            assert recorder.answer(what) == answer_history_question(what, read_sessions(recorder.db), now), what
    recorder.close()


def test_a_pain_felt_after_a_session_belongs_to_it_when_read_a_page_at_a_time(tmp_path):
    from voicecoach.history.store import recent_sessions

    db = connect(tmp_path / "h.db")
    for k in range(40):
        session_id = db.execute("INSERT INTO sessions (started_at, ended_at) VALUES (?, ?)",
                                (1000.0 + 100 * k, 1050.0 + 100 * k)).lastrowid
        db.execute("INSERT INTO events (session_id, at, kind) VALUES (NULL, ?, 'pain_reported')", (1060.0 + 100 * k,))
        assert session_id == k + 1
    everything = read_sessions(db)
    paged = recent_sessions(db, lambda recent: False)
    assert [(s.id, [p.at for p in s.pains]) for s in paged] == [(s.id, [p.at for p in s.pains]) for s in everything]
    assert all(len(s.pains) == 1 for s in paged)
