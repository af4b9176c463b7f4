"""Session history in SQLite: every session, exercise, side, hold or reps, pause, skip and pain.

Write-ahead logging and one transaction per event: a crash, Ctrl-C or kill -9 loses at most
the event being written and never corrupts the file. The schema is versioned
(PRAGMA user_version) and migrated forward on open. A damaged or locked database gives a
one-line reason, and the coach runs without history.

Files we did not create are never changed: our databases carry PRAGMA application_id, and a
file is checked before anything is written to it. A non-SQLite file, or another program's
SQLite file, is refused; a symlink is followed to its target, which is checked the same way.
The database is readable by its owner alone (0600), and a folder we create for it is 0700.
"""
from __future__ import annotations

import bisect
import datetime as dt
import json
import logging
import math
import os
import shlex
import sqlite3
import stat
import time
from collections.abc import Callable
from pathlib import Path

from voicecoach.coach.events import CoachEvent
from voicecoach.history.summary import PainReport, SessionSummary, SideResult

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
APPLICATION_ID = 0x56436F61      # "VCoa": marks a database as a voicecoach history
SQLITE_MAGIC = b"SQLite format 3\x00"
OUR_TABLES = {"sessions", "events", "results"}
PRIVATE_FILE, PRIVATE_FOLDER = 0o600, 0o700
WITHOUT_HISTORY = "; the coach runs without history"
CACHE_KIB = 256              # SQLite's page cache for the history, in KiB
LOCK_WAIT_SECONDS = 1.0      # how long to wait for another program to let go of the database


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("voicecoach")) / "history.sqlite3"


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
# Version 3: the questions about history read the most recent sessions only, by index.
V3 = [
    "CREATE INDEX sessions_started ON sessions(started_at)",
    "CREATE INDEX events_kind_at ON events(kind, at)",
]
MIGRATIONS: list[list[str]] = [V1, V2, V3]
PAGE_SESSIONS = 16           # the questions read the history this many sessions at a time, newest first
# Start times of the sessions that did something (a side done or cut short, pain reported in it
# or after it, before the next session), newest first: all the streak needs, by index.
ACTIVE_STARTS = """
    SELECT s.started_at FROM sessions s
    WHERE s.started_at <= ? AND s.id IS NOT ? AND (
        EXISTS (SELECT 1 FROM results r WHERE r.session_id = s.id)
        OR EXISTS (SELECT 1 FROM events e WHERE e.session_id = s.id AND e.kind IN ('pain_reported', 'side_partial'))
        OR EXISTS (SELECT 1 FROM events e WHERE e.session_id IS NULL AND e.kind = 'pain_reported'
                   AND e.at >= s.started_at
                   AND e.at < COALESCE((SELECT MIN(n.started_at) FROM sessions n WHERE n.started_at > s.started_at),
                                       9e999)))
    ORDER BY s.started_at DESC"""


class HistoryError(RuntimeError):
    """The history cannot be used; the message is one line."""


def connect(path: Path, timeout: float = LOCK_WAIT_SECONDS) -> sqlite3.Connection:
    """Open (creating if needed), check and migrate the database, or raise HistoryError.

    Nothing is written to a file until it is known to be ours (see `check_ownership`)."""
    db: sqlite3.Connection | None = None
    path = real_path(path)
    try:
        created = _create_private(path)
        check_ownership(path)
        db = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
        if not created:
            _check_tables(db, path)
            _make_private(path)
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: each committed event is on disk before record() returns, even if the power
        # goes; events come a few a minute, so the fsync costs nothing the user notices.
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        # A small page cache: events come a few a minute and reads want the last 60 sessions,
        # so SQLite's default 2 MB cache would only fill up over a long session, never pay back.
        db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        problem = db.execute("PRAGMA quick_check").fetchone()[0]
        if problem != "ok":
            raise sqlite3.DatabaseError(problem)
        _migrate(db, path)
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
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:    # bytes of the schema that are not text, too
        _close_quietly(db)
        reason = "text in it is not UTF-8" if isinstance(exc, UnicodeDecodeError) else _first_line(exc)
        raise HistoryError(damaged(path, reason)) from None
    except OSError as exc:
        _close_quietly(db)
        raise HistoryError(f"cannot create the history database {path}: {exc.strerror or exc}") from None


