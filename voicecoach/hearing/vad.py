"""End of speech: cut a command out of the audio stream as soon as the user stops.

A detector says, frame by frame (30 ms), whether there is speech: WebRTC's VAD when
webrtcvad is installed, otherwise an energy detector that adapts to the room's noise.
The Endpointer turns those decisions into utterances: it keeps a little audio from
before the start, and closes an utterance after TRAILING_SILENCE_MS of silence.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voicecoach.hearing.audio import SAMPLE_RATE

FRAME_MS = 30
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
TRAILING_SILENCE_MS = 270      # <= 300 ms after the last word, the command is decoded
PRE_ROLL_MS = 300              # audio kept from before speech was detected (soft onsets)
START_FRAMES = 2               # consecutive speech frames that start an utterance (60 ms)
MIN_SPEECH_MS = 120            # shorter bursts are clicks and knocks
MAX_UTTERANCE_MS = 8000        # a command is never longer; longer talk is cut here


class SpeechDetector(Protocol):
    def is_speech(self, frame: np.ndarray) -> bool: ...


class EnergyDetector:
    """Speech when a frame's energy stands well above the noise floor it has learned."""

    def __init__(self, margin_db: float = 9.0, floor_db: float = -55.0) -> None:
        self.margin_db = margin_db
        self.noise_db = floor_db
        self.floor_db = floor_db

    def is_speech(self, frame: np.ndarray) -> bool:
        level = 10 * np.log10(float(np.mean(np.square(frame))) + 1e-12)
        speech = level > max(self.noise_db + self.margin_db, self.floor_db + self.margin_db)
        # The floor falls fast to quiet frames and rises slowly, so speech does not raise it.
        rate = 0.3 if level < self.noise_db else (0.002 if speech else 0.02)
        self.noise_db += rate * (level - self.noise_db)
        return speech


class WebRtcDetector:
    """Google's WebRTC VAD (webrtcvad-wheels), with an energy gate against near-silence."""

    def __init__(self, aggressiveness: int = 2) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)
        self._energy = EnergyDetector(margin_db=4.0)

    def is_speech(self, frame: np.ndarray) -> bool:
        pcm = (np.clip(frame, -1, 1) * 32767).astype("<i2").tobytes()
        loud_enough = self._energy.is_speech(frame)
        return self._vad.is_speech(pcm, SAMPLE_RATE) and loud_enough


def default_detector() -> SpeechDetector:
    try:
        return WebRtcDetector()
    except ImportError:
        return EnergyDetector()


@dataclass(frozen=True)
class Utterance:
    audio: np.ndarray
    start_ms: float              # stream time of the first sample kept
    end_ms: float                # stream time when the end was detected


class Endpointer:
    """Feed frames in order; `push` returns an Utterance when one has just ended."""

    def __init__(self, detector: SpeechDetector | None = None, trailing_silence_ms: int = TRAILING_SILENCE_MS) -> None:
        self.detector = detector or default_detector()
        self.trailing_frames = max(1, trailing_silence_ms // FRAME_MS)
        self._pre_roll: deque[np.ndarray] = deque(maxlen=PRE_ROLL_MS // FRAME_MS)
        self._frames: list[np.ndarray] = []
        self._run = 0               # consecutive speech frames before starting
        self._silence = 0           # consecutive silent frames while in speech
        self._speech_frames = 0
        self._elapsed = 0           # frames seen
        self._start = 0

    @property
    def in_speech(self) -> bool:
        return bool(self._frames)

    def push(self, frame: np.ndarray) -> Utterance | None:
        self._elapsed += 1
        speech = self.detector.is_speech(frame)
        if not self._frames:
            self._pre_roll.append(frame)
            self._run = self._run + 1 if speech else 0
            if self._run >= START_FRAMES:
                self._frames = list(self._pre_roll)
                self._start = self._elapsed - len(self._frames)
                self._speech_frames, self._silence = self._run, 0
                self._pre_roll.clear()
            return None
        self._frames.append(frame)
        self._speech_frames += speech
        self._silence = 0 if speech else self._silence + 1
        too_long = len(self._frames) * FRAME_MS >= MAX_UTTERANCE_MS
        if self._silence >= self.trailing_frames or too_long:
            return self._finish()
        return None

    def flush(self) -> Utterance | None:
        """At the end of the stream: whatever was being said."""
        return self._finish() if self._frames else None

    def _finish(self) -> Utterance | None:
        frames, speech = self._frames, self._speech_frames
        self._frames, self._run, self._silence, self._speech_frames = [], 0, 0, 0
        if speech * FRAME_MS < MIN_SPEECH_MS:
            return None
        return Utterance(np.concatenate(frames), self._start * FRAME_MS, self._elapsed * FRAME_MS)
