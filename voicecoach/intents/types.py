"""Types shared by the intent catalog and the matcher."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voicecoach.intents.names import Aside, Intent

INTENT_NAMES = tuple(intent.value for intent in Intent)
# What an utterance that is not a command may still be (see Aside); anything else gets
# "sorry, I didn't catch that".
ASIDES = tuple(aside.value for aside in Aside)
# The aside of a pause the coach makes itself: a line with words of pain it did not understand,
# during an exercise; it pauses and asks "Did something hurt?".
PAIN_CHECK = "pain_check"
# The commands whose miss costs most: said during an exercise, they must never be lost.
SAFETY_INTENTS = frozenset({Intent.STOP, Intent.PAUSE, Intent.REPORT_PAIN})


@dataclass(frozen=True)
class Context:
    """What the session knows that changes how words are read.

    `expecting` is "yes_no" after the coach asked a question; `exercising` is True
    while an exercise is under way (running or paused); `paused` while paused.
    """

    expecting: str | None = None
    exercising: bool = False
    paused: bool = False


@dataclass(frozen=True)
class Match:
    """What an utterance means. `score` is the reading's own measure (the templates' share of
    words explained, or the model's probability); `by` says which reading decided
    ("template" or "model"), `confidence` how sure it is (0-1), and `aside` what a `none`
    was instead of a command (one of ASIDES), when it was something."""

    text: str
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0
    by: str = "template"
    confidence: float = 0.0
    aside: str | None = None

    def as_json(self) -> dict[str, Any]:
        out = {"text": self.text, "intent": self.intent, "slots": dict(self.slots), "score": round(self.score, 3),
               "by": self.by, "confidence": round(self.confidence, 3)}
        if self.aside:
            out["aside"] = self.aside
        return out


NO_MATCH = Intent.NONE.value
