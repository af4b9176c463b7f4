"""The coach session: a state machine driven by intents and an injected clock.

    idle -> exercise intro -> timed work (holds per side, reps, sets and rests)
         -> next exercise ... -> routine done -> idle

`handle(match)` answers what the user said; `tick()` returns the cues that are due;
`next_due()` says when the next one is. Both return replies as data and never sleep:
the caller (text mode, voice loop, simulator, tests) decides how to wait and deliver.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from voicecoach import limits
from voicecoach.coach.clock import Clock
from voicecoach.coach.events import CoachEvent, EventListener
from voicecoach.coach.replies import Reply, capitalized, estimate_speech_seconds
from voicecoach.coach.timeline import (
    ROUTINE_DONE, Block, TimedCue, block_starts, build_blocks, build_cues, rep_unit, say_number, say_seconds,
)
from voicecoach.content.model import Content, Exercise
from voicecoach.intents.types import Context, Match

MIN_HOLD_SECONDS = int(limits.HOLD_SECONDS.lowest)
MAX_HOLD_SECONDS = int(limits.HOLD_SECONDS.highest)
MAX_REPS = int(limits.REPS.highest)
MAX_SETS = int(limits.SETS.highest)
ADJUST_STEP_SECONDS = 10         # "make it longer" with no amount: ten seconds more (ours)
ADJUST_STEP_REPS = 2             # ... or two more reps (ours)
RATE_STEP = 1.15                 # "slower"/"faster" change the speaking rate by this factor
RATE_LIMITS = (0.6, 1.6)
WORDS_PER_MINUTE = 165.0         # our estimate of the voice at rate 1.0


@dataclass(frozen=True)
class Proposal:
    """Today's plan proposed from history: a spoken question and per-exercise overrides."""

    text: str
    overrides: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    kind: str                  # "start_routine" | "proposal" | "after_pain"


@dataclass(frozen=True)
class SessionView:
    """A snapshot for displays: what is going on right now."""

    phase: str                 # idle | intro | work | rest | switch | paused
    exercise: str | None = None
    exercise_name: str | None = None
    side: str | None = None
    set_no: int = 0
    sets: int = 0
    rep: int = 0
    reps: int = 0
    remaining: float = 0.0
    block_seconds: float = 0.0


