"""From audio frames to what the user meant: endpointing, recognition, reading, barge-in.

`Listener.push(frame, context)` returns a `Heard` event when a command has just ended.
While the coach is speaking (the caller says so with `coach_speaking(text)` and
`coach_silent()`, since hearing knows nothing of the voice), only the barge-in intents are
acted on, and a transcript that repeats what the coach is saying (its own voice coming back
through the microphone) is ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from voicecoach.hearing.reading import Reading, read_intent
from voicecoach.hearing.recognizer import Recognizer, Transcript
from voicecoach.hearing.vad import Endpointer, Utterance
from voicecoach.intents.catalog import Catalog
from voicecoach.intents.types import NO_MATCH, Context, Match

BARGE_IN_INTENTS = frozenset({"stop", "pause", "report_pain"})
ECHO_OVERLAP = 0.6          # share of heard words found in the coach's line that marks an echo


@dataclass(frozen=True)
class Heard:
    match: Match
    reading: Reading
    transcript: Transcript
    utterance: Utterance
    ignored: str | None = None      # why it is not acted on ("echo", "coach speaking"), or None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


class BargeInGate:
    def __init__(self) -> None:
        self.speaking_text: str | None = None

    def coach_speaking(self, text: str) -> None:
        self.speaking_text = text

    def coach_silent(self) -> None:
        self.speaking_text = None

    def why_ignored(self, heard_text: str, match: Match) -> str | None:
        if self.speaking_text is None:
            return None
        heard = _words(heard_text)
        said = set(_words(self.speaking_text))
        if heard and sum(w in said for w in heard) / len(heard) >= ECHO_OVERLAP:
            return "echo"
        if match.intent not in BARGE_IN_INTENTS:
            return "coach speaking"
        return None


class Listener:
    def __init__(self, recognizer: Recognizer, catalog: Catalog, endpointer: Endpointer | None = None,
                 read: Callable[..., Reading] = read_intent) -> None:
        self.recognizer = recognizer
        self.catalog = catalog
        self.endpointer = endpointer or Endpointer()
        self.gate = BargeInGate()
        self._read = read

    def push(self, frame: np.ndarray, context: Context) -> Heard | None:
        utterance = self.endpointer.push(frame)
        return self.hear(utterance, context) if utterance is not None else None

    def flush(self, context: Context) -> Heard | None:
        utterance = self.endpointer.flush()
        return self.hear(utterance, context) if utterance is not None else None

    def hear(self, utterance: Utterance, context: Context) -> Heard:
        transcript = self.recognizer.transcribe(utterance.audio)
        reading = self._read(transcript, self.catalog, context)
        heard_text = reading.hypothesis.text if reading.hypothesis else ""
        ignored = self.gate.why_ignored(heard_text, reading.match)
        match = reading.match if ignored is None else Match(heard_text, NO_MATCH, {}, 0.0)
        return Heard(match, reading, transcript, utterance, ignored)
