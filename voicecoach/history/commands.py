"""`voicecoach history`: recent sessions as a table and a chart of progress and pain.

    voicecoach history [--db PATH] [--limit N]     table and chart
    voicecoach history --json | --csv              everything, for other programs
    voicecoach history --forget [--yes]            delete the history (asks first)
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import IO

from voicecoach.history.store import (
    WITHOUT_HISTORY, HistoryError, SessionSummary, forget, is_our_history, open_history, real_path,
)

SPARKS = "▁▂▃▄▅▆▇█"
ASCII_SPARKS = "_.-=+*#@"
PAIN_MARK, ASCII_PAIN_MARK = "✗", "X"
NO_DATA = "·"
SHORT_NAMES = {"it_band_stretch": "IT band stretch", "foam_rolling": "foam rolling",
               "glute_bridge": "glute bridges", "lateral_band_walk": "band walks"}
HOLD_EXERCISES = ("it_band_stretch", "foam_rolling")     # the rest count reps
CHART_ORDER = ("foam_rolling", "glute_bridge", "lateral_band_walk", "it_band_stretch")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, metavar="PATH",
                        help="the history database (default: $VOICECOACH_DB, the config file, or your data directory)")
    parser.add_argument("--limit", type=int, default=20, metavar="N", help="how many recent sessions to show (default 20)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="all sessions as JSON")
    form.add_argument("--csv", action="store_true", help="all sessions as CSV: a row for each side done, pain report, skip and pause")
    form.add_argument("--forget", action="store_true", help="delete all history on this machine (asks first)")
    parser.add_argument("--yes", action="store_true", help="with --forget: do not ask")


def run(args: argparse.Namespace) -> int:
    from voicecoach.config import ConfigError
    from voicecoach.settings import settings_of

    try:
        path = settings_of(args).db
    except ConfigError as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 2
    if args.forget:
        return forget_history(path, args.yes, sys.stdin, sys.stdout)
    if args.limit is not None and args.limit < 1:
        print(f"voicecoach: --limit must be at least 1, not {args.limit}", file=sys.stderr)
        return 2
    problems: list[str] = []
    if not path.exists():
        sessions: list[SessionSummary] = []
    else:
        recorder, reason = open_history(path)
        if recorder is None:
            print(f"voicecoach: {(reason or 'history unavailable').removesuffix(WITHOUT_HISTORY)}", file=sys.stderr)
            return 1
        sessions = recorder.sessions(limit=None if args.json or args.csv else args.limit, problems=problems)
        recorder.close()
        problems += [f"session {s.id} has a time no calendar holds ({s.started_at:g})"
                     for s in sessions if _local_time(s.started_at) is None]
    if args.json:
        json.dump({"database": str(path), "sessions": [as_json(s) for s in sessions]}, sys.stdout, indent=2)
        print()
    elif args.csv:
        write_csv(sessions, sys.stdout)
    elif not sessions and not problems:
        print(f"No sessions recorded yet ({path}).")
    elif sessions:
        show(sessions, sys.stdout)
    if problems:
        # One line: what could not be shown, after what could.
        print(f"voicecoach: the history database {path} is damaged: {'; '.join(problems)}; "
              "the rest is shown", file=sys.stderr)
        return 1
    return 0


# ----- forgetting -------------------------------------------------------------------------

def forget_history(path: Path, assume_yes: bool, stdin: IO[str], stdout: IO[str]) -> int:
    target = real_path(path)
    if not target.exists():
        print(f"There is no history to delete ({path}).", file=stdout)
        return 0
    if not is_our_history(target):
        print(f"voicecoach: {target} is not a voicecoach history; nothing deleted", file=sys.stderr)
        return 1
    shown = f"{target} (the link {path} points there)" if target != Path(path).expanduser() else str(target)
    if not assume_yes:
        stdout.write(f"Delete all history in {shown}? This cannot be undone. [y/N] ")
        stdout.flush()
        answer = stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing deleted.", file=stdout)
            return 1
    try:
        deleted = forget(target)
    except HistoryError as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"voicecoach: cannot delete {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"History deleted: {', '.join(str(p) for p in deleted)}.", file=stdout)
    return 0


# ----- JSON and CSV -----------------------------------------------------------------------

def _local_time(t: float | None) -> dt.datetime | None:
    """The local date and time of a stored time, or None when no calendar holds it."""
    if t is None:
        return None
    try:
        return dt.datetime.fromtimestamp(t).astimezone()
    except (OverflowError, OSError, ValueError):
        return None


def _iso(t: float | None) -> str | None:
    local = _local_time(t)
    return local.isoformat(timespec="seconds") if local is not None else None


def unit_of(exercise: str) -> str:
    return "seconds" if exercise in HOLD_EXERCISES else "reps"


def as_json(s: SessionSummary) -> dict:
    return {
        "id": s.id, "started": _iso(s.started_at), "ended": _iso(s.ended_at), "end_reason": s.end_reason,
        "done": [{"exercise": r.exercise, "side": r.side, "amount": r.amount, "unit": unit_of(r.exercise)} for r in s.done],
        "pain_reports": [{"time": _iso(p.at), "exercise": p.exercise, "text": p.text} for p in s.pains],
        "skipped": s.skipped, "pauses": s.pauses, "paused_seconds": round(s.paused_seconds, 1),
    }


CSV_COLUMNS = ("session", "started", "what", "exercise", "side", "amount", "unit", "time", "text")


def write_csv(sessions: list[SessionSummary], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in sessions:
        started = _iso(s.started_at)
        for r in s.done:
            writer.writerow([s.id, started, "done", r.exercise, r.side or "", f"{r.amount:g}", unit_of(r.exercise), "", ""])
        for p in s.pains:
            writer.writerow([s.id, started, "pain", p.exercise or "", "", "", "", _iso(p.at), p.text])
        for exercise in s.skipped:
            writer.writerow([s.id, started, "skipped", exercise, "", "", "", "", ""])
        if s.pauses:
            writer.writerow([s.id, started, "paused", "", "", f"{s.paused_seconds:g}", "seconds", "", ""])


# ----- table and chart --------------------------------------------------------------------

def _short_date(t: float) -> str:
    local = _local_time(t)
    return local.strftime("%m-%d") if local is not None else "?"


def _amount(s: SessionSummary, exercise: str) -> float | None:
    amounts = s.results.get(exercise)
    return max(amounts) if amounts else None


def table_rows(sessions: list[SessionSummary]) -> tuple[list[str], list[list[str]]]:
    header = ["started"] + [SHORT_NAMES[e] for e in CHART_ORDER] + ["pauses", "skipped", "pain", "ended"]
    rows = []
    for s in sessions:
        started = _local_time(s.started_at)
        cells = [started.strftime("%Y-%m-%d %H:%M") if started is not None else "?"]
        for exercise in CHART_ORDER:
            amount = _amount(s, exercise)
            cells.append("-" if amount is None else f"{amount:g} {'s' if exercise in HOLD_EXERCISES else 'reps'}")
        cells += [str(s.pauses), str(len(s.skipped)), str(len(s.pains)), s.end_reason or "-"]
        rows.append(cells)
    return header, rows


def sparkline(values: list[float | None], ascii_only: bool = False) -> str:
    """One character a value, its height against the largest; NO_DATA where there is none."""
    marks = ASCII_SPARKS if ascii_only else SPARKS
    top = max((v for v in values if v is not None), default=0.0)
    out = []
    for v in values:
        if v is None:
            out.append("." if ascii_only else NO_DATA)
        else:
            level = 0 if top <= 0 else round((len(marks) - 1) * v / top)
            out.append(marks[max(0, min(len(marks) - 1, level))])
    return "".join(out)


def chart_lines(sessions: list[SessionSummary], ascii_only: bool = False) -> list[str]:
    """A sparkline a exercise (most done on a side, each session), pain marked under it."""
    label_width = max(len(n) for n in SHORT_NAMES.values())
    lines = []
    for exercise in CHART_ORDER:
        values = [_amount(s, exercise) for s in sessions]
        known = [v for v in values if v is not None]
        if not known:
            continue
        unit = "s held" if exercise in HOLD_EXERCISES else "reps"
        span = f"{min(known):g}" if min(known) == max(known) else f"{min(known):g} to {max(known):g}"
        lines.append(f"{SHORT_NAMES[exercise]:<{label_width}}  {sparkline(values, ascii_only)}  {span} {unit}")
    mark = ASCII_PAIN_MARK if ascii_only else PAIN_MARK
    pains = "".join(mark if s.painful else " " for s in sessions)
    reports = sum(len(s.pains) for s in sessions)
    lines.append(f"{'pain':<{label_width}}  {pains}  " + (f"{reports} report{'s' if reports != 1 else ''}" if reports else "none"))
    axis = _short_date(sessions[0].started_at)
    if len(sessions) > 1:
        axis = f"{axis} .. {_short_date(sessions[-1].started_at)}"
    lines.append(f"{'':<{label_width}}  {axis}")
    return lines


def _can_draw(out: IO[str]) -> bool:
    encoding = getattr(out, "encoding", None) or "ascii"
    try:
        (SPARKS + PAIN_MARK + NO_DATA).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def show(sessions: list[SessionSummary], out: IO[str]) -> None:
    """The table and chart: with rich on a terminal, plain aligned text otherwise."""
    header, rows = table_rows(sessions)
    ascii_only = not _can_draw(out)
    chart = chart_lines(sessions, ascii_only)
    title = f"Progress over the last {len(sessions)} session{'s' if len(sessions) != 1 else ''} (oldest on the left)"
    if out.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console(file=out)
        table = Table(title="Recent sessions")
        for column in header:
            table.add_column(column, justify="left" if column in ("started", "ended") else "right")
        for row in rows:
            table.add_row(*row, style="red" if row[-2] != "0" else None)
        console.print(table)
        console.print(title + ":", style="bold")
        for line in chart:
            text = Text("  " + line)
            text.highlight_regex(PAIN_MARK if not ascii_only else ASCII_PAIN_MARK, "bold red")
            console.print(text)
        return
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), file=out)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), file=out)
    print(file=out)
    print(title + ":", file=out)
    for line in chart:
        print("  " + line.rstrip(), file=out)
