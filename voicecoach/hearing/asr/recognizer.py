"""The recognizer engines' one small interface: audio in, scored hypotheses out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from voicecoach.hearing.asr.whisper import WhisperRecognizer


@dataclass(frozen=True)
class Hypothesis:
    text: str
    logprob: float = 0.0          # mean log-probability per token (0 is certain); 0 when unknown
    no_speech_prob: float = 0.0   # the decoder's belief that there was no speech at all
    tokens: int = 1               # tokens the mean is over

    @property
    def total_logprob(self) -> float:
        """The log-probability of the whole transcript: what n-best hypotheses compare by."""
        return self.logprob * self.tokens


@dataclass(frozen=True)
class Transcript:
    hypotheses: tuple[Hypothesis, ...]    # best first; empty when nothing was heard
    decode_ms: float
    audio_ms: float

    @property
    def best(self) -> Hypothesis | None:
        return self.hypotheses[0] if self.hypotheses else None


class Recognizer(Protocol):
    @property
    def name(self) -> str:
        """"whisper" or "sphinx" (or a fallback's current engine)."""

    def transcribe(self, audio: np.ndarray) -> Transcript:
        """`audio`: float32 mono 16 kHz. Returns n-best hypotheses, best first."""

    # ----- what only some recognizers have: RecognizerBase gives the others' answer ----------

    def close(self, timeout: float = 30.0) -> None:
        """Let go of the model; a load under way finishes first (at most `timeout` seconds)."""

    def whisper(self) -> WhisperRecognizer | None:
        """The Whisper decoder behind this recognizer (the closed-list barge-in check asks it
        narrower questions), or None when there is none."""


class RecognizerBase:
    """A recognizer with no model to let go of and no Whisper decoder behind it."""

    def close(self, timeout: float = 30.0) -> None:
        """Nothing to let go of."""

    def whisper(self) -> WhisperRecognizer | None:
        return None


class RecognizerUnavailable(RuntimeError):
    """An engine that cannot run here; the message is one line a user can act on."""
