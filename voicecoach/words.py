"""Numbers as spoken words, shared by the session, its timelines and the answers about history.

A neutral module: it imports nothing of the project, so any folder may use it.
"""
from __future__ import annotations

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                "eighteen", "nineteen")
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
    """A length of time as people say it: "forty five seconds", "a minute and a half",
    "four minutes forty four", "four and a half minutes" (never "two hundred and eighty four seconds")."""
    s = round(float(seconds))
    if s == 1:
        return "one second"
    if s == 90:
        return "a minute and a half"
    if s < 100 and s != 60:
        return f"{say_number(s)} seconds"
    minutes, rest = divmod(s, 60)
    if rest == 0:
        return say_minutes(minutes)
    if rest == 30:
        return f"{say_number(minutes)} and a half minutes"
    return f"{say_minutes(minutes)} {say_number(rest)}"


def say_minutes(minutes: int) -> str:
    return "one minute" if minutes == 1 else f"{say_number(minutes)} minutes"


def say_count(n: int, unit: str) -> str:
    """ "one rep", "seven steps": `unit` is the plural, as content names it."""
    return f"{say_number(n)} {singular(unit) if n == 1 else unit}"


def singular(unit: str) -> str:
    return unit.removesuffix("s")
