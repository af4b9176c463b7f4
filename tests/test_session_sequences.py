"""Sequences of commands that once broke the session or made it say one thing and do another
(issue 25), each a named regression test on the real content and the virtual clock."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from conftest import REPO, default_signals
from voicecoach.coach.events import CoachEvent
from voicecoach.coach.replies import estimate_speech_seconds
from voicecoach.coach.session import Session, SessionView
from voicecoach.coach.simulate import Simulator, parse_script
from voicecoach.content.loader import load_content

# "stop" ends the workout, and with none running, leaves: the coach's own words for it.
_WORDING = load_content().wording
STOP_WORKOUT, LEAVE, LEAVE_AGAIN = (_WORDING.line(key) for key in ("stop_workout", "leave", "leave_again"))
from voicecoach.history.answers import NOTHING_YET
from voicecoach.history.store import open_history
from voicecoach.intents.load import load_catalog
from voicecoach.intents.understand import understand
from voicecoach.textmode import toolbar_text
from voicecoach.words import say_seconds

CATALOG = load_catalog()
CONTENT = load_content()


class Recorder:
    def __init__(self) -> None:
        self.events: list[CoachEvent] = []

    def record(self, event: CoachEvent) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[CoachEvent]:
        return [e for e in self.events if e.kind == kind]


def simulate(script: str, **session_args) -> tuple[list, Simulator]:
    simulator = Simulator(lambda clock: Session(CONTENT, clock, **session_args),
                          lambda text, session: understand(text, CATALOG, session.context()))
    return simulator.run(parse_script(script)), simulator


def coach(timeline) -> list:
    return [e for e in timeline if e.who == "coach"]


def go_time(event) -> float:
    """When a start line's "Go." was heard: the line's start plus its length."""
    return event.t + estimate_speech_seconds(event.text)


def holds(timeline, exercise: str) -> list[list]:
    """The coach's cues for each hold of `exercise`, from its start line to its end cue."""
    out: list[list] = []
    for event in coach(timeline):
        if event.exercise != exercise or event.cue is None:
            continue
        if event.cue == "hold_start":
            out.append([event])
        elif out and out[-1][-1].cue not in ("switch_sides", "set_done", "exercise_done", "hold_end"):
            out[-1].append(event)
    return out


def test_one_less_set_in_the_rest_before_the_last_set_says_why_and_the_session_goes_on():
    timeline, _ = simulate("@0 do glute bridges\n@60 one less set")
    lines = [e.text for e in coach(timeline)]
    answer = lines[lines.index("Rest for thirty seconds.") + 1]
    assert "can't drop it now" in answer and "Say next" in answer
    assert "Set two of two. Ten reps. Go." in lines
    assert lines.count("Done. That's glute bridges finished. Well done.") == 1


@pytest.mark.parametrize("said", ["one less set", "drop the last set"])
def test_one_less_set_during_the_first_set_makes_it_the_last(said):
    timeline, _ = simulate(f"@0 do glute bridges\n@25 {said}")
    lines = [e.text for e in coach(timeline)]
    assert "Okay, one set of glute bridges in all." in lines
    assert not any(line.startswith("Set two") for line in lines)
    assert "Done. That's glute bridges finished. Well done." in lines


def test_switch_sides_then_ten_seconds_more_gives_one_halfway_and_no_second_switch():
    timeline, _ = simulate("@0 start\n@30 switch sides\n@50 add ten seconds")
    left, right = holds(timeline, "foam_rolling")
    assert [e.cue for e in left] == ["hold_start", "switch_sides"]
    assert [e.cue for e in right] == ["hold_start", "halfway", "remaining", "countdown", "countdown", "countdown",
                                      "hold_end" if right[-1].cue == "hold_end" else "exercise_done"]
    go = go_time(right[0])
    assert right[-1].t == pytest.approx(go + 70) and right[1].t == pytest.approx(go + 35)
    assert [e.t for e in right[3:6]] == pytest.approx([go + 67, go + 68, go + 69])
    assert [e.cue for e in coach(timeline) if e.exercise == "foam_rolling"].count("switch_sides") == 1