def real_path(path: Path) -> Path:
    """The file a path names: a symlink is followed to its target (which is then checked like
    any other file), so a link is never written through, nor deleted in place of its target."""
    path = Path(path).expanduser()
    if path.is_symlink():
        try:
            target = path.resolve()
        except (RuntimeError, OSError):     # a loop of links: opening it says so
            return path
        log.info("history: %s is a link to %s; using %s", path, target, target)
        return target
    return path


def _create_private(path: Path) -> bool:
    """Create the folder (0700) and an empty database file (0600) when missing; True if we made the file.

    An existing folder is made private only when it is our own data folder: a --db in /tmp or
    the home folder leaves that folder as it is."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=PRIVATE_FOLDER)
        os.chmod(folder, PRIVATE_FOLDER)       # mkdir's mode is cut by the umask
        log.info("history: created the folder %s (0700)", folder)
    elif folder == default_db_path().parent and stat.S_IMODE(folder.stat().st_mode) & 0o077:
        # Our own data folder (the default location) holds nothing but our files.
        os.chmod(folder, PRIVATE_FOLDER)
        log.info("history: made the folder %s private (0700)", folder)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    os.close(fd)
    log.info("history: created %s (0600)", path)
    return True


def _make_private(path: Path) -> None:
    """An existing history of ours that others can read (made by an older version) is made 0600;
    its -wal and -shm follow: SQLite gives them the database file's permissions."""
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = candidate.stat().st_mode
        except FileNotFoundError:
            continue
        if stat.S_IMODE(mode) & 0o077:
            os.chmod(candidate, PRIVATE_FILE)
            log.info("history: made %s private (0600)", candidate)


