"""An exercise's program laid out in time: blocks of work, rest and side switches, and their cues.

Offsets are seconds of *active* time from the start of the exercise's timeline (pauses
do not count). The session turns offsets into clock times from one start time plus the
accumulated pause, so cues never drift however long a session runs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from voicecoach.coach.replies import Reply, capitalized
from voicecoach.content.model import Exercise
from voicecoach.words import NUMBER_WORDS, say_number, say_seconds, singular  # noqa: F401 (re-exported)

COUNTDOWN_FROM = 3          # "three, two, one" before a hold ends
REMAINING_AT = 10           # "ten seconds left"
MIN_HOLD_FOR_HALFWAY = 20   # shorter holds get no "halfway" (it would crowd the countdown)
DEFAULT_SWITCH_SECONDS = 5.0
# Cues a block never says twice, whatever changes: its start, its middle and its end.
ONCE_A_BLOCK = ("hold_start", "rest", "halfway", "switch_sides", "set_done", "exercise_done", "hold_end")
TIME_EPS = 1e-6             # clock sums drift by far less: two times this close are one moment


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
    """What the coach says as a work block starts, in the exercise's own wording when it has one."""
    side = f"{capitalized(_side_name(block.side))}. " if block.side else ""
    set_part = f"Set {say_number(block.set_no)} of {say_number(sets)}. " if sets > 1 else ""
    default = "{count} {unit}." if block.reps else "Hold for {duration}."
    words = {"duration": say_seconds(block.seconds), "count": say_number(block.reps),
             "unit": rep_unit(exercise, block.reps)}
    action = capitalized(exercise.cues.get("hold_start", default).format(**words))
    return f"{set_part}{side}{action} Go."


def rep_unit(exercise: Exercise, count: int = 2) -> str:
    """What one repetition of the exercise is called ("reps", "steps"): the content says."""
    return exercise.unit if count != 1 else singular(exercise.unit)


def _work_cues(exercise: Exercise, block: Block, i: int, start: float, sets: int) -> list[TimedCue]:
    out = [TimedCue(start, _cue("hold_start", start_line(exercise, block, sets), exercise, block), i)]
    go = start + block.lead
    if block.tempo:
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


def same_block(blocks: list[Block], block: Block) -> int | None:
    """Where `block` (the same kind, set and side) is in another layout of the exercise."""
    return next((k for k, other in enumerate(blocks)
                 if (other.kind, other.set_no, other.side) == (block.kind, block.set_no, block.side)), None)


def cut_block(block: Block, done: float) -> Block:
    """The block as far as it went: `done` seconds of work (and the reps counted in them)."""
    return replace(block, seconds=done, reps=reps_done(block, done))


