"""End of speech: cut a command out of the audio stream as soon as the user stops.

A detector says, frame by frame (30 ms), whether there is speech: WebRTC's VAD when
webrtcvad is installed, otherwise an energy detector that adapts to the room's noise.
The Endpointer turns those decisions into utterances: it keeps a little audio from
before the start (soft onsets such as "f" in "five" are quiet), drops bursts too short
to be words, closes an utterance after `trailing_silence_ms` of silence and never lets
one grow past `max_ms`. Everything here is pure and frame-fed: no clock, no threads.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from voicecoach.hearing.signal.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from voicecoach.hearing.signal.echo import EchoCanceller

FRAME_MS = 30                  # webrtcvad accepts 10, 20 or 30 ms; 30 is the steadiest
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
TRAILING_SILENCE_MS = 240      # plus <= 2 frames of detector lag: cut <= 300 ms after the last word
PRE_ROLL_MS = 300              # audio kept from before speech was detected
START_FRAMES = 2               # consecutive speech frames that start an utterance (60 ms)
MIN_SPEECH_MS = 120            # fewer speech frames than this are clicks and knocks
MAX_UTTERANCE_MS = 8000        # a command is never longer; longer talk is cut here


class SpeechDetector(Protocol):
    name: str

    def is_speech(self, frame: np.ndarray) -> bool:
        """`frame`: FRAME_SAMPLES float32 samples at 16 kHz, in stream order."""

    # ----- what only an echo-gated detector has: DetectorBase gives the others' answer -------

    @property
    def sure(self) -> bool:
        """The frame just judged is speech beyond doubt: an utterance may start on it alone."""

    def kept(self, frame: np.ndarray) -> np.ndarray:
        """The audio to keep for the frame just judged (another version of it, such as a linear
        canceller's, when the recognizer is better served by that)."""

    @property
    def canceller(self) -> EchoCanceller | None:
        """The echo canceller behind the detector, whose evidence the own-voice check reads."""


class DetectorBase:
    """A detector that is never sure on one frame, keeps every frame as it is, and has no canceller."""

    sure = False
    canceller: EchoCanceller | None = None

    def kept(self, frame: np.ndarray) -> np.ndarray:
        return frame


def frame_level_db(frame: np.ndarray) -> float:
    """Mean power of a frame in dB relative to full scale (a full-scale square wave is 0)."""
    return 10.0 * float(np.log10(np.mean(np.square(frame, dtype=np.float64)) + 1e-12))


class EnergyDetector(DetectorBase):
    """Speech when a frame stands `margin_db` above the noise floor of the last few seconds.

    The floor is the quietest frame level seen in a sliding window (minimum statistics):
    it follows a fan switching on within `window_frames`, and a sentence does not raise it
    because speech always has quieter gaps between words. Once in speech, a smaller margin
    keeps soft word endings from chopping a command in two (hysteresis).
    """

    name = "energy"

    def __init__(self, margin_db: float = 9.0, hold_margin_db: float = 6.0, floor_db: float = -60.0,
                 window_frames: int = 100) -> None:
        self.margin_db = margin_db
        self.hold_margin_db = hold_margin_db
        self.floor_db = floor_db           # below this nothing is speech, however quiet the room
        self._levels: deque[float] = deque(maxlen=window_frames)
        self._speaking = False

    @property
    def noise_db(self) -> float:
        return min(self._levels) if self._levels else self.floor_db

    def is_speech(self, frame: np.ndarray) -> bool:
        level = frame_level_db(frame)
        self._levels.append(level)
        margin = self.hold_margin_db if self._speaking else self.margin_db
        self._speaking = level > max(self.noise_db, self.floor_db) + margin
        return self._speaking


class WebRtcDetector(DetectorBase):
    """Google's WebRTC VAD (webrtcvad-wheels), gated by energy so near-silence is never speech.

    WebRTC's model flags steady hum and fan noise as speech at low levels; requiring a frame
    to stand a little above the learned noise floor as well removes those.
    """

    name = "webrtc"

    def __init__(self, aggressiveness: int = 3) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)
        # Margins chosen with bench/endpointing.py: lower ones let a word's fading tail count
        # as speech and delay the cut; higher ones split noisy commands.
        self._energy = EnergyDetector(margin_db=6.0, hold_margin_db=4.0)

    def is_speech(self, frame: np.ndarray) -> bool:
        loud_enough = self._energy.is_speech(frame)
        pcm = (np.clip(frame, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
        voiced = self._vad.is_speech(pcm, SAMPLE_RATE)     # always fed: it tracks the noise too
        return loud_enough and voiced


def default_detector() -> SpeechDetector:
    """WebRTC's VAD when webrtcvad is installed, else the energy detector."""
    try:
        return WebRtcDetector()
    except ImportError:
        return EnergyDetector()


@dataclass(frozen=True)
class Utterance:
    audio: np.ndarray              # float32 16 kHz, pre-roll included
    start_ms: float                # stream time of the first sample kept (pre-roll included)
    onset_ms: float                # stream time where speech was first detected
    end_ms: float                  # stream time when the end was detected (the cut)
    speech_end_ms: float           # stream time where the last speech frame ended
    cut_short: bool = False        # cut by the caller while speech went on (Endpointer.flush), not by silence

    @property
    def audio_ms(self) -> float:
        return 1000.0 * len(self.audio) / SAMPLE_RATE


@dataclass(frozen=True)
class EndpointSettings:
    trailing_silence_ms: int = TRAILING_SILENCE_MS
    pre_roll_ms: int = PRE_ROLL_MS
    start_frames: int = START_FRAMES
    min_speech_ms: int = MIN_SPEECH_MS
    max_ms: int = MAX_UTTERANCE_MS

    def __post_init__(self) -> None:
        for name in ("trailing_silence_ms", "pre_roll_ms", "min_speech_ms", "max_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.start_frames < 1:
            raise ValueError(f"start_frames must be at least 1, got {self.start_frames}")


class Endpointer:
    """Feed frames in order; `push` returns an Utterance when one has just ended.

    `in_speech` and `onset_ms` tell a caller that someone has started talking
    (to show it, or to duck the coach's voice) before the utterance is complete.
    """

    def __init__(self, detector: SpeechDetector | None = None, trailing_silence_ms: int | None = None,
                 settings: EndpointSettings | None = None) -> None:
        self.detector = detector or default_detector()
        self.settings = settings or EndpointSettings()
        silence_ms = self.settings.trailing_silence_ms if trailing_silence_ms is None else trailing_silence_ms
        self.trailing_frames = max(1, silence_ms // FRAME_MS)
        self.max_frames = max(1, self.settings.max_ms // FRAME_MS)
        self._pre_roll: deque[np.ndarray] = deque(maxlen=self.settings.pre_roll_ms // FRAME_MS + self.settings.start_frames)
        self._frames: list[np.ndarray] = []
        self._run = 0               # consecutive speech frames while waiting for a start
        self._silence = 0           # consecutive silent frames while in speech
        self._speech_frames = 0     # speech frames in the current utterance
        self._last_speech = 0       # frame count at the end of the last speech frame
        self._elapsed = 0           # frames seen
        self._start = 0             # frame count at the first kept frame
        self._onset = 0             # frame count before the first speech frame

    @property
    def in_speech(self) -> bool:
        return bool(self._frames)

    @property
    def onset_ms(self) -> float | None:
        """Stream time where the utterance under way began, or None between utterances."""
        return self._onset * FRAME_MS if self._frames else None

    @property
    def elapsed_ms(self) -> float:
        return self._elapsed * FRAME_MS

    @property
    def silent_ms(self) -> float:
        """How long the utterance under way has been silent since its last speech frame (0 between utterances)."""
        return self._silence * FRAME_MS if self._frames else 0.0

    def so_far(self) -> Utterance | None:
        """The utterance under way as it would be cut now (None between utterances or while too
        short to be one): its reading can begin while the endpointer waits out the silence."""
        return self._utterance(self._frames, self._speech_frames) if self._frames else None

    def push(self, frame: np.ndarray) -> Utterance | None:
        if len(frame) != FRAME_SAMPLES:
            raise ValueError(f"a frame must hold {FRAME_SAMPLES} samples ({FRAME_MS} ms at {SAMPLE_RATE} Hz), got {len(frame)}")
        self._elapsed += 1
        speech = self.detector.is_speech(frame)
        frame = self.detector.kept(frame)
        if not self._frames:
            self._pre_roll.append(frame)
            self._run = self._run + 1 if speech else 0
            if self._run >= self.settings.start_frames or (speech and self.detector.sure):
                self._frames = list(self._pre_roll)
                self._start = self._elapsed - len(self._frames)
                self._onset = self._elapsed - self._run
                self._speech_frames, self._silence, self._last_speech = self._run, 0, self._elapsed
                self._pre_roll.clear()
            return None
        self._frames.append(frame)
        if speech:
            self._speech_frames += 1
            self._silence, self._last_speech = 0, self._elapsed
        else:
            self._silence += 1
        if self._silence >= self.trailing_frames or len(self._frames) >= self.max_frames:
            return self._finish()
        return None

    def flush(self, cut_short: bool = False) -> Utterance | None:
        """Whatever is being said, cut now: at the end of the stream, or with `cut_short` while
        it goes on (the frames that follow start afresh)."""
        return self._finish(cut_short) if self._frames else None

    def _finish(self, cut_short: bool = False) -> Utterance | None:
        frames, speech = self._frames, self._speech_frames
        self._frames, self._run, self._silence, self._speech_frames = [], 0, 0, 0
        return self._utterance(frames, speech, cut_short)

    def _utterance(self, frames: list[np.ndarray], speech: int, cut_short: bool = False) -> Utterance | None:
        """`frames` cut now as an utterance, or None when their `speech` frames are too few for one."""
        if speech * FRAME_MS < self.settings.min_speech_ms:
            return None
        return Utterance(np.concatenate(frames), self._start * FRAME_MS, self._onset * FRAME_MS,
                         self._elapsed * FRAME_MS, self._last_speech * FRAME_MS, cut_short)