def check_ownership(path: Path) -> None:
    """Raise HistoryError unless `path` is missing, empty, or an SQLite file that is ours.

    Reads the SQLite header alone (offset 68 holds the application id); nothing is written."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise HistoryError(f"{path} is not a regular file; voicecoach leaves it alone (choose another --db)")
    with open(path, "rb") as file:
        header = file.read(100)
    if not header:
        return
    if not header.startswith(SQLITE_MAGIC):
        raise HistoryError(f"{path} is not a voicecoach history (not an SQLite database); "
                           "voicecoach leaves it alone (choose another --db)")
    application_id = int.from_bytes(header[68:72], "big") if len(header) >= 72 else 0
    if application_id not in (0, APPLICATION_ID):
        raise HistoryError(f"{path} is another program's SQLite database (application id {application_id}); "
                           "voicecoach leaves it alone (choose another --db)")


def _check_tables(db: sqlite3.Connection, path: Path) -> None:
    """An SQLite file without our id is ours only if it is empty or has our tables (written by a
    version before the id); anything else belongs to another program and is refused."""
    application_id = int(db.execute("PRAGMA application_id").fetchone()[0])
    if application_id == APPLICATION_ID:
        return
    if application_id != 0:
        raise HistoryError(f"{path} is another program's SQLite database (application id {application_id}); "
                           "voicecoach leaves it alone (choose another --db)")
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and not ({"sessions", "events"} <= tables <= OUR_TABLES):
        shown = ", ".join(sorted(tables)[:3]) + (", ..." if len(tables) > 3 else "")
        raise HistoryError(f"{path} is another program's SQLite database (tables {shown}); "
                           "voicecoach leaves it alone (choose another --db)")
    if tables:
        log.info("history: %s was written before databases carried an id; adopting it", path)


def damaged(path: Path, reason: str) -> str:
    """One line: the history at `path` is damaged, and how to set it aside."""
    return (f"the history database {path} is damaged ({reason}); set it aside to start afresh "
            f"(mv {shlex.quote(str(path))} {shlex.quote(str(path) + '.damaged')}, or voicecoach history --forget)")


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


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = schema_version(db)
    if version > SCHEMA_VERSION:
        raise HistoryError(f"the history database {path} is from a newer voicecoach (schema {version}, "
                           f"this one knows up to {SCHEMA_VERSION})")
    for number in range(version, SCHEMA_VERSION):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number]:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {number + 1}")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    if int(db.execute("PRAGMA application_id").fetchone()[0]) != APPLICATION_ID:
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")    # a current schema from before the id


class HistoryRecorder:
    """An EventListener that writes each event in its own transaction."""

    def __init__(self, db: sqlite3.Connection, path: Path, wall_clock: Callable[[], float] = time.time,
                 on_failure: Callable[[str], None] | None = None) -> None:
        self.db = db
        self.path = path
        self.wall_clock = wall_clock
        # Where a failed write (a full disk, a file gone read-only) is told at once, in one line;
        # recording then stops and the session goes on. None: the error is raised to the caller.
        self.on_failure = on_failure
        self.failed: str | None = None
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
        if self.failed is not None:
            return
        try:
            self._write(event)
        except (sqlite3.Error, OSError) as exc:
            if self.on_failure is None:
                raise
            self.failed = f"history disabled: cannot write to {self.path} ({_first_line(exc)}); the session goes on without it"
            log.debug("history: the write that failed: %r", event)
            self.on_failure(self.failed)

    def _write(self, event: CoachEvent) -> None:
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

    def sessions(self, limit: int | None = None, problems: list[str] | None = None) -> list[SessionSummary]:
        return read_sessions(self.db, limit, problems)

    # ----- what the coach asks of history ---------------------------------------------------

    def propose(self, content):
        """Today's proposal from history (None: the standard plan)."""
        from voicecoach.history.progression import propose_plan

        self.learn(content)
        return propose_plan(self.sessions(limit=60), content, self.wall_clock())

    def learn(self, content) -> None:
        """The exercises' spoken names and recalls, which the answers about history use."""
        self._names = {exercise.id: exercise.name for exercise in content.exercises.values()}
        self._recalls = {exercise.id: exercise.recall for exercise in content.exercises.values()
                         if exercise.recall and exercise.is_hold}

    def answer(self, what: str) -> str:
        """One or two spoken sentences: what is last_session, week, streak or progress. About the
        sessions before the one under way, read newest first and only as far back as the answer needs."""
        from voicecoach.history.answers import (
            answer_history_question,
            answer_streak,
            settled,
        )

        now = self.wall_clock()
        if what == "streak":
            return answer_streak(self._streak_starts(now), now)
        past = recent_sessions(self.db, lambda recent: settled(what, recent, now), exclude=self.session_id)
        return answer_history_question(what, past, now, self._names, self._recalls)

    def _streak_starts(self, now: float) -> list[float]:
        """Start times of the sessions that did something, oldest first, back to the first day
        without one (older ones cannot change the streak)."""
        starts: list[float] = []
        newest_day = dt_day(now)
        for (started_at,) in self.db.execute(ACTIVE_STARTS, (now, self.session_id)):
            if not _is_time(started_at):
                continue
            day = dt_day(started_at)
            if (newest_day - day).days > 1:          # a day without a session: the streak ends there
                if not starts:
                    starts.append(started_at)        # the last session, for "your last one was"
                break
            starts.append(started_at)
            newest_day = day
        return starts[::-1]

    def close(self) -> None:
        self.db.close()


