"""The coach's own wording (content/coach.yaml): every line it says that is not the article's,
as data, and what each line may name.

    wording.line("next_up", name="the IT band stretch")    # "Next up: the IT band stretch."

LINES is the contract between the program and the file: the key of every line the coach
says, with the names ({name}, {time}...) the program fills in. `read_wording` checks a file
against it: every line present and text, no unknown line, no placeholder the line is not
given, nothing but plain {name} placeholders (no {0}, {name.attr}, {name[0]} or {name:spec}).
"""
from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from voicecoach.yamlfile import line_of

SECTION = "coach"

# line -> the names the program gives it
LINES: dict[str, tuple[str, ...]] = {
    "greeting": (),
    "greeting_ask": (),
    "offer_routine": (),
    "first_side": ('side',),
    "back_to_instructions": (),
    "next_up": ('name',),
    "single_done": ('name',),
    "routine_advice": (),
    "unknown_topic": (),
    "no_history": (),
    "history_unreadable": (),
    "start_one": ('name',),
    "start_routine": ('name',),
    "already_doing": ('name',),
    "paused": (),
    "already_paused": (),
    "nothing_to_pause": (),
    "pain_check": (),
    "pain_check_no": (),
    "resuming": (),
    "still_going": (),
    "nothing_to_resume": (),
    "moving_on": ('name',),
    "nothing_to_skip": (),
    "last_exercise_done": (),
    "skipping_ahead": ('name',),
    "nothing_done_yet": (),
    "first_again": ('name',),
    "going_back": ('name',),
    "gently_now": ('name',),
    "nothing_said_yet": (),
    "stopping": (),
    "leave_again": (),
    "goodbye": (),
    "help_during": (),
    "stop_workout": (),
    "help_ask": (),
    "help_start": (),
    "help_exercise": (),
    "leave": (),
    "almost_done": (),
    "no_timer": (),
    "exercise_over": (),
    "start_in": ('time',),
    "rest_left": ('time',),
    "switch_in": ('time',),
    "reps_to_go": ('count',),
    "time_left": ('time',),
    "time_left_on_side": ('time', 'side'),
    "hold_range": ('lowest', 'highest'),
    "holds_this_session": ('time',),
    "counted_not_timed": ('name', 'unit'),
    "hold_this_time": ('time', 'name'),
    "nothing_to_change": (),
    "counted_say_more": ('name', 'unit'),
    "timed_say_more": ('name',),
    "hold_at_limit": ('time',),
    "hold_longer": ('change', 'time'),
    "hold_shorter": ('change', 'time'),
    "reps_at_limit": ('count',),
    "reps_changed": ('number', 'unit'),
    "reps_changed_set_done": ('number', 'unit'),
    "reps_changed_this_set": ('number', 'unit'),
    "sets_changed": ('count', 'name'),
    "sets_at_most": ('count',),
    "sets_resting_before_last": ('name',),
    "sets_only_one": (),
    "sets_on_the_last": ('number',),
    "next_is": ('name',),
    "routine_starts_with": ('name',),
    "comes_after": ('name', 'following'),
    "last_exercise": ('name',),
    "no_exercise_running": (),
    "paused_no_switch": (),
    "both_sides_at_once": ('name',),
    "not_on_a_side": (),
    "last_side": ('side',),
    "stop_for_pain": ('name',),
    "after_pain_next": (),
    "after_pain_another": (),
    "rest_now": (),
    "which_exercise": (),
    "keep_going": (),
    "yes_unasked": (),
    "routine_declined": (),
    "plan_declined": (),
    "stop_after_pain": (),
    "no_unasked": (),
    "slower_voice": (),
    "slower_text": (),
    "faster_voice": (),
    "faster_text": (),
    "welcome": (),
    "welcome_keep_going": (),
    "hello_exercising": ('name',),
    "hello": (),
    "not_covered": (),
    "only_these_exercises": ('names',),
    "name_one_of_them": (),
    "not_understood": (),
}


@dataclass(frozen=True)
class Wording:
    lines: Mapping[str, str]          # every key of LINES -> its text

    def line(self, key: str, **values: str) -> str:
        """The line `key` with its {names} filled in from `values`."""
        return self.lines[key].format_map(values)


def read_wording(path: Path, section: Any, line: int) -> tuple[Wording | None, list[str]]:
    """The wording in `section` (the `coach:` mapping of `path`, at `line`), or None and every
    problem as `file:line: coach.KEY: what is wrong`."""
    if not isinstance(section, dict):
        return None, [f"{path}:{line_of(section, line)}: {SECTION} must map each line's name to its text"]
    problems: list[str] = []
    lines: dict[str, str] = {}
    for key, text in section.items():
        if key not in LINES:
            problems.append(f"{path}:{line_of(key, line)}: {SECTION}: unknown line {key!r} (the coach says no line of that name)")
            continue
        where = f"{path}:{line_of(key, line)}: {SECTION}.{key}"
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{where}: must be text, not {text!r}")
        else:
            problems += [f"{where}: {problem}" for problem in placeholder_problems(text, LINES[key])]
            lines[str(key)] = " ".join(text.split())
    problems += [f"{path}:{line}: {SECTION}.{key} is missing" for key in LINES if key not in section]
    if problems:
        return None, problems
    return Wording(MappingProxyType(lines)), []


def placeholder_problems(text: str, given: tuple[str, ...]) -> list[str]:
    """What is wrong with the {placeholders} of `text`, which may name only `given`."""
    try:
        specs = [(field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(text)
                 if field is not None]
    except ValueError as exc:                       # a lone { or }
        return [f"{exc} (write {{{{ or }}}} for a brace itself)"]
    allowed = ", ".join("{" + name + "}" for name in given) or "none"
    problems = []
    for field, spec, conversion in specs:
        shown = "{" + field + "}"
        if not field.isidentifier():
            problems.append(f"{shown!r} is not a plain {{name}} placeholder")
        elif field not in given:
            problems.append(f"unknown placeholder {{{field}}} (this line may use: {allowed})")
        elif spec or conversion:
            problems.append(f"{shown} must be plain, without {f'!{conversion}' if conversion else repr(':' + str(spec))}")
    return problems
