"""Today's plan from history, following rules kept as data in content/progression.yaml.

Pure: a list of past sessions (oldest first), the content and the time in, a Proposal out.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicecoach.coach.session import Proposal
from voicecoach.coach.timeline import say_seconds
from voicecoach.content.model import Content
from voicecoach.history.store import SessionSummary
from voicecoach.yamlfile import YamlError, line_of, load_yaml

CONDITIONS = {"pain_last_session": bool, "days_since_last_session_at_least": (int, float),
              "pain_free_sessions_in_a_row_at_least": int}
AMOUNTS = ("hold_seconds", "reps")
DAY = 86400.0


class RulesError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    id: str
    advice: str
    when: dict[str, Any]
    say: str
    change: dict[str, float]
    floor: dict[str, float]
    ceiling: dict[str, float]
    reset: bool = False


def default_rules_path() -> Path:
    from voicecoach.content.loader import default_content_dir

    return default_content_dir() / "progression.yaml"


def load_rules(path: Path | None = None) -> list[Rule]:
    path = path or default_rules_path()
    try:
        doc = load_yaml(path)
    except YamlError as exc:
        raise RulesError(str(exc)) from None
    rules_raw = doc.get("progression") if isinstance(doc, dict) else None
    if not isinstance(rules_raw, list):
        raise RulesError(f"{path}:{line_of(doc, 1)}: expected a 'progression' list of rules")
    rules = []
    for raw in rules_raw:
        where = f"{path}:{line_of(raw)}"
        if not isinstance(raw, dict):
            raise RulesError(f"{where}: a rule must be a mapping")
        unknown = set(raw) - {"id", "advice", "when", "change", "floor", "ceiling", "reset", "say"}
        if unknown:
            raise RulesError(f"{where}: unknown key(s) {sorted(unknown)}")
        for key in ("id", "advice", "when", "say"):
            if key not in raw:
                raise RulesError(f"{where}: a rule needs {key!r}")
        when = raw["when"]
        if not isinstance(when, dict) or not when:
            raise RulesError(f"{where}: 'when' must name a condition")
        for key, value in when.items():
            if key not in CONDITIONS or not isinstance(value, CONDITIONS[key]):
                raise RulesError(f"{path}:{line_of(key)}: unknown condition or wrong value: {key}: {value!r}")
        numbers = {}
        for part in ("change", "floor", "ceiling"):
            values = raw.get(part) or {}
            if not isinstance(values, dict) or any(k not in AMOUNTS or not isinstance(v, (int, float)) for k, v in values.items()):
                raise RulesError(f"{where}: {part} takes hold_seconds and reps numbers")
            numbers[part] = {k: float(v) for k, v in values.items()}
        rules.append(Rule(str(raw["id"]), str(raw["advice"]), dict(when), str(raw["say"]),
                          numbers["change"], numbers["floor"], numbers["ceiling"], bool(raw.get("reset", False))))
    return rules


def _defaults(content: Content) -> dict[str, dict[str, float]]:
    out = {}
    for exercise in content.exercises.values():
        p = exercise.program
        out[exercise.id] = {"hold_seconds": p.hold_seconds.value} if p.kind == "hold" else {"reps": p.reps.value}  # type: ignore[union-attr]
    return out


def current_levels(sessions: list[SessionSummary], content: Content) -> dict[str, dict[str, float]]:
    """Where each exercise stands: the last amount done, else the program's default."""
    levels = _defaults(content)
    for session in sessions:
        for exercise, amounts in session.results.items():
            if exercise in levels and amounts:
                key = next(iter(levels[exercise]))
                levels[exercise] = {key: max(amounts)}
    return levels


def _holds(rule: Rule, sessions: list[SessionSummary], now: float) -> bool:
    last = sessions[-1]
    for key, value in rule.when.items():
        if key == "pain_last_session" and last.painful != value:
            return False
        if key == "days_since_last_session_at_least" and (now - last.started_at) / DAY < value:
            return False
        if key == "pain_free_sessions_in_a_row_at_least":
            run = 0
            for session in reversed(sessions):
                if session.painful or not session.results:
                    break
                run += 1
            if run < value:
                return False
    return True


def propose_plan(sessions: list[SessionSummary], content: Content, rules: list[Rule], now: float) -> Proposal | None:
    """Today's proposal, or None when history says nothing (first session: the standard plan)."""
    if not sessions:
        return None
    rule = next((r for r in rules if _holds(r, sessions, now)), None)
    if rule is None:
        return None
    defaults = _defaults(content)
    levels = defaults if rule.reset else current_levels(sessions, content)
    overrides: dict[str, dict[str, float]] = {}
    for exercise, level in levels.items():
        key, amount = next(iter(level.items()))
        amount += rule.change.get(key, 0.0)
        amount = max(amount, rule.floor.get(key, 1.0))
        amount = min(amount, max(rule.ceiling.get(key, amount), defaults[exercise][key]))
        overrides[exercise] = {key: amount}
    stretch = overrides.get("it_band_stretch", {}).get("hold_seconds")
    detail = f" That's {say_seconds(stretch)} for the stretch." if stretch else ""
    return Proposal(f"{rule.say}{detail} Shall we start?", overrides)
