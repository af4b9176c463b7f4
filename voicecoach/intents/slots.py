"""Slots: how a reading's label becomes an intent with slots, and the numbers a line carries.

The classifier's labels join an intent with the value of its one categorical slot
("ask:causes"), so this module is where a label turns back into intent + slots, where the
template matcher's helper slots (`unit`, `sign`, `count` of `adjust`) become one signed
amount, and where amounts are read from the words of a line the templates did not explain.
"""
from __future__ import annotations

from typing import Any

from voicecoach.intents.names import Intent
from voicecoach.intents.normalize import DURATION_PREFIX, NUMBER_PREFIX, match_tokens

# The categorical slot each intent's label carries: intent -> (slot, value meaning "no slot").
LABEL_SLOTS: dict[str, tuple[str, str | None]] = {
    Intent.ASK: ("topic", None),
    Intent.START: ("exercise", "routine"),
    Intent.ASK_HISTORY: ("what", None),
}
ADJUST_UNITS = ("seconds", "reps", "sets")
# Words that make a relative change go down ("take ten seconds off", "two fewer reps").
_DOWN_WORDS = frozenset(["less", "fewer", "off", "shorter", "short", "minus", "subtract", "remove", "reduce", "cut", "drop", "lower", "decrease", "shorten", "easier", "easy", "knock", "shave", "lose"])
_REP_WORDS = frozenset(["rep", "reps", "repetition", "repetitions"])
_SET_WORDS = frozenset(["set", "sets", "round", "rounds"])


def label_of(intent: str, slots: dict[str, Any]) -> str:
    """The classifier label of an intent with its slots ("ask:causes", "adjust:-", "pause")."""
    if intent in LABEL_SLOTS:
        slot, default = LABEL_SLOTS[intent]
        value = slots.get(slot, default)
        return f"{intent}:{value}" if value is not None else intent
    if intent == Intent.ADJUST:
        amount = next((v for k, v in slots.items() if k in (*ADJUST_UNITS, "direction")), 1)
        return "adjust:-" if amount < 0 else "adjust:+"
    return intent


def split_label(label: str) -> tuple[str, dict[str, Any]]:
    """A label back into intent and its categorical slot ("start:routine" -> start, {})."""
    intent, _, value = label.partition(":")
    if intent in LABEL_SLOTS and value:
        slot, default = LABEL_SLOTS[intent]
        return intent, ({} if value == default else {slot: value})
    if intent == Intent.ADJUST:
        return intent, {"direction": -1 if value == "-" else 1}
    return intent, {}


def finish_slots(intent: str, slots: dict[str, Any]) -> dict[str, Any]:
    """The template matcher's slots as the coach takes them: `adjust`'s unit, sign and count
    become one signed amount ({seconds: -10}, {reps: 2}) or a bare direction."""
    if intent != Intent.ADJUST:
        return dict(slots)
    sign = -1 if slots.get("sign", 1) < 0 else 1
    unit = slots.get("unit")
    # A count of reps or sets not said is one ("drop the last set"); a duration is always said.
    amount = slots.get("seconds") if unit == "seconds" else slots.get("count", 1) if unit in ("reps", "sets") else None
    if unit is None or amount is None:
        return {"direction": sign}
    return {unit: sign * int(amount)}


def amounts(text: str) -> tuple[int | None, int | None]:
    """The duration in seconds and the bare number a line carries, when it carries one."""
    seconds = number = None
    for token in match_tokens(text):
        if seconds is None and token.startswith(DURATION_PREFIX):
            seconds = int(token[len(DURATION_PREFIX):])
        elif number is None and token.startswith(NUMBER_PREFIX):
            number = int(token[len(NUMBER_PREFIX):])
    return seconds, number


def duration_slots(text: str) -> dict[str, Any] | None:
    """{seconds} for set_duration: a duration, or a bare number taken as seconds."""
    seconds, number = amounts(text)
    value = seconds if seconds is not None else number
    return None if value is None else {"seconds": value}


def adjust_slots(text: str, direction: int) -> dict[str, Any]:
    """The signed amount of a relative change read from its words; `direction` is the
    classifier's reading of up or down, which the words can overrule ("take ten off")."""
    tokens = match_tokens(text)
    words = set(tokens)
    sign = -1 if words & _DOWN_WORDS else direction
    seconds, number = amounts(text)
    if seconds is not None:
        return {"seconds": sign * seconds}
    if words & _REP_WORDS or words & _SET_WORDS:
        unit = "reps" if words & _REP_WORDS else "sets"
        count = number if number is not None else 1 if words & {"one", "another", "extra"} else None
        if count is not None:
            return {unit: sign * count}
    return {"direction": sign}
