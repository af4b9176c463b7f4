"""Spoken answers about history: one or two sentences each."""
from __future__ import annotations

import datetime as dt

from voicecoach.coach.timeline import say_number
from voicecoach.history.store import SessionSummary

WHAT = ("last_session", "week", "streak")


def _day(t: float) -> dt.date:
    return dt.datetime.fromtimestamp(t).date()


def _when(t: float, now: float) -> str:
    days = (_day(now) - _day(t)).days
    return "today" if days == 0 else "yesterday" if days == 1 else f"{say_number(days)} days ago"


def answer_history_question(what: str, sessions: list[SessionSummary], now: float) -> str:
    done = [s for s in sessions if s.results or s.pains]
    if not done:
        return "We haven't done a session together yet. Say start to do the first one."
    if what == "week":
        week_start = _day(now) - dt.timedelta(days=_day(now).weekday())
        count = sum(_day(s.started_at) >= week_start for s in done)
        plural = "session" if count == 1 else "sessions"
        return f"You've done {say_number(count)} {plural} this week."
    if what == "streak":
        days = sorted({_day(s.started_at) for s in done}, reverse=True)
        streak, expected = 0, _day(now)
        if days[0] == expected - dt.timedelta(days=1):
            expected = days[0]
        for day in days:
            if day != expected:
                break
            streak += 1
            expected -= dt.timedelta(days=1)
        if streak == 0:
            return f"No streak right now. Your last session was {_when(done[-1].started_at, now)}."
        return f"Your streak is {say_number(streak)} {'day' if streak == 1 else 'days'} in a row."
    last = done[-1]
    exercises = len(last.results)
    parts = [f"Your last session was {_when(last.started_at, now)}: you did {say_number(exercises)} "
             f"{'exercise' if exercises == 1 else 'exercises'}."]
    stretch = last.results.get("it_band_stretch")
    if stretch:
        parts[0] = parts[0][:-1] + f", holding the stretch for {say_number(int(max(stretch)))} seconds."
    parts.append("You reported pain, so take it easy." if last.painful else "No pain reported. Nice work.")
    return " ".join(parts)
