"""How the coach's words should sound: spellings both voices say right.

Rewrites are applied to the text just before synthesis, never to what is printed. Each
was checked by transcribing our own synthesized audio (tests/test_voice_lexicon.py).
"""
from __future__ import annotations

import re

# (pattern, replacement). Order matters: "IT band" before bare "IT".
LEXICON: tuple[tuple[str, str], ...] = (
    (r"\bI\.?T\.?[ -]?bands?\b", lambda m: "I T band" + ("s" if m.group().lower().endswith("s") else "")),  # type: ignore[misc]
    (r"\bITBS\b", "I T B S"),
    (r"\biliotibial\b", "illy oh tibby al"),
    (r"\bglutes\b", "glootes"),
    (r"\bglute\b", "gloot"),
    (r"\boverpronating\b", "over pronating"),
    (r"\boverpronation\b", "over pronation"),
    (r"\bhip-width\b", "hip width"),
)
_COMPILED = tuple((re.compile(pattern, re.IGNORECASE), repl) for pattern, repl in LEXICON)


def for_speech(text: str) -> str:
    for pattern, replacement in _COMPILED:
        text = pattern.sub(replacement, text)
    return text


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MAX_CHUNK_WORDS = 14


def split_for_speech(text: str) -> list[str]:
    """Sentences, and long sentences at commas, so the first part plays while the rest is made."""
    chunks: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        if len(sentence.split()) <= MAX_CHUNK_WORDS or "," not in sentence:
            chunks.append(sentence)
            continue
        part = ""
        for piece in sentence.split(","):
            candidate = f"{part},{piece}" if part else piece
            if part and len(candidate.split()) > MAX_CHUNK_WORDS:
                chunks.append(part.strip() + ",")
                part = piece
            else:
                part = candidate
        chunks.append(part.strip())
    return [c for c in chunks if c]
