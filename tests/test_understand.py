"""Two readings, one answer: the templates, the statistical reader behind them, safety first."""
from __future__ import annotations

from reader_fakes import FixedReader, Opinionated

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, SHARED, require_shared
from test_coach_session import run_until
from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.session import Session
from voicecoach.intents import understand as understand_module
from voicecoach.intents.load import load_catalog
from voicecoach.intents.classifier import Example, IntentClassifier, train
from voicecoach.intents.types import Context
from voicecoach.intents.understand import (
    PainFloors,
    Readers,
    ReadingFloors,
    open_reader,
    read_training_lines,
    understand,
)

CATALOG = load_catalog()
EXERCISING = Context(exercising=True)


def read(text: str, reader, context: Context | None = None):
    return understand(text, CATALOG, context, reader)


# ----- what a conversation needs, said as people say it -----------------------------------

@pytest.mark.parametrize("text,intent,slots", [
    ("add ten seconds", "adjust", {"seconds": 10}),
    ("ten more seconds", "adjust", {"seconds": 10}),
    ("give me another twenty seconds on this one", "adjust", {"seconds": 20}),
    ("take five seconds off", "adjust", {"seconds": -5}),
    ("make it longer", "adjust", {"direction": 1}),
    ("can we make this a bit easier", "adjust", {"direction": -1}),
    ("one more set", "adjust", {"sets": 1}),
    ("two more reps please", "adjust", {"reps": 2}),
    ("what's next", "whats_next", {}),
    ("what are we doing after this one", "whats_next", {}),
    ("switch sides", "switch_sides", {}),
    ("ok other leg now", "switch_sides", {}),
    ("am i getting better", "ask_history", {"what": "progress"}),
    ("how did i do", "ask_history", {"what": "last_session"}),
    ("how many left", "time_left", {}),
    ("hold for forty five seconds", "set_duration", {"seconds": 45}),
    ("change the hold to too minutes", "set_duration", {"seconds": 120}),     # a recognizer's "two"
])
def test_conversation_intents(statistical_reader, text, intent, slots):
    match = read(text, statistical_reader, EXERCISING)
    assert (match.intent, match.slots) == (intent, slots), match


@pytest.mark.parametrize("text,aside", [
    ("thank you", "thanks"), ("cheers that was really useful", "thanks"),
    ("hello", "greeting"), ("hi there coach", "greeting"),
    ("should i ice it", "not_covered"), ("can i take ibuprofen", "not_covered"),
    ("do i need a doctor", "not_covered"), ("are foam rollers with spikes better", "not_covered"),
])
def test_asides_are_none_with_their_kind(statistical_reader, text, aside):
    match = read(text, statistical_reader)
    assert (match.intent, match.aside) == ("none", aside), match


@pytest.mark.parametrize("text", [
    "pause the movie", "is it safe to drive", "set a timer for the pasta", "skip this song",
    "stop the dishwasher", "resume the podcast", "play the next track", "how long is left on the dryer",
    "turn the heating up", "my brother starts his new job on monday", "is it safe to go skiing with a cold",
    "hold the door for me", "what time does the gym open", "next episode please", "play it again",
])
def test_near_misses_are_rejected(statistical_reader, text):
    match = read(text, statistical_reader)
    assert match.intent == "none", match


@pytest.mark.parametrize("text,intent", [
    ("okay stop", "stop"), ("and stop", "stop"), ("stop stop stop", "stop"), ("no wait pause", "pause"),
    ("i can't do any more", "stop"), ("wait wait hang on", "pause"), ("right that's me done for today", "stop"),
])
def test_stop_and_pause_with_leading_words(statistical_reader, text, intent):
    assert read(text, statistical_reader, EXERCISING).intent == intent


# Every class of pain phrasing, written for this test: each must stop a running exercise.
PAIN = {
    "sharp": "ah that's a really sharp pain", "stabbing": "stabbing feeling in my knee",
    "shooting": "something is shooting down my leg", "burning": "my outer thigh is burning badly",
    "killing me": "my knee is killing me", "cramp": "ow cramp cramp", "spasm": "my hamstring just went into a spasm",
    "popping": "something just popped in there", "snapping": "i felt a snap at the side of my knee",
    "twinge": "i got a nasty twinge", "pulled": "i think i've pulled something",
    "tweaked": "pretty sure i tweaked my hip", "numb": "my foot has gone numb and tingly",
    "fragment": "argh knee", "ouch": "ouch", "injury": "i've hurt myself",
}


