"""Where audio goes: an output stream we control, so speech can stop mid-word.

`MiniaudioOutput` is the speaker: miniaudio carries its own audio backends (PulseAudio,
ALSA, JACK, CoreAudio, WASAPI) inside the wheel, so pip alone is enough, and the microphone
and the duplex stream use the same library (one audio I/O library: a PortAudio-based second
speaker reached no device miniaudio cannot, and needed a system library pip does not bring).
It takes small blocks, so a stop is heard within about two blocks.
`RecordingDevice` is a speaker that keeps what it is given with the time it was given,
for tests and benchmarks; paced on a clock, it takes as long as real playback.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from voicecoach import sound
from voicecoach.coach.clock import Clock

BLOCK_SECONDS = 0.02       # stop latency is at most one block plus the device's own buffer
DEVICE_PERIODS = 2         # miniaudio's own buffer: 2 periods of one block, 40 ms at most after a stop


PlayedListener = Callable[[np.ndarray, int, float], None]      # (samples, rate, clock time they play)
CaptureListener = Callable[[np.ndarray], None]                 # float32 mono at 16 kHz


class OutputDevice(Protocol):
    sample_rate: int
    current_text: str        # the line being written; a recording device keeps it with the audio

    def write(self, block: np.ndarray) -> None:
        """Play a block of float32 mono samples; returns when the device has taken it."""

    def flush(self) -> None:
        """Drop whatever the device still holds, now."""

    def close(self) -> None: ...

    # ----- what only some devices know or do: DeviceBase gives the others' answer ---------

    @property
    def backend(self) -> str:
        """The audio backend it plays on ("?" when not known)."""

    @property
    def queued_seconds(self) -> float:
        """Audio written and not yet heard (a block written now plays after it)."""

    def duplex(self) -> DuplexDevice | None:
        """This device when it also records (one clock for the voice and the microphone), else None."""


class Capture(Protocol):
    def close(self) -> None:
        """Stop the deliveries."""


class DuplexDevice(OutputDevice, Protocol):
    """An output device that also records, on the same stream (voice.duplex.MiniaudioDuplex)."""

    def subscribe_played(self, listener: PlayedListener) -> None:
        """`listener(samples, rate, at)` for every block played, timed by the stream's own count."""

    def open_capture(self, sample_rate: int, block_samples: int, deliver: CaptureListener) -> Capture:
        """The microphone side: `sample_rate` blocks to `deliver` until the capture is closed."""


class DeviceBase:
    """What a device that keeps no queue of its own, names no backend and does not record answers."""

    current_text: str = ""
    backend: str = "?"

    @property
    def queued_seconds(self) -> float:
        return 0.0

    def duplex(self) -> DuplexDevice | None:
        return None


class SpeakerUnavailable(RuntimeError):
    pass


class PlaybackQueue(DeviceBase):
    """The blocks a device still has to play, pulled by its audio thread.

    `write` queues a block and returns once no more than `max_queued` samples wait, so the
    caller runs at the pace of playback; `flush` drops what waits; `pull` gives the device
    what it asks for, silence filling any gap.
    """

    def __init__(self, sample_rate: int, queue_blocks: int = 2, stall_seconds: float = 1.0) -> None:
        self.sample_rate = sample_rate
        self.block = max(1, int(sample_rate * BLOCK_SECONDS))
        self._max_queued = queue_blocks * self.block
        self._stall_seconds = stall_seconds
        self._pending: deque[np.ndarray] = deque()
        self._offset = 0                  # samples of the first pending block already played
        self._queued = 0
        self._flushes = 0
        self._cond = threading.Condition()
        self.samples_played = 0           # pulled by the device (silence not counted)

    def pull(self, frames: int) -> np.ndarray:
        """The next `frames` samples to play (called from the device's thread)."""
        out = np.zeros(frames, np.float32)
        filled = 0
        with self._cond:
            while filled < frames and self._pending:
                head = self._pending[0]
                take = min(frames - filled, len(head) - self._offset)
                out[filled:filled + take] = head[self._offset:self._offset + take]
                filled += take
                self._offset += take
                if self._offset >= len(head):
                    self._pending.popleft()
                    self._offset = 0
            self._queued -= filled
            self.samples_played += filled
            self._cond.notify_all()
        return out

    @property
    def queued_seconds(self) -> float:
        """Audio waiting to be pulled by the device (a block written now plays after it)."""
        with self._cond:
            return self._queued / self.sample_rate

    def write(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype=np.float32)
        with self._cond:
            flushes = self._flushes
            # A device that stopped pulling (unplugged) must not hang the coach: give up on it.
            if not self._cond.wait_for(lambda: self._queued < self._max_queued or self._flushes != flushes,
                                       timeout=self._stall_seconds):
                return
            if self._flushes != flushes:
                return          # flushed while this block waited: it belongs to what was cut
            self._pending.append(block)
            self._queued += len(block)

    def flush(self) -> None:
        with self._cond:
            self._pending.clear()
            self._offset = 0
            self._queued = 0
            self._flushes += 1
            self._cond.notify_all()

    def drain(self, timeout: float) -> None:
        """Wait (at most `timeout`) for the last words to be pulled."""
        with self._cond:
            self._cond.wait_for(lambda: self._queued == 0, timeout=timeout)


