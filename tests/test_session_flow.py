"""The session as a table, exercises as content, and what a new user found wrong, each as a test."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.events import CoachEvent
from voicecoach.coach.replies import Reply
from voicecoach.coach.session import ANY, TRANSITIONS, Phase, Session
from voicecoach.coach.simulate import Simulator, parse_script
from voicecoach.content.loader import default_content_dir, load_content
from voicecoach.intents.load import load_catalog
from voicecoach.intents.matcher import recognize
from voicecoach.intents.types import INTENT_NAMES, Match

CATALOG = load_catalog()
CONTENT = load_content()
ROOT = Path(__file__).resolve().parent.parent


def simulate(script: str, content=CONTENT, **session_args) -> list:
    """A scripted session on the virtual clock; exercises the templates do not know start by id."""
    def understand(text: str, session: Session) -> Match:
        if text.startswith("start exercise "):
            return Match(text, "start", {"exercise": text.split()[-1]}, 1.0)
        return recognize(text, CATALOG, session.context())

    simulator = Simulator(lambda clock: Session(content, clock, **session_args), understand)
    return simulator.run(parse_script(script))


def coach_lines(timeline) -> list[str]:
    return [e.text for e in timeline if e.who == "coach"]


# ----- the session as a table -------------------------------------------------------------

def test_every_intent_has_a_transition_and_every_transition_a_handler():
    assert {intent for _, intent in TRANSITIONS} == set(INTENT_NAMES)
    assert all((ANY, intent) in TRANSITIONS for intent in INTENT_NAMES)   # nothing falls through
    assert all(hasattr(Session, name) for name in TRANSITIONS.values())
    assert "ask_history" in INTENT_NAMES


def test_phases_follow_the_conversation():
    clock = VirtualClock()
    session = Session(CONTENT, clock)
    session.begin()
    assert session.phase is Phase.OFFER and session.context().expecting == "yes_no"
    session.handle(Match("yes", "yes", {}, 1.0))
    assert session.phase is Phase.RUNNING
    session.handle(Match("pause", "pause", {}, 1.0))
    assert session.phase is Phase.PAUSED and session.context().paused
    session.handle(Match("start", "start", {}, 1.0))       # "start" while paused resumes
    assert session.phase is Phase.RUNNING
    session.handle(Match("ouch", "report_pain", {}, 1.0))
    assert session.phase is Phase.AFTER_PAIN and session.exercise is None
    session.handle(Match("keep going", "resume", {}, 1.0))  # going on after pain
    assert session.phase is Phase.RUNNING
    session.handle(Match("stop", "stop", {}, 1.0))
    assert session.phase is Phase.IDLE


def test_cue_names_and_event_kinds_are_checked():
    with pytest.raises(ValueError, match="unknown cue"):
        Reply("Go.", cue="go_now")
    with pytest.raises(ValueError, match="unknown event kind"):
        CoachEvent("finished", 0.0)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_history_reaches_into_no_session_and_has_no_import_circle():
    history = ROOT / "voicecoach" / "history"
    imports = {p.stem: _imports(p) for p in history.glob("*.py")}
    for module, names in imports.items():
        assert "voicecoach.coach.session" not in names, module
        assert "voicecoach.coach.timeline" not in names, module
    for a in ("store", "answers", "progression"):
        for b in ("store", "answers", "progression"):
            if a != b:
                assert not (f"voicecoach.history.{b}" in imports[a] and f"voicecoach.history.{a}" in imports[b]), (a, b)
    code = "import sys, voicecoach.history.progression, voicecoach.history.answers; " \
           "print('voicecoach.coach.session' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_no_exercise_or_topic_id_is_written_in_code():
    """Code asks content. ("exercises" and "safety" are also the names of sections of the
    content's files, which the loader reads by name: those two alone are let through.)"""
    sections = {"exercises", "safety"}
    ids = set(CONTENT.exercises) | (set(CONTENT.topics) - sections)
    for path in (ROOT / "voicecoach").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in ids}
        assert not found, f"{path.relative_to(ROOT)} names {sorted(found)}"


