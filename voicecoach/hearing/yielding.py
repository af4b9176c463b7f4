"""The coach that yields: when the user starts talking over it, it falls silent and listens.

    SPEAKING --user starts--> YIELDED  (fade the coach out: silent within 150 ms)
    YIELDED  --acted on-----> QUIET    (the command's replies take over)
    YIELDED  --nothing------> SPEAKING (resume the cut sentence from its start)
    YIELDED  --too long-----> SPEAKING (the same, should the verdict never come)

"Nothing" is a sound too short to be a word, no words, or words not to be acted on while
the coach speaks (its own voice coming back, or a request that is not a barge-in). The
policy is pure: events in with their clock time, the action to take out. The app turns
hearing events into policy events and actions into calls on the output stage; the tests
drive it on a virtual clock.
"""
from __future__ import annotations

from dataclasses import dataclass
import threading
from enum import Enum
from typing import Callable

MAX_YIELD_S = 10.0       # longest the coach waits for a verdict (an utterance is at most 8 s, plus decoding)


class VoiceState(Enum):
    QUIET = "quiet"          # the coach has nothing to say
    SPEAKING = "speaking"    # a line is being said
    YIELDED = "yielded"      # the user cut in; the coach is silent, holding the cut sentence


class Happening(Enum):
    LINE_STARTED = "line started"      # the coach began saying something
    LINE_ENDED = "line ended"          # the coach has nothing left to say
    USER_STARTED = "user started"      # speech detected on the cancelled signal
    USER_ACTED = "user acted"          # the user's command is to be acted on
    USER_NOTHING = "user nothing"      # the sound was nothing to act on
    TICK = "tick"                      # time passes (checks the yield's time limit)


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
    (VoiceState.YIELDED, Happening.USER_NOTHING): (VoiceState.SPEAKING, Action.RESUME),
}


@dataclass
class YieldPolicy:
    """The state machine; `on(happening, at)` returns what to do now."""

    max_yield_s: float = MAX_YIELD_S
    state: VoiceState = VoiceState.QUIET
    yielded_at: float | None = None

    def on(self, happening: Happening, at: float) -> Action:
        if (happening is Happening.TICK and self.state is VoiceState.YIELDED and self.yielded_at is not None
                and at - self.yielded_at >= self.max_yield_s):
            happening = Happening.USER_NOTHING
        state, action = TRANSITIONS.get((self.state, happening), (self.state, Action.NONE))
        self.state = state
        self.yielded_at = at if state is VoiceState.YIELDED and action is Action.FADE_OUT else (
            self.yielded_at if state is VoiceState.YIELDED else None)
        return action


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
            elif not speaking and self.policy.state is VoiceState.SPEAKING:
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