class Session:
    def __init__(
        self,
        content: Content,
        clock: Clock,
        listeners: Iterable[EventListener] = (),
        proposal: Proposal | None = None,
        speech_seconds: Callable[[str, float], float] = estimate_speech_seconds,
        history: Callable[[str], str] | None = None,
    ) -> None:
        self.content = content
        self.clock = clock
        self.listeners = list(listeners)
        self.listener_errors: list[str] = []
        self.proposal = proposal
        self._history = history          # answers "how did I do last time" and the like
        self._speech_seconds = speech_seconds
        self.rate = 1.0
        self.wants_exit = False        # "stop" when nothing is running: the user is leaving
        self.question: Question | None = None
        self.last_said: list[Reply] = []
        self._holds: dict[str, float] = {}
        self._reps: dict[str, int] = {}
        self._sets: dict[str, int] = {}
        self._routine: list[str] = []
        self._position = -1
        self._in_session = False
        self._clear_timeline()
        self._handlers: dict[str, Callable[[Match], list[Reply]]] = {
            "ask": self._ask, "start": self._start, "pause": self._pause, "resume": self._resume,
            "next": self._next, "previous": self._previous, "repeat": self._repeat, "stop": self._stop,
            "help": self._help, "time_left": self._time_left, "set_duration": self._set_duration,
            "report_pain": self._report_pain, "yes": self._yes, "no": self._no,
            "slower": self._slower, "faster": self._faster, "none": self._not_understood,
            "ask_history": self._ask_history, "adjust": self._adjust, "whats_next": self._whats_next,
            "switch_sides": self._switch_sides,
        }

    # ----- the public surface ---------------------------------------------------------

    def begin(self) -> list[Reply]:
        """The greeting, with today's proposal when there is one."""
        lines = ["Hi, I'm your IT band coach.",
                 "Ask me why your IT band hurts, or about any of the exercises."]
        if self.proposal:
            self.question = Question("proposal")
            lines.append(self.proposal.text)
        else:
            self.question = Question("start_routine")
            lines.append("Shall we start the routine?")
        return self._said([Reply(line) for line in lines])

    def handle(self, match: Match) -> list[Reply]:
        handler = self._handlers.get(match.intent, self._not_understood)
        replies = handler(match)
        if match.intent != "repeat":
            self._said(replies)
        return replies

    def tick(self) -> list[Reply]:
        """Cues that are due now, in order; moves on to the next exercise when one ends."""
        out: list[Reply] = []
        if self._paused_at is not None:
            return out
        while self._cue_index < len(self._cues) and self._due(self._cues[self._cue_index]) <= self.clock.now():
            cue = self._cues[self._cue_index]
            self._cue_index += 1
            out.append(cue.reply)
            self._after_cue(cue, out)
        if out:
            self._said(out)
        return out

    def next_due(self) -> float | None:
        if self._paused_at is not None or self._cue_index >= len(self._cues):
            return None
        return self._due(self._cues[self._cue_index])

    def context(self) -> Context:
        return Context(
            expecting="yes_no" if self.question else None,
            exercising=self.exercise is not None,
            paused=self._paused_at is not None,
        )

    @property
    def exercise(self) -> Exercise | None:
        if self._cues and 0 <= self._position < len(self._routine):
            return self.content.exercises[self._routine[self._position]]
        return None

    @property
    def words_per_minute(self) -> float:
        return WORDS_PER_MINUTE * self.rate

    def view(self) -> SessionView:
        exercise = self.exercise
        if exercise is None:
            return SessionView("idle")
        active = self._active()
        i = self._block_at(active)
        sets = max(b.set_no for b in self._blocks)
        if i is None:
            return SessionView("paused" if self._paused_at is not None else "intro", exercise.id, exercise.name,
                               self._blocks[0].side, 1, sets, remaining=max(0.0, self._starts[0] - active))
        block, start = self._blocks[i], self._starts[i]
        elapsed = max(0.0, active - start - block.lead)
        rep = min(block.reps, int(elapsed // block.tempo)) if block.reps else 0
        phase = "paused" if self._paused_at is not None else block.kind
        return SessionView(phase, exercise.id, exercise.name, block.side, block.set_no, sets, rep, block.reps,
                           max(0.0, block.seconds - elapsed), block.seconds)

    def close(self, reason: str = "quit") -> None:
        """End the session for good (the program is exiting)."""
        if self._in_session:
            self._end_session(reason)

    # ----- timeline -------------------------------------------------------------------

    def _clear_timeline(self) -> None:
        self._blocks: list[Block] = []
        self._starts: list[float] = []
        self._cues: list[TimedCue] = []
        self._cue_index = 0
        self._t0 = 0.0
        self._paused_total = 0.0
        self._paused_at: float | None = None

    def _active(self) -> float:
        """Seconds of the current timeline lived through, pauses excluded."""
        now = self._paused_at if self._paused_at is not None else self.clock.now()
        return now - self._t0 - self._paused_total

    def _due(self, cue: TimedCue) -> float:
        return self._t0 + self._paused_total + cue.offset

    def _block_at(self, active: float) -> int | None:
        for i in range(len(self._blocks) - 1, -1, -1):
            if self._starts[i] <= active:
                return i
        return None

    def _speech(self, replies: Iterable[Reply]) -> float:
        return sum(self._speech_seconds(r.text, self.words_per_minute) for r in replies)

    def _start_exercise(self, position: int, lead_in: list[Reply], after: float = 0.0) -> list[Reply]:
        """Say the intro, then the timeline starts once the intro has been said."""
        self._position = position
        exercise = self.content.exercises[self._routine[position]]
        if not self._in_session:
            self._in_session = True
            self._emit("session_started", detail={"plan": list(self._routine)})
        self._emit("exercise_started", exercise.id)
        intro = lead_in + [Reply(s, exercise=exercise.id) for s in exercise.steps]
        first_side = exercise.program.sides[0] if exercise.program.sides else None
        if first_side:
            intro.append(Reply(f"We'll start with the {first_side} side.", exercise=exercise.id))
        self._clear_timeline()
        self._t0 = self.clock.now() + after + self._speech(intro)
        self._blocks = self._blocks_for(exercise)
        self._starts = block_starts(self._blocks, 0.0)
        self._cues = build_cues(exercise, self._blocks, self._starts)
        return intro

    def _blocks_for(self, exercise: Exercise) -> list[Block]:
        return build_blocks(exercise, self._holds.get(exercise.id), self._reps.get(exercise.id),
                            lead=lambda text: self._speech_seconds(text, self.words_per_minute),
                            sets=self._sets.get(exercise.id))

    def _after_cue(self, cue: TimedCue, out: list[Reply]) -> None:
        exercise = self.exercise
        assert exercise is not None
        block = self._blocks[cue.block]
        if cue.ends_block and block.kind == "work" and cue.reply.cue != "rep":
            self._emit("side_done", exercise.id, block.side, block.reps or block.seconds)
        if cue.reply.cue == "set_done":
            self._emit("set_done", exercise.id, value=block.set_no)
        if cue.reply.cue == "exercise_done":
            self._emit("exercise_done", exercise.id)
            out.extend(self._advance(after=self._speech([cue.reply])))

    def _advance(self, after: float = 0.0) -> list[Reply]:
        """Go on to the next exercise of the routine, or finish it."""
        if self._position + 1 < len(self._routine):
            nxt = self.content.exercises[self._routine[self._position + 1]]
            return self._start_exercise(self._position + 1, [Reply(f"Next up: {nxt.name}.", exercise=nxt.id)], after)
        self._clear_timeline()
        done = [Reply(ROUTINE_DONE, cue="routine_done"),
                Reply("Remember to start light, build up gradually, and stop if anything hurts.")]
        self._end_session("done")
        return done

    def _end_session(self, reason: str) -> None:
        self._emit("session_ended", detail={"reason": reason})
        self._in_session = False
        self._clear_timeline()

    # ----- intents --------------------------------------------------------------------

    def _ask(self, match: Match) -> list[Reply]:
        topic = self.content.topics.get(str(match.slots.get("topic")))
        if topic is None:
            return [Reply("I can tell you about the anatomy, the causes, the exercises and safety.")]
        return [Reply(s) for s in topic.sentences]

    def _ask_history(self, match: Match) -> list[Reply]:
        if self._history is None:
            return [Reply("I'm not keeping a history right now, so I can't tell you that.")]
        try:
            return [Reply(self._history(str(match.slots.get("what", "last_session"))))]
        except Exception as exc:  # a broken history must never stop the coach
            self.listener_errors.append(f"history unavailable: {exc}")
            return [Reply("Sorry, I can't read the history right now.")]

    def _start(self, match: Match) -> list[Reply]:
        self.question = None
        wanted = match.slots.get("exercise")
        if wanted is None and self.exercise is not None:
            if self._paused_at is not None:
                return self._resume(match)
            return [Reply(f"We're already doing {self.exercise.name}. Say next to skip it, or stop to end.")]
        if wanted is not None and wanted not in self.content.exercises:
            return self._not_understood(match)
        if self.exercise is not None:
            self._emit("skipped", self.exercise.id)
        self._routine = [wanted] if wanted else list(self.content.routine)
        first = self.content.exercises[self._routine[0]]
        lead = f"Let's do {first.name}." if wanted else f"Let's start the routine with {first.name}."
        return self._start_exercise(0, [Reply(lead, exercise=first.id)])

    def _pause(self, match: Match) -> list[Reply]:
        if self.exercise is None:
            return [Reply("There's nothing to pause right now.")]
        if self._paused_at is not None:
            return [Reply("We're paused. Say resume when you're ready.")]
        self._paused_at = self.clock.now()
        self._emit("paused", self.exercise.id)
        return [Reply("Paused. Say resume when you're ready.", urgent=True)]

    def _resume(self, match: Match) -> list[Reply]:
        if self.exercise is None:
            if self.question and self.question.kind == "after_pain":
                return self._yes(match)
            return [Reply("There's nothing to resume. Say start to begin.")]
        if self._paused_at is None:
            return [Reply("We're still going.")]
        paused_for = self.clock.now() - self._paused_at
        self._paused_total += paused_for
        self._paused_at = None
        self._emit("resumed", self.exercise.id, value=round(paused_for, 3))
        return [Reply("Resuming.")] + self._remaining_line()

    def _next(self, match: Match) -> list[Reply]:
        if self.exercise is None:
            if self._routine and self._position + 1 < len(self._routine):
                return self._go_to(self._position + 1, "Moving on.")
            return [Reply("Nothing is running to skip. Say start to begin.")]
        self._emit("skipped", self.exercise.id)
        if self._position + 1 >= len(self._routine):
            return [Reply("That was the last exercise.")] + self._advance()
        return self._go_to(self._position + 1, "Skipping ahead.")

    def _previous(self, match: Match) -> list[Reply]:
        if not self._routine:
            return [Reply("We haven't done an exercise yet. Say start to begin.")]
        if self.exercise is not None:
            self._emit("skipped", self.exercise.id)
        if self._position <= 0:
            return self._go_to(0, "This is the first exercise, so let's start it again.")
        return self._go_to(self._position - 1, "Going back.")

    def _go_to(self, position: int, lead: str) -> list[Reply]:
        self.question = None
        position = max(0, min(position, len(self._routine) - 1))
        exercise = self.content.exercises[self._routine[position]]
        return self._start_exercise(position, [Reply(f"{lead} {capitalized(exercise.name)}.", exercise=exercise.id)])

    def _repeat(self, match: Match) -> list[Reply]:
        if not self.last_said:
            return [Reply("I haven't said anything yet.")]
        return [Reply(r.text, exercise=r.exercise, side=r.side) for r in self.last_said]

    def _stop(self, match: Match) -> list[Reply]:
        self.question = None
        if self.exercise is not None or self._in_session:
            self._end_session("stop")
            return [Reply("Okay, stopping here. Good work today.", urgent=True)]
        self.wants_exit = True
        return [Reply("Okay. Goodbye, and look after that knee.", urgent=True)]

    def _help(self, match: Match) -> list[Reply]:
        if self.exercise is not None:
            return [Reply("You can say pause, resume, next, go back, how long left, "
                          "hold for forty five seconds, or that hurts."),
                    Reply("Say stop to end the workout.")]
        return [Reply("You can ask why your IT band hurts, or how to do an exercise."),
                Reply("Say start for the whole routine, or start the stretch for one exercise."),
                Reply("During an exercise say pause, next, how long left, or that hurts.")]

    def _time_left(self, match: Match) -> list[Reply]:
        if self.exercise is None:
            return [Reply("No timer is running. Say start to begin.")]
        return self._remaining_line() or [Reply("Almost done.")]

    def _remaining_line(self) -> list[Reply]:
        view = self.view()
        left = int(round(view.remaining))
        if view.phase in ("intro", "paused") and self._block_at(self._active()) is None:
            return [Reply(f"We start in {say_seconds(max(left, 1))}.")]
        block = self._blocks[self._block_at(self._active()) or 0]
        if block.kind == "rest":
            return [Reply(f"{say_seconds(left).capitalize()} of rest left.")]
        if block.kind == "switch":
            return [Reply(f"{say_seconds(left).capitalize()} to switch sides.")]
        if block.reps:
            to_go = block.reps - view.rep
            return [Reply(f"{say_number(to_go).capitalize()} more {'rep' if to_go == 1 else 'reps'} in this set.")]
        side = f" on the {block.side} side" if block.side else ""
        return [Reply(f"{say_seconds(max(left, 1)).capitalize()} left{side}.")]

    def _set_duration(self, match: Match) -> list[Reply]:
        seconds = match.slots.get("seconds", 0)
        if limits.HOLD_SECONDS.problem(seconds):
            return [Reply(f"I can time holds from {say_seconds(MIN_HOLD_SECONDS)} to {say_seconds(MAX_HOLD_SECONDS)}.")]
        exercise = self.exercise
        if exercise is None:
            for ex in self.content.exercises.values():
                if ex.program.kind == "hold":
                    self._holds[ex.id] = seconds
            return [Reply(f"Okay. Holds will be {say_seconds(seconds)}.")]
        if exercise.program.kind != "hold":
            return [Reply(f"{capitalized(exercise.name)} counts reps, so there's no hold to change.")]
        return self._change_hold(exercise, seconds, f"Okay, holding for {say_seconds(seconds)}.")

    def _change_hold(self, exercise: Exercise, seconds: float, said: str) -> list[Reply]:
        self._holds[exercise.id] = seconds
        self._emit("duration_changed", exercise.id, value=seconds)
        self._retime(exercise)
        return [Reply(said)] + self._remaining_line()

    def _adjust(self, match: Match) -> list[Reply]:
        """A relative change: {seconds: +-N}, {reps: +-N}, {sets: +-N} or {direction: +-1}."""
        exercise = self.exercise
        if exercise is None:
            return [Reply("There's no exercise running to change. Start one, then say longer or shorter.")]
        slots = match.slots
        hold = exercise.program.kind == "hold"
        if "sets" in slots:
            return self._change_sets(exercise, int(slots["sets"]))
        if "seconds" in slots and not hold:
            return [Reply(f"{capitalized(exercise.name)} counts reps: say, for example, two more reps.")]
        if "reps" in slots and hold:
            return [Reply(f"{capitalized(exercise.name)} is timed: say, for example, ten seconds more.")]
        direction = int(slots.get("direction", 0))
        if hold:
            current = self._blocks_for(exercise)[0].seconds
            delta = int(slots.get("seconds", direction * ADJUST_STEP_SECONDS))
            target = min(MAX_HOLD_SECONDS, max(MIN_HOLD_SECONDS, current + delta))
            if target == current:
                return [Reply(f"The hold is already {say_seconds(current)}, as far as I can take it.")]
            change = f"{say_seconds(abs(target - current))} {'more' if target > current else 'less'}"
            return self._change_hold(exercise, target, f"Okay, {change}: holding for {say_seconds(target)}.")
        current_reps = self._blocks_for(exercise)[0].reps
        delta = int(slots.get("reps", direction * ADJUST_STEP_REPS))
        target = min(MAX_REPS, max(1, current_reps + delta))
        if target == current_reps:
            return [Reply(f"It's already {say_number(current_reps)} reps, as far as I can take it.")]
        self._reps[exercise.id] = target
        self._emit("reps_changed", exercise.id, value=target)
        self._retime(exercise)
        unit = rep_unit(exercise, target)
        return [Reply(f"Okay, {say_number(target)} {unit} a set from the next set on.")] + self._remaining_line()

    def _change_sets(self, exercise: Exercise, delta: int) -> list[Reply]:
        blocks = self._blocks_for(exercise)
        current_sets = max(b.set_no for b in blocks)
        i = self._block_at(self._active())
        now_set = self._blocks[i].set_no if i is not None else 1
        target = min(MAX_SETS, max(now_set, current_sets + delta))
        if target == current_sets:
            return [Reply(f"We're doing {say_number(current_sets)} {'set' if current_sets == 1 else 'sets'}, "
                          "and I can't change that now.")]
        self._sets[exercise.id] = target
        self._emit("sets_changed", exercise.id, value=target)
        self._retime(exercise)
        return [Reply(f"Okay, {say_number(target)} {'set' if target == 1 else 'sets'} of {exercise.name} in all.")]

    def _whats_next(self, match: Match) -> list[Reply]:
        """What comes after the current exercise (never a skip)."""
        if self.exercise is None:
            if self._routine and self._position + 1 < len(self._routine):
                following = self.content.exercises[self._routine[self._position + 1]]
                return [Reply(f"Next is {following.name}. Say next to go on to it.")]
            first = self.content.exercises[self.content.routine[0]]
            return [Reply(f"The routine starts with {first.name}. Say start when you're ready.")]
        if self._position + 1 < len(self._routine):
            following = self.content.exercises[self._routine[self._position + 1]]
            return [Reply(f"After {self.exercise.name} comes {following.name}.")]
        return [Reply(f"{capitalized(self.exercise.name)} is the last exercise. Then we're done.")]

    def _switch_sides(self, match: Match) -> list[Reply]:
        """End this side's work now and go to the other side."""
        exercise = self.exercise
        if exercise is None:
            return [Reply("There's no exercise running. Say start to begin.")]
        if not exercise.program.sides:
            return [Reply(f"{capitalized(exercise.name)} works both sides at once, so there's no side to switch.")]
        if self._paused_at is not None:
            return [Reply("We're paused. Say resume first, then switch sides.")]
        active = self._active()
        i = self._block_at(active)
        if i is None or self._blocks[i].kind != "work":
            return [Reply("We're not on a side yet. I'll tell you when to switch.")]
        following = self._blocks[i + 1] if i + 1 < len(self._blocks) else None
        if following is None or following.kind != "switch":
            return [Reply(f"This is the {self._blocks[i].side} side, the last one.")]
        self._end_block_now(i, active)
        return []                                 # the switch cue itself says what happens

    def _end_block_now(self, i: int, active: float) -> None:
        """Cut block i short so that it ends now; what follows moves up."""
        block = self._blocks[i]
        done = max(0.0, active - self._starts[i] - block.lead)
        self._blocks[i] = replace(block, seconds=done)
        self._starts = self._starts[:i + 1] + block_starts(self._blocks[i + 1:], active)
        said = self._cues[:self._cue_index]
        rest = [c for c in build_cues(self.exercise, self._blocks, self._starts) if c.block > i
                or (c.block == i and c.ends_block)]
        rest = [replace(c, offset=active) if c.block == i else c for c in rest]
        self._cues = said + rest

    def _retime(self, exercise: Exercise) -> None:
        """Rebuild the rest of the timeline after a hold changed, keeping what was already said."""
        active = self._active()
        current = self._block_at(active)
        blocks = self._blocks_for(exercise)
        first = current if current is not None else 0
        starts = self._starts[:first] + block_starts(blocks[first:], self._starts[first])
        if current is not None and starts[current] + blocks[current].total < active:
            # The new hold is already over: it ends now and what follows starts from now.
            starts = starts[:current + 1] + block_starts(blocks[current + 1:], active)
        cues = build_cues(exercise, blocks, starts)
        kept: list[TimedCue] = []
        for cue in cues:
            if cue.offset > active or (current is not None and cue.block > current):
                kept.append(cue)
            elif cue.block == current and cue.ends_block:
                # The new hold is already over: end it now rather than never.
                kept.append(TimedCue(active, cue.reply, cue.block, True))
        self._blocks, self._starts = blocks, starts
        said = [c for c in cues if c not in kept and c.offset <= active]
        self._cues = said + kept
        self._cue_index = len(said)

    def _report_pain(self, match: Match) -> list[Reply]:
        exercise = self.exercise
        self._emit("pain_reported", exercise.id if exercise else None, detail={"text": match.text})
        safety = [Reply(s, urgent=i == 0) for i, s in enumerate(self.content.safety)]
        if exercise is None:
            return safety
        self._clear_timeline()
        self.question = Question("after_pain")
        stop_now = Reply(f"Stop {exercise.name} now and rest.", urgent=True, exercise=exercise.id)
        ask = "Would you like to go on to the next exercise?" if self._position + 1 < len(self._routine) \
            else "Would you like to try another exercise?"
        return [stop_now] + [Reply(r.text) for r in safety] + [Reply(ask)]

    def _yes(self, match: Match) -> list[Reply]:
        question, self.question = self.question, None
        if question is None:
            if self.exercise is not None:
                return [Reply("Keep going.")]
            return [Reply("Say start when you're ready, or ask me a question.")]
        if question.kind == "proposal" and self.proposal:
            for exercise_id, values in self.proposal.overrides.items():
                # Proposals come from rules in a file: kept inside the same limits as content.
                if "hold_seconds" in values:
                    self._holds[exercise_id] = limits.HOLD_SECONDS.clamp(float(values["hold_seconds"]))
                if "reps" in values:
                    self._reps[exercise_id] = int(limits.REPS.clamp(float(values["reps"])))
        if question.kind == "after_pain":
            if self._position + 1 < len(self._routine):
                return self._go_to(self._position + 1, "Okay, gently now.")
            return [Reply("Okay. Which exercise would you like? Say, for example, start the stretch.")]
        return self._start(Match(match.text, "start"))

    def _no(self, match: Match) -> list[Reply]:
        question, self.question = self.question, None
        if question is None:
            return [Reply("Okay.")]
        if question.kind == "after_pain":
            if self._in_session:
                self._end_session("pain")
            return [Reply("Okay, we'll stop for today. Rest, and if the pain persists, see a medical professional.")]
        if question.kind == "proposal":
            return [Reply("Okay, we'll keep the usual plan. Say start when you're ready.")]
        return [Reply("Okay. Ask me anything about your IT band, or say start when you're ready.")]

    def _slower(self, match: Match) -> list[Reply]:
        self.rate = max(RATE_LIMITS[0], round(self.rate / RATE_STEP, 3))
        return [Reply("Okay, I'll speak more slowly.", rate=self.rate)]

    def _faster(self, match: Match) -> list[Reply]:
        self.rate = min(RATE_LIMITS[1], round(self.rate * RATE_STEP, 3))
        return [Reply("Okay, I'll speak faster.", rate=self.rate)]

    def _not_understood(self, match: Match) -> list[Reply]:
        if match.aside == "thanks":
            return [Reply("You're welcome." + (" Keep going." if self.exercise is not None else ""))]
        if match.aside == "greeting":
            if self.exercise is not None:
                return [Reply("Hi. We're doing " + self.exercise.name + ".")]
            return [Reply("Hi. Ask me why your IT band hurts, or say start for the routine.")]
        if match.aside == "not_covered":
            return [Reply("The article doesn't cover that; a physiotherapist or doctor can tell you.")]
        return [Reply("Sorry, I didn't catch that. Say help to hear what you can say.")]

    # ----- bookkeeping ----------------------------------------------------------------

    def _said(self, replies: list[Reply]) -> list[Reply]:
        if replies:
            self.last_said = list(replies)
        return replies

    def _emit(self, kind: str, exercise: str | None = None, side: str | None = None,
              value: float | None = None, detail: dict[str, Any] | None = None) -> None:
        event = CoachEvent(kind, self.clock.now(), exercise, side, value, detail or {})
        for listener in list(self.listeners):
            try:
                listener.record(event)
            except Exception as exc:  # a broken history must never stop the coach
                self.listeners.remove(listener)
                self.listener_errors.append(f"history disabled: {exc}")