# ----- exercises as content ---------------------------------------------------------------

CLAMSHELL = """
  clamshell:
    name: "clamshells"
    short_name: "clams"
    unit: lifts
    why:
      - "Clamshells wake up the glutes."
    steps:
      - "Lie on your side with your knees bent."
      - "Lift the top knee and lower it."
    program:
      kind: reps
      sides: [left, right]
      sets: {value: 1, source: ours}
      reps: {value: 8, source: ours}
      tempo_seconds: {value: 2, source: ours}
      switch_seconds: {value: 4, source: ours}
"""


@pytest.fixture
def content_with_clamshells(tmp_path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(default_content_dir(), folder)
    exercises = folder / "exercises.yaml"
    text = exercises.read_text(encoding="utf-8").replace("\n  glute_bridge:\n", CLAMSHELL + "\n  glute_bridge:\n", 1)
    exercises.write_text(text, encoding="utf-8")
    return folder


def test_an_exercise_added_in_content_runs_through_a_session(content_with_clamshells):
    content = load_content(content_with_clamshells)
    assert content.exercises["clamshell"].short_name == "clams"
    timeline = simulate("@1 start exercise clamshell\n@12 how long left\n", content)
    lines = coach_lines(timeline)
    assert "Left side. Eight lifts. Go." in lines
    assert any(line.endswith("lifts to go in this set.") for line in lines), lines
    assert "Right side. Eight lifts. Go." in lines
    assert "Done. That's clamshells finished. Well done." in lines
    assert not any("reps" in line for line in lines)


@pytest.mark.parametrize("said", ["start the clamshells", "do clamshells", "let's do the clams"])
def test_an_exercise_added_in_content_is_started_by_its_name(content_with_clamshells, said):
    content = load_content(content_with_clamshells)
    catalog = load_catalog(None, content.exercise_names())
    match = recognize(said, catalog, Session(content, VirtualClock()).context())
    assert (match.intent, match.slots) == ("start", {"exercise": "clamshell"})
    clock = VirtualClock()
    simulator = Simulator(lambda clock: Session(content, clock),
                          lambda text, session: recognize(text, catalog, session.context()))
    lines = coach_lines(simulator.events(parse_script(f"@1 {said}\n")))
    assert "Let's do clamshells." in lines and "Left side. Eight lifts. Go." in lines
    # The shipped exercises keep the templates' own phrases.
    assert recognize("start the stretch", catalog, Session(content, clock).context()).slots == \
        {"exercise": "it_band_stretch"}


def test_the_history_table_names_an_added_exercise_by_its_short_name(content_with_clamshells):
    from voicecoach.history.commands import table_rows
    from voicecoach.history.summary import SessionSummary, SideResult

    content = load_content(content_with_clamshells)
    s = SessionSummary(1, 1.7e9, None, "done", [SideResult("clamshell", "left", 8.0)])
    header, rows = table_rows([s], content)
    assert "clams (lifts)" in header
    assert rows[0][header.index("clams (lifts)")] == "8"


# ----- what a new user found --------------------------------------------------------------

def test_a_single_exercise_ends_without_the_whole_routine():
    lines = coach_lines(simulate("@1 start the stretch\n"))
    assert "Done. That's the IT band stretch finished. Well done." in lines
    assert "That's the whole routine. Great work." not in lines, lines


def test_the_whole_routine_still_ends_with_the_routine_line():
    lines = coach_lines(simulate("@1 start\n"))
    assert lines.count("That's the whole routine. Great work.") == 1


def test_band_walks_count_steps_never_reps():
    lines = coach_lines(simulate("@1 start lateral band walks\n@15 how long left\n@40 how long left\n"))
    walk = [line for line in lines if "rep" in line.lower()]
    assert not walk, walk
    assert any(line.endswith("steps to go in this set.") for line in lines), lines


def test_foam_rolling_is_announced_as_rolling():
    lines = coach_lines(simulate("@1 roll my IT band\n"))
    assert "Left side. Roll for one minute. Go." in lines
    assert not any(line.startswith("Hold") or ". Hold" in line for line in lines), lines


def test_slower_in_text_mode_does_not_promise_a_voice():
    text_mode = simulate("@1 slower\n", voiced=False)
    said = [e.text for e in text_mode if e.who == "coach" and e.t >= 1]
    assert said and "speak" not in said[0] and "more slowly" in said[0]
    voice = simulate("@1 slower\n")
    assert "I'll speak more slowly" in [e.text for e in voice if e.who == "coach" and e.t >= 1][0]


def test_a_new_hold_is_for_this_exercise_only_and_says_so():
    timeline = simulate("@1 start the stretch\n@20 make it 45 seconds\n@200 start the stretch\n")
    answer = next(e for e in timeline if e.who == "coach" and e.t >= 20)
    assert "forty five seconds" in answer.text and "this time only" in answer.text
    later = [e.text for e in timeline if e.who == "coach" and e.t >= 200]
    assert "Left side. Hold for thirty seconds. Go." in later


def test_a_count_said_late_is_true_when_said():
    clock = VirtualClock()
    session = Session(CONTENT, clock, speech_seconds=lambda text, wpm: 0.0)
    session.handle(Match("start the stretch", "start", {"exercise": "it_band_stretch"}, 1.0))
    while (due := session.next_due()) is not None and due <= 5:
        clock.set(due)
        session.tick()
    clock.set(5)
    queued = session.handle(Match("how long left", "time_left", {}, 1.0))[0]
    assert queued.text == "Twenty five seconds left on the left side."
    clock.set(8)                                    # it waited three seconds behind other lines
    assert queued.spoken().text == "Twenty two seconds left on the left side."


def test_a_question_during_the_instructions_brings_them_back():
    timeline = simulate("@1 start the stretch\n@3 what is the IT band\n")
    lines = coach_lines(timeline)
    back = lines.index("Now, back to the instructions.")
    after = lines[back + 1:]
    assert "Lean towards the crossed leg until you feel a stretch in the outer thigh." in after
    assert after.index("We'll start with the left side.") < after.index("Left side. Hold for thirty seconds. Go.")


def _answer(text: str) -> list[str]:
    session = Session(CONTENT, VirtualClock())
    return [r.text for r in session.handle(recognize(text, CATALOG, session.context()))]


def test_replies_lead_with_what_was_asked():
    assert _answer("how long should I hold the stretch")[0] == "Hold for thirty seconds on each side."
    doctor = _answer("when should I see a doctor")
    assert doctor[0] == "If you feel pain during any of these exercises, stop, and consult a medical professional."
    assert not any("weights" in line for line in doctor)         # no exercise here uses weights
    rolling = _answer("how do I foam roll")
    assert rolling[-1] == "Roll for one minute on each side." and rolling[0].startswith("Foam rolling can help")


def test_pain_part_way_through_a_side_is_recorded_as_partly_done():
    events = []

    class Listener:
        def record(self, event):
            events.append(event)

    clock = VirtualClock()
    session = Session(CONTENT, clock, listeners=[Listener()], speech_seconds=lambda text, wpm: 0.0)
    session.handle(Match("start the stretch", "start", {"exercise": "it_band_stretch"}, 1.0))
    while (due := session.next_due()) is not None and due <= 12:
        clock.set(due)
        session.tick()
    clock.set(12)
    session.handle(Match("ouch", "report_pain", {}, 1.0))
    partial = [(e.exercise, e.side, e.value) for e in events if e.kind == "side_partial"]
    assert partial == [("it_band_stretch", "left", 12.0)]
    assert not [e for e in events if e.kind == "side_done"]


def test_instructions_cut_by_a_pause_come_back_on_resume():
    timeline = simulate("@1 start the stretch\n@4 pause\n@20 resume\n")
    after = [e.text for e in timeline if e.who == "coach" and e.t >= 20]
    assert after[:2] == ["Resuming.", "Now, back to the instructions."]
    assert "Lean towards the crossed leg until you feel a stretch in the outer thigh." in after
    assert after.index("We'll start with the left side.") < after.index("Left side. Hold for thirty seconds. Go.")