@pytest.mark.parametrize("first_at, second_at", [(5, 8), (20, 30), (60, 62), (14, 84), (63, 83), (77, 79)])
def test_a_timer_asked_for_and_corrected_counts_the_corrected_time(first_at, second_at):
    """A minute of rolling a side; a correction said past the minute ends the side there."""
    timeline, _ = simulate(f"@0 start\n@{first_at} set a timer for five minutes\n"
                           f"@{second_at} no no, make it one minute")
    first, second = holds(timeline, "foam_rolling")[:2]
    assert first[-1].cue == "switch_sides" and second[-1].cue != "switch_sides"
    assert first[-1].text == "Switch sides. Right side next." and second[0].text.startswith("Right side.")
    for hold in (first, second):
        end = hold[-1].t
        for cue in hold:
            if cue.cue == "remaining" and cue.t > second_at:        # (one before the change was true then)
                assert end - cue.t == pytest.approx(10)
        assert [e.text for e in hold if e.cue == "halfway"] in ([], ["Halfway."])
    assert first[-1].t - go_time(first[0]) == pytest.approx(max(60, second_at - go_time(first[0])))
    assert second[-1].t - go_time(second[0]) == pytest.approx(60)


def test_two_more_reps_says_this_set_and_this_set_counts_them():
    timeline, _ = simulate("@0 do glute bridges\n@22 two more reps")
    lines = [e.text for e in coach(timeline)]
    assert "Okay, twelve reps a set, this set included." in lines
    first, second = holds(timeline, "glute_bridge")
    assert [e.text for e in first if e.cue == "rep"][-1] == "Twelve."
    assert second[0].text == "Set two of two. Twelve reps. Go."
    assert [e.text for e in second if e.cue == "rep"][-1] == "Twelve."


def test_two_more_reps_in_the_rest_is_for_the_next_set():
    timeline, _ = simulate("@0 do glute bridges\n@60 two more reps")
    lines = [e.text for e in coach(timeline)]
    assert "Okay, twelve reps a set." in lines and "Set two of two. Twelve reps. Go." in lines


def test_ouch_and_that_hurts_a_moment_apart_are_one_pain_report():
    recorder = Recorder()
    timeline, _ = simulate("@0 start\n@20 ouch\n@21.5 that hurts\n@40 no", listeners=[recorder])
    lines = [e.text for e in coach(timeline)]
    for advice in CONTENT.safety:
        assert lines.count(advice) == 1, lines
    assert len(recorder.of("pain_reported")) == 1
    assert lines.count("Stop foam rolling now and rest.") == 1


def test_pain_reported_again_later_is_a_new_report():
    recorder = Recorder()
    simulate("@0 start\n@20 ouch\n@40 that hurts", listeners=[recorder])
    assert len(recorder.of("pain_reported")) == 2


def test_how_did_i_do_last_time_never_describes_the_session_under_way(tmp_path):
    recorder, problem = open_history(tmp_path / "h.db")
    assert recorder is not None, problem
    try:
        timeline, _ = simulate("@0 start the stretch\n@65 how did i do last time",
                               listeners=[recorder], history=recorder.answer)
        assert any(e.cue == "switch_sides" and e.t < 65 for e in timeline)      # a side done: something to tell
        answer = next(e.text for e in timeline if e.who == "coach" and e.t >= 65 and e.cue is None)
        assert answer == NOTHING_YET
        timeline, _ = simulate("@0 start the stretch\n@30 how did i do last time",
                               listeners=[recorder], history=recorder.answer)
        answer = next(e.text for e in timeline if e.who == "coach" and e.t >= 30 and e.cue is None)
        assert answer.startswith("Your last session was today")
    finally:
        recorder.close()


