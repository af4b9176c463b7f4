"""The coach session: phases and a transition table, driven by intents and an injected clock.

    IDLE / OFFER / OFFER_PLAN --start, yes--> RUNNING (instructions, then timed work)
    RUNNING <--pause, resume--> PAUSED;  RUNNING --pain--> AFTER_PAIN --yes--> RUNNING
    RUNNING --last exercise done, stop--> IDLE

`handle(match)` looks up (phase, intent) in TRANSITIONS (then (ANY, intent)) and answers
with replies as data; `tick()` returns the cues that are due; `next_due()` says when the next
one is. The timing lives in a pure `Timeline`. Nothing sleeps: the caller (text mode, voice
loop, simulator, tests) decides how to wait and deliver, and tells `line_ended` when a line
really ended, so a hold counts from the "Go." the user perceived.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from voicecoach import limits
from voicecoach.coach.clock import Clock
from voicecoach.coach.events import CoachEvent, EventListener
from voicecoach.coach.replies import Reply, capitalized, estimate_speech_seconds
from voicecoach.coach.timeline import (
    ROUTINE_DONE,
    Block,
    TimedCue,
    Timeline,
    build_blocks,
    rep_unit,
    reps_done,
)
from voicecoach.content.model import Content, Exercise
from voicecoach.intents.names import Aside, Intent
from voicecoach.intents.types import PAIN_CHECK, Context, Match
from voicecoach.plan import Proposal
from voicecoach.words import (
    NUMBER_WORDS,
    TENS_WORDS,
    say_count,
    say_number,
    say_seconds,
)

__all__ = ["TRANSITIONS", "Phase", "Proposal", "Session", "SessionView"]

MIN_HOLD_SECONDS = int(limits.HOLD_SECONDS.lowest)
MAX_HOLD_SECONDS = int(limits.HOLD_SECONDS.highest)
MAX_REPS = int(limits.REPS.highest)
MAX_SETS = int(limits.SETS.highest)
ADJUST_STEP_SECONDS = 10         # "make it longer" with no amount: ten seconds more (ours)
ADJUST_STEP_REPS = 2             # ... or two more reps (ours)
RATE_STEP = 1.15                 # "slower"/"faster" change the speaking rate by this factor
RATE_LIMITS = (0.6, 1.6)
WORDS_PER_MINUTE = 165.0         # our estimate of the voice at rate 1.0
# The lines of every session's start (content/coach.yaml); fixed, so the voice keeps their
# audio from one run to the next and the coach is heard at once, before its voice has loaded.
OPENING_LINES = ("greeting", "greeting_ask", "offer_routine")
AMOUNT_WORDS = frozenset(NUMBER_WORDS[2:] + TENS_WORDS[2:] + ("minute", "minutes", "seconds"))  # not "one leg"
LINE_END_POLL = 0.05             # while instructions are still said, the work looks again this often
LINE_END_PATIENCE = 5.0          # ... and waits at most this long past their estimated end (a lost report)
PAIN_ECHO_SECONDS = 4.0          # a second pain report this soon after one, with no exercise since, is the same one
# Intents that leave the exercise as it is: said during its instructions, the rest follow.
KEEP_INSTRUCTIONS = frozenset({Intent.ASK, Intent.ASK_HISTORY, Intent.HELP, Intent.WHATS_NEXT, Intent.TIME_LEFT,
                               Intent.NONE, Intent.SLOWER, Intent.FASTER, Intent.YES, Intent.NO, Intent.REPEAT})


ASKS_AN_AMOUNT = re.compile(r"\bhow (long|many|much|often)\b", re.IGNORECASE)


def _names_an_amount(sentence: str) -> bool:
    words = set(re.findall(r"[a-z]+|\d+", sentence.lower()))
    return bool(words & AMOUNT_WORDS) or any(w.isdigit() for w in words)


class Phase(Enum):
    IDLE = "idle"                # nothing running, nothing asked
    OFFER = "offer"              # asked whether to start the routine
    OFFER_PLAN = "offer_plan"    # asked whether to do today's plan from history
    AFTER_PAIN = "after_pain"    # stopped for pain, asked whether to go on
    RUNNING = "running"          # an exercise: its instructions, work, switches and rests
    PAUSED = "paused"


ANY = None                       # a transition that holds in every phase not listed
ASKING = (Phase.OFFER, Phase.OFFER_PLAN, Phase.AFTER_PAIN)
EXERCISING = (Phase.RUNNING, Phase.PAUSED)

# (phase, intent) -> the Session method that answers; (ANY, intent) where the phase does not matter.
TRANSITIONS: dict[tuple[Phase | None, str], str] = {   # intent: an Intent
    (Phase.OFFER, Intent.YES): "_start_routine",
    (Phase.OFFER_PLAN, Intent.YES): "_accept_plan",
    (Phase.AFTER_PAIN, Intent.YES): "_go_on_after_pain",
    (Phase.AFTER_PAIN, Intent.RESUME): "_go_on_after_pain",
    (Phase.RUNNING, Intent.YES): "_keep_going",
    (Phase.PAUSED, Intent.YES): "_keep_going",
    (ANY, Intent.YES): "_yes_unasked",
    (Phase.OFFER, Intent.NO): "_decline_routine",
    (Phase.OFFER_PLAN, Intent.NO): "_decline_plan",
    (Phase.AFTER_PAIN, Intent.NO): "_stop_after_pain",
    (ANY, Intent.NO): "_no_unasked",
    (Phase.PAUSED, Intent.START): "_resume_or_start",
    (Phase.RUNNING, Intent.START): "_start_while_running",
    (ANY, Intent.START): "_start",
    (Phase.RUNNING, Intent.PAUSE): "_pause",
    (Phase.PAUSED, Intent.PAUSE): "_already_paused",
    (ANY, Intent.PAUSE): "_nothing_to_pause",
    (Phase.PAUSED, Intent.RESUME): "_resume",
    (Phase.RUNNING, Intent.RESUME): "_still_going",
    (ANY, Intent.RESUME): "_nothing_to_resume",
    (Phase.RUNNING, Intent.TIME_LEFT): "_time_left",
    (Phase.PAUSED, Intent.TIME_LEFT): "_time_left",
    (ANY, Intent.TIME_LEFT): "_no_timer",
    (Phase.RUNNING, Intent.SWITCH_SIDES): "_switch_sides",
    (Phase.PAUSED, Intent.SWITCH_SIDES): "_paused_switch",
    (ANY, Intent.SWITCH_SIDES): "_nothing_running",
    (Phase.RUNNING, Intent.ADJUST): "_adjust",
    (Phase.PAUSED, Intent.ADJUST): "_adjust",
    (ANY, Intent.ADJUST): "_nothing_to_adjust",
    (ANY, Intent.ASK): "_ask", (ANY, Intent.ASK_HISTORY): "_ask_history", (ANY, Intent.NEXT): "_next",
    (ANY, Intent.PREVIOUS): "_previous", (ANY, Intent.REPEAT): "_repeat", (ANY, Intent.STOP): "_stop",
    (ANY, Intent.HELP): "_help", (ANY, Intent.SET_DURATION): "_set_duration", (ANY, Intent.REPORT_PAIN): "_report_pain",
    (ANY, Intent.SLOWER): "_slower", (ANY, Intent.FASTER): "_faster", (ANY, Intent.WHATS_NEXT): "_whats_next",
    (ANY, Intent.NONE): "_not_understood",
}
assert {intent for _, intent in TRANSITIONS} == set(Intent), "every intent has a transition"


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
    unit: str = ""


@dataclass(frozen=True)
class _PainReply:
    at: float                  # when the pain was reported
    replies: list[Reply]       # what the coach answered


@dataclass
class _Instruction:
    reply: Reply
    end: float                 # when it ends being said (an estimate until the output stage says)


class Session:
    def __init__(
        self,
        content: Content,
        clock: Clock,
        listeners: Iterable[EventListener] = (),
        proposal: Proposal | None = None,
        speech_seconds: Callable[[str, float], float] = estimate_speech_seconds,
        history: Callable[[str], str] | None = None,
        voiced: bool = True,
    ) -> None:
        self.content = content
        self.clock = clock
        self.listeners = list(listeners)
        self.listener_errors: list[str] = []
        self.proposal = proposal
        self.voiced = voiced             # False in text mode: "slower" paces the lines instead
        self.hears_line_ends = False     # True when the output stage reports each line's end (line_ended)
        self._history = history          # answers "how did I do last time" and the like
        self._speech_seconds = speech_seconds
        self.rate = 1.0
        self.wants_exit = False          # "stop" when nothing is running: the user is leaving
        self.phase = Phase.IDLE
        self.last_said: list[Reply] = []
        self._holds: dict[str, float] = {}   # this session's changes, for the exercise they were made in
        self._session_hold: float | None = None   # "hold for N" said between exercises: every hold this session
        self._exercise_id: str | None = None      # the exercise started last (kept through a pain stop)
        self._reps: dict[str, int] = {}
        self._sets: dict[str, int] = {}
        self._routine: list[str] = []
        self._position = -1
        self._in_session = False
        self._timeline: Timeline | None = None
        self._instructions: list[_Instruction] = []
        self._pain: _PainReply | None = None      # the last pain report's answer
        self._asked_about_pain = False            # "Did something hurt?" asked, the answer not yet heard

    # ----- the public surface ---------------------------------------------------------

    def begin(self) -> list[Reply]:
        """The greeting, with today's proposal when there is one."""
        lines = [self._say("greeting"), self._say("greeting_ask")]
        if self.proposal:
            self.phase = Phase.OFFER_PLAN
            lines.append(self.proposal.text)
        else:
            self.phase = Phase.OFFER
            lines.append(self._say("offer_routine"))
        return self._said([Reply(line) for line in lines])

    def handle(self, match: Match) -> list[Reply]:
        if match.aside == PAIN_CHECK and self.phase in EXERCISING:
            return self._said(self._ask_about_pain(match))
        if self._asked_about_pain:
            self._asked_about_pain = False
            if match.intent == Intent.YES:
                match = replace(match, intent=Intent.REPORT_PAIN, aside=None)
            elif match.intent == Intent.NO:
                return self._said([Reply(self._say("pain_check_no"))])
        name = TRANSITIONS.get((self.phase, match.intent)) or TRANSITIONS.get((ANY, match.intent), "_not_understood")
        in_instructions = self._in_instructions()
        replies = getattr(self, name)(match)
        if in_instructions and match.intent in KEEP_INSTRUCTIONS and self._in_instructions():
            replies = replies + self._instructions_again(replies)
        if match.intent != Intent.REPEAT:
            self._said(replies)
        return replies

    def tick(self) -> list[Reply]:
        """Cues that are due now, in order; moves on to the next exercise when one ends."""
        out: list[Reply] = []
        timeline = self._timeline
        if timeline is None:
            return out
        self._wait_for_instructions(timeline)
        for cue in timeline.take_due(self.clock.now()):
            out.append(cue.reply)
            self._after_cue(timeline, cue, out)
            if self._timeline is not timeline:
                break
        if out:
            self._said(out)
        return out

    def next_due(self) -> float | None:
        return self._timeline.next_due() if self._timeline is not None else None

    def _wait_for_instructions(self, timeline: Timeline) -> None:
        """With an output that reports line ends, the work never starts over instructions still
        being said (a voice slower than our estimate): it waits for their reported end, looking
        again every LINE_END_POLL seconds, and no more than LINE_END_PATIENCE past the estimate."""
        if not (self.hears_line_ends and self._instructions and timeline.cue_index == 0 and not timeline.paused):
            return
        now = self.clock.now()
        first_due = timeline.next_due()
        if first_due is not None and first_due <= now < self._instructions[-1].end + LINE_END_PATIENCE:
            timeline.anchor_start(now + LINE_END_POLL)

    def line_ended(self, reply: Reply, at: float) -> None:
        """The output stage's word on when a line really ended (voice: playback end; text: shown).

        A start line ("Hold for thirty seconds. Go.") anchors its work there, and the last
        instruction anchors the first block, so a hold counts from what the user perceived."""
        timeline = self._timeline
        if timeline is None:
            return
        for k, line in enumerate(self._instructions):
            if line.reply is reply:         # the very line (a repeated one is a new reply)
                shift = at - line.end
                self._instructions = self._instructions[k + 1:]
                for later in self._instructions:
                    later.end += shift
                # The work starts when the last instruction ends: as now expected, then as it really did.
                timeline.anchor_start(self._instructions[-1].end if self._instructions else at)
                return
        taken = timeline.last_taken
        if taken is not None and reply.cue == "hold_start" and taken.reply == reply:
            timeline.anchor_work(taken.block, at)

    def context(self) -> Context:
        return Context(
            expecting="yes_no" if self.phase in ASKING or self._asked_about_pain else None,
            exercising=self.phase in EXERCISING,
            paused=self.phase is Phase.PAUSED,
        )

    @property
    def exercise(self) -> Exercise | None:
        return self._timeline.exercise if self._timeline is not None else None

    @property
    def words_per_minute(self) -> float:
        return WORDS_PER_MINUTE * self.rate

    def view(self) -> SessionView:
        timeline = self._timeline
        if timeline is None:
            return SessionView("idle")
        exercise = timeline.exercise
        active = timeline.active(self.clock.now())
        i = timeline.block_at(active)
        paused = timeline.paused
        if i is None:
            return SessionView("paused" if paused else "intro", exercise.id, exercise.name,
                               timeline.blocks[0].side, 1, timeline.sets,
                               remaining=max(0.0, timeline.starts[0] - active), unit=exercise.unit)
        block, start = timeline.blocks[i], timeline.starts[i]
        elapsed = max(0.0, active - start - block.lead)
        rep = reps_done(block, elapsed)
        return SessionView("paused" if paused else block.kind, exercise.id, exercise.name, block.side,
                           block.set_no, timeline.sets, rep, block.reps,
                           max(0.0, block.seconds - elapsed), block.seconds, exercise.unit)

    def close(self, reason: str = "quit") -> None:
        """End the session for good (the program is exiting)."""
        if self._in_session:
            self._cut_short()
            self._end_session(reason)

    # ----- the timeline ---------------------------------------------------------------

    def _speech(self, replies: Iterable[Reply]) -> float:
        return sum(self._speech_seconds(r.text, self.words_per_minute) for r in replies)

    def _now_active(self) -> float:
        assert self._timeline is not None
        return self._timeline.active(self.clock.now())

    def _start_exercise(self, position: int, lead_in: list[Reply], after: float = 0.0) -> list[Reply]:
        """Say the instructions, then the timeline starts once they have been said."""
        self._cut_short()
        if self._exercise_id is not None and self._exercise_id != self._routine[position]:
            self._forget_changes(self._exercise_id)
        self._exercise_id = self._routine[position]
        self._position = position
        self._pain = None
        exercise = self.content.exercises[self._routine[position]]
        if not self._in_session:
            self._in_session = True
            self._emit("session_started", detail={"plan": list(self._routine)})
        self._emit("exercise_started", exercise.id)
        steps = [Reply(s, exercise=exercise.id) for s in exercise.steps]
        first_side = exercise.program.sides[0] if exercise.program.sides else None
        if first_side:
            steps.append(Reply(self._say("first_side", side=first_side), exercise=exercise.id))
        intro = lead_in + steps
        t = self.clock.now() + after
        self._instructions = []
        for line in intro:
            t += self._speech([line])
            self._instructions.append(_Instruction(line, t))
        self._timeline = Timeline.start(exercise, self._blocks_for(exercise), t)
        self.phase = Phase.RUNNING
        return intro

    def _in_instructions(self) -> bool:
        return (self.phase is Phase.RUNNING and self._timeline is not None and self._timeline.cue_index == 0
                and any(line.end > self.clock.now() for line in self._instructions))

    def _instructions_again(self, answer: list[Reply]) -> list[Reply]:
        """The instructions an answer cut into, said again after it; the work waits for them."""
        now = self.clock.now()
        # New replies, equal in words: the end of the first saying must not count for the second.
        left = [replace(line.reply) for line in self._instructions if line.end > now and line.reply.exercise is not None]
        if not left:
            return []
        back = [Reply(self._say("back_to_instructions"), exercise=left[0].exercise)]
        t = now + self._speech(answer)
        self._instructions = []
        for line in back + left:
            t += self._speech([line])
            self._instructions.append(_Instruction(line, t))
        assert self._timeline is not None
        self._timeline.anchor_start(t)
        return back + left

    def _blocks_for(self, exercise: Exercise) -> list[Block]:
        return build_blocks(exercise, self._holds.get(exercise.id, self._session_hold), self._reps.get(exercise.id),
                            lead=lambda text: self._speech_seconds(text, self.words_per_minute),
                            sets=self._sets.get(exercise.id))

    def _cut_short(self) -> None:
        """Record what was done of a side that ends before its time (pain, stop, skip)."""
        timeline = self._timeline
        if timeline is None:
            return
        now = self.clock.now()
        i = timeline.block_at(timeline.active(now))
        last = timeline.last_taken
        if i is None or timeline.blocks[i].kind != "work" or (last is not None and last.block == i and last.ends_block):
            return
        block = timeline.blocks[i]
        done = timeline.done_in_block(i, now)
        amount = reps_done(block, done) if block.tempo else round(min(done, block.seconds), 1)
        if amount > 0:
            self._emit("side_partial", timeline.exercise.id, block.side, amount)

    def _forget_changes(self, exercise_id: str) -> None:
        """A change said during an exercise holds for that exercise only, not for one started later."""
        for changes in (self._holds, self._reps, self._sets):
            changes.pop(exercise_id, None)

    def _after_cue(self, timeline: Timeline, cue: TimedCue, out: list[Reply]) -> None:
        exercise = timeline.exercise
        block = timeline.blocks[cue.block]
        if cue.ends_block and block.kind == "work" and cue.reply.cue != "rep":
            self._emit("side_done", exercise.id, block.side, block.reps if block.tempo else block.seconds)
        if cue.reply.cue == "set_done":
            self._emit("set_done", exercise.id, value=block.set_no)
        if cue.reply.cue == "exercise_done":
            self._emit("exercise_done", exercise.id)
            out.extend(self._advance(after=self._speech([cue.reply])))

    def _advance(self, after: float = 0.0) -> list[Reply]:
        """Go on to the next exercise of the routine, or finish it."""
        if self._position + 1 < len(self._routine):
            nxt = self.content.exercises[self._routine[self._position + 1]]
            return self._start_exercise(self._position + 1, [Reply(self._say("next_up", name=nxt.name), exercise=nxt.id)], after)
        done_with = self.exercise
        self._timeline = None
        if len(self._routine) == 1 and done_with is not None:
            done = [Reply(self._say("single_done", name=done_with.name))]
        else:
            done = [Reply(ROUTINE_DONE, cue="routine_done"),
                    Reply(self._say("routine_advice"))]
        self._end_session("done")
        return done

    def _end_session(self, reason: str) -> None:
        self._emit("session_ended", detail={"reason": reason})
        self._in_session = False
        self._timeline = None
        self._instructions = []
        self._holds.clear()
        self._session_hold = None
        self._exercise_id = None
        self._reps.clear()
        self._sets.clear()
        self.phase = Phase.IDLE

    # ----- intents --------------------------------------------------------------------

    def _ask(self, match: Match) -> list[Reply]:
        topic = self.content.topics.get(str(match.slots.get("topic")))
        if topic is None:
            return [Reply(self._say("unknown_topic"))]
        sentences = list(topic.sentences)
        if ASKS_AN_AMOUNT.search(match.text):
            # "how long should I hold the stretch": the amount first, then the how-to.
            sentences.sort(key=lambda sentence: not _names_an_amount(sentence))
        return [Reply(s) for s in sentences]

    def _ask_history(self, match: Match) -> list[Reply]:
        if self._history is None:
            return [Reply(self._say("no_history"))]
        try:
            return [Reply(self._history(str(match.slots.get("what", "last_session"))))]
        except Exception as exc:  # noqa: BLE001 - a broken history must never stop the coach
            self.listener_errors.append(f"history unavailable: {exc}")
            return [Reply(self._say("history_unreadable"))]

    def _start(self, match: Match) -> list[Reply]:
        wanted = match.slots.get("exercise")
        if wanted is not None and wanted not in self.content.exercises:
            return self._not_understood(match)
        if self.exercise is not None:
            self._emit("skipped", self.exercise.id)
        self._routine = [wanted] if wanted else list(self.content.routine)
        first = self.content.exercises[self._routine[0]]
        lead = self._say("start_one" if wanted else "start_routine", name=first.name)
        return self._start_exercise(0, [Reply(lead, exercise=first.id)])

    def _start_routine(self, match: Match) -> list[Reply]:
        return self._start(Match(match.text, Intent.START))

    def _accept_plan(self, match: Match) -> list[Reply]:
        if self.proposal:
            for exercise_id, values in self.proposal.overrides.items():
                # Proposals come from rules in a file: kept inside the same limits as content.
                if "hold_seconds" in values:
                    self._holds[exercise_id] = limits.HOLD_SECONDS.clamp(float(values["hold_seconds"]))
                if "reps" in values:
                    self._reps[exercise_id] = int(limits.REPS.clamp(float(values["reps"])))
        return self._start_routine(match)

    def _start_while_running(self, match: Match) -> list[Reply]:
        if match.slots.get("exercise") is None:
            assert self.exercise is not None
            return [Reply(self._say("already_doing", name=self.exercise.name))]
        return self._start(match)

    def _resume_or_start(self, match: Match) -> list[Reply]:
        return self._start(match) if match.slots.get("exercise") is not None else self._resume(match)

    def _pause(self, match: Match) -> list[Reply]:
        assert self._timeline is not None
        self._timeline.pause(self.clock.now())
        self.phase = Phase.PAUSED
        self._emit("paused", self._timeline.exercise.id)
        return [Reply(self._say("paused"), urgent=True)]

    def _ask_about_pain(self, match: Match) -> list[Reply]:
        """Words of pain in a line not understood, during an exercise: pause, and ask."""
        if self.phase is Phase.RUNNING:
            assert self._timeline is not None
            self._timeline.pause(self.clock.now())
            self.phase = Phase.PAUSED
            self._emit("paused", self._timeline.exercise.id)
        self._asked_about_pain = True
        return [Reply(self._say("pain_check"), urgent=True)]

    def _already_paused(self, match: Match) -> list[Reply]:
        return [Reply(self._say("already_paused"))]

    def _nothing_to_pause(self, match: Match) -> list[Reply]:
        return [Reply(self._say("nothing_to_pause"))]

    def _resume(self, match: Match) -> list[Reply]:
        assert self._timeline is not None
        paused_for = self._timeline.resume(self.clock.now())
        self.phase = Phase.RUNNING
        self._emit("resumed", self._timeline.exercise.id, value=round(paused_for, 3))
        if self._timeline.cue_index == 0 and self._instructions:
            self._instructions = [line for line in self._instructions if line.reply.exercise is not None]
            for line in self._instructions:
                line.end += paused_for
            return [Reply(self._say("resuming"))] + self._instructions_again([Reply(self._say("resuming"))])
        return [Reply(self._say("resuming"))] + self._remaining_line()

    def _still_going(self, match: Match) -> list[Reply]:
        return [Reply(self._say("still_going"))]

    def _nothing_to_resume(self, match: Match) -> list[Reply]:
        return [Reply(self._say("nothing_to_resume"))]

    def _next(self, match: Match) -> list[Reply]:
        if self.exercise is None:
            if self._routine and self._position + 1 < len(self._routine):
                return self._go_to(self._position + 1, "moving_on")
            return [Reply(self._say("nothing_to_skip"))]
        self._emit("skipped", self.exercise.id)
        if self._position + 1 >= len(self._routine):
            return [Reply(self._say("last_exercise_done"))] + self._advance()
        return self._go_to(self._position + 1, "skipping_ahead")

    def _previous(self, match: Match) -> list[Reply]:
        if not self._routine:
            return [Reply(self._say("nothing_done_yet"))]
        if self.exercise is not None:
            self._emit("skipped", self.exercise.id)
        if self._position <= 0:
            return self._go_to(0, "first_again")
        return self._go_to(self._position - 1, "going_back")

    def _go_to(self, position: int, lead: str) -> list[Reply]:
        """Start the exercise at `position`, announced by the line `lead` (which names it)."""
        position = max(0, min(position, len(self._routine) - 1))
        exercise = self.content.exercises[self._routine[position]]
        return self._start_exercise(position, [Reply(self._say(lead, name=capitalized(exercise.name)),
                                                     exercise=exercise.id)])

    def _repeat(self, match: Match) -> list[Reply]:
        """The last thing worth repeating: a timed cue was true at its moment only ("Go.",
        "Halfway."), so after one, where the exercise is now; else the last answer."""
        if self.exercise is not None and any(r.is_cue for r in self.last_said):
            return self._remaining_line()
        if not self.last_said:
            return [Reply(self._say("nothing_said_yet"))]
        return [Reply(r.text, exercise=r.exercise, side=r.side, live=r.live) for r in self.last_said]

    def _stop(self, match: Match) -> list[Reply]:
        if self.exercise is not None or self._in_session:
            self._cut_short()
            self._end_session("stop")
            return [Reply(self._say("stopping"), urgent=True), Reply(self._say("leave_again"))]
        self.phase = Phase.IDLE
        self.wants_exit = True
        return [Reply(self._say("goodbye"), urgent=True)]

    def _help(self, match: Match) -> list[Reply]:
        if self.exercise is not None:
            return [Reply(self._say(key)) for key in ("help_during", "stop_workout")]
        return [Reply(self._say(key)) for key in ("help_ask", "help_start", "help_exercise", "leave")]

    def _time_left(self, match: Match) -> list[Reply]:
        return self._remaining_line() or [Reply(self._say("almost_done"))]

    def _no_timer(self, match: Match) -> list[Reply]:
        return [Reply(self._say("no_timer"))]

    def _remaining_line(self) -> list[Reply]:
        """How much is left, worked out again when it is said (a line may wait behind others)."""
        if self._timeline is None:
            return []
        timeline = self._timeline
        return [Reply(self._remaining_text(), live=lambda: self._remaining_text(timeline))]

    def _remaining_text(self, timeline: Timeline | None = None) -> str:
        timeline = timeline or self._timeline
        if timeline is None or timeline is not self._timeline:
            return self._say("exercise_over")
        view = self.view()
        left = round(float(view.remaining))
        i = timeline.block_at(timeline.active(self.clock.now()))
        if i is None:
            return self._say("start_in", time=say_seconds(max(left, 1)))
        block = timeline.blocks[i]
        if block.kind == "rest":
            return self._say("rest_left", time=capitalized(say_seconds(left)))
        if block.kind == "switch":
            return self._say("switch_in", time=capitalized(say_seconds(left)))
        if block.reps:
            return self._say("reps_to_go", count=capitalized(say_count(block.reps - view.rep, timeline.exercise.unit)))
        time = capitalized(say_seconds(max(left, 1)))
        return self._say("time_left_on_side", time=time, side=block.side) if block.side else self._say("time_left", time=time)

    def _set_duration(self, match: Match) -> list[Reply]:
        seconds = match.slots.get("seconds", 0)
        if limits.HOLD_SECONDS.problem(seconds):
            return [Reply(self._say("hold_range", lowest=say_seconds(MIN_HOLD_SECONDS), highest=say_seconds(MAX_HOLD_SECONDS)))]
        exercise = self.exercise
        if exercise is None:
            self._session_hold = seconds
            return [Reply(self._say("holds_this_session", time=say_seconds(seconds)))]
        if not exercise.is_hold:
            return [Reply(self._say("counted_not_timed", name=capitalized(exercise.name), unit=exercise.unit))]
        return self._change_hold(exercise, seconds, self._say("hold_this_time", time=say_seconds(seconds), name=exercise.name))

    def _change_hold(self, exercise: Exercise, seconds: float, said: str) -> list[Reply]:
        self._holds[exercise.id] = seconds
        self._emit("duration_changed", exercise.id, value=seconds)
        self._retime(exercise)
        return [Reply(said)] + self._remaining_line()

    def _nothing_to_adjust(self, match: Match) -> list[Reply]:
        return [Reply(self._say("nothing_to_change"))]

    def _adjust(self, match: Match) -> list[Reply]:
        """A relative change: {seconds: +-N}, {reps: +-N}, {sets: +-N} or {direction: +-1}."""
        exercise = self.exercise
        assert exercise is not None
        slots = match.slots
        hold = exercise.is_hold
        if "sets" in slots:
            return self._change_sets(exercise, int(slots["sets"]))
        if "seconds" in slots and not hold:
            return [Reply(self._say("counted_say_more", name=capitalized(exercise.name), unit=exercise.unit))]
        if "reps" in slots and hold:
            return [Reply(self._say("timed_say_more", name=capitalized(exercise.name)))]
        direction = int(slots.get("direction", 0))
        if hold:
            current = self._blocks_for(exercise)[0].seconds
            delta = int(slots.get("seconds", direction * ADJUST_STEP_SECONDS))
            target = min(MAX_HOLD_SECONDS, max(MIN_HOLD_SECONDS, current + delta))
            if target == current:
                return [Reply(self._say("hold_at_limit", time=say_seconds(current)))]
            said = self._say("hold_longer" if target > current else "hold_shorter",
                             change=say_seconds(abs(target - current)), time=say_seconds(target))
            return self._change_hold(exercise, target, said)
        current_reps = self._blocks_for(exercise)[0].reps
        delta = int(slots.get("reps", direction * ADJUST_STEP_REPS))
        target = min(MAX_REPS, max(1, current_reps + delta))
        if target == current_reps:
            return [Reply(self._say("reps_at_limit", count=say_count(current_reps, exercise.unit)))]
        counted = self._counted_in_set()
        self._reps[exercise.id] = target
        self._emit("reps_changed", exercise.id, value=target)
        self._retime(exercise)
        amount = {"number": say_number(target), "unit": rep_unit(exercise, target)}
        if counted is None:
            return [Reply(self._say("reps_changed", **amount))]
        if target <= counted:
            return [Reply(self._say("reps_changed_set_done", **amount))]
        return [Reply(self._say("reps_changed_this_set", **amount))] + self._remaining_line()

    def _counted_in_set(self) -> int | None:
        """Reps counted so far in the set under way; None between sets (or before the first)."""
        assert self._timeline is not None
        i = self._timeline.block_at(self._now_active())
        if i is None or self._timeline.blocks[i].kind != "work":
            return None
        block = self._timeline.blocks[i]
        return reps_done(block, self._timeline.done_in_block(i, self.clock.now()))

    def _change_sets(self, exercise: Exercise, delta: int) -> list[Reply]:
        assert self._timeline is not None
        timeline = self._timeline
        current_sets = timeline.sets
        fewest = self._fewest_sets(timeline)
        target = min(MAX_SETS, max(fewest, current_sets + delta))
        if target == current_sets:
            return [Reply(self._sets_unchanged(timeline, current_sets, delta))]
        self._sets[exercise.id] = target
        self._emit("sets_changed", exercise.id, value=target)
        self._retime(exercise)
        return [Reply(self._say("sets_changed", count=say_count(target, "sets"), name=exercise.name))]

    def _fewest_sets(self, timeline: Timeline) -> int:
        """The sets cannot end before the one under way, nor before the set a rest leads to."""
        i = timeline.block_at(self._now_active())
        if i is None:
            return 1
        block = timeline.blocks[i]
        return block.set_no + 1 if block.kind == "rest" else block.set_no

    def _sets_unchanged(self, timeline: Timeline, sets: int, delta: int) -> str:
        """Why a change of sets cannot apply now, in a few words."""
        if delta > 0:
            return self._say("sets_at_most", count=capitalized(say_count(sets, "sets")))
        i = timeline.block_at(self._now_active())
        block = timeline.blocks[i] if i is not None else None
        if block is not None and block.kind == "rest":
            return self._say("sets_resting_before_last", name=timeline.exercise.name)
        if sets == 1:
            return self._say("sets_only_one")
        return self._say("sets_on_the_last", number=say_number(sets))

    def _whats_next(self, match: Match) -> list[Reply]:
        """What comes after the current exercise (never a skip)."""
        if self.exercise is None:
            if self._routine and self._position + 1 < len(self._routine):
                following = self.content.exercises[self._routine[self._position + 1]]
                return [Reply(self._say("next_is", name=following.name))]
            first = self.content.exercises[self.content.routine[0]]
            return [Reply(self._say("routine_starts_with", name=first.name))]
        if self._position + 1 < len(self._routine):
            following = self.content.exercises[self._routine[self._position + 1]]
            return [Reply(self._say("comes_after", name=self.exercise.name, following=following.name))]
        return [Reply(self._say("last_exercise", name=capitalized(self.exercise.name)))]

    def _nothing_running(self, match: Match) -> list[Reply]:
        return [Reply(self._say("no_exercise_running"))]

    def _paused_switch(self, match: Match) -> list[Reply]:
        assert self.exercise is not None
        if not self.exercise.program.sides:
            return self._switch_sides(match)
        return [Reply(self._say("paused_no_switch"))]

    def _switch_sides(self, match: Match) -> list[Reply]:
        """End this side's work now and go to the other side."""
        timeline = self._timeline
        assert timeline is not None
        exercise = timeline.exercise
        if not exercise.program.sides:
            return [Reply(self._say("both_sides_at_once", name=capitalized(exercise.name)))]
        i = timeline.block_at(self._now_active())
        if i is None or timeline.blocks[i].kind != "work":
            return [Reply(self._say("not_on_a_side"))]
        following = timeline.blocks[i + 1] if i + 1 < len(timeline.blocks) else None
        if following is None or following.kind != "switch":
            return [Reply(self._say("last_side", side=str(timeline.blocks[i].side)))]
        timeline.end_block_now(i, self.clock.now())
        return []                                 # the switch cue itself says what happens

    def _retime(self, exercise: Exercise) -> None:
        """Rebuild the rest of the timeline after an amount changed, keeping what was already said."""
        assert self._timeline is not None
        self._timeline.retime(self._blocks_for(exercise), self.clock.now())

    def _report_pain(self, match: Match) -> list[Reply]:
        exercise = self.exercise
        if exercise is None and self._pain is not None and self.clock.now() - self._pain.at <= PAIN_ECHO_SECONDS:
            return self._pain_again()
        self._emit("pain_reported", exercise.id if exercise else None, detail={"text": match.text})
        safety = [Reply(s, urgent=i == 0) for i, s in enumerate(self.content.safety)]
        if exercise is None:
            return self._pain_said(safety)
        self._cut_short()
        self._timeline = None
        self._instructions = []
        self.phase = Phase.AFTER_PAIN
        stop_now = Reply(self._say("stop_for_pain", name=exercise.name), urgent=True, exercise=exercise.id)
        return self._pain_said([stop_now] + [Reply(r.text) for r in safety] + [Reply(self._after_pain_question())])

    def _after_pain_question(self) -> str:
        return self._say("after_pain_next" if self._position + 1 < len(self._routine) else "after_pain_another")

    def _pain_said(self, replies: list[Reply]) -> list[Reply]:
        self._pain = _PainReply(self.clock.now(), replies)
        return replies

    def _pain_again(self) -> list[Reply]:
        """The same pain said again a moment later ("ouch, ... that hurts", heard as two
        utterances): no second report and no second advice, only what of the first answer the
        user spoke over (it is dropped when they speak), or the question it asked."""
        assert self._pain is not None
        now, t = self.clock.now(), self._pain.at
        unsaid = []
        for line in self._pain.replies:
            t += self._speech([line])
            if t > now and line.exercise is None:      # not "Stop ... now": that is done
                unsaid.append(replace(line, urgent=False))
        if unsaid:
            return unsaid
        return [Reply(self._after_pain_question())] if self.phase is Phase.AFTER_PAIN else [Reply(self._say("rest_now"))]

    def _go_on_after_pain(self, match: Match) -> list[Reply]:
        if self._position + 1 < len(self._routine):
            return self._go_to(self._position + 1, "gently_now")
        self.phase = Phase.IDLE
        return [Reply(self._say("which_exercise"))]

    def _keep_going(self, match: Match) -> list[Reply]:
        return [Reply(self._say("keep_going"))]

    def _yes_unasked(self, match: Match) -> list[Reply]:
        return [Reply(self._say("yes_unasked"))]

    def _decline_routine(self, match: Match) -> list[Reply]:
        self.phase = Phase.IDLE
        return [Reply(self._say("routine_declined"))]

    def _decline_plan(self, match: Match) -> list[Reply]:
        self.phase = Phase.IDLE
        return [Reply(self._say("plan_declined"))]

    def _stop_after_pain(self, match: Match) -> list[Reply]:
        if self._in_session:
            self._end_session("pain")
        self.phase = Phase.IDLE
        return [Reply(self._say("stop_after_pain"))]

    def _no_unasked(self, match: Match) -> list[Reply]:
        return [Reply(self._say("no_unasked"))]

    def _slower(self, match: Match) -> list[Reply]:
        self.rate = max(RATE_LIMITS[0], round(self.rate / RATE_STEP, 3))
        said = self._say("slower_voice" if self.voiced else "slower_text")
        return [Reply(said, rate=self.rate)]

    def _faster(self, match: Match) -> list[Reply]:
        self.rate = min(RATE_LIMITS[1], round(self.rate * RATE_STEP, 3))
        said = self._say("faster_voice" if self.voiced else "faster_text")
        return [Reply(said, rate=self.rate)]

    def _not_understood(self, match: Match) -> list[Reply]:
        if match.aside == Aside.THANKS:
            return [Reply(self._say("welcome_keep_going" if self.exercise is not None else "welcome"))]
        if match.aside == Aside.GREETING:
            if self.exercise is not None:
                return [Reply(self._say("hello_exercising", name=self.exercise.name))]
            return [Reply(self._say("hello"))]
        if match.aside == Aside.NOT_COVERED:
            return [Reply(self._say("not_covered"))]
        if match.aside == Aside.OTHER_EXERCISE:
            names = [exercise.name for exercise in self.content.exercises.values()]
            listed = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)
            return [Reply(self._say("only_these_exercises", names=listed)), Reply(self._say("name_one_of_them"))]
        return [Reply(self._say("not_understood"))]

    # ----- bookkeeping ----------------------------------------------------------------

    def _say(self, key: str, **values: str) -> str:
        """The coach's line `key` (content/coach.yaml) with its {names} filled in."""
        return self.content.wording.line(key, **values)

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
            except Exception as exc:  # noqa: BLE001 - a broken history must never stop the coach
                self.listeners.remove(listener)
                self.listener_errors.append(f"history disabled: {exc}")
