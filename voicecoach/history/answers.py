"""Spoken answers about history, one or two sentences each, for questions such as
"how did I do last time", "how many sessions this week" and "what's my streak".

Pure: past sessions (oldest first) and the time in, a sentence out. Days are the user's
local calendar days; a week starts on Monday.
"""
from __future__ import annotations

import datetime as dt

from voicecoach.history.summary import SessionSummary
from voicecoach.words import say_number, say_seconds

WHAT = ("last_session", "week", "streak", "progress")
PROGRESS_SESSIONS = 6          # "am I getting better" compares up to this many recent sessions
NOTHING_YET = "We haven't done a session together yet. Say start to do the first one."


def answer_history_question(what: str, history: list[SessionSummary], now: float,
                            names: dict[str, str] | None = None, recalls: dict[str, str] | None = None) -> str:
    """`what` is one of WHAT (anything else is taken as last_session); `names` maps exercise
    ids to spoken names (the content's), with the ids made readable otherwise; `recalls` maps
    them to the content's phrase for the amount done ("holding the stretch for {amount}")."""
    sessions = [s for s in history if s.active and s.started_at <= now]
    if not sessions:
        return NOTHING_YET
    if what == "week":
        return _week(sessions, now)
    if what == "streak":
        return answer_streak([s.started_at for s in sessions], now)
    if what == "progress":
        return _progress(sessions[-PROGRESS_SESSIONS:], names or {})
    return _last_session(sessions[-1], now, names or {}, recalls or {})


def _day(t: float) -> dt.date:
    return dt.datetime.fromtimestamp(t).date()


def _when(t: float, now: float) -> str:
    days = (_day(now) - _day(t)).days
    return "today" if days == 0 else "yesterday" if days == 1 else f"{say_number(days)} days ago"


def _plural(n: int, word: str) -> str:
    return f"{say_number(n)} {word}{'' if n == 1 else 's'}"


def _week(sessions: list[SessionSummary], now: float) -> str:
    today = _day(now)
    monday = today - dt.timedelta(days=today.weekday())
    count = sum(monday <= _day(s.started_at) <= today for s in sessions)
    if count == 0:
        return f"No sessions yet this week. Your last one was {_when(sessions[-1].started_at, now)}."
    days = len({_day(s.started_at) for s in sessions if monday <= _day(s.started_at) <= today})
    on_days = "" if days == count else f", on {_plural(days, 'day')}"
    return f"You've done {_plural(count, 'session')} this week{on_days}."


def streak_days(sessions: list[SessionSummary], now: float) -> int:
    """Days in a row with a session, ending today, or yesterday when today has none yet."""
    return streak_of([s.started_at for s in sessions], now)


def streak_of(starts: list[float], now: float) -> int:
    """Days in a row with one of these start times, ending today, or yesterday when today has none."""
    days = {_day(t) for t in starts}
    day = _day(now)
    if day not in days:
        day -= dt.timedelta(days=1)
    streak = 0
    while day in days:
        streak += 1
        day -= dt.timedelta(days=1)
    return streak


def answer_streak(starts: list[float], now: float) -> str:
    """ "What's my streak" from the start times of the sessions that did something, oldest first
    (the most recent ones back to the first day without one are enough)."""
    starts = [t for t in starts if t <= now]
    if not starts:
        return NOTHING_YET
    streak = streak_of(starts, now)
    if streak == 0:
        return f"No streak right now. Your last session was {_when(starts[-1], now)}; today is a good day."
    if streak == 1:
        return "Your streak is one day. Come back tomorrow to make it two."
    return f"Your streak is {say_number(streak)} days in a row. Keep it up."


def settled(what: str, recent: list[SessionSummary], now: float) -> bool:
    """Whether the most recent sessions (oldest first) already decide the answer to `what`:
    no older session could change it, so reading the history can stop there."""
    if not recent:
        return False
    sessions = [s for s in recent if s.active and s.started_at <= now]
    oldest = _day(recent[0].started_at)
    if what == "progress":
        return len(sessions) >= PROGRESS_SESSIONS
    if what == "week":
        today = _day(now)
        return bool(sessions) and oldest < today - dt.timedelta(days=today.weekday())
    if what == "streak":
        return bool(sessions) and oldest < first_day_without([s.started_at for s in sessions], now)
    return bool(sessions)


def first_day_without(starts: list[float], now: float) -> dt.date:
    """The most recent day, before the streak, without a session: what is older cannot lengthen it."""
    today = _day(now)
    end = today if today in {_day(t) for t in starts} else today - dt.timedelta(days=1)
    return end - dt.timedelta(days=streak_of(starts, now))


def _name(exercise: str, names: dict[str, str]) -> str:
    return names.get(exercise, exercise.replace("_", " "))


def _last_session(last: SessionSummary, now: float, names: dict[str, str], recalls: dict[str, str]) -> str:
    results = last.results
    first = f"Your last session was {_when(last.started_at, now)}"
    if results:
        first += f": you did {_plural(len(results), 'exercise')}"
        recalled = [(recalls[e], max(amounts)) for e, amounts in results.items() if e in recalls]
        if recalled:
            phrase, amount = recalled[-1]
            first += ", " + phrase.format(amount=say_seconds(amount))
    if last.painful:
        where = next((p.exercise for p in last.pains if p.exercise), None)
        during = f" during {_name(where, names)}" if where else ""
        return f"{first}. You reported pain{during}, so we'll take it easy; if it persists, see a medical professional."
    if last.skipped:
        return f"{first}. You skipped {_name(last.skipped[0], names)}, and no pain was reported."
    return f"{first}. No pain reported. Nice work."


def _progress(recent: list[SessionSummary], names: dict[str, str]) -> str:
    """How the recent sessions compare: amounts done, first against last, and pain reports."""
    if len(recent) < 2:
        return "We've only done one session so far. After a few more I can tell you how you're progressing."
    first, last = recent[0].results, recent[-1].results
    changes = []
    for exercise in last:
        if exercise in first and max(last[exercise]) != max(first[exercise]):
            before, after = max(first[exercise]), max(last[exercise])
            verb = "up" if after > before else "down"
            changes.append(f"{_name(exercise, names)} {verb} from {say_number(int(before))} to {say_number(int(after))}")
    painful = sum(s.painful for s in recent)
    opening = f"Over your last {say_number(len(recent))} sessions"
    amounts = f": {'; '.join(changes)}" if changes else ", your amounts have stayed the same"
    if painful == 0:
        return f"{opening}{amounts}, and no pain reported. You're making steady progress."
    if recent[-1].painful:
        return (f"{opening}{amounts}. You reported pain last time, so take it easy; "
                "if it persists, see a medical professional.")
    return f"{opening}{amounts}. You reported pain in {_plural(painful, 'session')}, but not last time. Keep building gradually."
