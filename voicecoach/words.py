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
    s = int(round(seconds))
    if s >= 60 and s % 60 == 0:
        minutes = s // 60
        return "one minute" if minutes == 1 else f"{say_number(minutes)} minutes"
    if s == 90:
        return "a minute and a half"
    return f"{say_number(s)} seconds" if s != 1 else "one second"


def say_count(n: int, unit: str) -> str:
    """ "one rep", "seven steps": `unit` is the plural, as content names it."""
    return f"{say_number(n)} {singular(unit) if n == 1 else unit}"


def singular(unit: str) -> str:
    return unit[:-1] if unit.endswith("s") else unit
