"""Cue phrases synthesized once per engine, voice and rate, kept in memory and on disk.

A cue must start on its beat, so its audio must already exist when it falls due: the
fixed phrases ("Halfway.", "Three.", "Switch sides. Right side next.") are made ahead of
time and looked up by (engine, voice, sample rate, speaking rate, volume, text). Any
change to those makes a new key, so stale audio is never played; the lexicon is part of
the engine's output, so after editing it, delete the cache directory. Under the disk, a
read-only layer may answer the same keys: the first-launch greeting shipped with the
package (voicecoach.voice.shipped).
"""
from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from voicecoach.files import (
    array_from_bytes,
    private_folder,
    read_private,
    write_private,
)
from voicecoach.voice.engines import VoiceEngine
from voicecoach.voice.shipped import ShippedCues

log = logging.getLogger(__name__)
MAX_CUE_BYTES = 50_000_000           # a cue is a few seconds: under 1 MB at 22 kHz


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voicecoach")) / "cues"


class CueCache:
    def __init__(self, directory: Path | None = None, shipped: ShippedCues | None = None) -> None:
        self.directory = directory
        self.shipped = shipped           # looked up after the disk, by the same key; never written
        self._memory: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(engine: VoiceEngine, text: str, rate: float | None = None) -> str:
        """`rate` stands in for the engine's when a change is on its way to the engine."""
        rate = engine.rate if rate is None else rate
        raw = f"{engine.name}|{engine.voice_id}|{engine.sample_rate}|{rate:.3f}|{engine.volume:.3f}|{text}"
        return hashlib.sha1(raw.encode("utf-8")).hexdigest()

    def get(self, engine: VoiceEngine, text: str) -> np.ndarray:
        """The audio made before (`stored`), else made now by `engine` and kept."""
        audio = self.stored(engine, text)
        if audio is not None:
            return audio
        self.misses += 1
        key = self.key(engine, text)
        audio = engine.synthesize(text)
        self._save(key, audio)
        with self._lock:
            self._memory[key] = audio
        return audio

    def contains(self, engine: VoiceEngine, text: str, rate: float | None = None) -> bool:
        with self._lock:
            return self.key(engine, text, rate) in self._memory

    def peek(self, engine: VoiceEngine, text: str, rate: float | None = None) -> np.ndarray | None:
        """The audio if it is in memory, else None: never synthesizes, never reads the disk."""
        with self._lock:
            audio = self._memory.get(self.key(engine, text, rate))
        if audio is not None:
            self.hits += 1
        return audio

    def stored(self, engine: VoiceEngine, text: str) -> np.ndarray | None:
        """The audio if it was made before (in memory or on disk), else None: never synthesizes.
        A line kept on disk plays at once, even while the engine itself is still loading."""
        key = self.key(engine, text)
        with self._lock:
            audio = self._memory.get(key)
        if audio is None:
            audio = self._load(key)
            if audio is None:
                return None
            with self._lock:
                self._memory[key] = audio
        self.hits += 1
        return audio

    def warm(self, engine: VoiceEngine, phrases: Iterable[str]) -> None:
        for text in phrases:
            self.get(engine, text)

    def _path(self, key: str) -> Path | None:
        return self.directory / f"{key}.npy" if self.directory else None

    def _load(self, key: str) -> np.ndarray | None:
        """The kept audio (else the shipped audio of that key, if any)."""
        audio = self._load_kept(key)
        if audio is None and self.shipped is not None:
            audio = self.shipped.audio(key)
        return audio

    def _load_kept(self, key: str) -> np.ndarray | None:
        """The audio kept on disk, when the file is ours, private, in a private folder and a
        float array of samples; anything else is made again."""
        path = self._path(key)
        if path is None:
            return None
        try:
            private_folder(path.parent)
            audio = array_from_bytes(read_private(path, MAX_CUE_BYTES))
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.info("the kept cue %s is not used (%s); it is made again", path, exc)
            return None
        if audio.dtype.kind != "f" or audio.ndim != 1 or not np.all(np.isfinite(audio)):
            log.info("the kept cue %s is not audio; it is made again", path)
            return None
        return audio

    def _save(self, key: str, audio: np.ndarray) -> None:
        path = self._path(key)
        if path is None:
            return
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(audio))
        try:
            private_folder(path.parent)
            write_private(path, buffer.getvalue())    # never a half-written file under the real name
        except OSError as exc:
            log.info("cues are not kept on disk: %s", exc)    # memory still works
