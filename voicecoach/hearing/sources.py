"""Audio sources behind one interface: the live microphone, or a WAV file played as if live.

A source yields 30 ms frames of float32 mono 16 kHz audio until it ends or is cancelled
(`cancel` is a threading.Event: sources stop cooperatively, no thread is ever killed).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from voicecoach.coach.clock import Clock
from voicecoach.hearing.audio import SAMPLE_RATE, read_wav, resample
from voicecoach.hearing.vad import FRAME_SAMPLES

FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
MIC_HINT = "pip install 'voicecoach[mic]' (PyAudio) and connect a microphone"


class AudioSource(Protocol):
    def frames(self, cancel: threading.Event) -> Iterator[np.ndarray]: ...


class WavFileSource:
    """A WAV file as if someone were speaking it: paced on `clock`, or as fast as possible.

    On a VirtualClock the pacing moves the clock, so a whole spoken session runs in a test
    with cues due at the right moments of the audio. `tail_seconds` of silence follow the
    file, so a command at its very end still gets its trailing silence.
    """

    def __init__(self, path: Path | str, clock: Clock | None = None, tail_seconds: float = 1.0) -> None:
        self.path = Path(path)
        self.audio = read_wav(self.path)
        self.clock = clock
        self.tail_seconds = tail_seconds

    def frames(self, cancel: threading.Event) -> Iterator[np.ndarray]:
        audio = np.concatenate([self.audio, np.zeros(int(self.tail_seconds * SAMPLE_RATE), dtype=np.float32)])
        start = self.clock.now() if self.clock else 0.0
        for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            if cancel.is_set():
                return
            if self.clock is not None and self.clock.wait_until(start + (i + FRAME_SAMPLES) / SAMPLE_RATE, cancel):
                return
            yield audio[i:i + FRAME_SAMPLES]


def microphone_unavailable_reason() -> str | None:
    """Why the live microphone cannot be used here, in one line, or None when it can."""
    try:
        import speech_recognition
    except ImportError:
        return "no microphone support (pip install SpeechRecognition)"
    try:
        import pyaudio  # noqa: F401
    except ImportError:
        return f"no microphone support: PyAudio is not installed ({MIC_HINT})"
    try:
        names = speech_recognition.Microphone.list_working_microphones()
    except Exception as exc:  # PortAudio without devices raises many kinds of errors
        return f"no microphone found ({exc})"
    return None if names else "no microphone found"


class MicrophoneSource:
    """The default microphone through SpeechRecognition's Microphone (PyAudio underneath)."""

    def __init__(self, device_index: int | None = None) -> None:
        reason = microphone_unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        import speech_recognition

        self._microphone = speech_recognition.Microphone(device_index=device_index, sample_rate=SAMPLE_RATE,
                                                         chunk_size=FRAME_SAMPLES)

    def frames(self, cancel: threading.Event) -> Iterator[np.ndarray]:
        with self._microphone as source:
            rate = source.SAMPLE_RATE
            while not cancel.is_set():
                data = source.stream.read(source.CHUNK)
                audio = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
                yield resample(audio, rate, SAMPLE_RATE) if rate != SAMPLE_RATE else audio
