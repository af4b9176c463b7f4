"""Today's plan as history proposes it and the session carries it out.

A neutral module, so history/ builds proposals without importing the session.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Proposal:
    """Today's plan proposed from history: a spoken question and per-exercise overrides."""

    text: str
    overrides: dict[str, dict[str, float]] = field(default_factory=dict)
