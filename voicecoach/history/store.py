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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from voicecoach.coach.events import CoachEvent

ENV_DB = "VOICECOACH_DB"
SCHEMA_VERSION = 2


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
        session_id INTEGER REFERENCES sessions(id),
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
        WHERE kind = 'side_done' AND session_id IS NOT NULL AND exercise IS NOT NULL""",
]
MIGRATIONS: list[list[str]] = [V1, V2]


class HistoryError(RuntimeError):
    """The history cannot be used; the message is one line."""


def connect(path: Path, timeout: float = 1.0) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database, or raise HistoryError."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")     # safe against crashes of the process
        db.execute("PRAGMA foreign_keys=ON")
        _migrate(db)
        return db
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise HistoryError(f"the history database {path} is in use by another program") from None
        raise HistoryError(f"cannot open the history database {path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise HistoryError(f"the history database {path} is damaged ({exc}); move it away to start afresh") from None
    except OSError as exc:
        raise HistoryError(f"cannot create the history database {path}: {exc.strerror or exc}") from None


def _migrate(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryError(f"the history database is from a newer voicecoach (schema {version})")
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


@dataclass
class SessionSummary:
    id: int
    started_at: float
    ended_at: float | None
    end_reason: str | None
    results: dict[str, list[float]] = field(default_factory=dict)   # exercise -> amounts a side
    pains: list[str | None] = field(default_factory=list)           # exercise of each pain report
    skipped: list[str] = field(default_factory=list)

    @property
    def painful(self) -> bool:
        return bool(self.pains)


class HistoryRecorder:
    """An EventListener that writes each event in its own transaction."""

    def __init__(self, db: sqlite3.Connection, path: Path, wall_clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.path = path
        self.wall_clock = wall_clock
        self.session_id: int | None = None

    def record(self, event: CoachEvent) -> None:
        now = self.wall_clock()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if event.kind == "session_started":
                self.session_id = self.db.execute("INSERT INTO sessions (started_at) VALUES (?)", (now,)).lastrowid
            self.db.execute(
                "INSERT INTO events (session_id, at, kind, exercise, side, value, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.session_id, now, event.kind, event.exercise, event.side, event.value, json.dumps(event.detail)))
            if event.kind == "side_done" and self.session_id is not None and event.exercise:
                self.db.execute("INSERT INTO results (session_id, exercise, side, amount) VALUES (?, ?, ?, ?)",
                                (self.session_id, event.exercise, event.side, event.value or 0.0))
            if event.kind == "session_ended" and self.session_id is not None:
                self.db.execute("UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ?",
                                (now, event.detail.get("reason"), self.session_id))
                self.session_id = None
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    # ----- reading ------------------------------------------------------------------------

    def sessions(self, limit: int | None = None) -> list[SessionSummary]:
        """Recent sessions, oldest first."""
        rows = self.db.execute("SELECT id, started_at, ended_at, end_reason FROM sessions ORDER BY started_at DESC, id DESC"
                               + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        summaries = {r[0]: SessionSummary(*r) for r in reversed(rows)}
        if not summaries:
            return []
        marks = ",".join("?" * len(summaries))
        for session_id, exercise, amount in self.db.execute(
                f"SELECT session_id, exercise, amount FROM results WHERE session_id IN ({marks}) ORDER BY id", list(summaries)):
            summaries[session_id].results.setdefault(exercise, []).append(amount)
        for session_id, kind, exercise in self.db.execute(
                f"SELECT session_id, kind, exercise FROM events WHERE session_id IN ({marks}) AND kind IN "
                "('pain_reported', 'skipped') ORDER BY id", list(summaries)):
            (summaries[session_id].pains if kind == "pain_reported" else summaries[session_id].skipped).append(exercise)
        return list(summaries.values())

    def pain_reports_outside_sessions(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM events WHERE kind = 'pain_reported' AND session_id IS NULL").fetchone()[0]

    # ----- what the coach asks of history ---------------------------------------------------

    def propose(self, content):
        from voicecoach.history.progression import load_rules, propose_plan

        return propose_plan(self.sessions(limit=30), content, load_rules(), self.wall_clock())

    def answer(self, what: str) -> str:
        from voicecoach.history.answers import answer_history_question

        return answer_history_question(what, self.sessions(), self.wall_clock())

    def close(self) -> None:
        self.db.close()


def open_history(path: Path) -> tuple[HistoryRecorder | None, str | None]:
    """The recorder, or None and a one-line reason (the coach then runs without history)."""
    try:
        db = connect(path)
        db.execute("BEGIN IMMEDIATE")       # fails fast when another process holds the lock
        db.execute("COMMIT")
    except HistoryError as exc:
        return None, f"{exc}; the coach runs without history"
    except sqlite3.OperationalError:
        return None, f"the history database {path} is in use by another program; the coach runs without history"
    return HistoryRecorder(db, path), None


def forget(path: Path) -> None:
    """Delete the history database and its write-ahead files."""
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            candidate.unlink()