def recent_sessions(db: sqlite3.Connection, enough: Callable[[list[SessionSummary]], bool],
                    exclude: int | None = None) -> list[SessionSummary]:
    """The most recent sessions, oldest first, read a page at a time going back until `enough`
    says older ones cannot matter, or none are left; `exclude` is a session left out (the one
    under way). Each page is a few indexed queries, whatever the size of the history."""
    out: list[SessionSummary] = []
    before: tuple[float, int] | None = None
    size = PAGE_SESSIONS
    while True:
        page, before = _read_page(db, size, before, None)
        out = [s for s in page if s.id != exclude] + out
        if before is None or enough(out):
            return out
        size *= 2


def dt_day(t: float) -> dt.date:
    """The local calendar day of a time, as the answers count days."""
    return dt.datetime.fromtimestamp(t).date()


def read_sessions(db: sqlite3.Connection, limit: int | None = None,
                  problems: list[str] | None = None) -> list[SessionSummary]:
    """The most recent sessions (all when limit is None), oldest first.

    A pain report made outside a session belongs to the session before it: it is what the
    user felt after that session, and the next plan should take it into account.

    With `problems` given, a damaged database (a table dropped, a time that is not a number)
    gives what can still be read, and a line a problem; without it, the error is raised.
    """
    return _read_page(db, limit, None, problems)[0]


def _read_page(db: sqlite3.Connection, limit: int | None, before: tuple[float, int] | None,
               problems: list[str] | None) -> tuple[list[SessionSummary], tuple[float, int] | None]:
    """Up to `limit` sessions older than `before` (a start time and id; None: the newest), oldest
    first, and where the page ends (None when no older session is left). A pain reported outside
    a session is read with the session before it, up to `before`."""
    def unreadable(what: str, exc: sqlite3.Error) -> None:
        if problems is None:
            raise exc
        problems.append(f"{what} cannot be read ({_first_line(exc)})")

    query = "SELECT id, started_at, ended_at, end_reason FROM sessions"
    args: list[object] = []
    if before is not None:
        query += " WHERE started_at < ? OR (started_at = ? AND id < ?)"
        args += [before[0], before[0], before[1]]
    query += " ORDER BY started_at DESC, id DESC"
    if limit:
        query += " LIMIT ?"
        args.append(int(limit))
    try:
        rows = db.execute(query, args).fetchall()
    except sqlite3.Error as exc:
        unreadable("sessions", exc)
        return [], None
    end = (rows[-1][1], rows[-1][0]) if limit and len(rows) == limit else None
    summaries: dict[int, SessionSummary] = {}
    for session_id, started_at, ended_at, end_reason in reversed(rows):
        if not _is_time(started_at):
            if problems is None:
                raise sqlite3.DatabaseError(f"session {session_id} has no usable start time ({started_at!r})")
            problems.append(f"session {session_id} is left out: its start time is not a time ({started_at!r})")
            continue
        summaries[session_id] = SessionSummary(session_id, float(started_at),
                                               float(ended_at) if _is_time(ended_at) else None, end_reason)
    if not summaries:
        return [], end
    ids = list(summaries)
    marks = ",".join("?" * len(ids))
    try:
        for session_id, exercise, side, amount in db.execute(
                f"SELECT session_id, exercise, side, amount FROM results WHERE session_id IN ({marks}) ORDER BY id", ids):
            summaries[session_id].done.append(SideResult(exercise, side, amount))
    except sqlite3.Error as exc:
        unreadable("what was done", exc)
    try:
        for session_id, kind, exercise, side, value in db.execute(
                f"SELECT session_id, kind, exercise, side, value FROM events WHERE session_id IN ({marks}) "
                "AND kind IN ('skipped', 'paused', 'resumed', 'side_partial') ORDER BY id", ids):
            summary = summaries[session_id]
            if kind == "side_partial" and exercise and _is_time(value):
                summary.partial.append(SideResult(exercise, side, value))
            elif kind == "skipped" and exercise:
                summary.skipped.append(exercise)
            elif kind == "paused":
                summary.pauses += 1
            elif kind == "resumed" and _is_time(value):
                summary.paused_seconds += value
    except sqlite3.Error as exc:
        unreadable("pauses and skips", exc)
    ordered = sorted(summaries.values(), key=lambda s: (s.started_at, s.id))
    starts = [s.started_at for s in ordered]
    first_start = ordered[0].started_at
    until = before[0] if before is not None else float("inf")
    try:
        # Reported in a session, and outside one (by the index on kind and time), in the order told.
        pains = db.execute(
            "SELECT id, session_id, at, exercise, detail FROM events WHERE kind = 'pain_reported' "
            f"AND session_id IN ({marks})", ids).fetchall()
        pains += db.execute(
            "SELECT id, session_id, at, exercise, detail FROM events WHERE kind = 'pain_reported' "
            "AND session_id IS NULL AND at >= ? AND at < ?", (first_start, until)).fetchall()
        for _, session_id, at, exercise, detail in sorted(pains):
            if not _is_time(at):
                continue
            owner = summaries.get(session_id) if session_id is not None else _session_before(ordered, starts, at)
            if owner is not None:
                owner.pains.append(PainReport(at, exercise, _pain_text(detail)))
    except sqlite3.Error as exc:
        unreadable("pain reports", exc)
    return ordered, end


