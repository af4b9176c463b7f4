"""Types shared by the intent catalog and the matcher."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INTENT_NAMES = (
    "ask", "start", "pause", "resume", "next", "previous", "repeat", "stop", "help",
    "time_left", "set_duration", "report_pain", "yes", "no", "slower", "faster", "none",
)


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
    text: str
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "intent": self.intent, "slots": dict(self.slots), "score": round(self.score, 3)}


NO_MATCH = "none"
