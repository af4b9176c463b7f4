"""The matcher: the development set, held-out paraphrases, and every template sample."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import REPO, SHARED
from voicecoach.intents.load import load_catalog
from voicecoach.intents.matcher import recognize
from voicecoach.intents.normalize import match_tokens
from voicecoach.intents.types import Context
from voicecoach.intents.understand import understand

CATALOG = load_catalog()
CONTEXTS = {
    "": Context(),
    "exercising": Context(exercising=True),
    "expecting_yes_no": Context(expecting="yes_no"),
    "paused": Context(exercising=True, paused=True),
}
DEV_SET = SHARED / "eval" / "dev_utterances.tsv"


def _rows(path: Path) -> list[tuple[str, str, dict, Context]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        context = CONTEXTS[fields[3] if len(fields) > 3 else ""]
        rows.append((fields[0], fields[1], json.loads(fields[2]), context))
    return rows


def _score(rows, reader=None) -> tuple[float, list[str], int, int]:
    """Exact intent+slots over the rows, read by the templates (and the statistical reader)."""
    misses, ood, ood_rejected = [], 0, 0
    for text, intent, slots, context in rows:
        match = understand(text, CATALOG, context, reader)
        if (match.intent, match.slots) != (intent, slots):
            misses.append(f"{text!r}: want {intent} {slots}, got {match.intent} {match.slots} ({match.score})")
        if intent == "none":
            ood += 1
            ood_rejected += match.intent == "none"
    return 1 - len(misses) / len(rows), misses, ood, ood_rejected


@pytest.mark.shared("eval/dev_utterances.tsv")
def test_development_set_meets_target():
    accuracy, misses, ood, rejected = _score(_rows(DEV_SET))
    print(f"dev set: {accuracy:.1%} exact intent+slots; out-of-domain rejected {rejected}/{ood}")
    assert accuracy >= 0.95, "\n".join(misses)
    assert rejected == ood, "\n".join(misses)


def test_held_out_paraphrases():
    """Sentences written apart from the templates: the templates alone generalize past them."""
    accuracy, misses, ood, rejected = _score(_rows(REPO / "tests" / "data" / "paraphrases.tsv"))
    print(f"paraphrases, templates alone: {accuracy:.1%}; out-of-domain rejected {rejected}/{ood}")
    assert accuracy >= 0.95, "\n".join(misses)


def test_held_out_paraphrases_with_both_readings(statistical_reader):
    accuracy, misses, ood, rejected = _score(_rows(REPO / "tests" / "data" / "paraphrases.tsv"), statistical_reader)
    print(f"paraphrases, both readings: {accuracy:.1%}; out-of-domain rejected {rejected}/{ood}")
    assert accuracy >= 0.97, "\n".join(misses)
    assert rejected >= 0.95 * ood, "\n".join(misses)


SAMPLES = list(CATALOG.context_samples())


@pytest.mark.parametrize("sample", SAMPLES, ids=[f"{s.intent}:{s.text}" for s in SAMPLES])
def test_every_template_sample_parses_to_its_own_intent(sample):
    match = recognize(sample.text, CATALOG, sample.context)
    assert (match.intent, match.slots) == (sample.intent, sample.slots)


def test_samples_cover_every_intent_and_slot_value():
    intents = {s.intent for s in SAMPLES}
    assert intents == set(CATALOG.intents)
    topics = {s.slots["topic"] for s in SAMPLES if "topic" in s.slots}
    exercises = {s.slots["exercise"] for s in SAMPLES if "exercise" in s.slots}
    assert len(topics) == 11 and len(exercises) == 4


@pytest.mark.parametrize("text,intent,slots", [
    ("um can you please repeat that", "repeat", {}),
    ("hey coach start the stretch please", "start", {"exercise": "it_band_stretch"}),
    ("why does my I.T. band hurt", "ask", {"topic": "causes"}),
    ("why does my iliotibial band hurt", "ask", {"topic": "causes"}),
    ("Why does my IT-band hurt?", "ask", {"topic": "causes"}),
    ("hold for forty-five seconds", "set_duration", {"seconds": 45}),
    ("hold for 45 seconds", "set_duration", {"seconds": 45}),
    ("make it a minute and a half", "set_duration", {"seconds": 90}),
    ("two minutes", "set_duration", {"seconds": 120}),
    ("hold it for one minute and ten seconds", "set_duration", {"seconds": 70}),
    ("Resumed?", "resume", {}),
    ("could my form be the problem here", "ask", {"topic": "poor_form"}),
    ("wait wait wait", "pause", {}),
    ("Stop.", "stop", {}),
])
def test_generalizes_past_the_literal_templates(text, intent, slots):
    match = recognize(text, CATALOG)
    assert (match.intent, match.slots) == (intent, slots)


@pytest.mark.parametrize("text", [
    "", "   ", "cat", "down", "bird", "left", "right", "on", "off", "happy", "house",
    "set an alarm for seven", "turn the volume up", "what's the weather", "lock the front door",
    "what time is it", "tell me a joke", "how do i bake bread", "how do i start the car",
    "is it about the form or the stretch",
])
def test_out_of_domain_is_rejected(text):
    match = recognize(text, CATALOG)
    assert match.intent == "none", match


def test_context_changes_meaning_where_people_expect_it():
    assert recognize("my knee hurts", CATALOG, Context(exercising=True)).intent == "report_pain"
    assert recognize("why does my knee hurt", CATALOG, Context(exercising=True)).intent == "ask"
    assert recognize("let's do it", CATALOG, Context(expecting="yes_no")).intent == "yes"


def test_matching_is_pure():
    first = recognize("start the glute bridges", CATALOG, Context())
    again = recognize("start the glute bridges", CATALOG, Context())
    assert first == again
    assert 0.0 <= first.score <= 1.0


@pytest.mark.parametrize("text,tokens", [
    ("one hundred and twenty seconds", ("#dur:120",)),
    ("half a minute", ("#dur:30",)),
    ("1.5 minutes", ("#dur:90",)),
    ("next one", ("next", "one")),
    ("I'm ready", ("i", "am", "ready")),
])
def test_normalization(text, tokens):
    assert match_tokens(text) == tokens
