"""Today's plan from history, following the rules kept as data in content/progression.yaml.

`propose_plan` is pure: past sessions (oldest first), the content and the time in, a
Proposal (a spoken question and per-exercise overrides) out, or None for the standard plan.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicecoach.content.model import Content, Exercise
from voicecoach.history.summary import SessionSummary
from voicecoach.plan import Proposal
from voicecoach.words import say_number, say_seconds
from voicecoach.yamlfile import YamlError, line_of, load_yaml

DAY = 86400.0
ACTIONS = ("start_light", "step_down", "step_up", "keep")
EASIER = ("start_light", "step_down")
CONDITIONS: dict[str, tuple[type, ...]] = {
    "pain_last_session": (bool,),
    "days_since_last_session_at_least": (int, float),
    "pain_free_sessions_in_a_row_at_least": (int,),
    "always": (bool,),
}
# The numbers a condition may take: finite, and within what a history can show.
CONDITION_RANGES: dict[str, tuple[float, float]] = {
    "days_since_last_session_at_least": (0, 3650),
    "pain_free_sessions_in_a_row_at_least": (0, 1000),
}
MAX_STEP_AMOUNT = 600             # a step or limit, in seconds held or reps: no program goes past it
RULE_KEYS = ("id", "advice", "when", "then", "say")
STEP_KEYS = ("step", "lowest", "highest")


class RulesError(ValueError):
    """A broken rules file; the message is `file:line: what is wrong`."""


@dataclass(frozen=True)
class Steps:
    """One step and the limits for an exercise, in its own unit (seconds held or reps)."""

    step: float
    lowest: float
    highest: float


@dataclass(frozen=True)
class Rule:
    id: str
    advice: str                  # the article's advice this rule carries out
    when: dict[str, Any]         # every condition must hold
    then: str                    # one of ACTIONS
    say: str                     # the spoken reason, said before the question


@dataclass(frozen=True)
class Rules:
    steps: dict[str, Steps]
    rules: tuple[Rule, ...]


def default_rules_path() -> Path:
    from voicecoach.content.loader import default_content_dir

    return default_content_dir() / "progression.yaml"


# ----- loading --------------------------------------------------------------------------

def load_rules(path: Path | None = None, exercise_ids: Iterable[str] | None = None) -> Rules:
    """Read and check the rules file, or raise RulesError naming the file and line.

    Step names must be exercises of the content (`exercise_ids`; by default the content
    beside the rules file, or the installed content)."""
    path = Path(path) if path else default_rules_path()
    known = tuple(exercise_ids) if exercise_ids is not None else _content_exercise_ids(path)
    try:
        doc = load_yaml(path)
    except YamlError as exc:
        raise RulesError(str(exc)) from None
    section = doc.get("progression") if isinstance(doc, dict) else None
    if not isinstance(section, dict):
        raise RulesError(f"{path}:{line_of(section, line_of(doc, 1))}: expected a 'progression' mapping "
                         "with 'steps' and 'rules'")
    _no_unknown_keys(path, section, ("steps", "rules"), "the progression section")
    for key in ("steps", "rules"):
        if key not in section:
            raise RulesError(f"{path}:{line_of(section, 1)}: the progression section needs {key!r}")
    steps = _read_steps(path, section["steps"], known)
    rules = tuple(_read_rule(path, raw, index) for index, raw in enumerate(_list(path, section["rules"], "rules")))
    if not rules:
        raise RulesError(f"{path}:{line_of(section['rules'], 1)}: there are no rules")
    seen: set[str] = set()
    for rule, raw in zip(rules, section["rules"]):
        if rule.id in seen:
            raise RulesError(f"{path}:{line_of(raw)}: rule id {rule.id!r} is used twice")
        seen.add(rule.id)
    return Rules(steps, rules)


def _list(path: Path, value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise RulesError(f"{path}:{line_of(value)}: {what} must be a list")
    return value


def _no_unknown_keys(path: Path, mapping: dict, known: tuple[str, ...], what: str) -> None:
    for key in mapping:
        if key not in known:
            raise RulesError(f"{path}:{line_of(key, line_of(mapping))}: unknown key {key!r} in {what} "
                             f"(expected {', '.join(known)})")


def _number(path: Path, value: Any, where: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_STEP_AMOUNT:
        raise RulesError(f"{path}:{line_of(where)}: {what} must be a number from 0 to {MAX_STEP_AMOUNT}, "
                         f"not {value!r}")
    return float(value)


def _content_exercise_ids(path: Path) -> tuple[str, ...] | None:
    from voicecoach.content.loader import (
        ContentError,
        default_content_dir,
        load_content,
    )

    directory = path.parent if (path.parent / "exercises.yaml").exists() else default_content_dir()
    try:
        return tuple(load_content(directory).exercises)
    except ContentError:
        return None                   # the content's own check reports it


def _read_steps(path: Path, raw: Any, known: tuple[str, ...] | None) -> dict[str, Steps]:
    if not isinstance(raw, dict):
        raise RulesError(f"{path}:{line_of(raw)}: steps must map exercise ids to step, lowest and highest")
    steps = {}
    for exercise, values in raw.items():
        if known is not None and exercise not in known:
            raise RulesError(f"{path}:{line_of(exercise)}: unknown exercise {exercise!r} "
                             f"(expected one of {', '.join(known)})")
        if not isinstance(values, dict):
            raise RulesError(f"{path}:{line_of(exercise)}: {exercise} needs step, lowest and highest")
        _no_unknown_keys(path, values, STEP_KEYS, exercise)
        missing = [k for k in STEP_KEYS if k not in values]
        if missing:
            raise RulesError(f"{path}:{line_of(values, line_of(exercise))}: {exercise} needs {', '.join(missing)}")
        step, lowest, highest = (_number(path, values[k], exercise, f"{exercise} {k}") for k in STEP_KEYS)
        if step <= 0 or not lowest <= highest:
            raise RulesError(f"{path}:{line_of(exercise)}: {exercise}: step must be above 0 and lowest "
                             f"at most highest (step {step:g}, lowest {lowest:g}, highest {highest:g})")
        steps[str(exercise)] = Steps(step, lowest, highest)
    return steps


def _read_rule(path: Path, raw: Any, index: int) -> Rule:
    where = f"{path}:{line_of(raw)}"
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: rule {index + 1} must be a mapping with {', '.join(RULE_KEYS)}")
    _no_unknown_keys(path, raw, RULE_KEYS, f"rule {index + 1}")
    missing = [k for k in RULE_KEYS if k not in raw]
    if missing:
        raise RulesError(f"{where}: rule {index + 1} needs {', '.join(missing)}")
    for key in ("id", "advice", "say"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            raise RulesError(f"{path}:{line_of(raw[key], line_of(raw))}: {key} must be a sentence, not {raw[key]!r}")
    when = raw["when"]
    if not isinstance(when, dict) or not when:
        raise RulesError(f"{path}:{line_of(when, line_of(raw))}: 'when' must name at least one condition "
                         f"({', '.join(CONDITIONS)})")
    for key, value in when.items():
        if key not in CONDITIONS:
            raise RulesError(f"{path}:{line_of(key)}: unknown condition {key!r} (expected one of {', '.join(CONDITIONS)})")
        kinds = CONDITIONS[key]
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            expected = "true or false" if kinds == (bool,) else "a number"
            raise RulesError(f"{path}:{line_of(key)}: condition {key} takes {expected}, not {value!r}")
        if key in CONDITION_RANGES and isinstance(value, (int, float)) and \
                not CONDITION_RANGES[key][0] <= value <= CONDITION_RANGES[key][1]:
            lowest, highest = CONDITION_RANGES[key]
            raise RulesError(f"{path}:{line_of(key)}: condition {key} must be a number "
                             f"from {lowest:g} to {highest:g}, not {value!r}")
    if raw["then"] not in ACTIONS:
        raise RulesError(f"{path}:{line_of(raw['then'], line_of(raw))}: then must be one of "
                         f"{', '.join(ACTIONS)}, not {raw['then']!r}")
    return Rule(str(raw["id"]), str(raw["advice"]), dict(when), str(raw["then"]), str(raw["say"]))


# ----- evaluation -----------------------------------------------------------------------

def amount_key(exercise: Exercise) -> str:
    return "hold_seconds" if exercise.program.kind == "hold" else "reps"


def standard_amount(exercise: Exercise) -> float:
    value = exercise.program.hold_seconds if exercise.program.kind == "hold" else exercise.program.reps
    return float(value.value) if value is not None else 0.0


def article_amount(exercise: Exercise) -> float | None:
    """The article's own amount for the exercise (the 30 second stretch), or None when it gives none."""
    value = exercise.program.hold_seconds if exercise.program.kind == "hold" else exercise.program.reps
    return float(value.value) if value is not None and value.source == "article" else None


