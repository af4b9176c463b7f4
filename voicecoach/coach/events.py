"""What happened in a session, for listeners such as the history store.

The session calls every listener's `record(event)`; it never depends on one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

# Event kinds the session emits.
EVENT_KINDS = (
    "session_started",   # detail: {"plan": [...exercise ids]}
    "exercise_started",  # exercise
    "side_done",         # exercise, side, value = seconds held or reps done on that side
    "side_partial",      # exercise, side, value = seconds held or reps done on a side cut short
    "set_done",          # exercise, value = set number
    "exercise_done",     # exercise
    "skipped",           # exercise (skipped with "next" before it was done)
    "paused",            # exercise
    "resumed",           # exercise, value = seconds paused
    "pain_reported",     # exercise (None when idle), detail: {"text": what the user said}
    "duration_changed",  # exercise, value = new hold seconds
    "reps_changed",      # exercise, value = new reps a set
    "sets_changed",      # exercise, value = new number of sets
    "session_ended",     # detail: {"reason": "stop"|"done"|"quit"}
)


@dataclass(frozen=True)
class CoachEvent:
    kind: str
    t: float                       # session clock time (seconds)
    exercise: str | None = None
    side: str | None = None
    value: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r} (expected one of {', '.join(EVENT_KINDS)})")


class EventListener(Protocol):
    def record(self, event: CoachEvent) -> None: ...
