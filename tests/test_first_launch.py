"""A user's first launch in voice mode: the greeting comes before what it does not need.

The sound system, the voice, the recognizer and hearing are stand-ins; the session, the
history and the typed lines are the real ones. When the first line is said, no history
database exists yet and the intent catalog is not made; both come after it, and a line
typed meanwhile is answered once they are ready."""
from __future__ import annotations

import argparse
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from voicecoach import app
from voicecoach.cli import _history, _reading, build_parser
from voicecoach.coach.events import CoachEvent
from voicecoach.content.loader import load_content
from voicecoach.history.later import HistoryLater
from voicecoach.history.store import (
    SCHEMA_VERSION,
    is_our_history,
    open_history,
    read_sessions,
)
from voicecoach.settings import resolve_settings
from voicecoach.voice.speaker import SpeakerBase

FIRST_TIME_OFFER = "Shall we start the routine?"


class Voice(SpeakerBase):
    """Says nothing aloud: keeps each line, and what was on disk and made when the first came."""

    def __init__(self, db: Path, made: threading.Event) -> None:
        self.db, self.made = db, made
        self.lines: list[str] = []
        self.at_first_line: tuple[bool, bool] | None = None     # (database file exists, catalog made)

    def speak(self, reply) -> None:
        if self.at_first_line is None:
            self.at_first_line = (self.db.exists(), self.made.is_set())
        self.lines.append(reply.text)

    def stop(self) -> None:
        """Nothing to silence."""

    @property
    def speaking(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing to release."""


class Loop:
    """Hearing that hears nothing; it ends by itself after a while, should the test go wrong."""

    def start(self, source, hear, tell, clock) -> None:
        from voicecoach.hearing.loop import ListenEnded

        self._timer = threading.Timer(20.0, lambda: hear(ListenEnded("end of audio")))
        self._timer.daemon = True
        self._timer.start()

    def coach_speaking(self, text: str) -> None:
        """Nothing is heard, so nothing is told apart."""

    def coach_silent(self) -> None:
        """As above."""

    def stop(self, timeout: float) -> bool:
        self._timer.cancel()
        return True


class Hearing:
    notices: tuple[str, ...] = ()
    canceller = None
    loop = Loop()

    def source(self, source, clock):
        return source


class Recognizer:
    def close(self) -> None:
        """Nothing loads."""


class Terminal:
    """Standard input as a terminal whose lines were typed before the coach was ready."""

    def __init__(self, typed: str) -> None:
        self._read, write = os.pipe()
        os.write(write, typed.encode())
        os.close(write)

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._read


@pytest.fixture
def first_launch(tmp_path, monkeypatch):
    """Runs the coach as on a first launch (no database file) with `typed` lines waiting; returns
    the voice, the database's path and the exit status."""
    from voicecoach.hearing.asr import engines
    from voicecoach.hearing.signal import sources

    db = tmp_path / "data" / "history.sqlite3"
    monkeypatch.setattr(app, "_sound_survey", lambda: None)
    monkeypatch.setattr(app, "_why_no_voice_loop", lambda args, surveyed=None: None)
    monkeypatch.setattr(app, "voice_hearing", lambda *args, **kwargs: Hearing())
    monkeypatch.setattr(engines, "open_recognizer", lambda *args, **kwargs: (Recognizer(), None))
    monkeypatch.setattr(sources, "open_microphone", lambda surveyed=None: object())

    def run(typed: str) -> tuple[Voice, Path, int]:
        made = threading.Event()
        voice = Voice(db, made)
        monkeypatch.setattr(app, "_voice_speaker", lambda *args, **kwargs: (voice, None))
        monkeypatch.setattr("sys.stdin", Terminal(typed))
        args = build_parser([]).parse_args(["--db", str(db)])
        args.settings = resolve_settings(args, environ={}, config_file=tmp_path / "no-config.yaml")
        content = load_content()

        def reading():
            made.set()
            return _reading(args, content)

        return voice, db, app.run_coach(args, content, app.Reading(reading), _history)

    return run


def test_the_first_time_greeting_comes_before_the_history_database_and_the_catalog(first_launch):
    voice, db, status = first_launch("start the stretch\nstop\nstop\n")
    assert status == 0
    assert voice.at_first_line == (False, False)
    assert voice.lines[2] == FIRST_TIME_OFFER
    # The database made after the greeting is whole, and holds the session recorded through it.
    assert is_our_history(db)
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        sessions = read_sessions(connection)
    finally:
        connection.close()
    assert len(sessions) == 1 and sessions[0].ended_at is not None


def test_lines_typed_before_the_catalog_is_made_are_read_once_it_is(first_launch):
    voice, _, status = first_launch("why does my it band hurt\nstop\n")
    assert status == 0
    assert voice.at_first_line == (False, False)
    assert "IT band pain is a common injury among runners." in voice.lines
    assert voice.lines[-1] == "Okay. Goodbye, and look after that knee."


def test_a_second_launch_opens_the_history_at_once_for_todays_plan(first_launch):
    first_launch("start the stretch\nstop\nstop\n")
    voice, _, _ = first_launch("stop\n")
    assert voice.at_first_line == (True, False)


def test_history_later_records_in_order_once_made(tmp_path, tiny_content):
    db = tmp_path / "history.sqlite3"
    told: list[str] = []
    later = HistoryLater(lambda: open_history(db), tiny_content, told.append)
    assert not db.exists()
    later.record(CoachEvent("session_started", 0.0))       # not started yet: made now, then written
    later.record(CoachEvent("session_ended", 1.0, detail={"reason": "quit"}))
    assert later.close()
    assert told == []
    recorder, _ = open_history(db)
    assert recorder is not None and [s.end_reason for s in recorder.sessions()] == ["quit"]


def test_history_later_stopped_before_it_began_makes_nothing(tmp_path, tiny_content):
    db = tmp_path / "history.sqlite3"
    later = HistoryLater(lambda: open_history(db), tiny_content, [].append)
    assert later.close()
    later.record(CoachEvent("session_started", 0.0))
    assert not db.exists()


def test_history_later_that_fails_says_so_once_and_the_coach_has_no_history(tmp_path, tiny_content):
    def broken():
        raise sqlite3.InterfaceError("no such luck")

    told: list[str] = []
    later = HistoryLater(broken, tiny_content, told.append)
    later.start()
    later.record(CoachEvent("session_started", 0.0))
    assert later.answer("last_session") == tiny_content.wording.line("no_history")
    assert later.close()
    assert told == ["history is unavailable (no such luck); the coach runs without it"]


def test_run_coach_is_handed_what_it_reads_not_a_catalog():
    """What cli.cmd_run hands over is made on demand (voice mode asks for it after the greeting)."""
    calls = []
    reading = app.Reading(lambda: calls.append(1) or ("catalog", None))
    assert calls == []
    assert reading.get() == ("catalog", None) and reading.get() == ("catalog", None)
    assert calls == [1]
    assert app.greets_first(argparse.Namespace(text=False, audio_in=None))
    assert not app.greets_first(argparse.Namespace(text=True, audio_in=None))
    assert not app.greets_first(argparse.Namespace(text=False, audio_in=Path("x.wav")))
