"""What a person relies on, checked over generated sessions: a rule-based state machine says
random commands at random moments on the virtual clock, and after every step the checks below
must hold (docs/session.md lists them).

The suite runs a fixed budget of examples, the same ones each run; a longer run, with fresh
examples each time (VOICECOACH_INVARIANT_STEPS sets the steps an example):
    VOICECOACH_INVARIANT_RANDOM=1 VOICECOACH_INVARIANT_EXAMPLES=3000 python3 -m pytest -q tests/test_session_invariants.py
"""
from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

import pytest

# Random commands at random moments, a fixed budget of them (docs/session.md): the default run.
pytestmark = pytest.mark.slow

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (pip install -e '.[test]')")
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule  # noqa: E402

from voicecoach.coach.clock import VirtualClock  # noqa: E402
from voicecoach.coach.events import CoachEvent  # noqa: E402
from voicecoach.coach.replies import Reply  # noqa: E402
from voicecoach.coach.session import PAIN_ECHO_SECONDS, Phase, Session  # noqa: E402
from voicecoach.content.loader import load_content  # noqa: E402
from voicecoach.history.answers import NOTHING_YET  # noqa: E402
from voicecoach.history.store import open_history  # noqa: E402
from voicecoach.intents.load import load_catalog  # noqa: E402
from voicecoach.intents.types import INTENT_NAMES, Context, Match  # noqa: E402
from voicecoach.intents.understand import understand  # noqa: E402
from voicecoach.words import say_number, say_seconds  # noqa: E402

CONTENT = load_content()
CATALOG = load_catalog(None, CONTENT.exercise_names())
LINE_SECONDS = 1.0            # every line takes a second to say: leads and instructions are not zero
EXAMPLES = int(os.environ.get("VOICECOACH_INVARIANT_EXAMPLES", "100"))
STEPS = int(os.environ.get("VOICECOACH_INVARIANT_STEPS", "50"))
EPS = 1e-6

# What people say, by the intent it should be heard as: every intent the session handles.
SAYINGS: dict[str, tuple[str, ...]] = {
    "start": ("start", "start the stretch", "do glute bridges", "roll my it band", "start lateral band walks"),
    "pause": ("pause", "hold on"),
    "resume": ("resume", "keep going"),
    "next": ("next", "skip"),
    "previous": ("go back",),
    "repeat": ("say that again",),
    "stop": ("stop", "quit"),
    "help": ("help",),
    "time_left": ("how long left",),
    "set_duration": ("hold for forty five seconds", "set a timer for five minutes", "make it one minute",
                     "twenty seconds"),
    "adjust": ("add ten seconds", "ten seconds less", "two more reps", "one less rep", "one more set",
               "one less set", "drop the last set", "make it longer", "shorter"),
    "report_pain": ("ouch", "that hurts"),
    "yes": ("yes",),
    "no": ("no",),
    "switch_sides": ("switch sides",),
    "slower": ("slower",),
    "faster": ("faster",),
    "whats_next": ("what is next",),
    "ask": ("why does my it band hurt",),
    "ask_history": ("how did i do last time", "what is my streak"),
    "none": ("purple elephant", "thanks"),
}
# An intent, then one of its sayings: each intent as likely as any other, however many sayings it has.
utterances = st.sampled_from(sorted(SAYINGS)).flatmap(lambda intent: st.sampled_from(SAYINGS[intent]))
# Moments worth aiming at: a block starting or ending, a rest, a countdown, the middle of a hold.
AIMED_AT = ("hold_start", "rest", "switch_sides", "set_done", "halfway", "remaining", "countdown", "rep",
            "exercise_done")
LONGEST_AIM = 900.0           # seconds waited at most for an aimed-at cue or block
# Commands whose effect depends on the moment they are said, in groups as likely as each other.
MOMENT_COMMANDS = {
    "hold": ("add ten seconds", "ten seconds less", "make it longer", "shorter", "hold for forty five seconds",
             "set a timer for five minutes", "make it one minute", "twenty seconds"),
    "reps": ("two more reps", "one less rep"),
    "sets": ("one more set", "one less set", "drop the last set"),
    "sides": ("switch sides",),
    "pause": ("pause", "resume"),
    "questions": ("how long left", "say that again", "how did i do last time"),
    "pain": ("ouch", "that hurts"),
    "moving": ("next", "go back", "stop"),
}
moment_commands = st.sampled_from(sorted(MOMENT_COMMANDS)).flatmap(lambda group: st.sampled_from(MOMENT_COMMANDS[group]))

