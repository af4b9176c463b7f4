"""`voicecoach history`: JSON, CSV, the table and chart, --forget; and history end to end."""
from __future__ import annotations

import argparse
import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from voicecoach.coach.events import CoachEvent
from voicecoach.history import commands
from voicecoach.history.store import open_history
from voicecoach.settings import resolve_settings

DAY = 86400.0
START = 1_800_000_000.0


def history_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="voicecoach history")
    commands.add_arguments(parser)
    return parser.parse_args(list(argv))


def run_history(*argv: str) -> int:
    """`voicecoach history ARGV`, with the settings resolved as the command line resolves them."""
    args = history_args(*argv)
    return commands.run(args, resolve_settings(args))


def fill(path: Path) -> None:
    """Three sessions a day apart: the stretch at 30, 35, 40 seconds, bridges, and pain in the second."""
    wall = {"t": START}
    recorder, reason = open_history(path, wall_clock=lambda: wall["t"])
    assert recorder is not None, reason
    for day, hold in enumerate((30.0, 35.0, 40.0)):
        wall["t"] = START + day * DAY
        events = [CoachEvent("session_started", 0.0, detail={"plan": ["glute_bridge", "it_band_stretch"]}),
                  CoachEvent("side_done", 10.0, "glute_bridge", None, 10.0 + day),
                  CoachEvent("side_done", 20.0, "it_band_stretch", "left", hold),
                  CoachEvent("side_done", 60.0, "it_band_stretch", "right", hold)]
        if day == 1:
            events += [CoachEvent("paused", 61.0, "it_band_stretch"), CoachEvent("resumed", 70.0, "it_band_stretch", value=9.0),
                       CoachEvent("pain_reported", 80.0, "it_band_stretch", detail={"text": "my knee hurts"}),
                       CoachEvent("skipped", 81.0, "it_band_stretch")]
        events.append(CoachEvent("session_ended", 90.0, detail={"reason": "pain" if day == 1 else "done"}))
        for event in events:
            recorder.record(event)
    recorder.close()


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "h.db"
    fill(path)
    return path


def test_json_holds_every_session_with_sides_pain_pauses_and_skips(db, capsys):
    assert run_history("--db", str(db), "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["database"] == str(db)
    assert [s["end_reason"] for s in shown["sessions"]] == ["done", "pain", "done"]
    second = shown["sessions"][1]
    assert second["done"] == [
        {"exercise": "glute_bridge", "side": None, "amount": 11.0, "unit": "reps"},
        {"exercise": "it_band_stretch", "side": "left", "amount": 35.0, "unit": "seconds"},
        {"exercise": "it_band_stretch", "side": "right", "amount": 35.0, "unit": "seconds"}]
    [pain] = second["pain_reports"]
    assert pain["exercise"] == "it_band_stretch" and pain["text"] == "my knee hurts"
    assert second["skipped"] == ["it_band_stretch"] and second["pauses"] == 1 and second["paused_seconds"] == 9.0


def test_csv_has_a_row_for_each_side_pain_skip_and_pause(db, capsys):
    assert run_history("--db", str(db), "--csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["session"], r["what"], r["exercise"], r["side"], r["amount"]) for r in rows if r["session"] == "2"] == [
        ("2", "done", "glute_bridge", "", "11"), ("2", "done", "it_band_stretch", "left", "35"),
        ("2", "done", "it_band_stretch", "right", "35"), ("2", "pain", "it_band_stretch", "", ""),
        ("2", "skipped", "it_band_stretch", "", ""), ("2", "paused", "", "", "9")]
    assert len(rows) == 3 * 3 + 3
    assert next(r for r in rows if r["what"] == "pain")["text"] == "my knee hurts"


def test_the_table_and_chart_off_a_terminal_are_plain_text(db, capsys):
    assert run_history("--db", str(db)) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[2].split() == ["started", "rolling", "(reps)", "(steps)", "stretch", "pauses", "skipped", "pain", "ended"]
    assert lines[1].split() == ["foam", "bridges", "walks", "IT", "band"]
    assert lines[4].split() == ["01-16", "08:00", "-", "11", "-", "35", "s", "1", "1", "1", "pain"]
    assert max(len(line) for line in lines) <= 80
    assert "\x1b[" not in out                                         # no terminal colours in a file
    assert "  IT band stretch  ▆▇█  30 to 40 s held" in lines
    assert "  glute bridges    ▇▇█  10 to 12 reps" in lines
    assert "  pain              ✗   1 report" in lines


def test_limit_shows_the_latest_sessions(db, capsys):
    run_history("--db", str(db), "--limit", "2")
    out = capsys.readouterr().out
    assert "  IT band stretch  ▇█  35 to 40 s held" in out.splitlines()
    assert run_history("--db", str(db), "--limit", "0") == 2


def test_on_a_terminal_the_same_table_is_shown_in_colour(db):
    """On a terminal: the plain table and chart, with pain rows red, pain marks bold red and the
    title bold; without the colour codes, the very text a file gets."""
    class Terminal(io.StringIO):
        encoding = "utf-8"

        def isatty(self) -> bool:
            return True

    class File(io.StringIO):
        encoding = "utf-8"

    out, file = Terminal(), File()
    recorder, _ = open_history(db)
    commands.show(recorder.sessions(), out)
    commands.show(recorder.sessions(), file)
    drawn = out.getvalue()
    assert re.sub(r"\x1b\[[0-9;]*m", "", drawn) == file.getvalue()
    assert set(re.findall(r"\x1b\[[0-9;]*m", drawn)) == {"\x1b[31m", "\x1b[1m", "\x1b[1;31m", "\x1b[0m"}
    lines = drawn.splitlines()
    painful = [line for line in lines if line.startswith("\x1b[31m")]
    assert len(painful) == 1 and painful[0].startswith("\x1b[31m01-16 08:00") and painful[0].endswith("pain\x1b[0m")
    assert all(line.endswith("\x1b[0m") == line.startswith("\x1b[") for line in lines if "✗" not in line)
    assert "\x1b[1mProgress over the last 3 sessions (oldest on the left):\x1b[0m" in lines
    assert "  pain              \x1b[1;31m✗\x1b[0m   1 report" in lines
    assert max(len(line) for line in file.getvalue().splitlines()) <= 80     # dates and names never cut
    assert "01-16 08:00" in drawn and "…" not in drawn and "30 to 40 s held" in drawn


def test_the_chart_falls_back_to_ascii_where_blocks_cannot_be_printed(db):
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    recorder, _ = open_history(db)
    commands.show(recorder.sessions(), out)
    out.seek(0)
    text = out.read()
    assert "IT band stretch  *#@  30 to 40 s held" in text and "pain              X   1 report" in text


def test_the_table_counts_the_sessions_the_answers_count_and_shows_partly_done_sides(db, capsys):
    recorder, _ = open_history(db)
    recorder.record(CoachEvent("session_started", 0.0, detail={"plan": ["glute_bridge"]}))
    recorder.record(CoachEvent("session_ended", 5.0, detail={"reason": "quit"}))      # started and left
    recorder.record(CoachEvent("session_started", 6.0, detail={"plan": ["lateral_band_walk"]}))
    recorder.record(CoachEvent("side_partial", 20.0, "lateral_band_walk", "left", 7.0))
    recorder.record(CoachEvent("session_ended", 25.0, detail={"reason": "stop"}))
    recorder.close()
    run_history("--db", str(db))
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line[:2].isdigit()]
    assert len(rows) == 4                          # the session where nothing was done is not counted
    partly = next(row for row in rows if "*" in row)
    assert partly.split()[2:5] == ["-", "-", "7*"] and "* partly done: the side was cut short" in lines


