"""The speaker and the microphone on one miniaudio duplex stream: one clock for both.

With two separate devices, what the speaker played and what the microphone heard are
timed by two clocks, and the echo canceller must keep finding the delay between them.
On one duplex stream every callback takes a block of captured samples and gives back the
same number to play, so the two sides are counted in the same samples: the delay from a
sample played to its echo recorded is fixed (buffers, converters, the room), found once
by the canceller, and never drifts.

`MiniaudioDuplex` is an output device for the voice (a PlaybackQueue: write, flush,
queued_seconds) and, through `open_capture`, the capture stream the microphone source
reads. What it plays is published with its time on the stream (`subscribe_played`), so
the canceller's reference is placed by sample count, not by when a block was written.
The stream runs at 48 kHz (a rate every sound card has); the microphone gets 16 kHz.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from voicecoach import sound
from voicecoach.coach.clock import Clock, RealClock
from voicecoach.voice.devices import (
    BLOCK_SECONDS,
    DEVICE_PERIODS,
    CaptureListener,
    DuplexDevice,
    OutputDevice,
    PlaybackQueue,
    PlayedListener,
    SpeakerUnavailable,
    miniaudio_backends,
)

DUPLEX_RATE = 48000
CAPTURE_RATE = 16000
DECIMATION = DUPLEX_RATE // CAPTURE_RATE
FILTER_TAPS = 95                 # low-pass before taking every third sample: -60 dB above 8 kHz



class Decimator:
    """48 kHz to 16 kHz, block by block, with the filter's state carried across blocks."""

    def __init__(self, factor: int = DECIMATION, taps: int = FILTER_TAPS) -> None:
        n = np.arange(taps) - (taps - 1) / 2
        cutoff = 0.45 / factor                       # of the input rate: just under the new Nyquist
        kernel = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(taps)
        self.kernel = (kernel / kernel.sum()).astype(np.float32)
        self.factor = factor
        self._tail = np.zeros(taps - 1, np.float32)
        self._consumed = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self._tail, np.asarray(block, np.float32)])
        filtered = np.convolve(joined, self.kernel, mode="valid")
        self._tail = joined[len(joined) - len(self._tail):]
        first = (-self._consumed) % self.factor       # keep the samples whose index counts in threes
        self._consumed += len(filtered)
        return filtered[first::self.factor].astype(np.float32)


class _Capture:
    """One reader of the duplex stream's microphone side; `close` stops its deliveries."""

    def __init__(self, duplex: MiniaudioDuplex, deliver: CaptureListener) -> None:
        self._duplex, self._deliver = duplex, deliver

    def close(self) -> None:
        self._duplex._remove_capture(self._deliver)


class MiniaudioDuplex(PlaybackQueue):
    """Speaker and microphone on one miniaudio duplex stream (see the module's notes)."""

    def __init__(self, clock: Clock | None = None, sample_rate: int = DUPLEX_RATE, queue_blocks: int = 2,
                 backends: list[str] | None = None, stall_seconds: float = 1.0) -> None:
        try:
            import miniaudio
        except ImportError:
            raise SpeakerUnavailable("no speaker support (pip install miniaudio)") from None
        super().__init__(sample_rate, queue_blocks, stall_seconds)
        self.clock = clock or RealClock()
        self._listeners_lock = threading.Lock()
        self._played: list[PlayedListener] = []
        self._captures: list[CaptureListener] = []
        self._decimator = Decimator(sample_rate // CAPTURE_RATE)
        self._started_at: float | None = None    # clock time of the stream's first sample
        self._stream_samples = 0
        self.errors: list[str] = []              # listeners that failed (and were dropped)
        try:
            with sound.quiet_native_stderr():
                self._stream = miniaudio.DuplexStream(
                    playback_format=miniaudio.SampleFormat.FLOAT32, playback_channels=1,
                    capture_format=miniaudio.SampleFormat.FLOAT32, capture_channels=1,
                    sample_rate=sample_rate, buffersize_msec=int(1000 * BLOCK_SECONDS),
                    callback_periods=DEVICE_PERIODS, backends=miniaudio_backends(miniaudio, backends))
                callback = self._callback()
                next(callback)
                self._stream.start(callback)
        except Exception as exc:  # noqa: BLE001 - miniaudio.MiniaudioError: no device that both plays and records
            detail = " ".join(str(a) for a in exc.args) or type(exc).__name__
            raise SpeakerUnavailable(f"no duplex audio device (miniaudio: {detail})") from None
        # miniaudio has named the stream's backend only since 1.60; before, it is not known.
        self.backend = getattr(self._stream, "backend", "?")

    def duplex(self) -> DuplexDevice:
        return self

    # ----- the two sides, for the app to wire ------------------------------------------------

    def subscribe_played(self, listener: PlayedListener) -> None:
        """`listener(samples, rate, at)` for every block played, timed by the stream's own count."""
        with self._listeners_lock:
            self._played.append(listener)

    def open_capture(self, sample_rate: int, block_samples: int, deliver: CaptureListener) -> _Capture:
        """The microphone side, shaped like hearing's capture opener: 16 kHz blocks to `deliver`."""
        if sample_rate != CAPTURE_RATE:
            raise ValueError(f"the duplex stream records at {CAPTURE_RATE} Hz, not {sample_rate}")
        with self._listeners_lock:
            self._captures.append(deliver)
        return _Capture(self, deliver)

    def _remove_capture(self, deliver: CaptureListener) -> None:
        with self._listeners_lock:
            self._captures = [d for d in self._captures if d is not deliver]

    # ----- miniaudio's thread ------------------------------------------------------------------

    def _callback(self):
        data = yield b""
        while True:
            captured = np.frombuffer(bytes(data), dtype=np.float32)
            out = self.pull(len(captured))
            if self._started_at is None:
                self._started_at = self.clock.now()
            at = self._started_at + self._stream_samples / self.sample_rate
            self._stream_samples += len(captured)
            self._tell(out, at, self._decimator.process(captured))
            data = yield out.tobytes()

    def _tell(self, played: np.ndarray, at: float, captured: np.ndarray) -> None:
        """Hand both sides on; a listener that fails is dropped (noted), never the stream."""
        with self._listeners_lock:
            played_to, captured_to = list(self._played), list(self._captures)
        calls = ([(f, (played, self.sample_rate, at)) for f in played_to] if np.any(played) else []) + \
                [(f, (captured,)) for f in captured_to]
        for listener, arguments in calls:
            try:
                listener(*arguments)
            except Exception as exc:  # noqa: BLE001 - the audio thread must go on: drop the listener, keep the reason
                self.errors.append(f"{getattr(listener, '__name__', 'a listener')} failed: {exc}")
                with self._listeners_lock:
                    self._played = [f for f in self._played if f is not listener]
                    self._captures = [f for f in self._captures if f is not listener]

    def close(self) -> None:
        self.drain(0.5)        # let the last words play out (a stop has already emptied the queue)
        self.flush()
        self._stream.close()


def duplex_or_output(clock: Clock | None, open_output: Callable[[int], OutputDevice],
                     note: Callable[[str], None] = lambda line: None,
                     backends: list[str] | None = None) -> Callable[[int], OutputDevice]:
    """A device factory for the voice: the duplex stream when the machine has one (on
    `backends`, by name, when the launch has chosen them), else `open_output` (the speaker
    alone; the microphone then opens on its own)."""
    def open_device(sample_rate: int) -> OutputDevice:
        try:
            return MiniaudioDuplex(clock, backends=backends)
        except SpeakerUnavailable as exc:
            note(f"{exc}; speaker and microphone opened apart")
            return open_output(sample_rate)
    return open_device
