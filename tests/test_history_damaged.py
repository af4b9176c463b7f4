"""`history` on a damaged database: a dropped table or a time no calendar holds is one line on
stderr, never a traceback, and what can still be read is shown."""
from __future__ import annotations

import json
import sqlite3

import pytest

from test_history_commands import fill, run_history
from voicecoach.history import commands


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "h.db"
    fill(path)
    return path


def damage(path, *statements: str) -> None:
    db = sqlite3.connect(path)
    for statement in statements:
        db.execute(statement)
    db.commit()
    db.close()


def one_problem_line(capsys) -> tuple[str, str]:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("voicecoach: the history database ")
    assert "Traceback" not in captured.err
    return captured.out, captured.err


@pytest.mark.parametrize("form", [(), ("--json",), ("--csv",)])
def test_a_dropped_results_table_still_shows_the_sessions(db, capsys, form):
    damage(db, "DROP TABLE results")
    assert run_history("--db", str(db), *form) == 1
    out, err = one_problem_line(capsys)
    assert "what was done cannot be read (no such table: results)" in err
    if form == ("--json",):
        shown = json.loads(out)["sessions"]
        assert [s["end_reason"] for s in shown] == ["done", "pain", "done"] and shown[1]["pain_reports"]
    elif not form:
        assert "Recent sessions" in out or "started" in out


@pytest.mark.parametrize("form", [(), ("--json",), ("--csv",)])
def test_a_dropped_events_table_still_shows_what_was_done(db, capsys, form):
    damage(db, "DROP TABLE events")
    assert run_history("--db", str(db), *form) == 1
    out, err = one_problem_line(capsys)
    assert "pain reports cannot be read (no such table: events)" in err
    if form == ("--json",):
        assert [[d["amount"] for d in s["done"]] for s in json.loads(out)["sessions"]][0] == [10.0, 30.0, 30.0]


def test_a_dropped_sessions_table_is_one_line(db, capsys):
    damage(db, "DROP TABLE results", "DROP TABLE sessions")
    assert run_history("--db", str(db)) == 1
    out, err = one_problem_line(capsys)
    assert out == "" and "sessions cannot be read (no such table: sessions)" in err


@pytest.mark.parametrize("form", [(), ("--json",), ("--csv",)])
def test_absurd_times_are_one_line_and_the_rest_is_shown(db, capsys, form):
    damage(db, "UPDATE sessions SET started_at = 1e300 WHERE id = 1",
           "UPDATE sessions SET started_at = 'yesterday' WHERE id = 2",
           "UPDATE events SET at = -1e20 WHERE kind = 'pain_reported'",
           "UPDATE sessions SET ended_at = 9e18 WHERE id = 3")
    assert run_history("--db", str(db), *form) == 1
    out, err = one_problem_line(capsys)
    assert "session 2 is left out: its start time is not a time ('yesterday')" in err
    assert "session 1 has a time no calendar holds (1e+300)" in err
    if form == ("--json",):
        shown = json.loads(out)["sessions"]
        assert [s["id"] for s in shown] == [3, 1] and shown[1]["started"] is None and shown[0]["ended"] is None


# ----- a schema that is not text --------------------------------------------------------

def spoil_schema(path) -> None:
    """One byte of the schema's text made invalid UTF-8: SQLite reports the schema as it is,
    and Python cannot decode the report."""
    data = bytearray(path.read_bytes())
    at = data.find(b"CREATE TABLE sessions")
    assert at > 0
    data[at + 2] = 0xFF
    path.write_bytes(bytes(data))


def test_a_schema_that_is_not_text_is_one_line_naming_the_file_and_how_to_set_it_aside(db, capsys):
    from voicecoach.history.store import open_history

    spoil_schema(db)
    recorder, reason = open_history(db)
    assert recorder is None
    assert f"the history database {db} is damaged" in reason and "\n" not in reason
    assert f"mv {db} {db}.damaged" in reason and "runs without history" in reason
    assert run_history("--db", str(db)) == 1
    _, err = one_problem_line(capsys)
    assert f"mv {db} {db}.damaged" in err


@pytest.mark.slow
def test_with_a_damaged_history_a_session_goes_on_and_forget_still_works(db, tmp_path, capsys):
    from voicecoach import cli

    spoil_schema(db)
    script = tmp_path / "script.txt"
    script.write_text("@0 start\n@5 stop\n")
    assert cli.main(["simulate", "--db", str(db), str(script)]) == 0
    captured = capsys.readouterr()
    assert "Okay, stopping here" in captured.out
    assert captured.err.count("\n") == 1 and "is damaged" in captured.err and "Traceback" not in captured.err
    assert run_history("--db", str(db), "--forget", "--yes") == 0
    assert not db.exists()
