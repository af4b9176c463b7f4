"""No pain left unheard, and what is not for us is not obeyed.

The pain phrasings (tests/data/pain_heldout.tsv, never trained on) are read with both readers
as the coach reads them; each must be handled safely: a pain report, or, during an exercise,
the coach's own pause with "Did something hurt?". Questions about pain stay questions and never
become a stop. Lines to another assistant are `none` whatever follows; "guide/take/walk me
through" starts; "i'm ready" is yes after a question. The fine-tuned reader refuses a file that
is not a model in one line and the n-gram reader reads instead.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from voicecoach.coach.session import Phase
from voicecoach.intents.load import load_catalog
from voicecoach.intents.tuned import MODEL_FILE, TunedReader
from voicecoach.intents.types import PAIN_CHECK, Context, Match
from voicecoach.intents.understand import Readers, addressed_elsewhere, open_reader, understand

CATALOG = load_catalog()
DATA = Path(__file__).parent / "data"
CONTEXTS = {"idle": Context(), "exercising": Context(exercising=True),
            "expecting_yes_no": Context(expecting="yes_no")}


def rows(name: str) -> list[tuple[str, str, dict, Context]]:
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, intent, slots, context = line.split("\t")[:4]
            out.append((text, intent, json.loads(slots), CONTEXTS[context]))
    return out


PAIN = [r for r in rows("pain_heldout.tsv") if r[1] == "report_pain"]
PAIN_QUESTIONS = [r for r in rows("pain_heldout.tsv") if r[1] != "report_pain"]
HELDOUT = rows("heldout_26.tsv")


def handled_as_pain(match: Match, context: Context) -> bool:
    return match.intent == "report_pain" or (context.exercising and match.intent == "pause"
                                              and match.aside == PAIN_CHECK)


def test_the_pain_set_is_large_and_varied():
    personas = {line.split("\t")[4] for line in (DATA / "pain_heldout.tsv").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert len(PAIN) >= 150 and len(personas) >= 8


def test_the_fine_tuned_reader_is_shipped_and_loads():
    reader = TunedReader(MODEL_FILE).load()
    assert reader.ready and max(reader.probabilities("ouch my knee"), key=reader.probabilities("ouch my knee").get) \
        == "report_pain"
    assert MODEL_FILE.stat().st_size < 40_000_000


def test_every_pain_phrasing_is_handled_safely(statistical_reader):
    missed = [text for text, _, _, context in PAIN
              if not handled_as_pain(understand(text, CATALOG, context, statistical_reader), context)]
    assert missed == []


def test_questions_about_pain_never_stop(statistical_reader):
    for text, _, _, context in PAIN_QUESTIONS:
        for ctx in (context, Context(exercising=True)):
            assert understand(text, CATALOG, ctx, statistical_reader).intent != "stop", text


@pytest.mark.parametrize("text", ["alexa, stop", "Hey Siri, set a timer for five minutes", "ok google pause",
                                  "hey google next", "um alexa my knee hurts", "siri resume"])
def test_a_line_to_another_assistant_is_not_for_us(statistical_reader, text):
    for context in (Context(), Context(exercising=True)):
        assert understand(text, CATALOG, context, statistical_reader).intent == "none"
        assert understand(text, CATALOG, context, None).intent == "none"


def test_only_a_line_that_opens_with_an_assistant_is_not_for_us():
    assert addressed_elsewhere("Alexa, stop") and addressed_elsewhere("okay google what time is it")
    assert not addressed_elsewhere("pause i need to answer alexa")
    assert not addressed_elsewhere("google says the it band is a tendon") and not addressed_elsewhere("alexander")


@pytest.mark.parametrize("text, slots", [
    ("guide me through the exercises", {}), ("take me through the stretch", {"exercise": "it_band_stretch"}),
    ("walk me through the glute bridge", {"exercise": "glute_bridge"}),
    ("can you guide me through the foam rolling", {"exercise": "foam_rolling"}),
])
def test_guide_take_walk_me_through_starts(text, slots):
    match = understand(text, CATALOG, Context())
    assert (match.intent, match.slots) == ("start", slots)


def test_ready_is_yes_after_a_question_and_start_otherwise():
    assert understand("i'm ready", CATALOG, Context(expecting="yes_no")).intent == "yes"
    assert understand("i'm ready", CATALOG, Context()).intent == "start"


@pytest.mark.parametrize("text", ["stop stop my knee hurts", "pause it's burning", "next one this is killing me",
                                  "how much longer it really hurts"])
def test_pain_said_with_a_command_is_pain(statistical_reader, text):
    assert understand(text, CATALOG, Context(exercising=True), statistical_reader).intent == "report_pain"


def test_plain_commands_stay_what_they_are(statistical_reader):
    for text, intent in [("stop", "stop"), ("pause", "pause"), ("next", "next"), ("pause the timer", "pause"),
                         ("end the session", "stop"), ("quit", "stop")]:
        assert understand(text, CATALOG, Context(exercising=True), statistical_reader).intent == intent, text


def test_an_unsure_line_with_pain_words_pauses_and_asks_during_an_exercise():
    # Templates alone (no reader): the line is not understood, but it names pain.
    match = understand("grr the flibber is sore", CATALOG, Context(exercising=True), None)
    assert (match.intent, match.aside) == ("pause", PAIN_CHECK)
    assert understand("grr the flibber is sore", CATALOG, Context(), None).intent == "none"


def make_session():
    from voicecoach.coach.clock import VirtualClock
    from voicecoach.coach.session import Session
    from voicecoach.content.loader import load_content

    return Session(load_content(), VirtualClock(), speech_seconds=lambda text, wpm: 0.0)


def test_the_coach_asks_did_something_hurt_and_hears_the_answer():
    session = make_session()
    session.handle(understand("start the stretch", CATALOG, session.context()))
    assert session.phase is Phase.RUNNING
    said = session.handle(Match("grr the flibber is sore", "pause", {}, 0.0, "policy", 0.0, PAIN_CHECK))
    assert session.phase is Phase.PAUSED and any("Did something hurt?" in r.text for r in said)
    assert session.context().expecting == "yes_no"
    said = session.handle(Match("yes", "yes", {}, 1.0))
    assert session.phase is Phase.AFTER_PAIN and any("Stop" in r.text for r in said)


def test_a_no_to_the_pain_question_leaves_it_paused():
    session = make_session()
    session.handle(understand("start the stretch", CATALOG, session.context()))
    session.handle(Match("argh sore", "pause", {}, 0.0, "policy", 0.0, PAIN_CHECK))
    said = session.handle(Match("no", "no", {}, 1.0))
    assert session.phase is Phase.PAUSED and "resume" in said[0].text
    assert session.context().expecting is None


def _fallback(path: Path):
    reader, notice = open_reader(CATALOG, {}, None, background=False, tuned=str(path))
    return reader, notice


@pytest.mark.parametrize("kind", ["garbage", "fifo", "oversized", "folder"])
def test_a_broken_fine_tuned_model_falls_back_to_the_ngram_reader_in_one_line(tmp_path, kind):
    path = tmp_path / "reader.onnx"
    if kind == "garbage":
        path.write_bytes(b"not a model at all")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "oversized":
        with path.open("wb") as handle:
            handle.truncate(70_000_000)
    else:
        path.mkdir()
    (tmp_path / "reader.json").write_text(MODEL_FILE.with_name("reader.json").read_text())
    reader, notice = _fallback(path)
    assert notice is not None and "\n" not in notice and "n-gram reader" in notice
    assert isinstance(reader, Readers) and reader.ready and not (reader.tuned and reader.tuned.ready)
    assert understand("pause the timer please", CATALOG, Context(exercising=True), reader).intent == "pause"


def test_a_fine_tuned_model_with_unknown_labels_is_refused(tmp_path):
    meta = json.loads(MODEL_FILE.with_name("reader.json").read_text())
    meta["labels"][0] = "launch_rockets"
    path = tmp_path / "reader.onnx"
    path.write_bytes(MODEL_FILE.read_bytes())
    (tmp_path / "reader.json").write_text(json.dumps(meta))
    reader, notice = _fallback(path)
    assert "launch_rockets" in notice and reader is not None and reader.ngram.ready


def test_the_fine_tuned_reader_can_be_switched_off():
    reader, notice = open_reader(CATALOG, {}, None, background=False, tuned="off")
    assert notice is None and reader.tuned is None and reader.ready


def _heard(text: str, logprob: float, context: Context):
    from voicecoach.hearing.reading import read_intent
    from voicecoach.hearing.asr.recognizer import Hypothesis, Transcript

    return read_intent(Transcript((Hypothesis(text, logprob, 0.01, 3),), 50.0, 800.0), CATALOG, context).match


def test_a_lone_start_heard_unsure_while_exercising_is_read_as_stop():
    running = Context(exercising=True)
    assert _heard("Start.", -0.8, running).intent == "stop"
    assert _heard("Start.", -0.05, running).intent == "start"            # heard clearly: as said
    assert _heard("Start.", -0.8, Context()).intent == "start"           # nothing running: nothing to stop
    assert _heard("Start.", -0.8, Context(exercising=True, paused=True)).intent == "start"   # paused: resume
    assert _heard("Start the stretch.", -0.8, running).intent == "start"  # more than the one word
