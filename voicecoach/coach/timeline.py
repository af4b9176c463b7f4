"""An exercise's program laid out in time: blocks of work, rest and side switches, and their cues.

Offsets are seconds of *active* time from the start of the exercise's timeline (pauses
do not count). The session turns offsets into clock times from one start time plus the
accumulated pause, so cues never drift however long a session runs.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from voicecoach.coach.replies import Reply, capitalized
from voicecoach.content.model import Exercise

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                "eighteen", "nineteen")
COUNTDOWN_FROM = 3          # "three, two, one" before a hold ends
REMAINING_AT = 10           # "ten seconds left"
MIN_HOLD_FOR_HALFWAY = 20   # shorter holds get no "halfway" (it would crowd the countdown)
DEFAULT_SWITCH_SECONDS = 5.0


@dataclass(frozen=True)
class Block:
    kind: str                 # "work" | "rest" | "switch"
    set_no: int               # 1-based
    side: str | None
    seconds: float            # the work itself (or the rest, or the switch)
    reps: int = 0             # for rep work: how many, each `tempo` seconds
    tempo: float = 0.0
    lead: float = 0.0         # time to say the start line ("Left side. Hold for thirty seconds. Go.")

    @property
    def total(self) -> float:
        return self.lead + self.seconds


@dataclass(frozen=True)
class TimedCue:
    offset: float             # active seconds from the timeline start
    reply: Reply
    block: int                # index of the block it belongs to
    ends_block: bool = False  # the cue said when its block is over


TENS_WORDS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def say_number(n: int) -> str:
    """Numbers as words, so every voice says them the same way ("forty five")."""
    if 0 <= n < 20:
        return NUMBER_WORDS[n]
    if 20 <= n < 100:
        tens, units = divmod(n, 10)
        return TENS_WORDS[tens] + (f" {NUMBER_WORDS[units]}" if units else "")
    if 100 <= n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{NUMBER_WORDS[hundreds]} hundred" + (f" and {say_number(rest)}" if rest else "")
    return str(n)


def say_seconds(seconds: float) -> str:
    s = int(round(seconds))
    if s >= 60 and s % 60 == 0:
        minutes = s // 60
        return "one minute" if minutes == 1 else f"{say_number(minutes)} minutes"
    if s == 90:
        return "a minute and a half"
    return f"{say_number(s)} seconds" if s != 1 else "one second"


def build_blocks(exercise: Exercise, hold_seconds: float | None = None, reps: int | None = None,
                 lead: Callable[[str], float] = lambda text: 0.0, sets: int | None = None) -> list[Block]:
    """The exercise's work, rest and switch blocks; `hold_seconds`/`reps`/`sets` override the program.

    `lead(text)` is how long the start line takes to say: the hold or the counting starts
    when the coach says "Go", so a thirty second hold is thirty seconds."""
    program = exercise.program
    sets = int(sets or program.sets.value)
    sides: tuple[str | None, ...] = program.sides or (None,)
    switch = program.switch_seconds.value if program.switch_seconds else DEFAULT_SWITCH_SECONDS
    rest = program.rest_seconds.value if program.rest_seconds else 0.0
    blocks: list[Block] = []
    for set_no in range(1, sets + 1):
        for k, side in enumerate(sides):
            if program.kind == "hold":
                seconds = float(hold_seconds or program.hold_seconds.value)  # type: ignore[union-attr]
                blocks.append(Block("work", set_no, side, seconds))
            else:
                count = int(reps or program.reps.value)  # type: ignore[union-attr]
                tempo = float(program.tempo_seconds.value) if program.tempo_seconds else 2.0
                blocks.append(Block("work", set_no, side, count * tempo, count, tempo))
            if k + 1 < len(sides):
                blocks.append(Block("switch", set_no, sides[k + 1], switch))
        if set_no < sets and rest > 0:
            blocks.append(Block("rest", set_no, sides[0], rest))
    return [replace(b, lead=lead(start_line(exercise, b, sets))) if b.kind == "work" else b for b in blocks]


def block_starts(blocks: list[Block], first_start: float) -> list[float]:
    starts, t = [], first_start
    for block in blocks:
        starts.append(t)
        t += block.total
    return starts


def build_cues(exercise: Exercise, blocks: list[Block], starts: list[float]) -> list[TimedCue]:
    """Every cue of the exercise, in time order."""
    cues: list[TimedCue] = []
    sets = max(b.set_no for b in blocks)
    for i, (block, start) in enumerate(zip(blocks, starts)):
        end = start + block.total
        last = i == len(blocks) - 1
        if block.kind == "work":
            cues.extend(_work_cues(exercise, block, i, start, sets))
        elif block.kind == "rest":
            cues.append(TimedCue(start, _cue("rest", f"Rest for {say_seconds(block.seconds)}.", exercise, block), i))
            cues.extend(_countdown(exercise, block, i, end))
        if block.kind == "work":
            nxt = blocks[i + 1] if not last else None
            if nxt is not None and nxt.kind == "switch":
                text = f"Switch sides. {_side_name(nxt.side).capitalize()} next."
                cues.append(TimedCue(end, _cue("switch_sides", text, exercise, nxt), i, True))
            elif nxt is not None and nxt.kind == "rest":
                text = f"Set {say_number(block.set_no)} of {say_number(sets)} done."
                cues.append(TimedCue(end, _cue("set_done", text, exercise, block), i, True))
            elif last:
                cues.append(TimedCue(end, _cue("exercise_done", f"Done. That's {exercise.name} finished. Well done.", exercise, block), i, True))
            else:
                cues.append(TimedCue(end, _cue("hold_end", "Done.", exercise, block), i, True))
    cues.sort(key=lambda c: c.offset)
    return cues


def start_line(exercise: Exercise, block: Block, sets: int) -> str:
    """What the coach says as a work block starts."""
    side = f"{capitalized(_side_name(block.side))}. " if block.side else ""
    set_part = f"Set {say_number(block.set_no)} of {say_number(sets)}. " if sets > 1 else ""
    if block.reps:
        return f"{set_part}{side}{capitalized(say_number(block.reps))} {rep_unit(exercise, block.reps)}. Go."
    return f"{set_part}{side}Hold for {say_seconds(block.seconds)}. Go."


def rep_unit(exercise: Exercise, count: int = 2) -> str:
    """What one repetition of the exercise is called ("reps", "steps")."""
    plural = "steps" if exercise.id == "lateral_band_walk" else "reps"
    return plural if count != 1 else plural[:-1]


def _work_cues(exercise: Exercise, block: Block, i: int, start: float, sets: int) -> list[TimedCue]:
    out = [TimedCue(start, _cue("hold_start", start_line(exercise, block, sets), exercise, block), i)]
    go = start + block.lead
    if block.reps:
        for n in range(1, block.reps + 1):
            text = f"{capitalized(say_number(n))}."
            if n == block.reps - 1 and block.reps >= 6:
                text = f"{capitalized(say_number(n))}. One more."
            out.append(TimedCue(go + n * block.tempo, _cue("rep", text, exercise, block), i, n == block.reps))
        return out
    seconds = block.seconds
    if seconds >= MIN_HOLD_FOR_HALFWAY:
        out.append(TimedCue(go + seconds / 2, _cue("halfway", "Halfway.", exercise, block), i))
    if seconds > REMAINING_AT + COUNTDOWN_FROM + 2 and not (seconds >= MIN_HOLD_FOR_HALFWAY and seconds / 2 == REMAINING_AT):
        out.append(TimedCue(go + seconds - REMAINING_AT, _cue("remaining", f"{capitalized(say_seconds(REMAINING_AT))} left.", exercise, block), i))
    out.extend(_countdown(exercise, block, i, go + seconds))
    return out


def _countdown(exercise: Exercise, block: Block, i: int, end: float) -> list[TimedCue]:
    if block.seconds < COUNTDOWN_FROM + 1:
        return []
    return [TimedCue(end - n, _cue("countdown", f"{say_number(n).capitalize()}.", exercise, block), i)
            for n in range(COUNTDOWN_FROM, 0, -1)]


def _cue(name: str, text: str, exercise: Exercise, block: Block) -> Reply:
    return Reply(text, cue=name, exercise=exercise.id, side=block.side)


def _side_name(side: str | None) -> str:
    return f"{side} side" if side else ""


ROUTINE_DONE = "That's the whole routine. Great work."


def cue_phrases(exercises, holds: tuple[float, ...] = ()) -> list[str]:
    """Every fixed cue line the exercises can produce, for making their audio ahead of time."""
    phrases: dict[str, None] = {ROUTINE_DONE: None}
    for exercise in exercises:
        for hold in (None, *holds):
            blocks = build_blocks(exercise, hold if exercise.program.kind == "hold" else None)
            for cue in build_cues(exercise, blocks, block_starts(blocks, 0.0)):
                phrases[cue.reply.text] = None
    return list(phrases)
