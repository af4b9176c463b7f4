"""Synthetic audio for the hearing tests: voiced bursts (speech-like), room noise, clicks."""
from __future__ import annotations

import numpy as np

from voicecoach.hearing.signal.audio import SAMPLE_RATE


def voiced(seconds: float, level: float = 0.3, pitch: float = 180.0, seed: int = 0) -> np.ndarray:
    """A vowel-like sound: a pitch with harmonics and a little breath noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = np.sin(2 * np.pi * pitch * t) + 0.5 * np.sin(4 * np.pi * pitch * t) + 0.3 * np.sin(6 * np.pi * pitch * t)
    wave += 0.1 * rng.standard_normal(len(t))
    return (level * wave / 1.9).astype(np.float32)


def room(seconds: float, level: float = 0.002, seed: int = 1) -> np.ndarray:
    """Steady background noise (a quiet room is never digital silence)."""
    return (level * np.random.default_rng(seed).standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def ms(milliseconds: float) -> int:
    return int(milliseconds * SAMPLE_RATE / 1000)
