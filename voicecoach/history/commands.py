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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from voicecoach.content.model import Content
from voicecoach.history.store import (
    WITHOUT_HISTORY,
    HistoryError,
    forget,
    is_our_history,
    open_history,
    real_path,
)
from voicecoach.history.summary import SessionSummary

if TYPE_CHECKING:
    from voicecoach.settings import Settings  # resolved by the command line, handed in

SPARKS = "▁▂▃▄▅▆▇█"
ASCII_SPARKS = "_.-=+*#@"
PAIN_MARK, ASCII_PAIN_MARK = "✗", "X"
NO_DATA = "·"
RED, BOLD, BOLD_RED = "31", "1", "1;31"     # ANSI styles (SGR) on a terminal
PARTLY = "*"                     # marks an amount only partly done (the side was cut short)


@dataclass(frozen=True)
class Column:
    """An exercise as the table and chart show it; from the content, or from its id when the
    content no longer has it."""

    id: str
    short_name: str
    unit: str                    # "seconds", "reps", "steps", ...

    @property
    def abbreviation(self) -> str:
        return "s" if self.unit == "seconds" else self.unit


def columns(content: Content | None, sessions: Sequence[SessionSummary] = ()) -> list[Column]:
    """The routine's exercises in order, then any other the content or the sessions name."""
    out: dict[str, Column] = {}
    if content is not None:
        order = list(content.routine) + [e for e in content.exercises if e not in content.routine]
        for exercise_id in order:
            exercise = content.exercises[exercise_id]
            out[exercise_id] = Column(exercise_id, exercise.short_name, exercise.unit)
    for s in sessions:
        for exercise_id in [*s.results, *s.partial_results]:
            out.setdefault(exercise_id, Column(exercise_id, exercise_id.replace("_", " "), "times"))
    return list(out.values())


