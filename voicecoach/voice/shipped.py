"""The first-launch greeting's audio, shipped with the package: a read-only layer under the cue cache.

On a user's very first launch nothing is on disk yet, and making the greeting means loading the
voice's network and synthesizing (two seconds and more): the greeting for the default voice, at
the default rate and volume, is shipped ready to play. Each line is found by the cue cache's own
key (engine, voice, sample rate, speaking rate, volume, text), so a changed line, voice or rate
is simply not found and is synthesized: stale audio is never played.

The folder holds `index.json` (the keys, texts and files) and one file a line of raw 16-bit
little-endian PCM at the voice's sample rate: reading it runs no code.
`python bench/ship_greeting.py` makes it again (voicecoach.voice.build.ship_greeting).
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voicecoach.files import read_bytes, read_text

log = logging.getLogger(__name__)
SHIPPED_DIR = Path(__file__).with_name("greeting")
INDEX_NAME = "index.json"
REGENERATE = "python bench/ship_greeting.py"
MAX_INDEX_BYTES = 100_000
MAX_LINE_BYTES = 2_000_000          # a greeting line is a few seconds: about 200 kB at 22 kHz
PCM_SCALE = 32767.0


@dataclass(frozen=True)
class ShippedLine:
    key: str            # the cue cache's key for this line (CueCache.key)
    text: str           # the line as the coach says it (content/coach.yaml)
    spoken: str         # what the engine was given (the lexicon applied): a lexicon change shows here
    file: str           # the PCM file's name in the folder
    samples: int


@dataclass(frozen=True)
class ShippedIndex:
    """What was shipped, and for which voice (the keys hold the same; these are for people)."""
    engine: str
    voice_id: str
    sample_rate: int
    rate: float
    volume: float
    lines: tuple[ShippedLine, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n"


def pcm16(audio: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as 16-bit little-endian PCM (louder samples are clipped)."""
    clipped = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    return np.round(clipped * PCM_SCALE).astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    """16-bit little-endian PCM as the float32 samples the player plays."""
    return (np.frombuffer(data, dtype="<i2").astype(np.float32) / PCM_SCALE).astype(np.float32)


def parse_index(text: str) -> ShippedIndex:
    """The index from its JSON text; ValueError (or KeyError, TypeError) when it is not one."""
    raw = json.loads(text)
    lines = []
    for item in raw["lines"]:
        line = ShippedLine(str(item["key"]), str(item["text"]), str(item["spoken"]), str(item["file"]),
                           int(item["samples"]))
        if Path(line.file).name != line.file or not line.file.endswith(".pcm"):
            raise ValueError(f"{line.file!r} is not a file of the folder")
        lines.append(line)
    return ShippedIndex(str(raw["engine"]), str(raw["voice_id"]), int(raw["sample_rate"]), float(raw["rate"]),
                        float(raw["volume"]), tuple(lines))


def read_index(folder: Path = SHIPPED_DIR) -> ShippedIndex | None:
    """The folder's index, or None when there is none or it cannot be read (then nothing is shipped)."""
    try:
        return parse_index(read_text(folder / INDEX_NAME, MAX_INDEX_BYTES))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.info("the shipped greeting is not used (%s)", exc)
        return None


class ShippedCues:
    """The shipped lines by cache key; the index is read on the first lookup, each line when asked."""

    def __init__(self, folder: Path = SHIPPED_DIR) -> None:
        self.folder = folder
        self._lines: dict[str, ShippedLine] | None = None
        self._lock = threading.Lock()

    def _index(self) -> dict[str, ShippedLine]:
        with self._lock:
            if self._lines is None:
                index = read_index(self.folder)
                self._lines = {line.key: line for line in index.lines} if index is not None else {}
            return self._lines

    def keys(self) -> set[str]:
        return set(self._index())

    def audio(self, key: str) -> np.ndarray | None:
        """The line's samples when `key` was shipped and its file is whole, else None."""
        line = self._index().get(key)
        if line is None:
            return None
        try:
            data = read_bytes(self.folder / line.file, MAX_LINE_BYTES)
        except OSError as exc:
            log.info("the shipped line %r is not used (%s)", line.text, exc)
            return None
        if len(data) != 2 * line.samples:
            log.info("the shipped line %r is not whole; it is made again", line.text)
            return None
        return from_pcm16(data)


@dataclass(frozen=True)
class WantedLine:
    """A line the shipped greeting must hold now: its key for the default voice, and its text."""
    key: str
    text: str
    spoken: str


def stale_lines(index: ShippedIndex | None, wanted: list[WantedLine]) -> list[str]:
    """What the shipped folder lacks or holds in excess against `wanted`, one phrase each;
    empty when it is up to date."""
    if index is None:
        return ["no shipped greeting"]
    shipped = {line.key: line for line in index.lines}
    keys = {line.key for line in wanted}
    problems = [f"{line.text!r} is not shipped for {index.engine}/{index.voice_id} at rate {index.rate:g}, "
                f"volume {index.volume:g} (or it was shipped for another voice, rate or volume)"
                for line in wanted if line.key not in shipped]
    problems += [f"{line.text!r} is shipped but no longer said" for line in index.lines if line.key not in keys]
    problems += [f"{line.text!r} was shipped spoken as {shipped[line.key].spoken!r}, now {line.spoken!r} (the lexicon changed)"
                 for line in wanted if line.key in shipped and shipped[line.key].spoken != line.spoken]
    return problems


def write_shipped(folder: Path, index: ShippedIndex, audio: dict[str, np.ndarray]) -> None:
    """Write the index and each line's PCM (`audio` by key) into `folder`, replacing what was there."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.pcm"):
        old.unlink()
    for line in index.lines:
        (folder / line.file).write_bytes(pcm16(audio[line.key]))
    (folder / INDEX_NAME).write_text(index.to_json(), encoding="utf-8")
