"""History: the store, migrations, durability, damaged files, progression rules, answers, CLI."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import REPO
from voicecoach.coach.events import CoachEvent
from voicecoach.content.loader import load_content
from voicecoach.history.answers import answer_history_question
from voicecoach.history.progression import RulesError, load_rules, propose_plan
from voicecoach.history.store import V1, HistoryRecorder, SessionSummary, connect, open_history

DAY = 86400.0
NOW = 1_800_000_000.0
CONTENT = load_content()
RULES = load_rules()


def session(days_ago: float, stretch: float = 30.0, pain: bool = False, bridges: float = 10) -> SessionSummary:
    return SessionSummary(0, NOW - days_ago * DAY, None, "done",
                          {"it_band_stretch": [stretch, stretch], "glute_bridge": [bridges, bridges]},
                          ["it_band_stretch"] if pain else [])


def test_first_session_gets_the_standard_plan():
    assert propose_plan([], CONTENT, RULES, NOW) is None


def test_a_run_of_pain_free_sessions_steps_up_a_little():
    proposal = propose_plan([session(3), session(2), session(1)], CONTENT, RULES, NOW)
    assert proposal.overrides["it_band_stretch"] == {"hold_seconds": 35.0}
    assert proposal.overrides["glute_bridge"] == {"reps": 12.0}
    assert "thirty five seconds" in proposal.text and proposal.text.endswith("?")


def test_steps_stop_at_the_stated_ceiling():
    proposal = propose_plan([session(3, 60, bridges=15), session(2, 60, bridges=15), session(1, 60, bridges=15)],
                            CONTENT, RULES, NOW)
    assert proposal.overrides["it_band_stretch"] == {"hold_seconds": 60.0}
    assert proposal.overrides["glute_bridge"] == {"reps": 15.0}


def test_two_pain_free_sessions_are_not_yet_a_run():
    assert propose_plan([session(2), session(1)], CONTENT, RULES, NOW) is None


def test_pain_backs_off_and_reminds_to_see_a_professional():
    proposal = propose_plan([session(3), session(2), session(1, 40, pain=True)], CONTENT, RULES, NOW)
    assert proposal.overrides["it_band_stretch"] == {"hold_seconds": 35.0}
    assert "medical professional" in proposal.text


def test_a_long_break_starts_light_again():
    proposal = propose_plan([session(40, 50), session(30, 55)], CONTENT, RULES, NOW)
    assert proposal.overrides["it_band_stretch"] == {"hold_seconds": 30.0}
    assert "start light" in proposal.text


def test_rules_name_the_articles_advice():
    assert all(rule.advice for rule in RULES)
    assert {r.id for r in RULES} == {"back_off_after_pain", "start_light_after_a_break", "step_up_after_pain_free_sessions"}


def test_bad_rules_file_names_file_and_line(tmp_path):
    path = tmp_path / "progression.yaml"
    path.write_text("progression:\n  - id: x\n    advice: a\n    say: b\n    when: {moon_phase: full}\n")
    with pytest.raises(RulesError, match=rf"{path}:5: unknown condition"):
        load_rules(path)


def events(kinds_values):
    return [CoachEvent(kind, float(i), exercise, side, value, detail or {})
            for i, (kind, exercise, side, value, detail) in enumerate(kinds_values)]


SESSION_EVENTS = events([
    ("session_started", None, None, None, {"plan": ["it_band_stretch"]}),
    ("exercise_started", "it_band_stretch", None, None, None),
    ("paused", "it_band_stretch", None, None, None),
    ("resumed", "it_band_stretch", None, 4.0, None),
    ("side_done", "it_band_stretch", "left", 30.0, None),
    ("pain_reported", "it_band_stretch", None, None, {"text": "ouch"}),
    ("skipped", "it_band_stretch", None, None, None),
    ("session_ended", None, None, None, {"reason": "pain"}),
])


def test_recorder_writes_sessions_results_and_pain(tmp_path):
    recorder, reason = open_history(tmp_path / "h.db")
    assert reason is None
    for event in SESSION_EVENTS:
        recorder.record(event)
    [summary] = recorder.sessions()
    assert summary.results == {"it_band_stretch": [30.0]}
    assert summary.pains == ["it_band_stretch"] and summary.skipped == ["it_band_stretch"]
    assert summary.end_reason == "pain"
    kinds = [r[0] for r in recorder.db.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds == [e.kind for e in SESSION_EVENTS]
    assert recorder.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrates_an_older_schema_keeping_its_data(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    for statement in V1:
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO sessions (id, started_at) VALUES (1, 1000.0)")
    old.execute("INSERT INTO events (session_id, at, kind, exercise, side, value) VALUES (1, 1001, 'side_done', 'foam_rolling', 'left', 60)")
    old.commit()
    old.close()
    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert HistoryRecorder(db, path).sessions()[0].results == {"foam_rolling": [60.0]}


def test_a_damaged_database_gives_a_reason_and_no_recorder(tmp_path):
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not a database at all" * 100)
    recorder, reason = open_history(path)
    assert recorder is None and "damaged" in reason and "runs without history" in reason and "\n" not in reason


def test_a_locked_database_gives_a_reason_and_no_recorder(tmp_path):
    path = tmp_path / "h.db"
    holder = connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        recorder, reason = open_history(path)
        assert recorder is None and "in use" in reason
    finally:
        holder.execute("ROLLBACK")


WRITER = """
import sys, itertools
from voicecoach.coach.events import CoachEvent
from voicecoach.history.store import open_history
recorder, reason = open_history(__import__('pathlib').Path(sys.argv[1]))
recorder.record(CoachEvent("session_started", 0.0))
for i in itertools.count():
    recorder.record(CoachEvent("side_done", float(i), "it_band_stretch", "left", float(i)))
    if i == 50:
        print("ready", flush=True)