def current_levels(sessions: list[SessionSummary], content: Content) -> dict[str, float]:
    """Where each exercise stands: the most done on a side the last time it was done, else the standard."""
    levels = {ex.id: standard_amount(ex) for ex in content.exercises.values()}
    for session in sessions:
        for exercise, amounts in session.results.items():
            if exercise in levels and amounts:
                levels[exercise] = max(amounts)
    return levels


def pain_free_run(sessions: list[SessionSummary], exercise: str, level: float) -> int:
    """How many of the latest sessions in a row did `exercise` at `level` or more without pain.

    Sessions without the exercise neither count nor break the run; a painful one ends it.
    """
    run = 0
    for session in reversed(sessions):
        if session.painful:
            break
        amounts = session.results.get(exercise)
        if not amounts:
            continue
        if max(amounts) < level:
            break
        run += 1
    return run


def _matches(rule: Rule, sessions: list[SessionSummary], levels: dict[str, float], now: float) -> bool:
    last = sessions[-1]
    for key, value in rule.when.items():
        if key == "pain_last_session" and last.painful != value:
            return False
        if key == "days_since_last_session_at_least" and (now - last.started_at) / DAY < value:
            return False
        if key == "pain_free_sessions_in_a_row_at_least" and not _ready_to_step_up(rule, sessions, levels):
            return False
        if key == "always" and not value:
            return False
    return True


