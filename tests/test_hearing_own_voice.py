"""The coach's own word told from the user's: one barge-in word the speaker was playing at that
moment, with nothing in the utterance beyond what the played reference explains, is not acted
on; with the user's voice over it, it is; without a reference, hearing is as before. In-memory
fakes, no devices."""
from __future__ import annotations

import numpy as np
import pytest

from hearing_signals import room, voiced
from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.hearing.signal.echo import EchoCanceller, EchoGatedDetector
from voicecoach.hearing.bargein.keywords import KeywordHit
from voicecoach.hearing.loop import ListenLoop, UtteranceHeard, UtteranceIgnored
from voicecoach.hearing.bargein.own_voice import (SCRAP_SHARE, USER_SHARE, OwnWordCheck, PlayedFrame, PlayedRecord, PlayedSpan,
                                          played_from, said_the_same, unexplained_share)
from voicecoach.hearing.signal.vad import FRAME_MS, FRAME_SAMPLES, Endpointer, EnergyDetector
from voicecoach.intents.load import load_catalog
from voicecoach.intents.matcher import recognize
from voicecoach.intents.types import Context, Match
from voicecoach.intents.understand import MODEL_SURE

CATALOG = load_catalog()
PAIN = Context(exercising=True)
LINE = "If it hurts during the exercises, stop, and consult a doctor."
SECONDS = 2.5
# What the speaker played, as it reaches the microphone: three syllables from 0.9 s to 1.6 s.
PLAYED = np.concatenate([room(0.9, level=0.0), voiced(0.15, level=0.2, pitch=130.0, seed=3), room(0.12, level=0.0),
                         voiced(0.2, level=0.2, pitch=120.0, seed=4), room(0.08, level=0.0),
                         voiced(0.15, level=0.2, pitch=140.0, seed=6), room(0.9, level=0.0)])
COACH_REMAINS = 0.02 * np.convolve(PLAYED, np.exp(-np.arange(800) / 250.0))[:len(PLAYED)].astype(np.float32)
# The user's word, begun over the coach's last syllables.
USER = np.concatenate([room(1.3, level=0.0), voiced(0.6, level=0.3, pitch=300.0, seed=5), room(0.6, level=0.0)])
QUIET = room(SECONDS, level=3e-4, seed=9)


class Reader:
    """Reads the microphone's utterance as `heard` and the played reference as `played`."""

    def __init__(self, heard: str, played: str) -> None:
        self.heard, self.played = heard, played
        self.read: list[str] = []

    def __call__(self, audio: np.ndarray):
        mine = is_played(audio)
        self.read.append("played" if mine else "mic")
        return recognize(self.played if mine else self.heard, CATALOG, PAIN)


def is_played(audio: np.ndarray) -> bool:
    """The fake readers know the played reference by its silent start (the microphone is never silent)."""
    return not np.any(audio[:FRAME_SAMPLES])


class Played:
    """The canceller's evidence frame by frame: the reference as it reaches the microphone."""

    def __init__(self, reference: np.ndarray = PLAYED, missing: range = range(0)) -> None:
        self.reference, self.missing = reference, missing
        self.frame = -1

    def __call__(self) -> PlayedFrame | None:
        self.frame += 1
        if self.frame in self.missing:
            return None
        return PlayedFrame(self.reference[self.frame * FRAME_SAMPLES:(self.frame + 1) * FRAME_SAMPLES], True)