def _is_time(value: object) -> bool:
    """A stored number that can be used as seconds (SQLite returns what was stored, any type)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _session_before(ordered: list[SessionSummary], starts: list[float], at: float) -> SessionSummary | None:
    """The last session started at or before `at` (`starts` are the sessions' start times, in order)."""
    k = bisect.bisect_right(starts, at)
    return ordered[k - 1] if k else None


def _pain_text(detail: str) -> str:
    try:
        value = json.loads(detail or "{}")
    except ValueError:
        return ""
    return str(value.get("text", "")) if isinstance(value, dict) else ""


def open_history(path: Path, wall_clock: Callable[[], float] = time.time, timeout: float = LOCK_WAIT_SECONDS,
                 on_failure: Callable[[str], None] | None = None) -> tuple[HistoryRecorder | None, str | None]:
    """The recorder, or None and a one-line reason (the coach then runs without history).
    `on_failure` hears, at once and in one line, a write that fails later (see HistoryRecorder)."""
    path = real_path(path)
    try:
        db = connect(path, timeout=timeout)
    except HistoryError as exc:
        return None, f"{exc}{WITHOUT_HISTORY}"
    return HistoryRecorder(db, path, wall_clock, on_failure), None


def forget(path: Path) -> list[Path]:
    """Delete the history database and its write-ahead files; the files deleted (none when there
    is no database). A symlink is followed: the history it points at is deleted, the link stays.

    Raises HistoryError, deleting nothing, unless the file is a voicecoach history."""
    target = real_path(path)
    if not target.exists():
        return []
    if not is_our_history(target):
        raise HistoryError(f"{target} is not a voicecoach history; nothing deleted")
    deleted = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        candidate = Path(f"{target}{suffix}")
        if candidate.exists():
            candidate.unlink()
            deleted.append(candidate)
    return deleted


def is_our_history(path: Path) -> bool:
    """The file carries our application id, or is a history from before the id (our schema and
    tables alone). Our id is read from the header; SQLite opens the file only when it has none."""
    try:
        check_ownership(path)
        with open(path, "rb") as file:
            header = file.read(100)
    except (HistoryError, OSError):
        return False
    if len(header) < 100:
        return False
    if int.from_bytes(header[68:72], "big") == APPLICATION_ID:
        return True
    try:
        db = sqlite3.connect(str(path))
    except sqlite3.Error:
        return False
    try:
        if int(db.execute("PRAGMA application_id").fetchone()[0]) == APPLICATION_ID:
            return True          # stamped in a write-ahead log not yet copied into the file
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return 1 <= schema_version(db) <= SCHEMA_VERSION and {"sessions", "events"} <= tables <= OUR_TABLES
    except sqlite3.Error:
        return False
    finally:
        db.close()
