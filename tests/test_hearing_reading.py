"""Reading the intent from scored hypotheses: n-best shares, rejection, repeats, sounds-alike."""
from __future__ import annotations

import math

import pytest

from voicecoach.hearing.reading import (
    MIN_MASS, first_of_repeat, hypothesis_weights, read_intent, respell, sound_key,
)
from voicecoach.hearing.asr.recognizer import Hypothesis, Transcript
from voicecoach.intents.load import load_catalog
from voicecoach.intents.types import Context

CATALOG = load_catalog()


def heard(*hypotheses: tuple[str, float], no_speech: float = 0.05) -> Transcript:
    """A transcript whose hypotheses have the given whole-text probabilities (two tokens each)."""
    return Transcript(tuple(Hypothesis(text, math.log(p) / 2, no_speech, 2) for text, p in hypotheses), 50.0, 1000.0)


def test_weights_are_shares_of_the_whole_transcript_probability():
    weights = hypothesis_weights([Hypothesis("a", math.log(0.3) / 2, 0, 2), Hypothesis("b", math.log(0.1), 0, 1)])
    assert weights == pytest.approx([0.75, 0.25])


def test_a_clear_command_is_read():
    reading = read_intent(heard(("Pause.", 0.6), ("pause", 0.2), ("Paws.", 0.05)), CATALOG)
    assert (reading.match.intent, reading.reason) == ("pause", "parsed")
    assert reading.support == pytest.approx(0.8 / 0.85)


def test_spellings_of_one_intent_add_up_against_a_likelier_single_guess():
    """"Stop." "stop" "Stop!" together outweigh "Start." though "Start." is the best single one."""
    reading = read_intent(heard(("Start.", 0.3), ("Stop.", 0.25), ("stop", 0.15), ("Stop!", 0.1)), CATALOG)
    assert reading.match.intent == "stop"
    assert reading.hypothesis.text == "Stop."


def test_a_parse_further_down_the_list_wins_when_the_best_does_not_parse():
    reading = read_intent(heard(("Am I on a street?", 0.2), ("Am I on a streak?", 0.2),
                                ("Am I on a streak", 0.1)), CATALOG)
    assert reading.match.intent == "ask_history"
    assert reading.match.text == "Am I on a streak?"


def test_most_of_the_probability_reading_as_nothing_is_nothing():
    reading = read_intent(heard(("Bird.", 0.3), ("Bed.", 0.2), ("Yes.", 0.2)), CATALOG)
    assert (reading.match.intent, reading.reason) == ("none", "no parse")


def test_an_intent_the_decoder_doubts_is_rejected():
    """"Yes." leads but holds less than half of the n-best: "sorry?" rather than a guess."""
    reading = read_intent(heard(("Yes.", 0.3), ("No.", 0.25), ("Bird.", 0.2)), CATALOG)
    assert (reading.match.intent, reading.reason) == ("none", "low confidence")
    assert reading.hypothesis.text == "Yes." and reading.support == pytest.approx(0.4)


def test_an_improbable_transcript_is_rejected_even_when_alone():
    reading = read_intent(heard(("Yes.", MIN_MASS / 2)), CATALOG)
    assert (reading.match.intent, reading.reason) == ("none", "low confidence")
    assert read_intent(heard(("Yes.", MIN_MASS * 2)), CATALOG).match.intent == "yes"


def test_no_speech_wins_over_words():
    reading = read_intent(heard(("Thank you.", 0.9), no_speech=0.8), CATALOG)
    assert (reading.match.intent, reading.reason) == ("none", "no speech")
    assert read_intent(Transcript((), 10.0, 1000.0), CATALOG).reason == "no speech"


def test_out_of_domain_words_do_not_parse():
    reading = read_intent(heard(("Turn off the kitchen lights.", 0.7)), CATALOG)
    assert (reading.match.intent, reading.reason) == ("none", "no parse")


def test_context_reaches_the_matcher():
    reading = read_intent(heard(("Yes.", 0.8)), CATALOG, Context(expecting="yes_no"))
    assert reading.match.intent == "yes"


@pytest.mark.parametrize("text,first", [
    ("Only 30 seconds Only 40 seconds", "Only 30 seconds"),
    ("No I am fine No, I'm fine", "No I am fine"),
    ("Stop training. Stop Training.", "Stop training"),
    ("Stop.", None), ("go back one", None), ("stop stop", None),
])
def test_first_of_a_repeated_phrase(text, first):
    assert first_of_repeat(text) == first