SECONDS_SAID = {say_seconds(s): s for s in range(1, 3601)}
NUMBERS_SAID = {say_number(n): n for n in range(0, 400)}
END_CUES = ("switch_sides", "set_done", "exercise_done", "hold_end")
CUTTING_EVENTS = ("exercise_started", "skipped", "session_ended")


@lru_cache(maxsize=None)
def heard(text: str, context: Context) -> Match:
    return understand(text, CATALOG, context)


def seconds_in(text: str) -> int:
    return SECONDS_SAID[text[:1].lower() + text[1:]]


def number_in(text: str) -> int:
    return NUMBERS_SAID[text[:1].lower() + text[1:]]


def said_amount(start_line: str) -> tuple[str, int]:
    """("seconds", 60) from "Left side. Roll for one minute. Go.", ("reps", 12) from "... Twelve reps. Go."."""
    timed = re.search(r" for (.+?)\. Go\.$", start_line)
    if timed:
        return "seconds", seconds_in(timed[1])
    counted = re.search(r"(?:^|\. )([A-Za-z ]+?) (?:reps|steps|rep|step)\. Go\.$", start_line)
    assert counted, f"a start line that says no amount: {start_line!r}"
    return "reps", number_in(counted[1])


@dataclass
class Work:
    """A work block as heard: from its start line to the cue that ends it."""

    exercise: str
    side: str | None
    set_no: int
    kind: str                      # "seconds" | "reps"
    amount: float | None           # as said: seconds of the hold, or reps (None: the reps counted)
    go_active: float               # active seconds (pauses left out) at its "Go."
    cues: list[tuple[float, Reply]] = field(default_factory=list)   # (active seconds from Go, cue)
    changed_at: float | None = None            # active seconds from Go of the last change
    claims: list[tuple[float, int]] = field(default_factory=list)   # "how long left": (when, seconds)


