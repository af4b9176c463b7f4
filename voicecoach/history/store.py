"""Session history in SQLite: every session, exercise, side, hold or reps, pause, skip and pain.

Write-ahead logging and one transaction per event: a crash, Ctrl-C or kill -9 loses at most
the event being written and never corrupts the file. The schema is versioned
(PRAGMA user_version) and migrated forward on open. A damaged or locked database gives a
one-line reason, and the coach runs without history.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Callable

from voicecoach.coach.events import CoachEvent
from voicecoach.history.summary import PainReport, SessionSummary, SideResult

ENV_DB = "VOICECOACH_DB"
SCHEMA_VERSION = 2
LOCK_WAIT_SECONDS = 1.0      # how long to wait for another program to let go of the database


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("voicecoach")) / "history.sqlite3"


def resolve_db_path(flag: str | None = None) -> Path:
    """--db, then $VOICECOACH_DB, then `db:` in the config file, then the user's data directory."""
    from voicecoach.config import ConfigError, setting

    try:
        chosen, _ = setting("db", flag, ENV_DB)
    except ConfigError:
        chosen = flag or os.environ.get(ENV_DB)
    return Path(str(chosen)).expanduser() if chosen else default_db_path()


# Each migration is a list of statements run in one transaction with the version bump.
# (sqlite3's executescript would commit on its own, so statements go one at a time.)
V1 = [
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,          -- seconds since the epoch
        ended_at REAL,
        end_reason TEXT
    )""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER REFERENCES sessions(id),   -- NULL: outside a session (e.g. pain while idle)
        at REAL NOT NULL,                  -- seconds since the epoch
        kind TEXT NOT NULL,
        exercise TEXT,
        side TEXT,
        value REAL,
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX events_session ON events(session_id)",
]
# Version 2: results a side at a time, so progress queries need not scan every event.
# Databases written by version 1 get their results filled in from their events.
V2 = [
    """CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        exercise TEXT NOT NULL,
        side TEXT,
        amount REAL NOT NULL               -- seconds held, or reps done
    )""",
    "CREATE INDEX results_session ON results(session_id)",
    """INSERT INTO results (session_id, exercise, side, amount)
        SELECT session_id, exercise, side, value FROM events
        WHERE kind = 'side_done' AND session_id IS NOT NULL AND exercise IS NOT NULL AND value IS NOT NULL
        ORDER BY id""",
]
MIGRATIONS: list[list[str]] = [V1, V2]


class HistoryError(RuntimeError):
    """The history cannot be used; the message is one line."""


def connect(path: Path, timeout: float = LOCK_WAIT_SECONDS) -> sqlite3.Connection:
    """Open (creating if needed), check and migrate the database, or raise HistoryError."""
    db: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: each committed event is on disk before record() returns, even if the power
        # goes; events come a few a minute, so the fsync costs nothing the user notices.
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        problem = db.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise sqlite3.DatabaseError(problem)
        _migrate(db)
        # Take the write lock once, so a database held by another program shows up now
        # rather than at the first exercise.
        db.execute("BEGIN IMMEDIATE")
        db.execute("COMMIT")
        return db
    except HistoryError:
        _close_quietly(db)
        raise
    except sqlite3.OperationalError as exc:
        _close_quietly(db)
        if "locked" in str(exc) or "busy" in str(exc):
            raise HistoryError(f"the history database {path} is in use by another program") from None
        raise HistoryError(f"cannot open the history database {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        _close_quietly(db)
        raise HistoryError(f"the history database {path} is damaged ({_first_line(exc)}); "
                           "move it away to start afresh") from None
    except OSError as exc:
        _close_quietly(db)
        raise HistoryError(f"cannot create the history database {path}: {exc.strerror or exc}") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _close_quietly(db: sqlite3.Connection | None) -> None:
    if db is not None:
        try:
            db.close()
        except sqlite3.Error:
            pass


def schema_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def _migrate(db: sqlite3.Connection) -> None:
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise HistoryError(f"the history database is from a newer voicecoach (schema {version}, "
                           f"this one knows up to {SCHEMA_VERSION})")
    for number in range(version, SCHEMA_VERSION):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number]:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise


class HistoryRecorder:
    """An EventListener that writes each event in its own transaction."""

    def __init__(self, db: sqlite3.Connection, path: Path, wall_clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.path = path
        self.wall_clock = wall_clock
        self.session_id: int | None = None
        self._names: dict[str, str] = {}        # exercise id -> spoken name, once content is seen
        self._recalls: dict[str, str] = {}      # exercise id -> "holding the stretch for {amount}"
        self._origin: tuple[float, float] | None = None   # (wall time, session clock) at session start

    def _time_of(self, event: CoachEvent) -> float:
        """Wall time of an event: within a session, the start's wall time plus the session clock's
        progress, so a simulated session on a virtual clock is stored with its own pace."""
        if event.kind == "session_started" or self._origin is None:
            wall = self.wall_clock()
            self._origin = (wall, event.t) if event.kind == "session_started" else None
            return wall
        wall, t0 = self._origin
        return wall + max(0.0, event.t - t0)

    def record(self, event: CoachEvent) -> None:
        now = self._time_of(event)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if event.kind == "session_started":
                self.session_id = self.db.execute("INSERT INTO sessions (started_at) VALUES (?)", (now,)).lastrowid
            self.db.execute(
                "INSERT INTO events (session_id, at, kind, exercise, side, value, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.session_id, now, event.kind, event.exercise, event.side, event.value,
                 json.dumps(event.detail, default=str)))
            if event.kind == "side_done" and self.session_id is not None and event.exercise and event.value is not None:
                self.db.execute("INSERT INTO results (session_id, exercise, side, amount) VALUES (?, ?, ?, ?)",
                                (self.session_id, event.exercise, event.side, float(event.value)))
            if event.kind == "session_ended" and self.session_id is not None:
                self.db.execute("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ?",
                                (now, event.detail.get("reason"), self.session_id))
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        if event.kind == "session_ended":
            self.session_id = None
            self._origin = None

    # ----- reading ------------------------------------------------------------------------

    def sessions(self, limit: int | None = None) -> list[SessionSummary]:
        return read_sessions(self.db, limit)

    # ----- what the coach asks of history ---------------------------------------------------

    def propose(self, content):
        """Today's proposal from history (None: the standard plan)."""
        from voicecoach.history.progression import propose_plan

        self._names = {exercise.id: exercise.name for exercise in content.exercises.values()}
        self._recalls = {exercise.id: exercise.recall for exercise in content.exercises.values()
                         if exercise.recall and exercise.is_hold}
        return propose_plan(self.sessions(limit=60), content, self.wall_clock())

    def answer(self, what: str) -> str:
        """One or two spoken sentences: what is last_session, week or streak."""
        from voicecoach.history.answers import answer_history_question

        return answer_history_question(what, self.sessions(), self.wall_clock(), self._names, self._recalls)

    def close(self) -> None:
        self.db.close()


def read_sessions(db: sqlite3.Connection, limit: int | None = None) -> list[SessionSummary]:
    """The most recent sessions (all when limit is None), oldest first.

    A pain report made outside a session belongs to the session before it: it is what the
    user felt after that session, and the next plan should take it into account.
    """
    query = "SELECT id, started_at, ended_at, end_reason FROM sessions ORDER BY started_at DESC, id DESC"
    rows = db.execute(query + (" LIMIT ?" if limit else ""), (int(limit),) if limit else ()).fetchall()
    summaries = {r[0]: SessionSummary(*r) for r in reversed(rows)}
    if not summaries:
        return []
    ids = list(summaries)
    marks = ",".join("?" * len(ids))
    for session_id, exercise, side, amount in db.execute(
            f"SELECT session_id, exercise, side, amount FROM results WHERE session_id IN ({marks}) ORDER BY id", ids):
        summaries[session_id].done.append(SideResult(exercise, side, amount))
    for session_id, kind, exercise, side, value in db.execute(
            f"SELECT session_id, kind, exercise, side, value FROM events WHERE session_id IN ({marks}) "
            "AND kind IN ('skipped', 'paused', 'resumed', 'side_partial') ORDER BY id", ids):
        summary = summaries[session_id]
        if kind == "side_partial" and exercise and value:
            summary.partial.append(SideResult(exercise, side, value))
        elif kind == "skipped" and exercise:
            summary.skipped.append(exercise)
        elif kind == "paused":
            summary.pauses += 1
        elif kind == "resumed" and value:
            summary.paused_seconds += value
    ordered = sorted(summaries.values(), key=lambda s: (s.started_at, s.id))
    first_start = ordered[0].started_at
    for session_id, at, exercise, detail in db.execute(
            "SELECT session_id, at, exercise, detail FROM events WHERE kind = 'pain_reported' "
            f"AND (session_id IN ({marks}) OR (session_id IS NULL AND at >= ?)) ORDER BY id", ids + [first_start]):
        owner = summaries.get(session_id) if session_id is not None else _session_before(ordered, at)
        if owner is not None:
            owner.pains.append(PainReport(at, exercise, _pain_text(detail)))
    return ordered


def _session_before(ordered: list[SessionSummary], at: float) -> SessionSummary | None:
    before = [s for s in ordered if s.started_at <= at]
    return before[-1] if before else None


def _pain_text(detail: str) -> str:
    try:
        value = json.loads(detail or "{}")
    except ValueError:
        return ""
    return str(value.get("text", "")) if isinstance(value, dict) else ""


def open_history(path: Path, wall_clock: Callable[[], float] = time.time,
                 timeout: float = LOCK_WAIT_SECONDS) -> tuple[HistoryRecorder | None, str | None]:
    """The recorder, or None and a one-line reason (the coach then runs without history)."""
    try:
        db = connect(Path(path), timeout=timeout)
    except HistoryError as exc:
        return None, f"{exc}; the coach runs without history"
    return HistoryRecorder(db, Path(path), wall_clock), None


def forget(path: Path) -> list[Path]:
    """Delete the history database and its write-ahead files; the files deleted."""
    deleted = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            candidate.unlink()
            deleted.append(candidate)
    return deleted