def _content() -> Content | None:
    from voicecoach.content.loader import ContentError, load_content

    try:
        return load_content()
    except ContentError:
        return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=None, metavar="PATH",
                        help="the history database (default: $VOICECOACH_DB, the config file, or your data directory)")
    parser.add_argument("--limit", type=int, default=20, metavar="N", help="how many recent sessions to show (default 20)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="all sessions as JSON")
    form.add_argument("--csv", action="store_true", help="all sessions as CSV: a row for each side done, pain report, skip and pause")
    form.add_argument("--forget", action="store_true", help="delete all history on this machine (asks first)")
    parser.add_argument("--yes", action="store_true", help="with --forget: do not ask")


def run(args: argparse.Namespace, settings: Settings) -> int:
    path = settings.db
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
    content = _content()
    units = {c.id: c.unit for c in columns(content, sessions)}
    if args.json:
        json.dump({"database": str(path), "sessions": [as_json(s, units) for s in sessions]}, sys.stdout, indent=2)
        print()
    elif args.csv:
        write_csv(sessions, sys.stdout, units)
    elif not sessions and not problems:
        print(f"No sessions recorded yet ({path}).")
    elif sessions:
        show(sessions, sys.stdout, content)
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


def as_json(s: SessionSummary, units: dict[str, str] | None = None) -> dict:
    units = units or {}
    return {
        "id": s.id, "started": _iso(s.started_at), "ended": _iso(s.ended_at), "end_reason": s.end_reason,
        "done": [{"exercise": r.exercise, "side": r.side, "amount": r.amount, "unit": units.get(r.exercise, "")}
                 for r in s.done],
        "partly_done": [{"exercise": r.exercise, "side": r.side, "amount": r.amount,
                         "unit": units.get(r.exercise, "")} for r in s.partial],
        "pain_reports": [{"time": _iso(p.at), "exercise": p.exercise, "text": p.text} for p in s.pains],
        "skipped": s.skipped, "pauses": s.pauses, "paused_seconds": round(s.paused_seconds, 1),
    }


CSV_COLUMNS = ("session", "started", "what", "exercise", "side", "amount", "unit", "time", "text")


def write_csv(sessions: list[SessionSummary], out: IO[str], units: dict[str, str] | None = None) -> None:
    units = units or {}
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in sessions:
        started = _iso(s.started_at)
        for r in s.done:
            writer.writerow([s.id, started, "done", r.exercise, r.side or "", f"{r.amount:g}", units.get(r.exercise, ""), "", ""])
        for r in s.partial:
            writer.writerow([s.id, started, "partly done", r.exercise, r.side or "", f"{r.amount:g}",
                             units.get(r.exercise, ""), "", ""])
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


def _cell(s: SessionSummary, column: Column) -> str:
    amount = _amount(s, column.id)
    if amount is not None:
        return f"{amount:g} {column.abbreviation}" if column.unit == "seconds" else f"{amount:g}"
    partly = s.partial_results.get(column.id)
    if partly:
        value = f"{max(partly):g}"
        return (f"{value} {column.abbreviation}" if column.unit == "seconds" else value) + PARTLY
    return "-"


def _two_lines(label: str) -> str:
    """A column heading on two lines at its last space, so the table stays narrow."""
    head, _, tail = label.rpartition(" ")
    return f"{head}\n{tail}" if head else label


def table_rows(sessions: list[SessionSummary], content: Content | None = None) -> tuple[list[str], list[list[str]]]:
    """The sessions the spoken answers count (something was done or pain was reported), one row each.
    Exercise headings name the unit where it is not seconds ("glute bridges (reps)")."""
    shown = columns(content, sessions)
    header = ["started"] + [c.short_name if c.unit == "seconds" else f"{c.short_name} ({c.unit})" for c in shown] \
        + ["pauses", "skipped", "pain", "ended"]
    rows = []
    for s in sessions:
        if not s.active:
            continue
        started = _local_time(s.started_at)
        cells = [started.strftime("%m-%d %H:%M") if started is not None else "?"]
        cells += [_cell(s, column) for column in shown]
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


def chart_lines(sessions: list[SessionSummary], ascii_only: bool = False, content: Content | None = None) -> list[str]:
    """A sparkline a exercise (most done on a side, each session), pain marked under it."""
    shown = columns(content, sessions)
    label_width = max([len(c.short_name) for c in shown] + [len("pain")])
    lines = []
    for column in shown:
        values = [_amount(s, column.id) for s in sessions]
        known = [v for v in values if v is not None]
        if not known:
            continue
        unit = "s held" if column.unit == "seconds" else column.unit
        span = f"{min(known):g}" if min(known) == max(known) else f"{min(known):g} to {max(known):g}"
        lines.append(f"{column.short_name:<{label_width}}  {sparkline(values, ascii_only)}  {span} {unit}")
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


def show(sessions: list[SessionSummary], out: IO[str], content: Content | None = None) -> None:
    """The table and chart in plain aligned text (80 columns); on a terminal, with colour."""
    content = content if content is not None else _content()
    header, rows = table_rows(sessions, content)
    ascii_only = not _can_draw(out)
    sessions = [s for s in sessions if s.active]
    chart = chart_lines(sessions, ascii_only, content) if sessions else []
    title = f"Progress over the last {len(sessions)} session{'s' if len(sessions) != 1 else ''} (oldest on the left)"
    widths = [max([len(r[i]) for r in rows] + [max(len(w) for w in h.split())]) for i, h in enumerate(header)]
    headings = [_wrap(h, w) for h, w in zip(header, widths)]
    partly = any(PARTLY in cell for row in rows for cell in row)
    note = f"{PARTLY} partly done: the side was cut short" if partly else ""
    colour = out.isatty()            # on a terminal: pain rows red, pain marks bold red, the title bold
    depth = max(len(h) for h in headings)
    for k in range(depth):                       # headings aligned at the bottom, over their column
        cells = [h[k - (depth - len(h))] if k >= depth - len(h) else "" for h in headings]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip(), file=out)
    for row in rows:
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
        print(_styled(line, RED) if colour and row[-2] != "0" else line, file=out)
    if note:
        print(note, file=out)
    print(file=out)
    print(_styled(title + ":", BOLD) if colour else title + ":", file=out)
    mark = ASCII_PAIN_MARK if ascii_only else PAIN_MARK
    for i, line in enumerate(chart):
        line = "  " + line.rstrip()
        if colour and i == len(chart) - 2:          # the pain line: its marks in bold red
            line = line.replace(mark, _styled(mark, BOLD_RED))
        print(line, file=out)


def _styled(text: str, style: str) -> str:
    """Text in an ANSI style (SGR), reset after it."""
    return f"\x1b[{style}m{text}\x1b[0m"


def _wrap(heading: str, width: int) -> list[str]:
    """A heading in lines of at most `width` characters, broken between words."""
    lines: list[str] = []
    for word in heading.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