"""


def test_kill_9_mid_session_never_corrupts_and_loses_at_most_the_event_in_flight(tmp_path):
    path = tmp_path / "h.db"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert child.stdout.readline().strip() == "ready"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    amounts = [r[0] for r in db.execute("SELECT amount FROM results ORDER BY id")]
    events_written = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'side_done'").fetchone()[0]
    assert len(amounts) >= 51 and amounts == [float(i) for i in range(len(amounts))]
    assert events_written == len(amounts)      # every event is whole: its row and its result, or neither


def test_answers_about_history():
    history = [session(8), session(2), session(1, pain=True), session(0.01)]
    assert answer_history_question("week", history, NOW).startswith("You've done")
    assert answer_history_question("streak", history, NOW) == "Your streak is three days in a row."
    last = answer_history_question("last_session", history, NOW)
    assert "today" in last and "holding the stretch for thirty seconds" in last and "No pain reported" in last
    assert "haven't done a session" in answer_history_question("streak", [], NOW)


def vc(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_simulate_writes_history_and_the_coach_answers_from_it(tmp_path):
    db = tmp_path / "h.db"
    script = tmp_path / "s.txt"
    script.write_text("@1 start the stretch\n@100 how did i do last time\n")
    first = vc("simulate", str(script), "--db", str(db))
    assert first.returncode == 0, first.stderr
    assert "you did one exercise, holding the stretch for thirty seconds" in first.stdout
    shown = vc("history", "--db", str(db), "--json")
    [row] = [json.loads(line) for line in shown.stdout.splitlines()]
    assert row["results"] == {"it_band_stretch": [30.0, 30.0]} and row["pain_reports"] == []
    table = vc("history", "--db", str(db))
    assert "Progress" in table.stdout and "60 s held" in table.stdout
    csv_out = vc("history", "--db", str(db), "--csv")
    assert csv_out.stdout.splitlines()[1].split(",")[2:5] == ["it_band_stretch", "2", "30.0"]


def test_forget_asks_first(tmp_path):
    db = tmp_path / "h.db"
    script = tmp_path / "s.txt"
    script.write_text("@1 start the stretch\n")
    vc("simulate", str(script), "--db", str(db))
    kept = vc("history", "--db", str(db), "--forget", stdin="n\n")
    assert kept.returncode == 1 and db.exists()
    gone = vc("history", "--db", str(db), "--forget", stdin="yes\n")
    assert gone.returncode == 0 and not db.exists()


def test_the_coach_runs_without_history_when_the_database_is_damaged(tmp_path):
    db = tmp_path / "h.db"
    db.write_bytes(b"garbage" * 100)
    result = vc("--text", "--db", str(db), stdin="start the stretch\n")
    assert result.returncode == 0
    assert "runs without history" in result.stderr and "Traceback" not in result.stderr
    assert "coach: Let's do the IT band stretch." in result.stdout