def run(reader, mic: np.ndarray, played=None, spot=None, coach: bool = True) -> list:
    loop = ListenLoop(reader, Endpointer(EnergyDetector()), played=played, spot=spot)
    events = []
    for n in range(len(mic) // FRAME_SAMPLES):
        if coach and n == 5:
            loop.coach_speaking(LINE)
        if coach and n == 75:
            loop.coach_silent()
        events += loop.push(mic[n * FRAME_SAMPLES:(n + 1) * FRAME_SAMPLES])
    events += loop.finish()
    return [e for e in events if isinstance(e, (UtteranceHeard, UtteranceIgnored))]


def verdict(events: list) -> tuple[str, str | None]:
    assert len(events) == 1
    event = events[0]
    return event.match.intent, (event.reason if isinstance(event, UtteranceIgnored) else None)


ALONE = COACH_REMAINS + QUIET                 # only what the canceller left of the coach's voice
BOTH = COACH_REMAINS + USER + QUIET           # the user talking over it


def test_a_one_word_barge_in_the_speaker_played_then_without_the_user_is_the_coach_s_own_word():
    reader = Reader("Stop.", "the exercises, stop, and consult")
    assert verdict(run(reader, ALONE, Played())) == ("stop", "own word")


def test_the_same_word_with_the_user_s_voice_over_it_is_acted_on_without_another_reading():
    reader = Reader("Stop.", "the exercises, stop, and consult")
    assert verdict(run(reader, BOTH, Played())) == ("stop", None)
    assert reader.read == ["mic"]


def test_without_a_reference_a_barge_in_over_the_coach_is_acted_on_as_before():
    reader = Reader("Stop.", "the exercises, stop, and consult")
    assert verdict(run(reader, ALONE, played=None)) == ("stop", None)
    assert reader.read == ["mic"]


def test_once_the_coach_is_silent_the_reference_is_not_asked():
    reader = Reader("Stop.", "the exercises, stop, and consult")
    assert verdict(run(reader, ALONE, Played(), coach=False)) == ("stop", None)
    assert reader.read == ["mic"]


def test_a_request_over_the_coach_is_still_just_coach_speaking():
    reader = Reader("next", "next")
    assert verdict(run(reader, ALONE, Played())) == ("next", "coach speaking")


def test_a_gap_in_the_evidence_over_the_utterance_leaves_it_to_be_acted_on():
    reader = Reader("Stop.", "the exercises, stop, and consult")
    assert verdict(run(reader, ALONE, Played(missing=range(40, 41)))) == ("stop", None)


def test_a_silent_speaker_explains_nothing():
    reader = Reader("Stop.", "the exercises, stop, and consult")
    assert verdict(run(reader, ALONE, Played(np.zeros_like(PLAYED)))) == ("stop", None)


def test_the_reader_s_unsure_barge_in_over_the_coach_is_acted_on_only_with_the_user_shown():
    def unsure_stop(audio):
        return Match("Cancel type room.", "stop", {}, 0.3, by="model", confidence=0.3)

    assert 0.3 < MODEL_SURE
    assert verdict(run(unsure_stop, BOTH, Played())) == ("stop", None)
    assert verdict(run(unsure_stop, ALONE, Played())) == ("stop", "coach speaking")
    assert verdict(run(unsure_stop, BOTH, played=None)) == ("stop", "coach speaking")    # no evidence: as before


# ----- the rule, on shares between the two floors --------------------------------------------

def span() -> PlayedSpan:
    return PlayedSpan(PLAYED, True)


class Share:
    """Stands in for unexplained_share: the same share whatever the audio."""

    def __init__(self, monkeypatch, share: float) -> None:
        import voicecoach.hearing.bargein.own_voice as own_voice
        monkeypatch.setattr(own_voice, "unexplained_share", lambda heard, reference, speech: share)


@pytest.mark.parametrize("share,readings,own", [
    (SCRAP_SHARE - 0.05, [("Glute bridges help", "none")], True),       # all explained: a scrap of its voice
    ((SCRAP_SHARE + USER_SHARE) / 2, [("exercises, stop, and", "none")], True),
    ((SCRAP_SHARE + USER_SHARE) / 2, [("Glute bridges help", "none")], False),
    (USER_SHARE, [("exercises, stop, and", "none")], False),            # the user over the coach's "stop"
])
def test_the_user_s_share_keeps_a_command_and_the_reading_decides_between(monkeypatch, share, readings, own):
    Share(monkeypatch, share)
    asked = []

    def read(audio):
        asked.append(len(audio))
        yield from readings

    assert OwnWordCheck().is_own("stop", "stop", ALONE, slice(0, 10), span(), read) is own
    assert len(asked) == (1 if SCRAP_SHARE <= share < USER_SHARE else 0)


def test_the_barge_in_check_hearing_the_same_intent_in_the_reference_is_enough(monkeypatch):
    Share(monkeypatch, (SCRAP_SHARE + USER_SHARE) / 2)

    def spot(audio: np.ndarray) -> KeywordHit | None:
        return KeywordHit("wait", "pause", 0.5) if is_played(audio) else KeywordHit("pause", "pause", 0.5)

    reader = Reader("unused", "unused")
    assert verdict(run(reader, ALONE, Played(), spot=spot)) == ("pause", "own word")
    assert reader.read == []                    # the check's hit on the reference settled it


# ----- the parts -----------------------------------------------------------------------------

def test_the_coach_s_remains_are_explained_by_what_was_played_and_a_user_s_word_is_not():
    speech = slice(round(0.9 * SAMPLE_RATE / FRAME_SAMPLES), round(1.9 * SAMPLE_RATE / FRAME_SAMPLES))
    assert unexplained_share(ALONE, PLAYED, speech) < SCRAP_SHARE
    assert unexplained_share(BOTH, PLAYED, speech) >= USER_SHARE
    assert unexplained_share(USER + QUIET, np.zeros_like(PLAYED), speech) == pytest.approx(1.0)
    assert unexplained_share(QUIET[:FRAME_SAMPLES - 1], PLAYED, speech) == 1.0      # too short to say


def frame(level: float, coach: bool = True) -> PlayedFrame:
    return PlayedFrame(np.full(FRAME_SAMPLES, level, np.float32), coach)


def test_the_record_gives_the_frames_of_a_span_in_stream_time():
    record = PlayedRecord(keep_ms=10 * FRAME_MS)
    for n in range(20):
        record.note(n, frame(n / 100))
    found = record.span(12 * FRAME_MS, 15 * FRAME_MS)
    assert found is not None and len(found.reference) == 3 * FRAME_SAMPLES
    assert found.reference[0] == pytest.approx(0.12) and found.reference[-1] == pytest.approx(0.14)
    assert record.span(5 * FRAME_MS, 12 * FRAME_MS) is None          # forgotten
    assert record.span(18 * FRAME_MS, 22 * FRAME_MS) is None         # not yet noted


def test_a_frame_without_evidence_breaks_every_span_across_it():
    record = PlayedRecord()
    for n in range(5):
        record.note(n, frame(0.1))
    record.note(5, None)
    record.note(6, frame(0.1))
    assert record.span(0, 7 * FRAME_MS) is None
    assert record.span(6 * FRAME_MS, 7 * FRAME_MS) is not None


@pytest.mark.parametrize("heard,intent,readings,same", [
    ("stop", "stop", [("exercises, stop, and", "none")], True),
    ("stop", "stop", [("Bye.", "stop")], True),                    # the same intent read from what was played
    ("that hurts", "report_pain", [("if it hurts", "none")], False),
    ("it hurts", "report_pain", [("if it hurts", "none")], True),
    ("stop", "stop", [("roll slowly", "none"), ("stop", "stop")], True),
    ("stop", "stop", [], False),
])
def test_what_was_played_says_the_same_by_intent_or_by_the_words_in_order(heard, intent, readings, same):
    assert said_the_same(heard, intent, readings) is same


def test_nothing_is_read_without_a_span_the_coach_was_heard_in_or_a_sound_played():
    asked = []

    def read(audio):
        asked.append(len(audio))
        return [("stop", "stop")]

    for played in (None, PlayedSpan(PLAYED, False), PlayedSpan(np.zeros_like(PLAYED), True)):
        assert not OwnWordCheck().is_own("stop", "stop", ALONE, slice(30, 55), played, read)
    assert asked == []


def test_the_loop_takes_the_evidence_from_the_echo_gated_detector_s_canceller():
    class Engine:
        name = "fake"

        def process(self, mic, reference):
            return mic

    canceller = EchoCanceller(Engine, initial_delay_ms=30.0)
    tone = (0.3 * np.sin(np.arange(16000) * 0.1)).astype(np.float32)
    canceller.played(tone, 16000, 0.0)
    canceller.process(np.zeros(FRAME_SAMPLES, np.float32), 0.5)
    now = played_from(EchoGatedDetector(EnergyDetector(), canceller))
    assert now is not None
    evidence = now()
    start = int((0.5 - 0.030) * 16000)                     # what was played one delay before the frame
    assert np.allclose(evidence.reference, tone[start:start + FRAME_SAMPLES])
    assert evidence.coach_heard
    assert played_from(EnergyDetector()) is None


# ----- real voices: the coach's Piper line through a room, a recorded "stop" over it -----

LINE_WITH_STOP = ("If you feel pain during any of these exercises, stop, and consult a medical professional. "
                  "Always listen to your body. When you go on, start light and progress gradually.")


@pytest.fixture(scope="module")
def coach_line_with_stop() -> np.ndarray:
    from conftest import reproducible_piper

    return reproducible_piper().synthesize(LINE_WITH_STOP)


class Sharing(OwnWordCheck):
    """The rule as shipped, noting each share it judged."""

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "shares", [])

    def is_own(self, heard_text, heard_intent, heard, speech, span, read, at_onset=False) -> bool:
        if span is not None:
            self.shares.append(unexplained_share(heard, span.reference, speech))
        return super().is_own(heard_text, heard_intent, heard, speech, span, read, at_onset)


