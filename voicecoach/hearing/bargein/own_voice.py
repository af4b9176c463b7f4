"""The coach's own word told from the user's, on the signal: what the speaker played then.

The words alone cannot tell "... exercises, stop, and consult ..." coming back through the
room from the user's "stop". The echo canceller knows what was played, on the microphone's
clock; `unexplained_share` says how much of an utterance that reference leaves unexplained,
band by band. A barge-in over the coach's voice is its own word when the share shows nothing
of the user and the reference explains it or reads as the same words; an unsure stop, pause or
pain reading is acted on when the share shows the user (`user_shown`). Without a canceller
nothing changes. The rules and their measurements: docs/hearing.md.
"""
from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from voicecoach.hearing.bargein.keywords import words_of
from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.hearing.signal.linear_echo import VOICE_LEVEL
from voicecoach.hearing.signal.vad import FRAME_MS, FRAME_SAMPLES, SpeechDetector

log = logging.getLogger(__name__)
KEEP_MS = 12_000            # frames noted: an utterance (8 s at most, joined with a held part) and its cut
BAND_EDGES_HZ = np.geomspace(100.0, 8000.0, 13)     # 12 bands, as wide to the ear
BANDS_A_GAIN = 2            # neighbouring bands share one gain: 12 free gains fit part of a user's word too
RING_DB_PER_S = 67.0        # the reference is left ringing this fast down (RT60 about 0.9 s: the most reverberant rooms)
NOISE_PERCENTILE = 10       # the room's noise in a band: this percentile of the utterance's frames
OUTLIER_TIMES = 3.0         # a frame with this many times the power the first fit explains is left out of the second
# The share of the utterance's speech that the played reference leaves unexplained: the users'
# commands 0.96-1.0, the coach's own voice 0.2-0.9 (docs/hearing.md).
# - at or above USER_SHARE the user is there: acted on, whatever the coach was saying.
# - below SCRAP_SHARE the reference explains it, whatever it was read as (a scrap read as "wait").
# - between, it is the coach's own word only if the played reference reads the same.
USER_SHARE = 0.75
SCRAP_SHARE = 0.4
# A line's onset after a pause is where the canceller is weakest (about 13 dB of the echo left in
# its first ~100 ms, against 20-40 dB once it speaks on): a scrap of it read as a barge-in ("I
# didn't catch that" read as "that hurts") need not read the same from the reference. An
# utterance whose speech begins within ONSET_WINDOW_MS of the coach's voice starting after
# ONSET_PAUSE_MS of quiet (as it reaches the microphone) is the coach's own unless the signal
# shows the user (USER_SHARE). A person rarely starts talking within that moment of the coach
# starting; one who started first has an onset before it and is not affected.
ONSET_PAUSE_MS = 300
ONSET_WINDOW_MS = 300
ONSET_EARLY_MS = 60        # speech detected this much before the voice's first loud frame still began with it


@dataclass(frozen=True)
class PlayedFrame:
    """One frame's evidence from the echo canceller."""
    reference: np.ndarray   # what the speaker played, as it reaches the microphone in this frame (16 kHz)
    coach_heard: bool       # the coach's voice (or its ringing) was in the frame


PlayedNow = Callable[[], PlayedFrame | None]


def played_from(detector: SpeechDetector) -> PlayedNow | None:
    """The evidence of the echo canceller behind an echo-gated detector (hearing.signal.echo), else None."""
    canceller = detector.canceller
    if canceller is None:
        return None

    def now() -> PlayedFrame | None:
        reference = canceller.played_now
        if len(reference) != FRAME_SAMPLES:
            return None
        return PlayedFrame(reference, bool(canceller.coach_heard))

    return now


@dataclass(frozen=True)
class PlayedSpan:
    reference: np.ndarray   # the played reference over the span, aligned to the microphone
    coach_heard: bool       # the coach was heard in some frame of the span


