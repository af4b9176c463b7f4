"""The held-out spoken lines (tests/data/natural_heldout.tsv): their form, labels and coverage.

The file measures understanding, so a wrong label or a missing intent would skew the figure
without anyone noticing. These checks keep it well-formed; they do not score any reader.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from voicecoach.intents.types import ASIDES, INTENT_NAMES

HELDOUT = Path(__file__).parent / "data" / "natural_heldout.tsv"

# The schema the lines are labelled against (the intents and slots the coach reads).
TOPICS = frozenset({"anatomy", "causes", "overuse", "poor_form", "weak_glutes", "exercises", "foam_rolling",
                    "glute_bridge", "lateral_band_walk", "it_band_stretch", "safety"})
EXERCISES = frozenset({"foam_rolling", "glute_bridge", "lateral_band_walk", "it_band_stretch"})
HISTORY_WHATS = frozenset({"last_session", "week", "streak", "progress"})
ADJUST_AMOUNTS = ("seconds", "reps", "sets")
SLOTLESS = frozenset({"pause", "resume", "next", "previous", "repeat", "stop", "help", "time_left", "yes", "no",
                      "slower", "faster", "report_pain", "whats_next", "switch_sides", "none"})
SCHEMA_INTENTS = SLOTLESS | {"ask", "start", "set_duration", "ask_history", "adjust"}
CONTEXTS = frozenset({"idle", "exercising"})
# What a recognizer hands over: lowercase words, digits, apostrophes, single spaces.
SPOKEN_TEXT = re.compile(r"[a-z0-9']+( [a-z0-9']+)*")

# Least lines each label needs for its share of the figure to mean something.
MIN_PER_INTENT = 8
MIN_PER_TOPIC = 4
MIN_PAIN = 40
MIN_NONE = 150
MIN_PER_ASIDE = {"not_covered": 20, "thanks": 8, "greeting": 8, "other_exercise": 8}
# Every way of saying it hurts that the coach must not miss, as word stems in the pain lines.
PAIN_PHRASINGS = {
    "sharp": ("sharp",), "stabbing": ("stab",), "burning": ("burn",), "killing": ("killing",),
    "cramp": ("cramp",), "pop or snap": ("pop", "snap"), "twinge": ("twinge",),
    "pulled or tweaked": ("pulled", "tweak", "strain"), "numb or tingling": ("numb", "tingl", "pins and needles"),
    "a bare ow": ("ow", "ouch"),
}


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    context: str = "idle"
    aside: str = ""


def slot_problem(intent: str, slots: dict[str, Any]) -> str | None:
    """Why these slots do not fit this intent, or None when they do."""
    def is_int(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if intent == "ask":
        ok = slots.keys() == {"topic"} and slots["topic"] in TOPICS
    elif intent == "start":
        ok = not slots or (slots.keys() == {"exercise"} and slots["exercise"] in EXERCISES)
    elif intent == "set_duration":
        ok = slots.keys() == {"seconds"} and is_int(slots["seconds"]) and slots["seconds"] > 0
    elif intent == "ask_history":
        ok = slots.keys() == {"what"} and slots["what"] in HISTORY_WHATS
    elif intent == "adjust":
        # Exactly one signed amount, or a bare direction.
        key, value = next(iter(slots.items())) if len(slots) == 1 else (None, None)
        ok = is_int(value) and ((key in ADJUST_AMOUNTS and value != 0) or (key == "direction" and value in (1, -1)))
    else:
        ok = not slots
    return None if ok else f"slots {json.dumps(slots)} do not fit {intent}"


def read_lines(text: str) -> tuple[list[Line], list[str]]:
    """The file's lines and every problem found, as `line N: message`."""
    lines: list[Line] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = raw.split("\t")
        if len(fields) != 5:
            problems.append(f"line {number}: {len(fields)} tab-separated fields, want 5")
            continue
        text_, intent, slots_json, context, aside = fields
        where = f"line {number}:"
        if not SPOKEN_TEXT.fullmatch(text_):
            problems.append(f"{where} {text_!r} is not lowercase words without punctuation")
        if intent not in SCHEMA_INTENTS:
            problems.append(f"{where} unknown intent {intent!r}")
        try:
            slots = json.loads(slots_json)
        except json.JSONDecodeError as error:
            problems.append(f"{where} slots {slots_json!r} are not JSON ({error.msg})")
            continue
        if not isinstance(slots, dict):
            problems.append(f"{where} slots {slots_json!r} are not a JSON object")
            continue
        if intent in SCHEMA_INTENTS and (problem := slot_problem(intent, slots)):
            problems.append(f"{where} {problem}")
        if context not in CONTEXTS:
            problems.append(f"{where} context {context!r} is not idle or exercising")
        if aside and aside not in MIN_PER_ASIDE:
            problems.append(f"{where} unknown aside {aside!r}")
        if aside and intent != "none":
            problems.append(f"{where} aside {aside!r} on a command ({intent}); asides go with none only")
        if text_ in seen:
            problems.append(f"{where} {text_!r} repeats line {seen[text_]}")
        seen.setdefault(text_, number)
        lines.append(Line(number, text_, intent, slots, context, aside))
    return lines, problems