@pytest.mark.parametrize("kind", sorted(PAIN))
def test_every_class_of_pain_stops_an_exercise(statistical_reader, tiny_content, kind):
    clock = VirtualClock()
    session = Session(tiny_content, clock, speech_seconds=lambda text, wpm: 0.0)
    session.begin()
    session.handle(read("start the stretch", statistical_reader, session.context()))
    run_until(session, clock, 5)
    match = read(PAIN[kind], statistical_reader, session.context())
    assert match.intent == "report_pain", match
    replies = session.handle(match)
    assert replies[0].urgent and "Stop" in replies[0].text
    assert session.exercise is None and session.next_due() is None
    assert session.context().expecting == "yes_no"           # it asks before going on


# ----- the development sets: figures printed, floors asserted -------------------------------

def _rows(path):
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            fields = line.split("\t")
            context = EXERCISING if len(fields) > 3 and fields[3].strip() == "exercising" else Context()
            rows.append((fields[0], fields[1], json.loads(fields[2] or "{}"), context))
    return rows


def _measure(rows, reader):
    right = total = rejected = ood = 0
    for text, intent, slots, context in rows:
        match = read(text, reader, context)
        if intent == "none":
            ood += 1
            rejected += match.intent == "none"
        else:
            total += 1
            right += (match.intent, match.slots) == (intent, slots)
    return right, total, rejected, ood


@pytest.mark.parametrize("path", [SHARED / "eval" / "natural_dev.tsv", REPO / "tests" / "data" / "natural_heldout.tsv"],
                         ids=["natural_dev", "natural_heldout"])
@pytest.mark.slow
def test_natural_lines(statistical_reader, path):
    if not path.exists():
        require_shared(path)
    rows = _rows(path)
    right, total, rejected, ood = _measure(rows, statistical_reader)
    templates = _measure(rows, None)
    print(f"{path.name}: both readings {right}/{total} exact, rejected {rejected}/{ood}; "
          f"templates alone {templates[0]}/{templates[1]}, rejected {templates[2]}/{templates[3]}")
    assert right > templates[0]
    assert right >= 0.9 * total and rejected >= 0.88 * ood


# ----- the reader itself ----------------------------------------------------------------

def test_training_is_deterministic_and_survives_a_save(tmp_path):
    examples = [Example(text, label) for text, label in [
        ("start", "start:routine"), ("begin the routine", "start:routine"), ("pause", "pause"),
        ("hold on a second", "pause"), ("skip this song", "none"), ("what is the weather", "none")]]
    first, second = train(examples, epochs=5), train(examples, epochs=5)
    assert np.array_equal(first.weights, second.weights)
    first.save(tmp_path / "reader.npz")
    loaded = IntentClassifier.load(tmp_path / "reader.npz")
    assert loaded.probabilities("hold on") == pytest.approx(first.probabilities("hold on"))
    assert max(first.probabilities("hold on please"), key=first.probabilities("hold on please").get) == "pause"


def test_training_lines_use_known_labels():
    known = set(CATALOG.intents) | {"none"}
    lines = read_training_lines()
    assert len(lines) > 1000
    assert {line.label for line in lines} <= known


def test_a_broken_reader_model_leaves_the_templates_with_one_line(tmp_path):
    broken = tmp_path / "reader.npz"
    broken.write_bytes(b"not a model")
    reader, notice = open_reader(CATALOG, {}, str(broken), background=False, tuned="off")
    assert reader is None and "\n" not in notice and "templates alone" in notice
    missing, notice = open_reader(CATALOG, {}, str(tmp_path / "nothing.npz"), background=False, tuned="off")
    assert missing is None and "not a file" in notice
    assert open_reader(CATALOG, {}, "off", background=False, tuned="off") == (None, None)
    assert understand("start the stretch", CATALOG, None, None).intent == "start"