def test_a_phrase_said_twice_is_read_once():
    reading = read_intent(heard(("Only 30 seconds Only 40 seconds", 0.6)), CATALOG)
    assert (reading.match.intent, reading.match.slots) == ("set_duration", {"seconds": 30})
    assert reading.match.text == "Only 30 seconds"           # what is shown as heard: one saying


def test_a_command_the_decoder_wrote_again_shows_as_one_clean_transcript():
    reading = read_intent(heard(("Start the stretch. Start to stretch, start the", 0.6)), CATALOG)
    assert (reading.match.intent, reading.match.slots) == ("start", {"exercise": "it_band_stretch"})
    assert reading.match.text == "Start the stretch"


@pytest.mark.parametrize("decoded, shown", [
    ("the weather today the whether today", "the weather today"),
    ("the knee and the hip", "the knee and the hip"),        # not an echo: a longer sentence
])
def test_what_is_not_acted_on_shows_one_saying_too(decoded, shown):
    reading = read_intent(heard((decoded, 0.6)), CATALOG)
    assert reading.match.intent == "none" and reading.match.text == shown


def test_sound_keys_merge_spellings_not_words():
    assert sound_key("council") == sound_key("cancel")
    assert sound_key("Phone") == sound_key("fone")
    assert sound_key("timer") != sound_key("tyler")
    assert sound_key("") == ""


def test_sounds_alike_come_from_the_templates():
    """"cancel" is a template word; "council" is not, and sounds like it."""
    assert respell("Council timer.", CATALOG) == "cancel timer."
    reading = read_intent(heard(("Council timer.", 0.6)), CATALOG)
    assert reading.match.intent == "stop"
    assert read_intent(heard(("Council timer.", 0.6)), CATALOG, sounds_alike=False).match.intent == "none"


def test_a_lone_word_is_never_respelled_into_a_command():
    """"cat" sounds like "quit" by its key, but a single word must be heard as itself."""
    assert sound_key("cat") == sound_key("quit")
    assert read_intent(heard(("Cat.", 0.7)), CATALOG).match.intent == "none"


def test_the_decoders_echo_of_a_command_does_not_sink_it_under_the_floor():
    # Twelve tokens at -0.45 each: the whole is under MIN_MASS, its first saying (half the words) is not.
    twice = Hypothesis("Add 10 seconds. Add ten seconds", -0.45, 0.05, 12)
    assert math.exp(twice.total_logprob) < MIN_MASS
    reading = read_intent(Transcript((twice,), 50.0, 1000.0), CATALOG, Context(exercising=True))
    assert (reading.match.intent, reading.match.slots, reading.reason) == ("adjust", {"seconds": 10}, "parsed")


def test_a_longer_transcript_is_held_to_the_floor_per_token():
    # Measured through the live room: "Add 10 seconds." at -1.4 a token, all five hypotheses
    # reading it alike, together under MIN_MASS as a whole.
    said = [Hypothesis(text, -1.4, 0.02, 5) for text in ("Add 10 seconds.", "Add 10 seconds", "Add ten seconds.",
                                                         "Add 10 seconds!", "add 10 seconds")]
    assert sum(math.exp(h.total_logprob) for h in said) < MIN_MASS
    reading = read_intent(Transcript(tuple(said), 50.0, 1000.0), CATALOG, Context(exercising=True))
    assert (reading.match.intent, reading.reason) == ("adjust", "parsed")
    # Improbable token by token: not acted on, however long.
    unsure = Hypothesis("Add 10 seconds", -3.0, 0.05, 5)
    assert read_intent(Transcript((unsure,), 50.0, 1000.0), CATALOG, Context(exercising=True)).reason == "low confidence"
    # A two-token command is held to MIN_MASS as before (test_an_improbable_transcript_is_rejected_even_when_alone).


def test_add_written_as_and_or_at_before_a_duration_adds_to_the_hold():
    """The n-best of a room's "add ten seconds" (measured through the live room): "At" leads.
    A duration after "and"/"at" adds; only a duration said alone (or "make it ...") sets one."""
    reading = read_intent(heard(("At 10 seconds.", 0.34), ("Add 10 seconds.", 0.2), ("Out 10 seconds.", 0.05),
                                ("Add 10 seconds", 0.22), ("10 seconds.", 0.19)), CATALOG, Context(exercising=True))
    assert (reading.match.intent, reading.match.slots) == ("adjust", {"seconds": 10})
    assert read_intent(heard(("And ten seconds.", 0.9)), CATALOG).match.slots == {"seconds": 10}
    assert read_intent(heard(("Ten seconds.", 0.9)), CATALOG).match.intent == "set_duration"