def test_sparkline_heights_and_gaps():
    assert commands.sparkline([0.0, 4.0, 8.0, None]) == "▁▅█·"
    assert commands.sparkline([None, None]) == "··"


def test_no_history_yet_creates_nothing(tmp_path, capsys):
    path = tmp_path / "none.db"
    assert run_history("--db", str(path)) == 0
    assert "No sessions recorded yet" in capsys.readouterr().out and not path.exists()
    run_history("--db", str(path), "--json")
    assert json.loads(capsys.readouterr().out)["sessions"] == []


def test_a_damaged_database_is_one_line_and_exit_1(db, capsys):
    path = db
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"garbage" * ((len(data) - 100) // 7))      # our header, smashed pages
    assert run_history("--db", str(path)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is damaged" in err


def test_forget_asks_and_keeps_everything_unless_told_yes(db, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert run_history("--db", str(db), "--forget") == 1
    assert "[y/N]" in capsys.readouterr().out and db.exists()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))                  # end of input is a no
    assert run_history("--db", str(db), "--forget") == 1 and db.exists()
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert run_history("--db", str(db), "--forget") == 0
    assert not db.exists() and not Path(f"{db}-wal").exists()
    assert f"History deleted: {db}" in capsys.readouterr().out


def test_forget_with_yes_does_not_ask(db, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert run_history("--db", str(db), "--forget", "--yes") == 0
    assert not db.exists() and "[y/N]" not in capsys.readouterr().out
    assert run_history("--db", str(db), "--forget", "--yes") == 0
    assert "no history to delete" in capsys.readouterr().out


def test_the_environment_chooses_the_database(db, monkeypatch, capsys):
    monkeypatch.setenv("VOICECOACH_DB", str(db))
    run_history("--json")
    assert len(json.loads(capsys.readouterr().out)["sessions"]) == 3


# ----- end to end, through the command line -----------------------------------------------------

def vc(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                          text=True, cwd=REPO, timeout=120)


@pytest.mark.slow
def test_simulated_sessions_write_history_and_the_coach_proposes_and_answers_from_it(tmp_path):
    db = tmp_path / "h.db"
    script = tmp_path / "s.txt"
    script.write_text("@1 start the stretch\n@100 how did i do last time\n")
    for _ in range(3):
        first = vc("simulate", str(script), "--db", str(db))
        assert first.returncode == 0, first.stderr
    assert "you did one exercise, holding the stretch for thirty seconds" in first.stdout
    shown = json.loads(vc("history", "--db", str(db), "--json").stdout)
    assert [[d["amount"] for d in s["done"]] for s in shown["sessions"]] == [[30.0, 30.0]] * 3
    greeting = tmp_path / "yes.txt"
    greeting.write_text("@30 yes\n")
    proposed = vc("simulate", str(greeting), "--db", str(db))
    assert ("Your last sessions went well, so let's step up a little. Shall we do the IT band stretch for "
            "thirty five seconds today?") in proposed.stdout


def test_the_coach_runs_without_history_when_the_database_is_damaged(tmp_path):
    db = tmp_path / "h.db"
    db.write_bytes(b"garbage" * 100)
    result = vc("--text", "--db", str(db), stdin="start the stretch\n")
    assert result.returncode == 0
    assert "runs without history" in result.stderr and "Traceback" not in result.stderr
    assert "coach: Let's do the IT band stretch." in result.stdout