@pytest.fixture(scope="module")
def heldout() -> list[Line]:
    lines, problems = read_lines(HELDOUT.read_text(encoding="utf-8"))
    assert problems == []
    return lines


def test_the_file_is_well_formed(heldout):
    assert len(heldout) >= 400


def test_the_schema_here_is_the_coach_s_schema():
    assert SCHEMA_INTENTS <= set(INTENT_NAMES)
    assert set(MIN_PER_ASIDE) == set(ASIDES)


def test_every_intent_has_enough_lines(heldout):
    counts = Counter(line.intent for line in heldout)
    thin = {intent: counts[intent] for intent in SCHEMA_INTENTS if counts[intent] < MIN_PER_INTENT}
    assert thin == {}
    assert counts["report_pain"] >= MIN_PAIN
    assert counts["none"] >= MIN_NONE


def test_every_slot_value_is_said(heldout):
    def values(intent: str, slot: str) -> Counter:
        return Counter(line.slots[slot] for line in heldout if line.intent == intent and slot in line.slots)

    topics = values("ask", "topic")
    assert {topic: topics[topic] for topic in TOPICS if topics[topic] < MIN_PER_TOPIC} == {}
    assert set(values("start", "exercise")) == EXERCISES
    assert any(line.intent == "start" and not line.slots for line in heldout)
    assert set(values("ask_history", "what")) == HISTORY_WHATS
    adjust_kinds = {(key, value > 0) for line in heldout if line.intent == "adjust" for key, value in line.slots.items()}
    assert adjust_kinds == {(key, up) for key in (*ADJUST_AMOUNTS, "direction") for up in (True, False)}


def test_every_way_of_reporting_pain_is_there(heldout):
    pain = [line.text for line in heldout if line.intent == "report_pain"]

    def said(stem: str) -> bool:
        return any(re.search(rf"\b{stem}", text) for text in pain)

    missing = [kind for kind, stems in PAIN_PHRASINGS.items() if not any(said(stem) for stem in stems)]
    assert missing == []


def test_asides_have_enough_lines(heldout):
    counts = Counter(line.aside for line in heldout if line.aside)
    assert {aside: counts[aside] for aside, least in MIN_PER_ASIDE.items() if counts[aside] < least} == {}


def test_safety_commands_are_said_while_exercising(heldout):
    for intent in ("stop", "pause", "report_pain"):
        assert sum(line.intent == intent and line.context == "exercising" for line in heldout) >= MIN_PER_INTENT // 2


GOOD = 'start\tstart\t{}\tidle\t'


@pytest.mark.parametrize("row,words", [
    ("start\tstart\t{}\tidle", "4 tab-separated fields"),
    ("Start now\tstart\t{}\tidle\t", "not lowercase"),
    ("stop, please\tstop\t{}\tidle\t", "not lowercase"),
    ("go\tjump\t{}\tidle\t", "unknown intent 'jump'"),
    ("go\tstart\t{bad\tidle\t", "not JSON"),
    ("go\tstart\t[]\tidle\t", "not a JSON object"),
    ("go\task\t{\"topic\": \"knees\"}\tidle\t", "do not fit ask"),
    ("go\tstart\t{\"exercise\": \"squats\"}\tidle\t", "do not fit start"),
    ("go\tset_duration\t{\"seconds\": \"ten\"}\tidle\t", "do not fit set_duration"),
    ("go\tadjust\t{\"seconds\": 10, \"reps\": 2}\tidle\t", "do not fit adjust"),
    ("go\tadjust\t{\"direction\": 2}\tidle\t", "do not fit adjust"),
    ("go\tadjust\t{\"sets\": true}\tidle\t", "do not fit adjust"),
    ("go\tpause\t{\"seconds\": 5}\tidle\t", "do not fit pause"),
    ("go\tpause\t{}\tsleeping\t", "context 'sleeping'"),
    ("thanks\tnone\t{}\tidle\tpraise", "unknown aside"),
    ("thanks\tyes\t{}\tidle\tthanks", "asides go with none only"),
    (GOOD, "repeats line 1"),
])
def test_bad_rows_are_named_with_their_line(row, words):
    _, problems = read_lines(f"{GOOD}\n{row}\n")
    assert len(problems) == 1 and problems[0].startswith("line 2:") and words in problems[0]


def test_comments_and_blank_lines_are_skipped():
    lines, problems = read_lines(f"# header\n\n{GOOD}\n")
    assert problems == [] and [line.number for line in lines] == [3]
