"""The coach that yields: when the user starts talking over it, it falls silent and listens.

    SPEAKING --user starts--> YIELDED  (fade the coach out: silent within 150 ms)
    YIELDED  --acted on-----> QUIET    (the command's replies take over)
    YIELDED  --nothing------> WARY     (resume the cut sentence from its start)
    YIELDED  --too long-----> WARY     (the same, should the verdict never come)
    WARY     --calm---------> SPEAKING (WARY_S have passed)

WARY is speaking without yielding, for a little while after a yield that came to nothing:
what trips such a yield is most often the coach's own echo at a word's onset, and the resumed
sentence has that onset again. Stop, pause and pain are still acted on then; only the fade
waits. The policy is pure: events in with their clock time, the action to take out.
Measured in docs/hearing.md ("A coach that yields").
"""
from __future__ import annotations

from dataclasses import dataclass
import threading
from enum import Enum
from typing import Callable

MAX_YIELD_S = 10.0       # longest the coach waits for a verdict (an utterance is at most 8 s, plus decoding)
WARY_S = 2.0             # after a yield that came to nothing, how long the coach goes on without yielding


class VoiceState(Enum):
    QUIET = "quiet"          # the coach has nothing to say
    SPEAKING = "speaking"    # a line is being said
    YIELDED = "yielded"      # the user cut in; the coach is silent, holding the cut sentence
    WARY = "wary"            # speaking again after a yield that came to nothing; not yielding for now


class Happening(Enum):
    LINE_STARTED = "line started"      # the coach began saying something
    LINE_ENDED = "line ended"          # the coach has nothing left to say
    USER_STARTED = "user started"      # speech detected on the cancelled signal
    USER_ACTED = "user acted"          # the user's command is to be acted on
    USER_NOTHING = "user nothing"      # the sound was nothing to act on
    TICK = "tick"                      # time passes (checks the yield's time limit)
    CALM = "calm"                      # WARY_S have passed since the coach resumed


class Action(Enum):
    NONE = "none"
    FADE_OUT = "fade out"              # silence the coach, keeping the cut sentence and what follows
    RESUME = "resume"                  # say the cut sentence again from its start, then the rest
    RELEASE = "release"                # let go of the hold: the command's replies decide what is said


TRANSITIONS: dict[tuple[VoiceState, Happening], tuple[VoiceState, Action]] = {
    (VoiceState.QUIET, Happening.LINE_STARTED): (VoiceState.SPEAKING, Action.NONE),
    (VoiceState.SPEAKING, Happening.LINE_ENDED): (VoiceState.QUIET, Action.NONE),
    (VoiceState.SPEAKING, Happening.USER_STARTED): (VoiceState.YIELDED, Action.FADE_OUT),
    (VoiceState.YIELDED, Happening.USER_ACTED): (VoiceState.QUIET, Action.RELEASE),
    (VoiceState.YIELDED, Happening.USER_NOTHING): (VoiceState.WARY, Action.RESUME),
    (VoiceState.WARY, Happening.CALM): (VoiceState.SPEAKING, Action.NONE),
    (VoiceState.WARY, Happening.LINE_ENDED): (VoiceState.QUIET, Action.NONE),
}


@dataclass
class YieldPolicy:
    """The state machine; `on(happening, at)` returns what to do now."""

    max_yield_s: float = MAX_YIELD_S
    wary_s: float = WARY_S
    state: VoiceState = VoiceState.QUIET
    yielded_at: float | None = None
    resumed_at: float | None = None

    def on(self, happening: Happening, at: float) -> Action:
        if happening is Happening.TICK:
            happening = self._timed(at)
        state, action = TRANSITIONS.get((self.state, happening), (self.state, Action.NONE))
        self.state = state
        self.yielded_at = at if state is VoiceState.YIELDED and action is Action.FADE_OUT else (
            self.yielded_at if state is VoiceState.YIELDED else None)
        self.resumed_at = at if action is Action.RESUME else (self.resumed_at if state is VoiceState.WARY else None)
        return action

    def _timed(self, at: float) -> Happening:
        """What the passing of time means in this state."""
        if self.state is VoiceState.YIELDED and self.yielded_at is not None and at - self.yielded_at >= self.max_yield_s:
            return Happening.USER_NOTHING
        if self.state is VoiceState.WARY and self.resumed_at is not None and at - self.resumed_at >= self.wary_s:
            return Happening.CALM
        return Happening.TICK


def happening_for(event: object) -> Happening | None:
    """The policy's view of a hearing event (None: nothing the policy cares about)."""
    from voicecoach.hearing.loop import (ListenFailed, NothingHeard, SpeechDropped, SpeechStarted,
                                         UtteranceHeard, UtteranceIgnored)

    if isinstance(event, SpeechStarted):
        return Happening.USER_STARTED
    if isinstance(event, UtteranceHeard):
        return Happening.USER_ACTED
    if isinstance(event, (SpeechDropped, UtteranceIgnored, NothingHeard, ListenFailed)):
        return Happening.USER_NOTHING
    return None


class Yielding:
    """Wires the policy to a voice: `hold()` and `resume()` on it, `speaking()` asked every frame.

    The caller reports each frame (`frame(at)`) and each hearing event (`heard(event, at)`);
    for an utterance to act on, it delivers the replies first and then reports it, so
    urgent replies have already replaced what was held when the hold is let go.
    """

    def __init__(self, hold: Callable[[], None], resume: Callable[[], None], speaking: Callable[[], bool],
                 policy: YieldPolicy | None = None) -> None:
        self._hold, self._resume, self._speaking = hold, resume, speaking
        self.policy = policy or YieldPolicy()
        self.yields: list[float] = []          # clock times the coach faded out for the user
        self._lock = threading.Lock()          # hearing's thread and the app's both report

    def frame(self, at: float) -> None:
        with self._lock:
            speaking = self._speaking()
            if speaking and self.policy.state is VoiceState.QUIET:
                self._apply(self.policy.on(Happening.LINE_STARTED, at), at)
            elif not speaking and self.policy.state in (VoiceState.SPEAKING, VoiceState.WARY):
                self._apply(self.policy.on(Happening.LINE_ENDED, at), at)
            self._apply(self.policy.on(Happening.TICK, at), at)

    def heard(self, event: object, at: float) -> None:
        happening = happening_for(event)
        if happening is not None:
            with self._lock:
                self._apply(self.policy.on(happening, at), at)

    def _apply(self, action: Action, at: float) -> None:
        if action is Action.FADE_OUT:
            self.yields.append(at)
            self._hold()
        elif action in (Action.RESUME, Action.RELEASE):
            self._resume()