def _ready_to_step_up(rule: Rule, sessions: list[SessionSummary], levels: dict[str, float]) -> list[str]:
    needed = int(rule.when.get("pain_free_sessions_in_a_row_at_least", 0))
    return [ex for ex, level in levels.items() if needed and pain_free_run(sessions, ex, level) >= needed]


def _apply(rule: Rule, steps: dict[str, Steps], sessions: list[SessionSummary], levels: dict[str, float],
           content: Content) -> dict[str, float]:
    """The amount of each exercise today under `rule`."""
    ready = set(_ready_to_step_up(rule, sessions, levels)) if rule.then == "step_up" else set()
    today = {}
    for exercise_id, level in levels.items():
        standard = standard_amount(content.exercises[exercise_id])
        article = article_amount(content.exercises[exercise_id])
        limits = steps.get(exercise_id)
        if rule.then == "start_light":
            amount = min(level, standard)
        elif rule.then == "step_down" and limits:
            amount = min(level, max(level - limits.step, limits.lowest))
        elif rule.then == "step_up" and limits and exercise_id in ready:
            amount = max(level, min(level + limits.step, limits.highest))
        else:
            amount = level
        if rule.then in EASIER and article is not None:
            amount = min(amount, article)     # an easier plan never asks more than the article does
        today[exercise_id] = float(round(amount))
    return today


def propose_plan(history: list[SessionSummary], content: Content, now: float,
                 rules: Rules | None = None) -> Proposal | None:
    """Today's proposal from past sessions (oldest first) at `now` (seconds since the epoch).

    None means the standard plan with nothing to say: the first session, or a `keep` rule
    when the last level is the standard one.
    """
    rules = rules or load_rules()
    sessions = [s for s in history if s.active and s.started_at <= now]
    if not sessions:
        return None
    levels = current_levels(sessions, content)
    rule = next((r for r in rules.rules if _matches(r, sessions, levels, now)), None)
    if rule is None:
        return None
    today = _apply(rule, rules.steps, sessions, levels, content)
    overrides = {ex: {amount_key(content.exercises[ex]): amount} for ex, amount in today.items()
                 if amount != standard_amount(content.exercises[ex])}
    if rule.then == "keep" and not overrides:
        return None
    return Proposal(f"{rule.say} {_question(overrides, content)}", overrides)


def _question(overrides: dict[str, dict[str, float]], content: Content) -> str:
    """ "Shall we do the IT band stretch for thirty five seconds and twelve glute bridges today?" """
    phrases = []
    in_order = [e for e in content.routine if e in overrides] + [e for e in overrides if e not in content.routine]
    for exercise_id in in_order:
        exercise = content.exercises[exercise_id]
        (key, amount), = overrides[exercise_id].items()
        if key == "hold_seconds":
            phrases.append(f"{exercise.name} for {say_seconds(amount)}")
        else:
            a_set = " a set" if exercise.program.sets.value > 1 else ""
            phrases.append(f"{say_number(int(amount))} {exercise.name}{a_set}")
    if not phrases:
        return "Shall we start?"
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return f"Shall we do {listed} today?"
