"""The article and the exercise programs, as loaded from content/*.yaml."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from voicecoach.content.wording import Wording

# Cue wording an exercise may set in exercises.yaml (`cues:`), with the words it may fill in.
CUE_WORDING = {"hold_start": ("duration", "count", "unit")}
# How an answer about the last session recalls the exercise ("holding the stretch for {amount}").
RECALL_WORDS = ("amount",)
DEFAULT_UNITS = {"hold": "seconds", "reps": "reps"}


@dataclass(frozen=True)
class Value:
    """A number in a program and where it comes from: "article" or "ours" (our default)."""

    value: float
    source: str


@dataclass(frozen=True)
class Program:
    """How an exercise is timed.

    kind "hold": each set holds `hold_seconds` on each side in `sides` (empty: no sides).
    kind "reps": each set does `reps` repetitions of `tempo_seconds` each, per side.
    `rest_seconds` between sets, `switch_seconds` to change sides.
    """

    kind: str
    sides: tuple[str, ...]
    sets: Value
    hold_seconds: Value | None = None
    reps: Value | None = None
    tempo_seconds: Value | None = None
    rest_seconds: Value | None = None
    switch_seconds: Value | None = None


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str                    # spoken name, e.g. "the IT band stretch"
    why: tuple[str, ...]         # short spoken sentences: why it helps (article)
    steps: tuple[str, ...]       # short spoken sentences: how to do it (article)
    program: Program
    cues: dict[str, str] = field(default_factory=dict)  # optional per-exercise cue wording (CUE_WORDING)
    unit_name: str = ""          # what one amount is called, plural ("steps"); default by kind
    short: str = ""              # a short name for tables ("band walks"); default the name
    recall: str = ""             # "holding the stretch for {amount}": how answers about history recall it

    @property
    def unit(self) -> str:
        """ "seconds" for holds, "reps" for reps, unless the content names it ("steps")."""
        return self.unit_name or DEFAULT_UNITS[self.program.kind]

    @property
    def short_name(self) -> str:
        name = self.short or self.name
        return name.removeprefix("the ")

    @property
    def is_hold(self) -> bool:
        return self.program.kind == "hold"


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    sentences: tuple[str, ...]   # short spoken sentences, read aloud in order


@dataclass(frozen=True)
class Content:
    title: str
    topics: dict[str, Topic]
    exercises: dict[str, Exercise]
    routine: tuple[str, ...]     # exercise ids in the order of the whole routine
    safety: tuple[str, ...]      # the article's safety advice, said after a pain report
    wording: Wording             # the coach's own lines (content/coach.yaml)

    def exercise_names(self) -> tuple[tuple[str, str], ...]:
        """(spoken name, exercise id) for every exercise: its name and short name without "the",
        and its id as words, so the intent templates know each exercise by what the content calls it."""
        names: list[tuple[str, str]] = []
        for exercise in self.exercises.values():
            for name in (exercise.name, exercise.short_name, exercise.id.replace("_", " ")):
                plain = " ".join(re.findall(r"[A-Za-z0-9']+", name))
                plain = plain[4:] if plain.lower().startswith("the ") else plain
                if plain and (plain, exercise.id) not in names:
                    names.append((plain, exercise.id))
        return tuple(names)

    def topic_texts(self) -> dict[str, tuple[str, ...]]:
        """Each topic's title and sentences: the article's own words about it."""
        return {topic.id: (topic.title, *topic.sentences) for topic in self.topics.values()}