class SessionMachine(RuleBasedStateMachine):
    """Drives one Session; `check_*` hold after every step."""

    @initialize()
    def begin(self) -> None:
        self.clock = VirtualClock(1000.0)
        self.events: list[CoachEvent] = []
        self.history_dir = _history_dir()
        self.store, problem = open_history(self.history_dir / f"h{next(_DB_NUMBERS)}.db",
                                           wall_clock=lambda: 1.7e9 + self.clock.now())
        assert self.store is not None, problem
        self.store.db.execute("PRAGMA synchronous=OFF")        # test speed; the records are the same
        self.session = self._new_session()
        self.active = 0.0                          # the session's active time: clock minus pauses
        self.paused_since: float | None = None
        self.paused_in = ""
        self.work: Work | None = None
        self.works_done: list[tuple[Work, float]] = []          # (work, its length as heard)
        self.promise: dict[str, tuple[str, int]] = {}          # exercise -> what its next start says
        self.session_hold: int | None = None                   # "holds will be N this session"
        self.current: str | None = None                        # the exercise started last
        self.in_session = False
        self.pain: tuple[float, list[Reply]] | None = None     # the last pain report and its answer
        self.sessions: list[list] = []          # [started at, did something] of each session, in order
        self.idle_pains: list[float] = []       # pain reported outside a session: the session before owns it
        self.session.begin()

    def _new_session(self) -> Session:
        return Session(CONTENT, self.clock, listeners=[self, self.store],
                       speech_seconds=lambda text, wpm: LINE_SECONDS if text else 0.0, history=self.store.answer)

    @precondition(lambda self: self.session.wants_exit)
    @rule(after=st.floats(0.0, 3 * 86400.0))
    def leave_and_come_back(self, after: float) -> None:
        """The user left; the program starts again later, with the same history."""
        self.session.close("quit")
        self._move_to(self.clock.now() + after)
        self.session = self._new_session()
        self.work = None
        self.paused_since = None
        self.promise.clear()                    # a change is for this run of the program
        self.session_hold = None
        self.current = None
        self.pain = None
        self.session.begin()

    def teardown(self) -> None:
        self.session.close("quit")
        self.check_history_records()
        self.store.close()

    # ----- the listener: what the session records ------------------------------------------

    def record(self, event: CoachEvent) -> None:
        self.events.append(event)

    def _new_events(self, since: int) -> list[CoachEvent]:
        return self.events[since:]

    # ----- rules ---------------------------------------------------------------------------

    @precondition(lambda self: not self.session.wants_exit)
    @rule(text=utterances)
    def say(self, text: str) -> None:
        self._say(text)

    @precondition(lambda self: not self.session.wants_exit)
    @rule(text=st.sampled_from(SAYINGS["start"]))
    def start(self, text: str) -> None:
        self._say(text)

    @precondition(lambda self: not self.session.wants_exit and self.session.next_due() is not None)
    @rule(phase=st.sampled_from(["work", "rest", "switch", "intro"]), then=moment_commands,
          into=st.floats(0.0, 1.0))
    def in_a_block(self, phase: str, then: str, into: float) -> None:
        """Wait for the next block of a kind (a rest, a side's work ...), then say something in it."""
        deadline = self.clock.now() + LONGEST_AIM
        while self.session.view().phase != phase:
            due = self.session.next_due()
            if due is None or due > deadline:
                return
            self._move_to(due)
            self._tick()
        self._wait(self.session.view().remaining * into)
        if not self.session.wants_exit:
            self._say(then)

    @precondition(lambda self: not self.session.wants_exit and self.session.next_due() is not None)
    @rule(cue=st.sampled_from(AIMED_AT), then=st.one_of(st.just(""), moment_commands),
          after=st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.5]))
    def at_a_cue(self, cue: str, then: str, after: float) -> None:
        """Wait for the next cue of a kind (a rest, a countdown ...), then say something a moment after."""
        deadline = self.clock.now() + LONGEST_AIM
        while (due := self.session.next_due()) is not None and due <= deadline:
            self._move_to(due)
            if any(said.cue == cue for said in self._tick()):
                break
        self._wait(after)
        if then and not self.session.wants_exit:
            self._say(then)

    @precondition(lambda self: not self.session.wants_exit)
    @rule(first=st.sampled_from(SAYINGS["report_pain"]), second=st.sampled_from(SAYINGS["report_pain"]),
          gap=st.floats(0.0, 2 * PAIN_ECHO_SECONDS))
    def pain_in_two_parts(self, first: str, second: str, gap: float) -> None:
        """ "ouch, ... that hurts": one pain said as two utterances a moment apart."""
        self._say(first)
        self._wait(gap)
        self._say(second)

    @precondition(lambda self: not self.session.wants_exit)
    @rule(seconds=st.one_of(st.floats(0.0, 3.0), st.floats(0.0, 40.0), st.floats(0.0, 400.0)))
    def wait(self, seconds: float) -> None:
        self._wait(seconds)

    @precondition(lambda self: not self.session.wants_exit and self.session.next_due() is not None)
    @rule(fraction=st.sampled_from([1.0, 1.0, 0.5, 0.99]), then=st.one_of(st.just(""), utterances))
    def close_to_the_next_cue(self, fraction: float, then: str) -> None:
        """Right at (or just before) the next cue, and say something there."""
        due = self.session.next_due()
        assert due is not None
        self._wait(max(0.0, due - self.clock.now()) * fraction)
        if then:
            self._say(then)

    # ----- driving -------------------------------------------------------------------------

    def _wait(self, seconds: float) -> None:
        target = self.clock.now() + seconds
        while (due := self.session.next_due()) is not None and due <= target:
            assert due >= self.clock.now() - EPS, "a cue is due in the past"
            self._move_to(due)
            self._tick()
        self._move_to(target)
        cues = self._tick()
        if self.session.phase is Phase.PAUSED:
            assert cues == [], "a cue while paused"

    def _move_to(self, t: float) -> None:
        t = max(t, self.clock.now())
        if self.paused_since is None:
            self.active += t - self.clock.now()
        self.clock.set(t)

    def _tick(self) -> list[Reply]:
        before = len(self.events)
        cues = self.session.tick()
        self.check_cues(cues)
        self._follow(self._new_events(before))
        return cues

    def _follow(self, events: list[CoachEvent]) -> None:
        """What the session did, as its events say: which exercise, which session."""
        for event in events:
            if event.kind == "session_started":
                self.in_session = True
                self.sessions.append([event.t, False])
            elif event.kind == "exercise_started":
                if self.current is not None and self.current != event.exercise:
                    self.promise.pop(self.current, None)        # a change is for its exercise only
                self.current = event.exercise
                self.pain = None                                # a new pain report from here on
            elif event.kind == "session_ended":
                self.sessions[-1][1] = self._session_did_something()
                self.in_session = False
                self.promise.clear()
                self.session_hold = None
                self.current = None
            elif event.kind == "pain_reported" and not self.in_session:
                self.idle_pains.append(event.t)

    def _say(self, text: str) -> None:
        session = self.session
        match = heard(text, session.context())
        before_view = session.view()
        before_events = len(self.events)
        was_exercising = session.exercise is not None
        had_past = self._past_sessions_that_did_something()
        replies = session.handle(match)
        spoken = [r.spoken() for r in replies]
        events = self._new_events(before_events)
        self.check_answer(match, spoken, events, before_view, was_exercising)
        self._follow(events)
        if match.intent == "ask_history" and spoken and spoken[0].text.startswith(("Your", "We haven't")) \
                and match.slots.get("what", "last_session") == "last_session":
            self.check_history_answer(spoken[0].text, had_past)
        self._note_pause(before_view)
        self._tick()                                # as the program does: the answer, then what is due

    def _past_sessions_that_did_something(self) -> int:
        ended = self.sessions[:-1] if self.in_session else self.sessions
        owners = {max((k for k, (start, _) in enumerate(self.sessions) if start <= at), default=None)
                  for at in self.idle_pains}
        return sum(1 for k, (_, did) in enumerate(ended) if did or k in owners)

    def _note_pause(self, before) -> None:
        paused = self.session.phase is Phase.PAUSED
        if paused and self.paused_since is None:
            self.paused_since = self.clock.now()
            self.paused_in = before.phase                # the kind of block the pause holds
        elif not paused and self.paused_since is not None:
            self.paused_since = None

    # ----- checks on cues ------------------------------------------------------------------

    def check_cues(self, cues: list[Reply]) -> None:
        view = self.session.view()
        for cue in cues:
            if cue.cue == "hold_start":
                assert self.work is None, f"a start line while another block is under way: {cue.text}"
                self._start_work(cue)
            elif self.work is not None and cue.exercise == self.work.exercise:
                self._work_cue(cue)
            elif cue.cue in ("halfway", "remaining", "rep"):
                pytest.fail(f"{cue.cue} cue with no block under way: {cue.text!r}")
            elif cue.cue == "countdown" and view.phase == "rest" and view.exercise == cue.exercise:
                assert view.remaining == pytest.approx(number_in(cue.text.rstrip(".")), abs=1e-6), \
                    f"{cue.text} with {view.remaining} s of rest left"
        self.check_side_shown()

    def _start_work(self, cue: Reply) -> None:
        kind, amount = said_amount(cue.text)
        view = self.session.view()
        exercise = CONTENT.exercises[cue.exercise]
        set_no = int(number_in(m[1])) if (m := re.match(r"Set ([a-z ]+?) of ", cue.text)) else 1
        for side in exercise.program.sides:
            assert (f"{side.capitalize()} side." in cue.text) == (side == cue.side), \
                f"the start line of the {cue.side} side: {cue.text!r}"
        promised = self.promise.get(cue.exercise) or (("seconds", self.session_hold) if self.session_hold else None)
        if promised is not None and promised[0] == kind:
            assert amount == promised[1], f"said {promised[1]} {kind}, the start line says {cue.text!r}"
        expected = view.block_seconds if kind == "seconds" else view.reps
        if view.phase == "work" and view.exercise == cue.exercise:
            assert amount == pytest.approx(expected), f"the start line says {amount}, the block is {expected}"
        self.work = Work(cue.exercise, cue.side, set_no, kind, amount, self.active + LINE_SECONDS)
        assert exercise.is_hold == (kind == "seconds")

    def _work_cue(self, cue: Reply) -> None:
        work = self.work
        assert work is not None
        at = self.active - work.go_active
        if work.cues:
            assert at >= work.cues[-1][0] - EPS, "cues out of order"
        work.cues.append((at, cue))
        left = work.amount - at if work.amount is not None else 0.0
        if cue.cue == "halfway":
            assert work.kind == "seconds"
            assert [c.cue for _, c in work.cues].count("halfway") == 1, "a second Halfway in one hold"
            assert at == pytest.approx(work.amount / 2, abs=1e-6), f"Halfway at {at} of {work.amount}"
        elif cue.cue == "remaining":
            assert left == pytest.approx(10, abs=1e-6), f"'Ten seconds left.' with {left} s left"
        elif cue.cue == "countdown":
            assert left == pytest.approx(number_in(cue.text.rstrip(".")), abs=1e-6), \
                f"{cue.text} with {left} s left"
        elif cue.cue == "rep":
            n = number_in(cue.text.split(".")[0])
            counted = [c for _, c in work.cues if c.cue == "rep"]
            assert n == len(counted) or work.changed_at is not None, f"count {n} after {len(counted) - 1}"
        elif cue.cue in END_CUES:
            self._end_work(cue, at)

    def _end_work(self, cue: Reply, at: float) -> None:
        work = self.work
        assert work is not None
        exercise = CONTENT.exercises[work.exercise]
        sides = exercise.program.sides
        if cue.cue == "switch_sides":
            assert sides and work.side == sides[0], f"'Switch sides' ends the {work.side} side"
            assert cue.side == sides[1], f"switching to {cue.side}"
        elif sides:
            assert work.side == sides[-1], f"{cue.cue} ends the {work.side} side, a first side"
        if work.kind == "seconds":
            assert at == pytest.approx(work.amount, abs=1e-6), \
                f"a hold said as {work.amount} s lasted {at} s (active)"
            countdown = [(t, c.text) for t, c in work.cues if c.cue == "countdown"]
            if work.amount >= 4 and (work.changed_at is None or work.changed_at < work.amount - 3):
                assert [text for _, text in countdown[-3:]] == ["Three.", "Two.", "One."], countdown
                assert [t for t, _ in countdown[-3:]] == pytest.approx([at - 3, at - 2, at - 1], abs=1e-6)
            for claimed_at, left in work.claims:
                assert abs((at - claimed_at) - left) <= 1.0 + EPS, f"'{left} s left' at {claimed_at}, ended at {at}"
        else:
            reps = [c for _, c in work.cues if c.cue == "rep"]
            assert work.amount is None or len(reps) == work.amount, f"{len(reps)} counted of {work.amount} said"
            for claimed_at, left in work.claims:
                counted_after = sum(1 for t, c in work.cues if c.cue == "rep" and t > claimed_at + EPS)
                assert counted_after == left, f"'{left} to go' and {counted_after} counted"
        self.works_done.append((work, at))
        self.work = None

    def check_side_shown(self) -> None:
        view = self.session.view()
        if view.phase == "work" and self.work is not None and view.exercise == self.work.exercise:
            assert view.side == self.work.side, f"shown {view.side}, held {self.work.side}"

    # ----- checks on answers ---------------------------------------------------------------

    def check_answer(self, match: Match, spoken: list[Reply], events: list[CoachEvent], before,
                     was_exercising: bool) -> None:
        texts = [r.text for r in spoken]
        kinds = [e.kind for e in events]
        after = self.session.view()
        if self.session.phase is Phase.PAUSED:
            assert self.session.next_due() is None, "a cue is due while paused"
        if match.intent == "report_pain":
            self.check_pain(spoken, events, was_exercising)
        if any(kind in CUTTING_EVENTS for kind in kinds) or "pain_reported" in kinds:
            self.work = None                           # the block was left before its end
        if match.intent == "switch_sides" and not spoken and self.work is not None:
            done = max(0.0, self.active - self.work.go_active)      # it ends now, with what was done
            self.work.amount = done if self.work.kind == "seconds" else None
            self.work.changed_at = done
            self.work.claims.clear()
        if match.intent in ("adjust", "set_duration"):
            self.check_change(texts, before, after)
        if match.intent == "time_left" and self._in_work(after):
            self._claim(texts[0])

    def check_change(self, texts: list[str], before, after) -> None:
        """What the coach says it changed is what changed; a refusal changes nothing."""
        said = texts[0] if texts else ""
        if not said.startswith("Okay"):
            assert (after.block_seconds, after.reps, after.sets) == (before.block_seconds, before.reps, before.sets), \
                f"{said!r} changed the exercise"
            return
        hold = re.search(r"holding for (.+?)\.$", said) or re.match(r"Okay, (.+?) of .+, for this time only\.$", said)
        reps = re.match(r"Okay, ([a-z ]+?) (?:reps|steps|rep|step) a set(, this set included|; that's this set done)?\.$",
                        said)
        sets = re.match(r"Okay, ([a-z ]+?) sets? of (.+) in all\.$", said)
        idle = re.match(r"Okay\. Holds will be (.+) this session\.$", said)
        exercise = self.session.exercise
        if idle:
            self.session_hold = seconds_in(idle[1])
            return
        assert exercise is not None, f"{said!r} with no exercise"
        # The block heard as under way gets the change if it still was (its end may be due this very moment).
        work = self.work if self._in_work(before) else None
        if hold:
            seconds = seconds_in(hold[1])
            self.promise[exercise.id] = ("seconds", seconds)
            if work is not None and work.exercise == exercise.id and work.kind == "seconds":
                done = self.active - work.go_active
                work.amount = max(seconds, done)
                work.changed_at = done
                work.claims.clear()
                if self._in_work(after):
                    assert after.block_seconds == pytest.approx(work.amount), (said, after)
        elif reps:
            count = number_in(reps[1])
            self.promise[exercise.id] = ("reps", count)
            if reps[2] and work is not None and work.exercise == exercise.id:
                counted = sum(1 for _, c in work.cues if c.cue == "rep")
                work.amount = count if reps[2].startswith(",") else counted
                work.changed_at = self.active - work.go_active
                work.claims.clear()
            elif work is not None and work.exercise == exercise.id and after.phase == "work":
                pytest.fail(f"{said!r} in a set under way does not say whether it counts for this set")
        elif sets:
            assert after.sets == number_in(sets[1]), (said, after)
        else:
            pytest.fail(f"a change said in words this test cannot read: {said!r}")

    def _in_work(self, view) -> bool:
        work = self.work
        phase = self.paused_in if view.phase == "paused" else view.phase
        return (work is not None and phase == "work" and (view.exercise, view.side, view.set_no)
                == (work.exercise, work.side, work.set_no))

    def _claim(self, text: str) -> None:
        work = self.work
        assert work is not None
        at = self.active - work.go_active
        timed = re.match(r"^(.+?) left(?: on the (\w+) side)?\.$", text)
        counted = re.match(r"^(.+?) (?:reps|steps|rep|step) to go in this set\.$", text)
        if timed and work.kind == "seconds":
            if timed[2]:
                assert timed[2] == work.side, f"{text!r} on the {work.side} side"
            work.claims.append((at, seconds_in(timed[1])))
        elif counted and work.kind == "reps":
            work.claims.append((at, number_in(counted[1])))

    def check_pain(self, spoken: list[Reply], events: list[CoachEvent], was_exercising: bool) -> None:
        texts = [r.text for r in spoken]
        reports = [e for e in events if e.kind == "pain_reported"]
        assert len(reports) <= 1, "two pain reports for one utterance"
        now = self.clock.now()
        echo = (not was_exercising and self.pain is not None and now - self.pain[0] <= PAIN_ECHO_SECONDS)
        if was_exercising:
            assert len(reports) == 1
            assert self.session.exercise is None and self.session.next_due() is None, "pain did not stop the exercise"
            assert self.session.phase is Phase.AFTER_PAIN
        if echo:
            assert not reports, "the same pain reported twice"
            first_at, first = self.pain
            t, unsaid = first_at, []
            for line in first:
                t += LINE_SECONDS
                if t > now and line.exercise is None:
                    unsaid.append(line.text)
            advice = [text for text in texts if text in CONTENT.safety]
            assert advice == [text for text in unsaid if text in CONTENT.safety], \
                f"advice again: {advice} (unsaid of the first answer: {unsaid})"
        else:
            assert len(reports) == 1
            assert [text for text in texts if text in CONTENT.safety] == list(CONTENT.safety)
            self.pain = (now, spoken)
        if self.session.exercise is not None:
            pytest.fail("an exercise is running after a pain report")

    def check_history_answer(self, text: str, past: int) -> None:
        """ "How did I do last time" is about sessions that ended, never the one under way."""
        if not past:
            assert text == NOTHING_YET, f"{text!r} with no earlier session that did something"
        else:
            assert text.startswith("Your last session was"), text

    def _session_did_something(self) -> bool:
        starts = [i for i, e in enumerate(self.events) if e.kind == "session_started"]
        mine = self.events[starts[-1]:] if starts else []
        return any(e.kind in ("side_done", "side_partial", "pain_reported") for e in mine)

    def check_history_records(self) -> None:
        """The store's record of each session is what the session did: the sides done, as long
        as they were heard, and how it ended."""
        done = [e for e in self.events if e.kind == "side_done"]
        assert len(done) == len(self.works_done), f"{len(done)} sides recorded, {len(self.works_done)} heard ended"
        for event, (work, length) in zip(done, self.works_done):
            assert (event.exercise, event.side) == (work.exercise, work.side)
            heard_amount = length if work.kind == "seconds" else len([c for _, c in work.cues if c.cue == "rep"])
            assert event.value == pytest.approx(heard_amount, abs=1e-6), (event, work)
        stored = self.store.sessions()
        started = [e for e in self.events if e.kind == "session_started"]
        ended = [e for e in self.events if e.kind == "session_ended"]
        assert len(stored) == len(started) and len(ended) == len(started)
        assert [s.end_reason for s in stored] == [e.detail["reason"] for e in ended]
        assert all(s.ended_at is not None for s in stored)
        assert sum(len(s.done) for s in stored) == len(done)

    @invariant()
    def paused_says_nothing(self) -> None:
        if self.session.phase is Phase.PAUSED:
            assert self.session.next_due() is None and self.session.tick() == []