@pytest.mark.parametrize("recording", ["sc_stop_1eddce1d_nohash_3.wav", "sc_stop_51055bda_nohash_4.wav"])
@pytest.mark.parametrize("echo_to_user_db,rt60", [(0.0, 0.5), (6.0, 0.8)])
@pytest.mark.slow
def test_a_recorded_stop_over_the_coach_is_acted_on_even_when_what_was_played_reads_stop(
        coach_line_with_stop, recording, echo_to_user_db, rt60):
    """The worst case for the rule: every reading, of the microphone and of the played
    reference, is "stop"; only the signal can keep the user's command, and it does."""
    from conftest import AUDIO, require_shared
    from test_hearing_doubletalk import ECHO_RMS, PassThrough
    from test_hearing_echo import DEVICE_RATE, synthetic_room
    from voicecoach.hearing.signal.audio import read_wav, resample
    from voicecoach.hearing.signal.sources import FRAME_SECONDS
    from voicecoach.intents.types import Match

    require_shared(f"audio/{recording}")
    user = np.asarray(read_wav(AUDIO / recording), np.float32)
    line = coach_line_with_stop
    echo = np.convolve(resample(line, DEVICE_RATE, SAMPLE_RATE), synthetic_room(60.0, rt60=rt60))
    echo = (echo * ECHO_RMS / np.sqrt(np.mean(np.square(echo[np.abs(echo) > 1e-4])))).astype(np.float32)
    mic = echo + room(len(echo) / SAMPLE_RATE, level=ECHO_RMS / 10 ** (34 / 20))
    wet = np.convolve(user, synthetic_room(5.0, rt60=rt60, seed=8))[:len(user)]
    wet *= ECHO_RMS / 10 ** (echo_to_user_db / 20) / np.sqrt(np.mean(np.square(wet[np.abs(wet) > 0.02 * np.abs(wet).max()])))
    user_at = int(4.0 * SAMPLE_RATE)
    mic[user_at:user_at + len(wet)] += wet
    canceller = EchoCanceller(PassThrough)
    check = Sharing()
    loop = ListenLoop(lambda audio: Match("Stop.", "stop", {}, 1.0), Endpointer(EchoGatedDetector(EnergyDetector(), canceller)),
                      own_word=check)
    for i in range(0, len(line), DEVICE_RATE // 50):
        canceller.played(line[i:i + DEVICE_RATE // 50], DEVICE_RATE, i / DEVICE_RATE)
    events = []
    for n in range(len(mic) // FRAME_SAMPLES):
        loop.coach_speaking(LINE_WITH_STOP) if n * FRAME_SECONDS < len(line) / DEVICE_RATE else loop.coach_silent()
        events += loop.push(canceller.process(mic[n * FRAME_SAMPLES:(n + 1) * FRAME_SAMPLES], n * FRAME_SECONDS))
    events += loop.finish()
    heard = [e for e in events if isinstance(e, UtteranceHeard) and 3900 <= e.onset_ms <= 4800]
    assert heard, f"the user's stop was not acted on: {events}"
    assert check.shares and min(check.shares) >= USER_SHARE
    assert not [e for e in events if isinstance(e, UtteranceIgnored) and e.reason == "own word"]


# ----- a line's onset after a pause ----------------------------------------------------------

class OnsetReader:
    """Reads the microphone as "that hurts" and what was played as the coach's line (the played
    reference is known by its exact zeros between syllables: the microphone always hears the room)."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def __call__(self, audio: np.ndarray):
        played = np.count_nonzero(audio == 0.0) > FRAME_SAMPLES
        self.read.append("played" if played else "mic")
        return recognize("I didn't catch that" if played else "that hurts", CATALOG, PAIN)


# The coach talking since 0.3 s: its syllables from 0.9 s follow no pause (the canceller has converged).
WITHOUT_PAUSE = PLAYED + np.concatenate([room(0.3, level=0.0), voiced(0.6, level=0.2, pitch=110.0, seed=8),
                                         room(len(PLAYED) / SAMPLE_RATE - 0.9, level=0.0)])[:len(PLAYED)]


def test_a_scrap_of_a_line_s_onset_read_as_a_barge_in_is_the_coach_s_own_word(monkeypatch):
    """"I didn't catch that", said right after the person stopped: its onset leaks through the
    canceller and reads "that hurts". What was played reads otherwise, and the share of the
    utterance it leaves unexplained is between the floors (onsets are where the canceller is
    weakest): at a line's onset after a pause, only the signal showing the user makes it the user's."""
    Share(monkeypatch, (SCRAP_SHARE + USER_SHARE) / 2)
    assert verdict(run(OnsetReader(), ALONE, Played())) == ("report_pain", "own word")
    # The same words and share where the coach had been talking: the reading decides, as before.
    assert verdict(run(OnsetReader(), ALONE, Played(WITHOUT_PAUSE))) == ("report_pain", None)


def test_the_user_shown_at_a_line_s_onset_is_acted_on(monkeypatch):
    Share(monkeypatch, USER_SHARE)
    assert verdict(run(OnsetReader(), ALONE, Played())) == ("report_pain", None)


def test_the_record_knows_speech_that_began_with_a_line_s_onset():
    record = PlayedRecord()
    played = Played()
    for n in range(len(PLAYED) // FRAME_SAMPLES):
        record.note(n, played())
    voice_at = 900.0                                   # PLAYED's first syllable, after 0.9 s of quiet
    assert record.begins_with_onset(voice_at + 30) and record.begins_with_onset(voice_at + 250)
    assert not record.begins_with_onset(voice_at + 400)        # well into the line
    assert not record.begins_with_onset(voice_at - 200)        # the person started first
    continuous = PlayedRecord()
    played = Played(WITHOUT_PAUSE)
    for n in range(len(PLAYED) // FRAME_SAMPLES):
        continuous.note(n, played())
    assert not continuous.begins_with_onset(voice_at + 30)
