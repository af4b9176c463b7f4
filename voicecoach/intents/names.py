"""The names of what an utterance can mean: one home for every intent and aside name.

The templates (voicecoach/intents/*.yaml) define these names; code spells them as
`Intent.PAUSE` or `Aside.THANKS`, never as bare strings, and tests/test_intent_names.py checks
the two agree both ways. Each member is a `str` equal to its name in the templates, so a
`Match.intent` read from the catalog compares equal (`match.intent == Intent.STOP`), keys a
dict and prints as the plain name.
"""
from __future__ import annotations

from enum import Enum


class _Name(str, Enum):
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class Intent(_Name):
    """A command or question (session.yaml, ask.yaml, history.yaml), or NONE for no command."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    NEXT = "next"
    PREVIOUS = "previous"
    REPEAT = "repeat"
    STOP = "stop"
    HELP = "help"
    TIME_LEFT = "time_left"
    SET_DURATION = "set_duration"
    ADJUST = "adjust"
    WHATS_NEXT = "whats_next"
    SWITCH_SIDES = "switch_sides"
    REPORT_PAIN = "report_pain"
    YES = "yes"
    NO = "no"
    SLOWER = "slower"
    FASTER = "faster"
    ASK = "ask"
    ASK_HISTORY = "ask_history"
    NONE = "none"            # not a command; no template may use this name


class Aside(_Name):
    """What an utterance that is not a command may still be (asides.yaml), so the coach answers
    in kind: thanks and greetings get a friendly word, a health question the article does not
    answer gets a referral, another exercise a word on what the coach does."""

    THANKS = "thanks"
    GREETING = "greeting"
    NOT_COVERED = "not_covered"
    OTHER_EXERCISE = "other_exercise"
