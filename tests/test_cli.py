"""The command line: the measuring verbs' formats, errors as one line, and plain text mode."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO


def vc(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


@pytest.mark.slow
def test_parse_arguments_give_one_json_object_each():
    result = vc("parse", "start the stretch", "how long left", "order a pizza")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0
    assert [r["intent"] for r in rows] == ["start", "time_left", "none"]
    assert rows[0] == {"text": "start the stretch", "intent": "start", "slots": {"exercise": "it_band_stretch"},
                       "score": rows[0]["score"], "by": "template", "confidence": rows[0]["confidence"]}


def test_parse_reads_stdin_one_line_each_keeping_blank_lines():
    result = vc("parse", stdin="hold for forty five seconds\n\nyes\n")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["intent"], r["slots"]) for r in rows] == [("set_duration", {"seconds": 45}), ("none", {}), ("yes", {})]


def test_simulate_prints_a_timeline(tmp_path):
    script = tmp_path / "s.txt"
    script.write_text("# stretch, with a pause\n@2 start the stretch\n@25 pause\n@35 resume\n")
    result = vc("simulate", str(script))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[00:00.0] coach: ")
    assert "[00:02.0] you: start the stretch" in lines
    assert any(line.endswith("coach: Switch sides. Right side next.") for line in lines)


def test_simulate_json_events_carry_cues_exercise_and_side(tmp_path):
    script = tmp_path / "s.txt"
    script.write_text("@1 start the stretch\n")
    result = vc("simulate", str(script), "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    user = [e for e in events if e["who"] == "user"]
    assert user == [{"t": 1.0, "who": "user", "text": "start the stretch", "intent": "start",
                     "slots": {"exercise": "it_band_stretch"}, "exercise": None, "side": None}]
    cues = [e for e in events if "cue" in e]
    assert {"hold_start", "halfway", "remaining", "countdown", "switch_sides", "exercise_done"} <= {e["cue"] for e in cues}
    hold = next(e for e in cues if e["cue"] == "hold_start")
    assert hold["exercise"] == "it_band_stretch" and hold["side"] == "left"
    switch = next(e for e in cues if e["cue"] == "switch_sides")
    halfway = next(e for e in cues if e["cue"] == "halfway")
    # The 30 s hold counts from the end of "Left side. Hold for thirty seconds. Go."
    assert hold["t"] + 30 < switch["t"] < hold["t"] + 35
    assert switch["t"] == pytest.approx(halfway["t"] + 15, abs=1e-3)
    assert all(isinstance(e["t"], float) for e in events)


def test_simulate_reports_a_bad_script_line(tmp_path):
    script = tmp_path / "s.txt"
    script.write_text("@1 start\nstart without a time\n")
    result = vc("simulate", str(script))
    assert result.returncode == 1
    assert result.stderr.strip() == f"voicecoach: {script}:2: expected '@<seconds> <utterance>', got 'start without a time'"


def test_simulate_a_missing_script_is_one_line():
    result = vc("simulate", "/nonexistent/script.txt")
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_validate_shipped_files_and_a_broken_copy(tmp_path):
    assert vc("validate").returncode == 0
    (tmp_path / "intents.yaml").write_text('intents:\n  start:\n    sentences:\n      - "start {nothing}"\n')
    result = vc("validate", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.strip() == f"{tmp_path / 'intents.yaml'}:4: unknown slot list {{nothing}}"


@pytest.mark.slow
def test_plain_voicecoach_without_a_microphone_says_so_and_runs_text_mode():
    result = vc("--no-history", stdin="start the stretch\n")
    assert result.returncode == 0
    notices = [line for line in result.stderr.splitlines() if line]
    assert len(notices) == 1 and notices[0].startswith("voicecoach: No microphone") and len(notices[0]) < 80
    assert "coach: Let's do the IT band stretch." in result.stdout
    assert "Traceback" not in result.stderr


def test_text_mode_flag_runs_without_a_notice():
    result = vc("--text", "--no-history", stdin="why does my it band hurt\n")
    assert result.returncode == 0 and result.stderr == ""
    assert "coach: IT band pain is a common injury among runners." in result.stdout


@pytest.mark.slow
def test_transcribe_gives_one_json_line_per_file_and_names_bad_files(tmp_path):
    from conftest import speak_to_wav

    good = speak_to_wav("start the stretch", tmp_path / "good.wav")
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    result = vc("transcribe", str(good), str(bad))
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert set(rows[0]) == {"file", "text", "intent", "slots", "score", "decode_ms", "audio_ms"}
    assert rows[0]["intent"] == "start" and rows[0]["slots"] == {"exercise": "it_band_stretch"}
    assert rows[1]["file"] == str(bad) and "not a PCM WAV" in rows[1]["error"]
    assert f"voicecoach: {bad}: not a PCM WAV" in result.stderr and "Traceback" not in result.stderr
    assert result.returncode == 1


@pytest.mark.slow
def test_audio_in_runs_the_voice_loop_from_a_file(tmp_path):
    from conftest import speak_to_wav

    wav = speak_to_wav("start the routine", tmp_path / "cmd.wav")
    result = vc("--no-history", "--audio-in", str(wav), "--fast")
    assert result.returncode == 0, result.stderr
    heard = [line for line in result.stdout.splitlines() if line.startswith("heard: ")]
    assert len(heard) == 1 and heard[0].endswith("-> start"), heard
    assert "coach: Done. That's the IT band stretch finished. Well done." in result.stdout
    assert result.stdout.rstrip().splitlines()[-2] == "coach: That's the whole routine. Great work."


@pytest.mark.slow
def test_audio_in_with_a_broken_file_is_one_line(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF")
    result = vc("--no-history", "--audio-in", str(bad), "--fast")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"voicecoach: {bad}: not a PCM WAV")
    assert "Traceback" not in result.stderr
