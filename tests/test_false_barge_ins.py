"""The coach talking alone must not take itself for the user: no yield to its own voice after
its pauses in a reverberant room, and no barge-in acted on from a scrap of its own words."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import reproducible_piper
from hearing_signals import room, voiced
from test_hearing_doubletalk import ECHO_RMS, PassThrough, listen
from test_hearing_echo import DEVICE_RATE, synthetic_room
from voicecoach.hearing.signal.audio import SAMPLE_RATE, resample
from voicecoach.hearing.signal.echo import EchoCanceller
from voicecoach.hearing.bargein.keywords import NO_SPEECH_CEILING, BargeInSpotter, Measured
from voicecoach.hearing.loop import ListenLoop, UtteranceHeard, UtteranceIgnored
from voicecoach.hearing.signal.sources import frames_of
from voicecoach.hearing.signal.vad import Endpointer, EnergyDetector
from voicecoach.intents.types import Match

# Sentences and commas: the pauses after which the room still rings with the last words.
TEXT = ("If you feel pain during any of these exercises, stop, and consult a medical professional. "
        "Always listen to your body. When you go on, start light and progress gradually. "
        "Glute bridges help to strengthen the glutes, which can reduce stress on the IT band.")


@pytest.fixture(scope="module")
def coach_line() -> np.ndarray:
    engine = reproducible_piper()
    assert engine.sample_rate == DEVICE_RATE
    return engine.synthesize(TEXT)


@pytest.mark.parametrize("rt60", [0.5, pytest.param(0.8, marks=pytest.mark.xfail(
    strict=True, reason="at RT60 0.8 s the double-talk score still rises over a word's onset after a pause "
                        "(bench/coach_alone.py: the coach yields to its own voice about 200 times an hour)"))])
@pytest.mark.slow
def test_the_coach_in_a_ringing_room_is_not_taken_for_the_user_after_its_pauses(coach_line, rt60):
    reference = resample(coach_line, DEVICE_RATE, SAMPLE_RATE)
    rir = synthetic_room(60.0, rt60=rt60)
    echo = np.convolve(reference, rir)[:len(reference) + SAMPLE_RATE]
    echo = (echo * ECHO_RMS / np.sqrt(np.mean(np.square(echo[np.abs(echo) > 1e-4])))).astype(np.float32)
    mic = echo + room(len(echo) / SAMPLE_RATE, level=ECHO_RMS / 10 ** (34 / 20))
    canceller = EchoCanceller(PassThrough)
    _, starts, _ = listen(canceller, coach_line, mic)
    assert canceller.delay_known
    # From 2 s on: the delay is measured in the first 1.5 s of the coach's voice.
    late = [t for t in starts if t > 2.0]
    assert late == [], f"the coach's own echo was taken for the user at {late}"


# ----- the gate: a stop or pain report the statistical reader is unsure of, over the coach -----

class UnsureReader:
    """Reads every utterance as the statistical reader read scraps of the coach's words: a pain
    report at a probability under its floor for ordinary commands (it takes pain from 0.3)."""

    def __init__(self, match: Match) -> None:
        self.match = match

    def __call__(self, audio: np.ndarray) -> Match:
        return self.match


UNSURE_PAIN = Match("This.", "report_pain", {}, 0.34, "model", 0.34)
SURE_PAIN = Match("my knee really hurts now", "report_pain", {}, 0.8, "model", 0.8)
TEMPLATE_STOP = Match("Stop.", "stop", {}, 1.0, "template", 1.0)


def hear(match: Match, coach_speaks: bool) -> list:
    loop = ListenLoop(UnsureReader(match), Endpointer(EnergyDetector()))
    speech = np.concatenate([room(1.0), voiced(0.5), room(1.0)])
    events = []
    for n, frame in enumerate(frames_of(speech)):
        if coach_speaks and n == 20:
            loop.coach_speaking("It is an important stabilizer of the knee.")
        elif coach_speaks and n == 70:
            loop.coach_silent()
        events += loop.push(frame)
    return events + loop.finish()


def test_an_unsure_reading_of_pain_over_the_coach_is_not_acted_on():
    events = hear(UNSURE_PAIN, coach_speaks=True)
    assert [(e.match.intent, e.reason) for e in events if isinstance(e, UtteranceIgnored)] == [("report_pain", "coach speaking")]
    assert not [e for e in events if isinstance(e, UtteranceHeard)]


@pytest.mark.parametrize("match,coach_speaks", [(UNSURE_PAIN, False), (SURE_PAIN, True), (TEMPLATE_STOP, True)])
def test_a_sure_reading_or_the_coach_silent_is_acted_on(match, coach_speaks):
    events = hear(match, coach_speaks)
    assert [e.match.intent for e in events if isinstance(e, UtteranceHeard)] == [match.intent]


# ----- Whisper's check: a scrap of the coach's voice, mostly silence, is no phrase -----

def scrap(engine, text: str, milliseconds: int) -> np.ndarray:
    """The first `milliseconds` of the coach saying `text`, cut off (the coach fell silent),
    between 0.3 s and 0.4 s of a quiet room: what the endpointer cuts after the coach yields."""
    audio = resample(engine.synthesize(text), engine.sample_rate, SAMPLE_RATE)
    start = int(np.flatnonzero(np.abs(audio) > 0.05)[0])
    piece = audio[start:start + milliseconds * SAMPLE_RATE // 1000].copy()
    piece[-160:] *= np.linspace(1.0, 0.0, 160, dtype=np.float32)
    quiet = room(0.7, level=3e-4)
    return np.concatenate([quiet[:int(0.3 * SAMPLE_RATE)], 0.3 * piece, quiet[int(0.3 * SAMPLE_RATE):]]).astype(np.float32)


@pytest.fixture(scope="module")
def piper():
    return reproducible_piper()


@pytest.mark.parametrize("text,milliseconds,phrase", [("stop,", 120, "stop")])
@pytest.mark.slow
def test_a_scrap_of_the_coachs_own_phrase_is_no_hit(whisper, piper, text, milliseconds, phrase):
    """The coach said "..., stop," and yielded to its own voice 120 ms into the word: the restricted
    search writes "stop" and Whisper finds it likely, but also finds the audio most likely holds no speech."""
    audio = scrap(piper, text, milliseconds)
    measured = BargeInSpotter(whisper).measure(audio)
    assert measured.phrase == phrase and measured.no_speech_prob > NO_SPEECH_CEILING
    assert BargeInSpotter(whisper, no_speech_ceiling=None).spot(audio) is not None, "without the ceiling: a hit"
    assert BargeInSpotter(whisper).spot(audio) is None


class NoModel:
    vocabulary = None


@pytest.mark.parametrize("no_speech,hit", [(0.1, True), (0.5, True), (0.8, True), (0.9, False), (0.95, False)])
def test_whispers_no_speech_verdict_is_a_third_floor(no_speech, hit):
    spotter = BargeInSpotter(NoModel())
    measured = Measured("stop", "stop", phrase_logprob=-1.0, free_logprob=-1.5, free_text="Stop.", no_speech_prob=no_speech)
    assert (spotter.score(measured) >= 0) == hit
    assert BargeInSpotter(NoModel(), no_speech_ceiling=None).score(measured) > 0


# ----- hearing is told the reply being said, not the last one queued -----

def test_the_output_stage_names_the_reply_the_voice_is_saying():
    from test_voice_line_ends import make_speaker
    from voicecoach.coach.replies import Reply
    from voicecoach.output import OutputStage

    speaker, _, _ = make_speaker()
    output = OutputStage([speaker])
    output.deliver([Reply("You can ask why your IT band hurts."), Reply("During an exercise say pause, or that hurts.")])
    assert output.last_reply.text.startswith("During")
    speaker.play_for(0.3)
    assert output.saying.text == "You can ask why your IT band hurts."
    speaker.play_all()
    assert output.saying.text.startswith("During")