def test_say_that_again_mid_hold_says_where_we_are_not_go():
    timeline, _ = simulate("@0 start\n@40 say that again")
    answer = next(e for e in coach(timeline) if e.t >= 40 and e.cue is None)
    assert "Go." not in answer.text
    assert answer.text.endswith("left on the left side.")


def test_say_that_again_after_an_answer_repeats_the_answer():
    timeline, _ = simulate("@0 start\n@40 what is next\n@45 say that again")
    answers = [e.text for e in coach(timeline) if e.t >= 40 and e.cue is None]
    assert answers[0] == answers[1] == "After foam rolling comes glute bridges."


@pytest.mark.parametrize("seconds, said", [
    (284, "four minutes forty four"), (270, "four and a half minutes"), (300, "five minutes"),
    (90, "a minute and a half"), (60, "one minute"), (75, "seventy five seconds"), (100, "one minute forty"),
    (1, "one second"), (45, "forty five seconds")])
def test_times_are_said_as_people_say_them(seconds, said):
    assert say_seconds(seconds) == said


def test_time_left_of_a_long_hold_is_said_in_minutes():
    timeline, _ = simulate("@0 start\n@16 hold for five minutes")
    answer = next(e.text for e in coach(timeline) if e.t >= 16 and e.text.endswith("left on the left side."))
    assert "hundred" not in answer and answer.startswith("Four minutes")


def test_one_way_to_leave_is_said_the_same_everywhere():
    help_during, _ = simulate("@0 start\n@20 help")
    assert STOP_WORKOUT in [e.text for e in coach(help_during)]
    stopped, _ = simulate("@0 start\n@20 stop")
    assert LEAVE_AGAIN in [e.text for e in coach(stopped)]
    help_idle, _ = simulate("@0 no\n@5 help")
    assert LEAVE in [e.text for e in coach(help_idle)]
    assert toolbar_text(SessionView("idle")).endswith(LEAVE)
    for line in (STOP_WORKOUT, LEAVE, LEAVE_AGAIN, toolbar_text(SessionView("idle"))):
        assert "stop" in line and "quit" not in line.lower() and "ctrl" not in line.lower()


def test_quit_during_an_exercise_ends_the_workout_and_quit_again_leaves():
    timeline, simulator = simulate("@0 start\n@20 quit\n@25 quit\n@30 start")
    lines = [e.text for e in coach(timeline)]
    assert "Okay, stopping here. Good work today." in lines and LEAVE_AGAIN in lines
    assert lines[-1] == "Okay. Goodbye, and look after that knee."
    assert simulator.not_run is not None and simulator.not_run.lines == 1 and simulator.not_run.t == 25


def test_simulate_says_once_that_later_lines_were_not_run(tmp_path):
    script = tmp_path / "s.txt"
    script.write_text("@0 stop\n@5 start\n@9 hello\n")
    env = {**os.environ, "VOICECOACH_CONFIG": str(tmp_path / "none.yaml")}
    run = subprocess.run([sys.executable, "-m", "voicecoach", "simulate", str(script)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("not run") == 1
    assert "the session ended at 00:00.0; 2 later lines were not run" in run.stderr


def test_a_simulated_session_ended_by_a_signal_is_closed_in_the_history(tmp_path):
    script = tmp_path / "long.txt"
    script.write_text("@0 start\n" + "".join(f"@{t} how long left\n" for t in range(10, 40000, 10)))
    db = tmp_path / "h.db"
    env = {**os.environ, "VOICECOACH_CONFIG": str(tmp_path / "none.yaml"), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, "-m", "voicecoach", "simulate", "--db", str(db), str(script)],
                             cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=default_signals)
    try:
        for line in child.stdout:
            if "you: how long left" in line:
                break
        child.send_signal(signal.SIGTERM)
        child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 128 + signal.SIGTERM
    rows = sqlite3.connect(db).execute("SELECT ended_at IS NOT NULL, end_reason FROM sessions").fetchall()
    assert rows == [(1, "terminated")]
