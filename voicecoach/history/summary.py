"""Past sessions as the planner, the spoken answers and the history command read them.

Plain data with no imports of the store, so store, answers and progression import it and
never each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SideResult:
    exercise: str
    side: str | None
    amount: float            # seconds held, or reps done


@dataclass(frozen=True)
class PainReport:
    at: float                # seconds since the epoch
    exercise: str | None     # None: reported while no exercise was running
    text: str = ""


@dataclass
class SessionSummary:
    """One session as the planner, the answers and the history command see it."""

    id: int
    started_at: float
    ended_at: float | None = None
    end_reason: str | None = None
    done: list[SideResult] = field(default_factory=list)
    pains: list[PainReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    pauses: int = 0
    paused_seconds: float = 0.0
    partial: list[SideResult] = field(default_factory=list)   # sides cut short (pain, stop, skip)

    @property
    def results(self) -> dict[str, list[float]]:
        """Exercise -> the amount done on each side, in order."""
        return _by_exercise(self.done)

    @property
    def partial_results(self) -> dict[str, list[float]]:
        """Exercise -> the amount done on each side cut short."""
        return _by_exercise(self.partial)

    @property
    def painful(self) -> bool:
        return bool(self.pains)

    @property
    def active(self) -> bool:
        """Something happened: a side was done or pain was reported (not just started and left)."""
        return bool(self.done or self.pains or self.partial)


def _by_exercise(results: list[SideResult]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for result in results:
        out.setdefault(result.exercise, []).append(result.amount)
    return out
