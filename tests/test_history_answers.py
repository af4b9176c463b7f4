"""Spoken answers about history: last session, this week, the streak."""
from __future__ import annotations

import datetime as dt

from voicecoach.history.answers import NOTHING_YET, answer_history_question, streak_days
from voicecoach.history.store import PainReport, SessionSummary, SideResult

# Wednesday 2027-01-13 at 18:00 local time; the week began on Monday the 11th.
NOW = dt.datetime(2027, 1, 13, 18, 0).timestamp()
NAMES = {"it_band_stretch": "the IT band stretch", "glute_bridge": "glute bridges"}
RECALLS = {"it_band_stretch": "holding the stretch for {amount}"}


def at(days_ago: int, hour: int = 9) -> float:
    day = dt.date(2027, 1, 13) - dt.timedelta(days=days_ago)
    return dt.datetime(day.year, day.month, day.day, hour).timestamp()


def session(days_ago: int, hour: int = 9, stretch: float = 30, pain: str | None = None,
            skipped: tuple[str, ...] = ()) -> SessionSummary:
    done = [SideResult("it_band_stretch", "left", stretch), SideResult("it_band_stretch", "right", stretch),
            SideResult("glute_bridge", None, 10)]
    pains = [PainReport(at(days_ago, hour), pain, "ouch")] if pain else []
    return SessionSummary(days_ago, at(days_ago, hour), None, "done", done, pains, list(skipped))


def ask(what, history):
    return answer_history_question(what, history, NOW, NAMES, RECALLS)


def test_with_no_history_every_question_says_so():
    for what in ("last_session", "week", "streak"):
        assert ask(what, []) == NOTHING_YET
    assert ask("week", [SessionSummary(1, at(0))]) == NOTHING_YET      # started and left: not a session


def test_last_session_without_pain():
    assert ask("last_session", [session(3), session(1, stretch=35)]) == (
        "Your last session was yesterday: you did two exercises, holding the stretch for thirty five seconds. "
        "No pain reported. Nice work.")


def test_last_session_with_pain_names_the_exercise_and_the_professional():
    answer = ask("last_session", [session(0, pain="glute_bridge")])
    assert answer == ("Your last session was today: you did two exercises, holding the stretch for thirty seconds. "
                      "You reported pain during glute bridges, so we'll take it easy; if it persists, "
                      "see a medical professional.")


def test_last_session_with_a_skip_and_days_ago():
    assert ask("last_session", [session(4, skipped=("glute_bridge",))]) == (
        "Your last session was four days ago: you did two exercises, holding the stretch for thirty seconds. "
        "You skipped glute bridges, and no pain was reported.")


def test_sessions_this_week_count_from_monday():
    history = [session(3), session(2), session(1), session(1, hour=19), session(0)]  # Sunday, Mon, Tue x2, Wed
    assert ask("week", history) == "You've done four sessions this week, on three days."
    assert ask("week", [session(2)]) == "You've done one session this week."
    assert ask("week", [session(5)]) == "No sessions yet this week. Your last one was five days ago."


def test_streak_counts_days_in_a_row_up_to_today_or_yesterday():
    assert ask("streak", [session(5), session(2), session(1), session(0)]) == "Your streak is three days in a row. Keep it up."
    assert streak_days([session(3), session(2), session(1)], NOW) == 3          # today not done yet: still alive
    assert ask("streak", [session(0)]) == "Your streak is one day. Come back tomorrow to make it two."
    assert ask("streak", [session(3)]) == ("No streak right now. Your last session was three days ago; "
                                          "today is a good day.")


def test_two_sessions_on_one_day_are_one_day_of_streak():
    assert streak_days([session(1), session(0, hour=8), session(0, hour=17)], NOW) == 2


def test_an_unknown_question_is_taken_as_the_last_session():
    assert ask("anything", [session(1)]).startswith("Your last session was yesterday")


def test_without_names_the_ids_are_read_out_as_words():
    answer = answer_history_question("last_session", [session(1, pain="glute_bridge")], NOW)
    assert "during glute bridge," in answer
