"""`voicecoach history`: recent sessions as a table and a chart; `--json`, `--csv`, `--forget`."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys

from voicecoach.history.store import SessionSummary, forget, open_history, resolve_db_path

BAR_WIDTH = 30


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, help="the history database (default: $VOICECOACH_DB or your data directory)")
    parser.add_argument("--limit", type=int, default=20, help="how many recent sessions (default 20)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="one JSON object a session")
    form.add_argument("--csv", action="store_true", help="CSV, one row a session and exercise")
    form.add_argument("--forget", action="store_true", help="delete all history (asks first)")
    parser.add_argument("--yes", action="store_true", help="with --forget: do not ask")


def run(args: argparse.Namespace) -> int:
    path = resolve_db_path(args.db)
    if args.forget:
        return _forget(path, args.yes)
    if not path.exists():
        print(f"No history yet ({path}).")
        return 0
    recorder, reason = open_history(path)
    if recorder is None:
        print(f"voicecoach: {reason}", file=sys.stderr)
        return 1
    sessions = recorder.sessions(limit=args.limit)
    recorder.close()
    if args.json:
        for s in sessions:
            print(json.dumps(as_json(s)))
    elif args.csv:
        write_csv(sessions, sys.stdout)
    else:
        print_table(sessions)
    return 0


def _forget(path, assume_yes: bool) -> int:
    if not path.exists():
        print(f"There is no history to delete ({path}).")
        return 0
    if not assume_yes:
        sys.stdout.write(f"Delete all history in {path}? This cannot be undone. [y/N] ")
        sys.stdout.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Kept.")
            return 1
    forget(path)
    print("History deleted.")
    return 0


def _date(t: float) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")


def as_json(s: SessionSummary) -> dict:
    return {"id": s.id, "started": _date(s.started_at), "ended": _date(s.ended_at) if s.ended_at else None,
            "end_reason": s.end_reason, "results": s.results, "pain_reports": s.pains, "skipped": s.skipped}


def write_csv(sessions: list[SessionSummary], out) -> None:
    writer = csv.writer(out)
    writer.writerow(["session", "started", "exercise", "sides", "best", "pain_reports", "end_reason"])
    for s in sessions:
        for exercise, amounts in (s.results or {"": []}).items():
            writer.writerow([s.id, _date(s.started_at), exercise, len(amounts), max(amounts) if amounts else "",
                             len(s.pains), s.end_reason or ""])


def chart_lines(sessions: list[SessionSummary]) -> list[str]:
    """One bar a session: seconds held in stretches and rolling, reps as a number, pain marked."""
    held = [sum(sum(a) for e, a in s.results.items() if e in ("it_band_stretch", "foam_rolling")) for s in sessions]
    top = max(held + [1.0])
    lines = []
    for s, seconds in zip(sessions, held):
        reps = int(sum(sum(a) for e, a in s.results.items() if e in ("glute_bridge", "lateral_band_walk")))
        bar = "█" * int(round(BAR_WIDTH * seconds / top))
        pain = "  ✗ pain" + (f" ({', '.join(p or 'idle' for p in s.pains)})" if s.pains else "") if s.pains else ""
        lines.append(f"{_date(s.started_at)[5:]} {bar:<{BAR_WIDTH}} {seconds:4.0f} s held, {reps:3d} reps{pain}")
    return lines


def print_table(sessions: list[SessionSummary]) -> None:
    if not sessions:
        print("No sessions recorded yet.")
        return
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Recent sessions")
        for column in ("started", "exercises", "stretch hold", "reps", "pain", "ended"):
            table.add_column(column)
        for s in sessions:
            table.add_row(*_row(s))
        Console().print(table)
    else:
        print(f"{'started':16}  {'exercises':9}  {'stretch hold':12}  {'reps':4}  {'pain':4}  ended")
        for s in sessions:
            started, exercises, hold, reps, pain, ended = _row(s)
            print(f"{started:16}  {exercises:9}  {hold:12}  {reps:4}  {pain:4}  {ended}")
    print()
    print("Progress (seconds held a session, reps, and pain reports):")
    for line in chart_lines(sessions):
        print("  " + line)


def _row(s: SessionSummary) -> tuple[str, str, str, str, str, str]:
    stretch = s.results.get("it_band_stretch")
    reps = int(sum(sum(a) for e, a in s.results.items() if e in ("glute_bridge", "lateral_band_walk")))
    return (_date(s.started_at), str(len(s.results)), f"{max(stretch):.0f} s" if stretch else "-", str(reps),
            str(len(s.pains)), s.end_reason or "-")
