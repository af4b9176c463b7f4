"""How the coach's words should sound: spellings each voice says right.

Rewrites are applied to the text just before synthesis, never to what is printed. Each
was checked by transcribing our own synthesized audio with Whisper (tests/test_voice_lexicon.py).
"""
from __future__ import annotations

import re

# Per engine: (pattern, replacement). Measured by transcribing each voice with Whisper:
# Piper says "IT band" as "IT banned" and "iliotibial" as "Ilia Tibil" without help;
# eSpeak NG is heard best with the plain spelling, so it gets no rewrites for those.
LEXICONS: dict[str, tuple[tuple[str, str], ...]] = {
    "piper": (
        (r"\bI\.?T\.?[ -]?band", "I T band"),
        (r"\biliotibial\b", "ilio tibial"),
        (r"\bITBS\b", "I T B S"),
    ),
    "espeak": (
        (r"\bITBS\b", "I T B S"),
    ),
}
_COMPILED = {engine: tuple((re.compile(p, re.IGNORECASE), r) for p, r in rules) for engine, rules in LEXICONS.items()}


def for_speech(text: str, engine: str = "piper") -> str:
    """`text` spelled so that `engine` says it right (printed text is never changed)."""
    for pattern, replacement in _COMPILED.get(engine, ()):
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
