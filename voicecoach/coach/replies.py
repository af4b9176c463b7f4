"""What the coach says, as data. Handlers return these; one output stage delivers them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

# Timed cue names (a contract: `simulate --json` prints them, the voice caches them).
CUE_NAMES = (
    "hold_start", "halfway", "remaining", "countdown", "switch_sides", "hold_end",
    "rep", "set_done", "rest", "exercise_done", "routine_done",
)


@dataclass(frozen=True)
class Reply:
    """One line the coach says.

    `cue` is set for timed cues (one of CUE_NAMES) and None for answers.
    `urgent` replies (pain, stop) cut whatever is still being said.
    `rate` asks the output stage to speak at this multiple of the normal rate from now on.
    `live`, when set, recomputes the text at the moment it is said ("twenty seconds left"
    stays true however long the line waited behind others); the output stage calls `spoken()`.
    """

    text: str
    cue: str | None = None
    exercise: str | None = None
    side: str | None = None
    urgent: bool = False
    rate: float | None = None
    live: Callable[[], str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.cue is not None and self.cue not in CUE_NAMES:
            raise ValueError(f"unknown cue {self.cue!r} (expected one of {', '.join(CUE_NAMES)})")

    def spoken(self) -> Reply:
        """The reply as it is said now: a `live` reply's text computed at this moment."""
        if self.live is None:
            return self
        return replace(self, text=self.live(), live=None)

    @property
    def is_cue(self) -> bool:
        return self.cue is not None


def capitalized(text: str) -> str:
    """First letter upper case, the rest untouched ("the IT band stretch" -> "The IT band stretch")."""
    return text[:1].upper() + text[1:]


def estimate_speech_seconds(text: str, words_per_minute: float = 165.0) -> float:
    """How long saying `text` takes, from its words and the speaking rate.

    Used to schedule what follows a spoken line (a hold starts after its intro)
    and to advance the virtual clock in `simulate`.
    """
    words = len(text.split())
    pauses = text.count(".") + text.count("?") + text.count("!")
    return round(words * 60.0 / words_per_minute + 0.25 * pauses, 3) if words else 0.0
