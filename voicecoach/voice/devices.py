"""Where audio goes: an output stream we control, so speech can stop mid-word.

`SoundDeviceOutput` writes small blocks to the default speaker through sounddevice
(PortAudio). `RecordingDevice` is a speaker that keeps what it is given with the time it
was given, for tests and benchmarks; paced on a clock, it takes as long as real playback.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from voicecoach.coach.clock import Clock

BLOCK_SECONDS = 0.02       # stop latency is at most one block plus the device's own buffer


class OutputDevice(Protocol):
    sample_rate: int

    def write(self, block: np.ndarray) -> None:
        """Play a block of float32 mono samples; returns when the device has taken it."""

    def flush(self) -> None:
        """Drop whatever the device still holds, now."""

    def close(self) -> None: ...


class SpeakerUnavailable(RuntimeError):
    pass


class SoundDeviceOutput:
    def __init__(self, sample_rate: int) -> None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:      # OSError: no PortAudio library
            raise SpeakerUnavailable(f"no speaker ({exc})") from None
        try:
            sounddevice.query_devices(kind="output")
            self._stream = sounddevice.OutputStream(samplerate=sample_rate, channels=1, dtype="float32",
                                                    blocksize=int(sample_rate * BLOCK_SECONDS), latency="low")
            self._stream.start()
        except Exception as exc:  # PortAudio reports missing devices in several ways
            raise SpeakerUnavailable(f"no speaker found ({exc})") from None
        self.sample_rate = sample_rate

    def write(self, block: np.ndarray) -> None:
        self._stream.write(np.ascontiguousarray(block, dtype=np.float32).reshape(-1, 1))

    def flush(self) -> None:
        self._stream.abort()        # drops buffered audio at once
        self._stream.start()

    def close(self) -> None:
        self._stream.close()


def speaker_unavailable_reason(sample_rate: int = 22050) -> str | None:
    try:
        SoundDeviceOutput(sample_rate).close()
    except SpeakerUnavailable as exc:
        return str(exc)
    return None


@dataclass
class Written:
    t: float                 # clock time the block was handed over
    samples: np.ndarray
    text: str                # what was being said


@dataclass
class RecordingDevice:
    """A fake speaker: records every block with its time; `paced` makes writes take real time."""

    sample_rate: int
    clock: Clock
    paced: bool = True
    blocks: list[Written] = field(default_factory=list)
    flushes: list[float] = field(default_factory=list)
    current_text: str = ""
    _busy_until: float = 0.0

    def write(self, block: np.ndarray) -> None:
        now = self.clock.now()
        start = max(now, self._busy_until) if self.paced else now
        if self.paced and start > now:
            self.clock.wait_until(start)
        self.blocks.append(Written(self.clock.now(), np.array(block, copy=True), self.current_text))
        self._busy_until = self.clock.now() + len(block) / self.sample_rate

    def flush(self) -> None:
        self.flushes.append(self.clock.now())
        self._busy_until = self.clock.now()

    def close(self) -> None:
        pass

    def audio(self) -> np.ndarray:
        return np.concatenate([b.samples for b in self.blocks]) if self.blocks else np.zeros(0, np.float32)
