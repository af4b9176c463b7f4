"""The hand-written training sentences for the statistical reader: well formed, labelled with
known intents, slots as the schema says, no repeats, and enough lines for every label."""
from __future__ import annotations

import json
import re
import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from voicecoach.intents.load import load_catalog

REPO = Path(__file__).resolve().parents[1]
TRAINING = resources.files("voicecoach.intents") / "training.tsv"

NEW_INTENTS = {"adjust", "whats_next", "switch_sides"}
NOT_COMMANDS = {"thanks", "greeting", "not_covered", "none"}
HISTORY_WHAT = {"last_session", "week", "streak", "progress"}
ADJUST_SLOTS = {"seconds", "reps", "sets", "direction"}
# Transcript form: what a recognizer hands over, lower case with apostrophes only.
TEXT_FORM = re.compile(r"[a-z0-9']+( [a-z0-9']+)*")

MIN_LINES = {
    "ask": 350, "start": 60, "report_pain": 120, "set_duration": 50, "adjust": 60,
    "whats_next": 20, "switch_sides": 20, "ask_history": 60,
    "pause": 25, "stop": 25, "resume": 25, "next": 25, "previous": 25, "repeat": 25,
    "time_left": 25, "help": 25, "yes": 25, "no": 25, "slower": 25, "faster": 25,
    "none": 450, "not_covered": 120, "thanks": 40, "greeting": 40,
}
MIN_TOPIC_LINES = {"causes": 40, "anatomy": 40, "safety": 40, "exercises": 40}
OTHER_TOPIC_MIN = 25
MIN_EXERCISE_START_LINES = 12
MIN_HISTORY_LINES = 15


class Line:
    def __init__(self, number: int, text: str, label: str, slots: dict):
        self.number, self.text, self.label, self.slots = number, text, label, slots

    def __repr__(self) -> str:
        return f"training.tsv:{self.number}: {self.text!r} {self.label} {self.slots}"


def _read() -> list[Line]:
    lines = []
    for number, raw in enumerate(TRAINING.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = raw.split("\t")
        assert len(fields) == 3, f"training.tsv:{number}: expected 3 tab-separated fields, got {len(fields)}"
        text, label, slots = fields
        try:
            parsed = json.loads(slots)
        except json.JSONDecodeError as err:
            pytest.fail(f"training.tsv:{number}: slots are not JSON ({err}): {slots!r}")
        assert isinstance(parsed, dict), f"training.tsv:{number}: slots must be a JSON object"
        lines.append(Line(number, text, label, parsed))
    return lines


LINES = _read()


def _values(list_name: str) -> set[str]:
    return {value for _, value in load_catalog().list_raw[list_name]}


def _labels() -> set[str]:
    return set(load_catalog().intents) | NEW_INTENTS | NOT_COMMANDS


def _slot_problem(line: Line) -> str | None:
    """Why the slots do not fit the label, or None when they do."""
    label, slots = line.label, line.slots
    if label == "ask":
        return None if set(slots) == {"topic"} and slots["topic"] in _values("topic") else "ask needs a known topic"
    if label == "start":
        if not slots or (set(slots) == {"exercise"} and slots["exercise"] in _values("exercise")):
            return None
        return "start takes no slot or a known exercise"
    if label == "ask_history":
        return None if set(slots) == {"what"} and slots["what"] in HISTORY_WHAT else "ask_history needs a known what"
    if label == "set_duration":
        seconds = slots.get("seconds")
        ok = set(slots) == {"seconds"} and type(seconds) is int and seconds > 0
        return None if ok else "set_duration needs a positive whole number of seconds"
    if label == "adjust":
        if len(slots) != 1 or not set(slots) <= ADJUST_SLOTS:
            return "adjust needs exactly one of seconds, reps, sets, direction"
        (name, amount), = slots.items()
        if type(amount) is not int or amount == 0:
            return "adjust needs a signed non-zero whole number"
        if name == "direction" and amount not in (1, -1):
            return "direction is 1 or -1"
        return None
    return None if slots == {} else f"{label} takes no slots"


def test_every_label_is_known():
    unknown = [line for line in LINES if line.label not in _labels()]
    assert unknown == []


def test_every_catalog_intent_has_training_lines():
    labelled = {line.label for line in LINES}
    assert set(load_catalog().intents) - labelled == set()


def test_slots_fit_their_label():
    wrong = [(line, problem) for line in LINES if (problem := _slot_problem(line))]
    assert wrong == []


def test_text_is_in_transcript_form():
    wrong = [line for line in LINES if not TEXT_FORM.fullmatch(line.text)]
    assert wrong == []


def test_no_sentence_appears_twice():
    counts = Counter(line.text for line in LINES)
    assert [text for text, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("label,minimum", sorted(MIN_LINES.items()))
def test_each_label_has_enough_lines(label, minimum):
    assert sum(line.label == label for line in LINES) >= minimum


def test_each_topic_has_enough_questions():
    counts = Counter(line.slots["topic"] for line in LINES if line.label == "ask")
    short = {topic: counts[topic] for topic in _values("topic")
             if counts[topic] < MIN_TOPIC_LINES.get(topic, OTHER_TOPIC_MIN)}
    assert short == {}


def test_every_exercise_and_the_routine_can_be_started():
    counts = Counter(line.slots.get("exercise", "routine") for line in LINES if line.label == "start")
    short = {name: counts[name] for name in _values("exercise") | {"routine"} if counts[name] < MIN_EXERCISE_START_LINES}
    assert short == {}


def test_each_history_question_has_enough_lines():
    counts = Counter(line.slots["what"] for line in LINES if line.label == "ask_history")
    assert {what: counts[what] for what in HISTORY_WHAT if counts[what] < MIN_HISTORY_LINES} == {}


def test_adjust_covers_every_slot_both_ways():
    seen = {(name, amount > 0) for line in LINES if line.label == "adjust" for name, amount in line.slots.items()}
    assert seen == {(name, up) for name in ADJUST_SLOTS for up in (True, False)}


def test_training_file_is_shipped_as_package_data():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["voicecoach.intents"]
    assert any(Path("training.tsv").match(pattern) for pattern in patterns)