def test_by_default_the_fine_tuned_reader_alone_answers_once_it_is_ready():
    tuned, ngram = FixedReader({"pause": 0.8, "none": 0.2}), FixedReader({"none": 0.9, "stop": 0.1})
    readers = Readers(tuned, ngram)
    assert readers.tuned_weight == 1.0
    assert readers.probabilities("hang on") == {"pause": 0.8, "none": 0.2} and ngram.lines == 0
    tuned.ready = False
    assert readers.probabilities("hang on") == {"none": 0.9, "stop": 0.1}


def test_the_coach_mixes_at_the_chosen_share_and_open_reader_takes_another(statistical_reader):
    assert understand_module.TUNED_WEIGHT == 0.5 and statistical_reader.tuned_weight == 0.5
    readers, _ = open_reader(CATALOG, {}, None, background=False, tuned="off", tuned_weight=1.0)
    assert readers is not None and readers.tuned_weight == 1.0
    with pytest.raises(ValueError, match="not 2.0"):
        open_reader(CATALOG, {}, None, background=False, tuned="off", tuned_weight=2.0)


def test_a_share_below_one_mixes_both_readers_probabilities():
    tuned, ngram = FixedReader({"pause": 0.8, "none": 0.2}), FixedReader({"none": 0.9, "stop": 0.1})
    mixed = Readers(tuned, ngram, tuned_weight=0.5).probabilities("hang on")
    assert mixed == pytest.approx({"pause": 0.4, "none": 0.55, "stop": 0.05})
    assert Readers(tuned, FixedReader({"none": 1.0}, ready=False), tuned_weight=0.5).probabilities("x") == tuned.probs


@pytest.mark.parametrize("weight", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("text,context", [
    ("blorp the flarn", Context()),                 # no template: the readers decide
    ("flarn", Context()),                           # one word the templates do not know
    ("grr the flibber is sore", EXERCISING),        # pain named by a reading
    ("stop the music in the kitchen", Context()),   # a partial template match the readers weigh
])
def test_a_line_runs_each_readers_model_once(text, context, weight):
    tuned = FixedReader({"report_pain": 0.3, "pause": 0.4, "none": 0.3})
    ngram = FixedReader({"none": 0.9, "stop": 0.1})
    match = read(text, Readers(tuned, ngram, tuned_weight=weight), context)
    assert match.by in ("model", "template") and (tuned.lines, ngram.lines) == (1, 1)


@pytest.mark.parametrize("weight", [-0.1, 1.5, math.nan])
def test_a_share_outside_zero_to_one_is_refused_by_name(weight):
    with pytest.raises(ValueError, match=f"not {weight!r}"):
        Readers(FixedReader({}), FixedReader({}), tuned_weight=weight)


def test_parse_says_which_reading_decided():
    result = subprocess.run([sys.executable, "-m", "voicecoach", "parse", "start the stretch",
                             "my knee is absolutely on fire", "pause the movie"],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["intent"], r["by"]) for r in rows] == [("start", "template"), ("report_pain", "model"), ("none", "model")]
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)


