"""How long a spoken question about history takes with a long history: the answer as shipped
(the most recent sessions, by index) against the old way (every session read), in the same run.

    python bench/history_answers.py [--sessions 20000] [--every-day] [--repeat 5]

Builds a history database of that many sessions in a temporary folder, as the recorder writes
them (sessions, events, results; pain now and then, some in a session and some after it; some
sessions started and left), then asks each question ("last_session", "week", "streak",
"progress") both ways, checks that both give the same sentence, and prints the slowest of
`--repeat` tries of each. With --every-day there is a session every day, so the streak runs
through the whole history (the worst case for the streak). The target: at most 0.2 s an answer.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicecoach.history.answers import WHAT, answer_history_question  # noqa: E402
from voicecoach.history.store import HistoryRecorder, connect, read_sessions  # noqa: E402

TARGET_SECONDS = 0.2
NOW = 1_765_000_000.0            # a fixed "now" (December 2025, past noon), so runs compare
EXERCISES = (("foam_rolling", ("left", "right"), 60.0), ("glute_bridge", (None, None), 10.0),
             ("lateral_band_walk", ("left", "right"), 10.0), ("it_band_stretch", ("left", "right"), 30.0))


def build(path: Path, sessions: int, every_day: bool, seed: int = 25) -> None:
    """A history of `sessions` sessions ending today, written in one transaction."""
    rng = random.Random(seed)
    db = connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    day, made = 0, 0
    while made < sessions:
        if every_day or rng.random() > 0.15:                     # some days have none
            for _ in range(1 if every_day else rng.choice((1, 1, 2, 3, 5))):
                if made == sessions:
                    break
                start = _local_time(day, rng.uniform(7, 11) if every_day else rng.uniform(7, 21))
                _session(db, rng, start, may_leave=not every_day)
                made += 1
        day += 1
    db.execute("COMMIT")
    db.close()


def _local_time(days_ago: int, hour: float) -> float:
    """That hour of the local day `days_ago` days before NOW's, as seconds since the epoch."""
    day = dt.datetime.fromtimestamp(NOW).date() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time()).timestamp() + hour * 3600


def _session(db, rng: random.Random, start: float, may_leave: bool) -> None:
    session_id = db.execute("INSERT INTO sessions (started_at) VALUES (?)", (start,)).lastrowid
    t = start
    events = [(session_id, t, "session_started", None, None, None, json.dumps({"plan": [e for e, _, _ in EXERCISES]}))]
    left = may_leave and rng.random() < 0.05                     # started and left: did nothing
    for exercise, sides, amount in ([] if left else EXERCISES):
        t += 20
        events.append((session_id, t, "exercise_started", exercise, None, None, "{}"))
        if rng.random() < 0.1:
            events.append((session_id, t + 5, "skipped", exercise, None, None, "{}"))
            continue
        for side in sides:
            t += amount + 5
            done = amount + rng.choice((0, 0, 5, 10))
            events.append((session_id, t, "side_done", exercise, side, done, "{}"))
            db.execute("INSERT INTO results (session_id, exercise, side, amount) VALUES (?, ?, ?, ?)",
                       (session_id, exercise, side, done))
        if rng.random() < 0.1:
            events.append((session_id, t + 1, "paused", exercise, None, None, "{}"))
            events.append((session_id, t + 30, "resumed", exercise, None, 29.0, "{}"))
        if rng.random() < 0.03:
            events.append((session_id, t + 2, "pain_reported", exercise, None, None, json.dumps({"text": "ouch"})))
    t += 10
    events.append((session_id, t, "session_ended", None, None, None, json.dumps({"reason": "done"})))
    db.execute("UPDATE sessions SET ended_at = ?, end_reason = 'done' WHERE id = ?", (t, session_id))
    if rng.random() < 0.02:                                      # felt after the session
        events.append((None, t + 600, "pain_reported", None, None, None, json.dumps({"text": "my knee hurts"})))
    db.executemany("INSERT INTO events (session_id, at, kind, exercise, side, value, detail) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", events)


def slowest(ask, repeat: int) -> tuple[float, str]:
    worst, answer = 0.0, ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        answer = ask()
        worst = max(worst, time.perf_counter() - t0)
    return worst, answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20000)
    parser.add_argument("--every-day", action="store_true", help="a session every day: the longest streak")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.db"
        t0 = time.perf_counter()
        build(path, args.sessions, args.every_day)
        print(f"history of {args.sessions} sessions{' (one every day)' if args.every_day else ''} "
              f"built in {time.perf_counter() - t0:.1f} s")
        recorder = HistoryRecorder(connect(path), path, wall_clock=lambda: NOW)
        print(f"{'question':<14}{'old way (s)':>13}{'as shipped (s)':>16}  same answer")
        worst_new, differ = 0.0, 0
        for what in WHAT:
            old, old_answer = slowest(lambda: answer_history_question(what, read_sessions(recorder.db), NOW), args.repeat)
            new, new_answer = slowest(lambda: recorder.answer(what), args.repeat)
            same = old_answer == new_answer
            differ += not same
            worst_new = max(worst_new, new)
            print(f"{what:<14}{old:>13.3f}{new:>16.4f}  {'yes' if same else 'NO'}")
            if not same:
                print(f"    old: {old_answer}\n    new: {new_answer}")
        recorder.close()
    verdict = "within" if worst_new <= TARGET_SECONDS else "OVER"
    print(f"slowest answer as shipped: {worst_new:.4f} s, {verdict} the target of {TARGET_SECONDS} s")
    return 0 if worst_new <= TARGET_SECONDS and not differ else 1


if __name__ == "__main__":
    raise SystemExit(main())
