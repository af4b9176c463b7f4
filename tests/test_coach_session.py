"""The session on a virtual clock: scripted timelines, exact cue times, pain, pause, changes."""
from __future__ import annotations

import pytest

from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.events import CoachEvent
from voicecoach.coach.session import Proposal, Session
from voicecoach.coach.simulate import Simulator, parse_script
from voicecoach.intents.load import load_catalog
from voicecoach.intents.matcher import recognize
from voicecoach.intents.types import Match

CATALOG = load_catalog()


class Recorder:
    def __init__(self) -> None:
        self.events: list[CoachEvent] = []

    def record(self, event: CoachEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def say(session: Session, text: str):
    return session.handle(recognize(text, CATALOG, session.context()))


def run_until(session: Session, clock: VirtualClock, t: float) -> list[tuple[float, str, str]]:
    """Advance the clock to `t`, collecting (time, cue, text) of every cue on its due time."""
    said = []
    while (due := session.next_due()) is not None and due <= t:
        clock.set(due)
        said += [(clock.now(), r.cue, r.text) for r in session.tick()]
    clock.set(max(clock.now(), t))
    return said


def started(tiny_content, exercise_text="start the stretch", **kw):
    clock = VirtualClock()
    recorder = Recorder()
    session = Session(tiny_content, clock, listeners=[recorder], speech_seconds=lambda text, wpm: 0.0, **kw)
    session.begin()
    say(session, exercise_text)
    return session, clock, recorder


def test_stretch_cues_fall_exactly_on_their_times(tiny_content):
    session, clock, _ = started(tiny_content)
    said = run_until(session, clock, 100)
    cues = [(t, cue) for t, cue, _ in said]
    assert cues[:7] == [(0, "hold_start"), (15, "halfway"), (20, "remaining"), (27, "countdown"),
                        (28, "countdown"), (29, "countdown"), (30, "switch_sides")]
    assert (35, "hold_start") in cues and (65, "exercise_done") in cues
    texts = [text for _, _, text in said]
    assert "Ten seconds left." in texts and "Switch sides. Right side next." in texts


def test_pause_and_resume_shift_every_later_cue_by_the_pause(tiny_content):
    session, clock, recorder = started(tiny_content)
    run_until(session, clock, 10)
    say(session, "pause")
    assert session.next_due() is None
    run_until(session, clock, 10 + 42.5)
    assert session.tick() == []
    say(session, "resume")
    said = run_until(session, clock, 200)
    assert said[0][:2] == (15 + 42.5, "halfway")
    assert (30 + 42.5, "switch_sides") in [(t, c) for t, c, _ in said]
    resumed = [e for e in recorder.events if e.kind == "resumed"]
    assert resumed and resumed[0].value == pytest.approx(42.5)


def test_many_pauses_do_not_drift(tiny_content):
    session, clock, _ = started(tiny_content)
    total_pause = 0.0
    for k in range(7):
        run_until(session, clock, clock.now() + 1.3)
        say(session, "pause")
        run_until(session, clock, clock.now() + 0.7 + k)
        total_pause += 0.7 + k
        say(session, "resume")
    said = run_until(session, clock, 500)
    assert (65 + total_pause, "exercise_done") in [(round(t, 9), c) for t, c, _ in said]


def test_pain_stops_the_exercise_at_once_and_asks_before_going_on(tiny_content):
    session, clock, recorder = started(tiny_content, "start")
    run_until(session, clock, 12)
    replies = say(session, "ouch that hurts")
    assert replies[0].urgent and "Stop" in replies[0].text
    assert any("medical professional" in r.text for r in replies)
    assert replies[-1].text.endswith("?")
    assert session.next_due() is None and session.exercise is None
    assert session.context().expecting == "yes_no"
    assert "pain_reported" in recorder.kinds()
    pain = [e for e in recorder.events if e.kind == "pain_reported"][0]
    assert pain.exercise == "it_band_stretch" and pain.t == 12
    replies = say(session, "yes")
    assert session.exercise is not None and session.exercise.id == "glute_bridge"


def test_pain_then_no_ends_the_session(tiny_content):
    session, clock, recorder = started(tiny_content, "start")
    run_until(session, clock, 5)
    say(session, "it hurts")
    replies = say(session, "no")
    assert "medical professional" in replies[0].text
    assert recorder.kinds()[-1] == "session_ended"


def test_set_duration_changes_the_current_hold(tiny_content):
    session, clock, recorder = started(tiny_content)
    run_until(session, clock, 5)
    replies = say(session, "hold for forty five seconds")
    assert "forty five seconds" in replies[0].text
    said = run_until(session, clock, 300)
    cues = [(t, c) for t, c, _ in said]
    assert (45, "switch_sides") in cues and (50, "hold_start") in cues and (95, "exercise_done") in cues
    assert ("duration_changed", 45) in [(e.kind, e.value) for e in recorder.events]


def test_set_duration_shorter_than_elapsed_ends_the_hold_now(tiny_content):
    session, clock, _ = started(tiny_content)
    run_until(session, clock, 25)
    say(session, "make it twenty seconds")
    said = run_until(session, clock, 25)
    assert said and said[-1][:2] == (25, "switch_sides")


def test_reps_are_counted_on_the_tempo_with_rest_between_sets(tiny_content):
    session, clock, recorder = started(tiny_content, "do glute bridges")
    said = run_until(session, clock, 200)
    reps = [t for t, c, _ in said if c == "rep"]
    assert reps[:5] == [3, 6, 9, 12, 15]
    assert (15, "set_done") in [(t, c) for t, c, _ in said]
    assert (15, "rest") in [(t, c) for t, c, _ in said]
    assert reps[5:] == [38, 41, 44, 47, 50]
    assert (50, "exercise_done") in [(t, c) for t, c, _ in said]
    assert [e.value for e in recorder.events if e.kind == "side_done"] == [5, 5]


def test_next_and_previous_move_through_the_routine(tiny_content):
    session, clock, recorder = started(tiny_content, "start")
    assert session.exercise.id == "it_band_stretch"
    say(session, "skip")
    assert session.exercise.id == "glute_bridge"
    assert ("skipped", "it_band_stretch") in [(e.kind, e.exercise) for e in recorder.events]
    say(session, "go back")
    assert session.exercise.id == "it_band_stretch"
    say(session, "go back")
    assert session.exercise.id == "it_band_stretch"


def test_whole_routine_ends_with_routine_done(tiny_content):
    session, clock, recorder = started(tiny_content, "start")
    said = run_until(session, clock, 1000)
    assert [c for _, c, _ in said if c][-1] == "routine_done"
    assert recorder.kinds()[0] == "session_started" and recorder.kinds()[-1] == "session_ended"
    assert session.exercise is None and session.next_due() is None


def test_time_left_repeat_and_help(tiny_content):
    session, clock, _ = started(tiny_content)
    run_until(session, clock, 18)
    assert say(session, "how long left")[0].text == "Twelve seconds left on the left side."
    assert say(session, "say that again")[0].text == "Twelve seconds left on the left side."
    assert "pause" in say(session, "help")[0].text


def test_yes_answers_the_greeting_and_no_declines(tiny_content):
    clock = VirtualClock()
    session = Session(tiny_content, clock)
    greeting = session.begin()
    assert greeting[-1].text.endswith("?") and session.context().expecting == "yes_no"
    assert "Okay" in say(session, "no thanks")[0].text and session.exercise is None
    session.begin()
    say(session, "yes")
    assert session.exercise is not None


def test_a_proposal_applies_its_overrides_when_accepted(tiny_content):
    clock = VirtualClock()
    proposal = Proposal("Shall we hold the stretch for 35 seconds today?", {"it_band_stretch": {"hold_seconds": 35}})
    session = Session(tiny_content, clock, proposal=proposal, speech_seconds=lambda t, w: 0.0)
    assert session.begin()[-1].text == proposal.text
    say(session, "sure")
    said = run_until(session, clock, 40)
    assert (35, "switch_sides") in [(t, c) for t, c, _ in said]


def test_rate_changes_are_replies_for_the_output_stage(tiny_content):
    session = Session(tiny_content, VirtualClock())
    slower = say(session, "slow down please")[0]
    assert slower.rate is not None and slower.rate < 1
    assert say(session, "faster")[0].rate == pytest.approx(1.0)


def test_unknown_text_is_not_guessed(tiny_content):
    session = Session(tiny_content, VirtualClock())
    reply = session.handle(Match("blah", "none"))
    assert "didn't catch" in reply[0].text and "help" in reply[0].text


def test_stop_ends_a_workout_and_a_second_stop_leaves(tiny_content):
    session, clock, recorder = started(tiny_content)
    say(session, "stop")
    assert session.exercise is None and not session.wants_exit
    assert recorder.kinds()[-1] == "session_ended"
    say(session, "stop")
    assert session.wants_exit


def test_a_broken_listener_never_stops_the_coach(tiny_content):
    class Broken:
        def record(self, event):
            raise OSError("disk full")

    session = Session(tiny_content, VirtualClock(), listeners=[Broken()])
    session.begin()
    say(session, "start")
    assert session.exercise is not None and session.listener_errors


def test_simulator_timeline_with_barge_in(tiny_content):
    sim = Simulator(lambda clock: Session(tiny_content, clock), lambda t, s: recognize(t, CATALOG, s.context()))
    timeline = sim.run(parse_script("@1 yes\n@30 pause\n@40 resume\n"))
    user = [e for e in timeline if e.who == "user"]
    assert [(e.t, e.intent) for e in user] == [(1, "yes"), (30, "pause"), (40, "resume")]
    assert any(e.cut for e in timeline), "the greeting is cut by the user's yes"
    times = [e.t for e in timeline]
    assert times == sorted(times)
    hold = [e for e in timeline if e.cue == "hold_start"][0]
    halfway = [e for e in timeline if e.cue == "halfway"][0]
    switch = [e for e in timeline if e.cue == "switch_sides"][0]
    assert hold.t + 15 < halfway.t < 30                  # counted from the end of the start line
    assert switch.t == pytest.approx(halfway.t + 15 + 10)   # the 10 s pause shifts it
    assert [e.cue for e in timeline if e.cue][-1] == "routine_done"


def test_simulated_cues_keep_time_order_when_they_queue(tiny_content):
    sim = Simulator(lambda clock: Session(tiny_content, clock), lambda t, s: recognize(t, CATALOG, s.context()))
    timeline = sim.run(parse_script("@1 do glute bridges\n"))
    reps = [e.text for e in timeline if e.cue == "rep"]
    assert reps == ["One.", "Two.", "Three.", "Four.", "Five."] * 2