def test_parse_with_a_missing_reader_model_says_so_once_and_answers():
    result = subprocess.run([sys.executable, "-m", "voicecoach", "parse", "--reader-model", "/nonexistent/reader.npz",
                             "--tuned-reader", "off", "start the stretch"], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0
    assert len(result.stderr.strip().splitlines()) == 1 and "templates alone" in result.stderr
    assert json.loads(result.stdout)["intent"] == "start"


@pytest.mark.parametrize("heard,intent,slots", [
    ("How do I use the film roller?", "ask", {"topic": "foam_rolling"}),
    ("Tell me about weak clues.", "ask", {"topic": "weak_glutes"}),
    ("What causes IT and problems?", "ask", {"topic": "causes"}),
    ("My knee is killing me.", "report_pain", {}),
])
def test_speech_gets_both_readings(statistical_reader, heard, intent, slots):
    """Every Whisper hypothesis goes through both readings: misheard domain words are recovered."""
    from voicecoach.hearing.reading import read_intent
    from voicecoach.hearing.asr.recognizer import Hypothesis, Transcript

    transcript = Transcript((Hypothesis(heard, -0.2, 0.01, 8),), 50.0, 1500.0)
    reading = read_intent(transcript, CATALOG, Context(), statistical=statistical_reader)
    assert (reading.match.intent, reading.match.slots) == (intent, slots)


def test_the_reader_can_be_switched_off_by_environment():
    import os

    env = {**os.environ, "VOICECOACH_READER_MODEL": "off", "VOICECOACH_TUNED_READER": "off"}
    result = subprocess.run([sys.executable, "-m", "voicecoach", "parse", "my knee is absolutely on fire"],
                            capture_output=True, text=True, timeout=120, cwd=REPO, env=env)
    row = json.loads(result.stdout)
    assert (row["intent"], row["by"]) == ("none", "template") and result.stderr == ""


def test_a_reader_that_fails_in_the_background_says_so_once(tmp_path):
    from voicecoach.intents.understand import StatisticalReader

    said = []

    def broken_examples():
        raise ValueError("training.tsv:3: expected text<TAB>label<TAB>slots")

    reader = StatisticalReader(broken_examples, tmp_path, notify=said.append).start_loading()
    assert reader.wait(10)
    assert not reader.ready and len(said) == 1 and "training.tsv:3" in said[0] and "templates alone" in said[0]
    assert understand("start the stretch", CATALOG, None, reader).intent == "start"


@pytest.mark.parametrize("line", ["let's do squats", "start the plank exercise", "teach me lunges",
                                  "can we do some yoga instead"])
def test_an_exercise_the_article_lacks_is_answered_not_started(line):
    from voicecoach.content.loader import load_content

    content = load_content()
    match = understand(line, load_catalog(None, content.exercise_names()))
    assert match.intent == "none" and match.aside == "other_exercise"


# ----- the floors understand reads with: options, the coach's by default --------------------

OLD_FLOORS = ReadingFloors(pain=PainFloors(template=0.5, tuned=0.25, ngram=0.35),
                           exercising_pain=PainFloors(template=0.4, tuned=0.12, ngram=0.25),
                           tuned_model_sure=0.45, tuned_safety_sure=0.3)





def test_the_default_floors_are_the_ones_the_coach_read_with():
    assert ReadingFloors() == OLD_FLOORS == understand_module.FLOORS


@pytest.mark.parametrize("text,context", [
    ("stop stop my knee hurts", EXERCISING), ("pause it's burning", EXERCISING), ("next one this is killing me", EXERCISING),
    ("how much longer it really hurts", EXERCISING), ("end the session", EXERCISING), ("quit", EXERCISING),
    ("grr the flibber is sore", EXERCISING), ("what if it hurts while i'm doing these", EXERCISING),
    ("why does my it band hurt", Context()), ("my knee is absolutely on fire", Context()),
])
def test_lines_read_with_the_default_floors_as_with_the_old_ones(statistical_reader, text, context):
    assert understand(text, CATALOG, context, statistical_reader) \
        == understand(text, CATALOG, context, statistical_reader, floors=OLD_FLOORS)


def test_the_floors_passed_are_the_floors_read_with():
    reader = Opinionated({"report_pain": 0.3, "pause": 0.4, "none": 0.3})
    assert read("blorp the flarn", reader).intent == "report_pain"              # 0.3 is above the 0.25 floor
    higher = ReadingFloors(pain=PainFloors(template=0.5, tuned=0.35, ngram=None))
    assert understand("blorp the flarn", CATALOG, None, reader, floors=higher).intent == "pause"
    surer = ReadingFloors(pain=higher.pain, tuned_safety_sure=0.5)
    assert understand("blorp the flarn", CATALOG, None, reader, floors=surer).intent == "none"


@pytest.mark.parametrize("value", [0.0, -0.1, 1.5, math.nan, True, "0.3"])
def test_a_floor_out_of_range_is_refused_by_name(value):
    with pytest.raises(ValueError, match=f"sureness must be .* not {value!r}"):
        ReadingFloors(tuned_model_sure=value)
    with pytest.raises(ValueError, match=f"pain floor of the ngram reading .* not {value!r}"):
        PainFloors(template=0.5, tuned=0.25, ngram=value)