def reps_done(block: Block, done: float) -> int:
    """The reps counted in `done` seconds of a block's work (a count falls due on its second)."""
    return min(block.reps, int((done + TIME_EPS) // block.tempo)) if block.tempo else 0


def ends_block(cue: TimedCue) -> bool:
    """The cue that says a block is over ("Switch sides.", "Set one of two done."), not the last count."""
    return cue.ends_block and cue.reply.cue != "rep"


def _still_to_say(cue: TimedCue, said: list[TimedCue], active: float) -> bool:
    """Whether a cue of the block under way is still to be said after its amounts changed:
    its start line, its "Halfway" and its end once (the end even when past: it is said now);
    a count or countdown when its moment has not passed."""
    said_here = [c.reply for c in said if c.block == cue.block]
    if cue.reply.cue in ONCE_A_BLOCK:
        if any(r.cue == cue.reply.cue for r in said_here):
            return False
        return cue.reply.cue != "halfway" or cue.offset > active - TIME_EPS     # a middle passed is not said late
    return cue.offset > active + TIME_EPS or (cue.offset > active - TIME_EPS and cue.reply not in said_here)


def _moved(cue: TimedCue, active: float) -> TimedCue:
    """A block's end that is already past is said now."""
    return replace(cue, offset=active) if cue.offset < active and ends_block(cue) else cue


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


@dataclass
class Timeline:
    """One exercise laid out in time and how far it has gone. Pure: every method is told `now`.

    Clock times come from one start time `t0` plus the accumulated pause, never from adding
    up waits, so nothing drifts. `anchor` moves what is still to come when the output stage
    says a line really ended at another time than estimated.
    """

    exercise: Exercise
    blocks: list[Block]
    starts: list[float]
    cues: list[TimedCue]
    t0: float
    cue_index: int = 0
    paused_total: float = 0.0
    paused_at: float | None = None

    @classmethod
    def start(cls, exercise: Exercise, blocks: list[Block], t0: float) -> Timeline:
        starts = block_starts(blocks, 0.0)
        return cls(exercise, blocks, starts, build_cues(exercise, blocks, starts), t0)

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def sets(self) -> int:
        return max(b.set_no for b in self.blocks)

    @property
    def last_taken(self) -> TimedCue | None:
        return self.cues[self.cue_index - 1] if self.cue_index else None

    def active(self, now: float) -> float:
        """Seconds of the timeline lived through at `now`, pauses excluded."""
        at = self.paused_at if self.paused_at is not None else now
        return at - self.t0 - self.paused_total

    def due(self, cue: TimedCue) -> float:
        return self.t0 + self.paused_total + cue.offset

    def clock_time(self, offset: float) -> float:
        return self.t0 + self.paused_total + offset

    def block_at(self, active: float) -> int | None:
        for i in range(len(self.blocks) - 1, -1, -1):
            if self.starts[i] <= active + TIME_EPS:
                return i
        return None

    def next_due(self) -> float | None:
        if self.paused or self.cue_index >= len(self.cues):
            return None
        return self.due(self.cues[self.cue_index])

    def take_due(self, now: float) -> list[TimedCue]:
        """The cues due at `now`, in order; each is taken once."""
        out: list[TimedCue] = []
        while not self.paused and self.cue_index < len(self.cues) and self.due(self.cues[self.cue_index]) <= now:
            out.append(self.cues[self.cue_index])
            self.cue_index += 1
        return out

    def pause(self, now: float) -> None:
        if self.paused_at is None:
            self.paused_at = now

    def resume(self, now: float) -> float:
        """Carry on; the seconds it was paused."""
        if self.paused_at is None:
            return 0.0
        paused_for = now - self.paused_at
        self.paused_total += paused_for
        self.paused_at = None
        return paused_for

    def shift(self, seconds: float) -> None:
        """Move everything still to come later (or earlier, when negative)."""
        self.paused_total += seconds

    def anchor_work(self, block: int, go: float) -> None:
        """Block `block`'s start line really ended at `go`: its work counts from then."""
        if self.paused or not 0 <= block < len(self.blocks):
            return
        planned = self.clock_time(self.starts[block] + self.blocks[block].lead)
        self.shift(max(go - planned, -self.blocks[block].lead))

    def anchor_start(self, start: float) -> None:
        """The instructions really ended at `start`: the first block starts then."""
        if not self.paused and self.cue_index == 0:
            self.shift(start - self.clock_time(self.starts[0]))

    def retime(self, blocks: list[Block], now: float) -> None:
        """New amounts from the block we are in on. `blocks` is the whole exercise with the new
        amounts: blocks already over keep what they were, the block we are in takes its new
        amount (and ends now when that is already done), and what follows is laid out anew.
        The block we are in must be in `blocks` (a rest is gone when the set after it is: the
        session never drops that set)."""
        active = self.active(now)
        current = self.block_at(active)
        if current is None:                     # still in the instructions: all of it is to come
            self._lay_out(blocks, block_starts(blocks, self.starts[0]), None, active)
            return
        j = same_block(blocks, self.blocks[current])
        if j is None:
            raise ValueError(f"the block under way ({self.blocks[current]}) is not in the new layout")
        block = replace(blocks[j], lead=self.blocks[current].lead)     # its start line is said
        start = self.starts[current]
        done = max(0.0, active - start - block.lead)
        if block.seconds < done:
            block = cut_block(block, done)
        laid = self.blocks[:current] + [block] + blocks[j + 1:]
        starts = self.starts[:current + 1] + block_starts(blocks[j + 1:], start + block.total)
        self._lay_out(laid, starts, current, active)

    def end_block_now(self, i: int, now: float) -> None:
        """Cut block i short so that it ends now; what follows moves up."""
        active = self.active(now)
        block = cut_block(self.blocks[i], self.done_in_block(i, now))
        laid = self.blocks[:i] + [block] + self.blocks[i + 1:]
        starts = self.starts[:i + 1] + block_starts(self.blocks[i + 1:], max(active, self.starts[i] + block.total))
        self._lay_out(laid, starts, i, active)

    def _lay_out(self, blocks: list[Block], starts: list[float], current: int | None, active: float) -> None:
        """The cues already said stay as they were; the ones to come follow the new layout."""
        said = self.cues[:self.cue_index]
        # Cues of blocks already over that fell due but were not taken yet are still said.
        due = [cue for cue in self.cues[self.cue_index:] if current is not None and cue.block < current]
        to_come = due + [_moved(cue, active) for cue in build_cues(self.exercise, blocks, starts)
                         if current is None or cue.block > current
                         or (cue.block == current and _still_to_say(cue, said, active))]
        to_come.sort(key=lambda c: c.offset)
        self.blocks, self.starts = blocks, starts
        self.cues = said + to_come

    def ends_now(self, now: float) -> None:
        """Stop the timeline where it is: nothing more is due."""
        self.cue_index = len(self.cues)

    def done_in_block(self, i: int, now: float) -> float:
        """Seconds of work done in block i at `now` (after its start line)."""
        return max(0.0, self.active(now) - self.starts[i] - self.blocks[i].lead)