class PlayedRecord:
    """The last KEEP_MS of frames' evidence, by the stream's frame number. Noted from the
    frame thread, read from the one that decodes."""

    def __init__(self, keep_ms: float = KEEP_MS) -> None:
        self._frames: deque[tuple[int, PlayedFrame]] = deque(maxlen=max(1, int(keep_ms // FRAME_MS)))
        self._lock = threading.Lock()

    def note(self, index: int, frame: PlayedFrame | None) -> None:
        with self._lock:
            if frame is None:
                self._frames.clear()        # a gap: no span across it is whole
                return
            self._frames.append((index, frame))

    def begins_with_onset(self, onset_ms: float) -> bool:
        """Whether speech beginning at `onset_ms` began with the coach's voice starting after a
        pause: its first voiced frame after ONSET_PAUSE_MS of quiet lies from ONSET_WINDOW_MS
        before the onset to ONSET_EARLY_MS after it (False when those frames were not noted)."""
        span = self.span(onset_ms - ONSET_WINDOW_MS - ONSET_PAUSE_MS, onset_ms + ONSET_EARLY_MS)
        if span is None:
            return False
        frames = len(span.reference) // FRAME_SAMPLES
        power = np.mean(np.square(span.reference[:frames * FRAME_SAMPLES].reshape(frames, FRAME_SAMPLES),
                                  dtype=np.float64), axis=1)
        voiced = power > VOICE_LEVEL
        pause = round(ONSET_PAUSE_MS / FRAME_MS)
        return any(voiced[i] and not voiced[i - pause:i].any() for i in range(pause, frames))

    def span(self, start_ms: float, end_ms: float) -> PlayedSpan | None:
        """The frames from start_ms to end_ms (stream time), or None when any of them was not noted."""
        first, last = round(start_ms / FRAME_MS), round(end_ms / FRAME_MS)
        with self._lock:
            if last <= first or not self._frames:
                return None
            oldest = self._frames[0][0]
            if first < oldest or last - 1 > self._frames[-1][0]:
                return None
            frames = [self._frames[i - oldest][1] for i in range(first, last)]
        return PlayedSpan(np.concatenate([f.reference for f in frames]),
                          any(f.coach_heard for f in frames))


def band_power(audio: np.ndarray) -> np.ndarray:
    """Power in BAND_EDGES_HZ's bands, one row a frame (FRAME_SAMPLES each, Hann-windowed)."""
    count = len(audio) // FRAME_SAMPLES
    frames = np.asarray(audio[:count * FRAME_SAMPLES], np.float64).reshape(count, FRAME_SAMPLES)
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(FRAME_SAMPLES), axis=1)) ** 2
    bins = np.fft.rfftfreq(FRAME_SAMPLES, 1.0 / SAMPLE_RATE)
    return np.stack([spectrum[:, (bins >= low) & (bins < high)].sum(axis=1)
                     for low, high in itertools.pairwise(BAND_EDGES_HZ)], axis=1)


def ringing(power: np.ndarray, db_per_s: float = RING_DB_PER_S) -> np.ndarray:
    """Band power as a room leaves it: each frame adds to what is still ringing from before."""
    keep = 10 ** (-db_per_s * FRAME_MS / 1000 / 10)
    out = power.copy()
    for t in range(1, len(out)):
        out[t] += keep * out[t - 1]
    return out


def _gains(heard: np.ndarray, played: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Least-squares gains from played to heard power, one for BANDS_A_GAIN neighbouring bands."""
    grouped = (len(heard), -1, BANDS_A_GAIN)
    gains = ((weights * heard * played).reshape(grouped).sum(axis=(0, 2))
             / ((weights * played * played).reshape(grouped).sum(axis=(0, 2)) + 1e-30))
    return np.repeat(np.maximum(gains, 0.0), BANDS_A_GAIN)


def unexplained_share(heard: np.ndarray, reference: np.ndarray, speech: slice) -> float:
    """The share of the heard audio's power above the room's noise, over the `speech` frames,
    that the played reference (ringing, one gain for two bands fitted over the whole utterance)
    does not explain: near 0 for the coach's remains, near 1 for a user's word. 1 when nothing is
    above the noise (nothing shows it was the coach)."""
    heard_power, played = band_power(heard), ringing(band_power(reference))
    count = min(len(heard_power), len(played))
    heard_power, played = heard_power[:count], played[:count]
    if count == 0:
        return 1.0
    above = np.maximum(heard_power - np.percentile(heard_power, NOISE_PERCENTILE, axis=0), 0.0)
    # Least squares on power, then again without the frames the first fit leaves far
    # unexplained: a user's word pulls the first gains up, and is then left out of the second.
    gains = _gains(above, played, np.ones_like(above))
    gains = _gains(above, played, (above <= OUTLIER_TIMES * gains * played).astype(np.float64))
    said = above[speech]
    total = float(said.sum())
    if total <= 0.0:
        return 1.0
    return float(np.maximum(said - gains * played[speech], 0.0).sum()) / total


def _in_order(heard: list[str], said: list[str]) -> bool:
    """Every heard word found, in order, among the words said."""
    position = 0
    for word in heard:
        try:
            position = said.index(word, position) + 1
        except ValueError:
            return False
    return True


def said_the_same(heard_text: str, heard_intent: str, readings: Iterable[tuple[str, str]]) -> bool:
    """Whether a reading of the played reference ((text, intent) pairs) is what was heard:
    the same intent, or the heard words in its words."""
    heard = words_of(heard_text)
    for text, intent in readings:
        if intent == heard_intent or (heard and _in_order(heard, words_of(text))):
            return True
    return False


Read = Callable[[np.ndarray], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class OwnWordCheck:
    """The rule, with its two floors (see USER_SHARE and SCRAP_SHARE)."""

    user_share: float = USER_SHARE
    scrap_share: float = SCRAP_SHARE

    def user_shown(self, heard: np.ndarray, speech: slice, span: PlayedSpan | None) -> bool:
        """Whether the signal shows the user over the coach's voice: the played reference leaves
        USER_SHARE or more of the utterance unexplained (False without a span or a voice)."""
        share = _share_over(heard, speech, span)
        return share is not None and share >= self.user_share

    def is_own(self, heard_text: str, heard_intent: str, heard: np.ndarray, speech: slice,
               span: PlayedSpan | None, read: Read, at_onset: bool = False) -> bool:
        """Whether a barge-in heard as `heard` (its speech in frames `speech`) over `span` is the
        coach's own word (False without a span). `read(audio)` yields the loop's readings of
        audio, (text, intent), lazily: the barge-in check's, then the recognizer's. `at_onset`:
        the speech began with a line's onset (PlayedRecord.begins_with_onset), where only the
        signal showing the user makes it the user's."""
        share = _share_over(heard, speech, span)
        log.info("own voice: %s", "no evidence of what was played" if share is None else
                 f"{share:.2f} of the utterance not explained by what was played")
        if share is None or share >= self.user_share:
            return False
        assert span is not None
        return (at_onset or share < self.scrap_share
                or said_the_same(heard_text, heard_intent, read(span.reference)))


def _share_over(heard: np.ndarray, speech: slice, span: PlayedSpan | None) -> float | None:
    """`unexplained_share` of the utterance over what was played then; None when the coach said nothing."""
    if span is None or not span.coach_heard:
        return None
    if float(np.mean(np.square(span.reference, dtype=np.float64))) < VOICE_LEVEL:      # the coach said nothing
        return None
    return unexplained_share(heard, span.reference, speech)
