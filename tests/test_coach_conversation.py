"""What a conversation needs, on the virtual clock: relative changes, what's next, switching
sides, and answers in kind to thanks, greetings and questions the article does not cover."""
from __future__ import annotations

from test_coach_session import run_until, started

from voicecoach.intents.types import Match


def handle(session, intent: str, slots: dict | None = None, aside: str | None = None, text: str = ""):
    return session.handle(Match(text or intent, intent, slots or {}, 1.0, aside=aside))


def side_end(said) -> float:
    return next(t for t, cue, _ in said if cue == "switch_sides")


def test_add_ten_seconds_at_ten_seconds_makes_a_thirty_second_hold_end_at_forty(tiny_content):
    session, clock, recorder = started(tiny_content)
    run_until(session, clock, 10)
    replies = handle(session, "adjust", {"seconds": 10})
    assert "holding for forty seconds" in replies[0].text
    said = run_until(session, clock, 100)
    assert side_end(said) == 40
    assert ("duration_changed", 40) in [(e.kind, e.value) for e in recorder.events]


def test_take_five_seconds_off_and_make_it_longer(tiny_content):
    session, clock, _ = started(tiny_content)
    run_until(session, clock, 5)
    handle(session, "adjust", {"seconds": -5})
    handle(session, "adjust", {"direction": 1})         # ten seconds more, with no amount said
    said = run_until(session, clock, 100)
    assert side_end(said) == 35


def test_a_relative_change_stays_within_the_limits(tiny_content):
    session, clock, _ = started(tiny_content)
    replies = handle(session, "adjust", {"seconds": -100})
    assert "five seconds" in replies[0].text
    said = run_until(session, clock, 100)
    assert side_end(said) == 5


def test_two_more_reps_and_one_more_set_on_a_rep_exercise(tiny_content):
    session, clock, _ = started(tiny_content, "do glute bridges")
    replies = handle(session, "adjust", {"reps": 2})
    assert "seven reps" in replies[0].text
    replies = handle(session, "adjust", {"sets": 1})
    assert "three sets" in replies[0].text
    said = run_until(session, clock, 1000)
    reps = [text for _, cue, text in said if cue == "rep"]
    assert len(reps) == 3 * 7
    assert any("Set three of three" in text for _, cue, text in said if cue == "hold_start")


def test_seconds_on_a_rep_exercise_are_explained_not_applied(tiny_content):
    session, clock, _ = started(tiny_content, "do glute bridges")
    replies = handle(session, "adjust", {"seconds": 10})
    assert "counts reps" in replies[0].text


def test_whats_next_answers_and_does_not_skip(tiny_content):
    session, clock, recorder = started(tiny_content, "start the routine")
    run_until(session, clock, 5)
    replies = handle(session, "whats_next")
    assert "glute bridges" in replies[0].text
    assert session.exercise is not None and session.exercise.id == "it_band_stretch"
    assert "skipped" not in recorder.kinds()
    said = run_until(session, clock, 100)
    assert side_end(said) == 30


def test_whats_next_after_a_single_exercise_says_it_is_the_last(tiny_content):
    session, clock, _ = started(tiny_content)
    assert "last exercise" in handle(session, "whats_next")[0].text


def test_switch_sides_ends_this_side_now(tiny_content):
    session, clock, _ = started(tiny_content)
    run_until(session, clock, 12)
    assert handle(session, "switch_sides") == []
    said = run_until(session, clock, 100)
    assert side_end(said) == 12
    right_start = next(t for t, cue, text in said if cue == "hold_start" and "Right" in text)
    assert right_start == 12 + 5                       # the switch time, then the right side
    assert next(t for t, cue, _ in said if cue == "exercise_done") == right_start + 30


def test_switch_sides_on_the_last_side_says_so(tiny_content):
    session, clock, _ = started(tiny_content)
    run_until(session, clock, 40)
    replies = handle(session, "switch_sides")
    assert "last one" in replies[0].text


def test_thanks_greeting_and_questions_outside_the_article(tiny_content):
    session, clock, _ = started(tiny_content)
    assert handle(session, "none", aside="thanks")[0].text.startswith("You're welcome")
    assert handle(session, "none", aside="greeting")[0].text.startswith("Hi")
    referral = handle(session, "none", aside="not_covered")[0].text
    assert "doesn't cover that" in referral and "physiotherapist or doctor" in referral
    assert "didn't catch that" in handle(session, "none")[0].text
    other = [r.text for r in handle(session, "none", aside="other_exercise")]
    names = [e.name for e in tiny_content.exercises.values()]
    assert other[0].startswith("I only coach the article's exercises") and all(n in other[0] for n in names)
    said = run_until(session, clock, 100)
    assert side_end(said) == 30                        # none of it changed the exercise
