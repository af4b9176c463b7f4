"""How a word sounds, roughly: for recognizer errors that spell a word the way it sounds."""
from __future__ import annotations

import re

_SPELLINGS = [("ph", "f"), ("ck", "k"), ("qu", "kw"), ("x", "ks"), ("wr", "r"), ("kn", "n"), ("wh", "w"),
              ("gh", ""), ("dg", "j"), ("c(?=[eiy])", "s"), ("c", "k"), ("q", "k"), ("z", "s")]


def sound_key(word: str) -> str:
    """A rough key for how a word sounds: its consonants with spelling variants merged, the
    first sound kept even when a vowel. "council" and "cancel" share one; "timer" and "tyler" not."""
    word = re.sub(r"[^a-z]", "", word.lower())
    if not word:
        return ""
    for spelling, sound in _SPELLINGS:
        word = re.sub(spelling, sound, word)
    head, rest = word[:1], re.sub(r"[aeiouyhw]", "", word[1:])
    head = "a" if head in "aeiouy" else head
    key = head + rest
    return re.sub(r"(.)\1+", r"\1", key)
