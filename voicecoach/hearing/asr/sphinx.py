"""SpeechRecognition's `recognize_sphinx`: the fallback when no Whisper model loads, and the baseline."""
from __future__ import annotations

import time

import numpy as np

from voicecoach.hearing.asr.recognizer import (
    Hypothesis,
    RecognizerBase,
    RecognizerUnavailable,
    Transcript,
)
from voicecoach.hearing.signal.audio import SAMPLE_RATE

# An optional extra: the fallback only hears when the bundled Whisper model cannot load.
INSTALL_HINT = "pip install 'voicecoach[sphinx]'"


class SphinxRecognizer(RecognizerBase):
    """Open-vocabulary pocketsphinx through SpeechRecognition (no scores: logprob 0)."""

    name = "sphinx"

    def __init__(self) -> None:
        try:
            import pocketsphinx  # noqa: F401  (recognize_sphinx needs it)
            import speech_recognition
        except ImportError:
            raise RecognizerUnavailable(f"sphinx is not installed ({INSTALL_HINT})") from None
        self._sr = speech_recognition
        self._recognizer = speech_recognition.Recognizer()
        self.load_seconds = 0.0
        self.ready = True

    def start_loading(self) -> SphinxRecognizer:
        return self

    def transcribe(self, audio: np.ndarray) -> Transcript:
        started = time.perf_counter()
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
        data = self._sr.AudioData(pcm, SAMPLE_RATE, 2)
        try:
            text = self._recognizer.recognize_sphinx(data)
            hypotheses: tuple[Hypothesis, ...] = (Hypothesis(text),) if text.strip() else ()
        except self._sr.UnknownValueError:
            hypotheses = ()
        return Transcript(hypotheses, 1000.0 * (time.perf_counter() - started), 1000.0 * len(audio) / SAMPLE_RATE)