def miniaudio_backends(miniaudio_module, names: list[str] | None = None) -> list:
    """The backends to open the speaker on: `names` when given, else the one the machine's
    devices are listed on (voicecoach.sound)."""
    return sound.backends(miniaudio_module, names) if names else sound.chosen_backends(miniaudio_module)


class MiniaudioOutput(PlaybackQueue):
    """The default speaker through miniaudio, pulling from its PlaybackQueue in its own thread."""

    def __init__(self, sample_rate: int, queue_blocks: int = 2, backends: list[str] | None = None,
                 stall_seconds: float = 1.0) -> None:
        try:
            import miniaudio
        except ImportError:
            raise SpeakerUnavailable("no speaker support (pip install miniaudio)") from None
        super().__init__(sample_rate, queue_blocks, stall_seconds)
        try:
            with sound.quiet_native_stderr():
                self._device = miniaudio.PlaybackDevice(
                    output_format=miniaudio.SampleFormat.FLOAT32, nchannels=1, sample_rate=sample_rate,
                    buffersize_msec=int(1000 * BLOCK_SECONDS), callback_periods=DEVICE_PERIODS,
                    backends=miniaudio_backends(miniaudio, backends))
                feed = self._feed()
                next(feed)
                self._device.start(feed)
        except Exception as exc:  # noqa: BLE001 - miniaudio.MiniaudioError and friends: no usable output device
            detail = " ".join(str(a) for a in exc.args) or type(exc).__name__
            raise SpeakerUnavailable(f"no speaker found (miniaudio: {detail})") from None
        # miniaudio has named the device's backend only since 1.60; before, it is not known.
        self.backend = getattr(self._device, "backend", "?")

    def _feed(self) -> Generator[np.ndarray, int, None]:
        frames = yield np.zeros(0, np.float32)
        while True:
            frames = yield self.pull(frames)

    def close(self) -> None:
        self.drain(0.5)        # let the last words play out (a stop has already emptied the queue)
        self.flush()
        self._device.close()


def open_output_device(sample_rate: int, backends: list[str] | None = None) -> OutputDevice:
    """The machine's speaker through miniaudio (on `backends`, by name, when the launch has
    chosen them). Raises SpeakerUnavailable with miniaudio's one-line reason when it cannot play."""
    return MiniaudioOutput(sample_rate, backends=backends)


DeviceFactory = Callable[[int], OutputDevice]


def speaker_unavailable_reason(sample_rate: int = 22050, open_device: DeviceFactory = open_output_device) -> str | None:
    """Why nothing can be played here, in one line, or None when a speaker is there."""
    try:
        open_device(sample_rate).close()
    except SpeakerUnavailable as exc:
        return str(exc)
    return None


@dataclass
class Written:
    t: float                 # clock time the block was handed over
    samples: np.ndarray
    text: str                # what was being said


@dataclass
class RecordingDevice(DeviceBase):
    """A fake speaker: records every block with its time; `paced` makes writes take real time."""

    sample_rate: int
    clock: Clock
    paced: bool = True
    blocks: list[Written] = field(default_factory=list)
    flushes: list[float] = field(default_factory=list)
    current_text: str = ""
    _busy_until: float = 0.0
    _flushed: threading.Event = field(default_factory=threading.Event)

    def write(self, block: np.ndarray) -> None:
        self._flushed.clear()
        now = self.clock.now()
        start = max(now, self._busy_until) if self.paced else now
        flushes = len(self.flushes)
        if self.paced and start > now:
            self.clock.wait_until(start, self._flushed)     # a flush ends the wait, as on a real device
        if len(self.flushes) != flushes:
            return              # flushed while this block waited, as a real device drops it
        self.blocks.append(Written(self.clock.now(), np.array(block, copy=True), self.current_text))
        self._busy_until = self.clock.now() + len(block) / self.sample_rate

    def flush(self) -> None:
        self.flushes.append(self.clock.now())
        self._busy_until = self.clock.now()
        self._flushed.set()

    def close(self) -> None:
        pass

    def audio(self) -> np.ndarray:
        return np.concatenate([b.samples for b in self.blocks]) if self.blocks else np.zeros(0, np.float32)

    def spans(self) -> list[tuple[float, float, str]]:
        """(start, audible end, text) of each thing said; a flush silences what the device held."""
        import itertools

        out = []
        for text, grouped in itertools.groupby(self.blocks, key=lambda b: b.text):
            group = list(grouped)
            end = group[-1].t + len(group[-1].samples) / self.sample_rate
            cut = [f for f in self.flushes if group[0].t < f < end]
            out.append((round(group[0].t, 6), round(min([end] + cut), 6), text))
        return out