_DIRS: list = []
_DB_NUMBERS = itertools.count()


def _history_dir():
    """One temporary folder for the run's history files, removed when the run ends."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    if not _DIRS:
        _DIRS.append(Path(tempfile.mkdtemp(prefix="vc-invariants-")))
        atexit.register(shutil.rmtree, _DIRS[0], ignore_errors=True)
    return _DIRS[0]


SessionMachine.TestCase.settings = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                                            derandomize=os.environ.get("VOICECOACH_INVARIANT_RANDOM") is None,
                                            database=None, suppress_health_check=list(HealthCheck))
TestSessionInvariants = SessionMachine.TestCase


def test_the_sayings_cover_every_intent_and_are_heard_as_it():
    assert set(SAYINGS) == set(INTENT_NAMES)
    exercising = Context(exercising=True)
    for intent, texts in SAYINGS.items():
        for text in texts:
            context = Context(expecting="yes_no") if intent in ("yes", "no") else exercising
            assert heard(text, context).intent == intent, text


# ----- sessions it found on the code before issue 25, kept as named regression tests ----------

def replay(steps) -> None:
    """Run the checks over one session: (rule, arguments) in order, then the end-of-run checks."""
    machine = SessionMachine()
    machine.begin()
    for step, arguments in steps:
        getattr(machine, step)(**arguments)
        machine.paused_says_nothing()
    machine.teardown()


def test_one_less_set_at_the_rest_cue_does_not_crash():
    replay([("start", {"text": "start"}), ("say", {"text": "why does my it band hurt"}),
            ("at_a_cue", {"cue": "rest", "then": "one less set", "after": 0.0})])


def test_changes_around_ten_seconds_left_keep_every_later_cue_true():
    replay([("start", {"text": "start"}), ("say", {"text": "add ten seconds"}),
            ("at_a_cue", {"cue": "remaining", "then": "ten seconds less", "after": 0.5}),
            ("say", {"text": "add ten seconds"}), ("say", {"text": "add ten seconds"}),
            ("say", {"text": "add ten seconds"}), ("wait", {"seconds": 400.0})])


def test_a_hold_shortened_in_its_countdown_is_as_long_as_said():
    replay([("start", {"text": "start"}), ("say", {"text": "add ten seconds"}), ("wait", {"seconds": 67.0}),
            ("say", {"text": "ten seconds less"}),
            ("at_a_cue", {"cue": "countdown", "then": "ten seconds less", "after": 0.0}), ("wait", {"seconds": 400.0})])


def test_ten_seconds_more_at_the_switch_keeps_ten_seconds_left_true():
    replay([("start", {"text": "start"}), ("say", {"text": "add ten seconds"}),
            ("at_a_cue", {"cue": "switch_sides", "then": "add ten seconds", "after": 0.0}),
            ("say", {"text": "add ten seconds"}), ("wait", {"seconds": 400.0})])
