"""Audio sources behind one interface: the live microphone, or a WAV file played as if live.

A source yields frames of FRAME_SAMPLES float32 samples (30 ms, mono, 16 kHz, in [-1, 1])
until it ends or `cancel` (a threading.Event) is set: sources stop cooperatively, no thread
is ever killed. A microphone that cannot be used raises MicrophoneUnavailable, whose
message is one line a user can act on. The microphone is miniaudio's (in the pip wheel,
like the speaker's); PyAudio through SpeechRecognition is the alternative.
"""
from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voicecoach import sound
from voicecoach.coach.clock import Clock
from voicecoach.hearing.signal.audio import SAMPLE_RATE, read_wav

log = logging.getLogger(__name__)
from voicecoach.hearing.signal.vad import FRAME_MS, FRAME_SAMPLES

log = logging.getLogger(__name__)

FRAME_SECONDS = FRAME_MS / 1000
MIC_HINT = "pip install 'voicecoach[mic]'"


class AudioSource(Protocol):
    name: str

    def frames(self, cancel: threading.Event) -> Iterator[np.ndarray]:
        """FRAME_SAMPLES float32 samples at a time, until the audio ends or `cancel` is set."""


class MicrophoneUnavailable(RuntimeError):
    """No usable microphone; the message is one line (what is missing and how to get it)."""


def frames_of(audio: np.ndarray, tail_seconds: float = 0.0) -> Iterator[np.ndarray]:
    """Whole frames of `audio`, the last one padded with silence, then `tail_seconds` of silence."""
    audio = np.asarray(audio, dtype=np.float32)
    padded = -(-len(audio) // FRAME_SAMPLES) * FRAME_SAMPLES + int(tail_seconds * SAMPLE_RATE)
    padded = -(-padded // FRAME_SAMPLES) * FRAME_SAMPLES
    audio = np.concatenate([audio, np.zeros(padded - len(audio), dtype=np.float32)])
    for i in range(0, len(audio), FRAME_SAMPLES):
        yield audio[i:i + FRAME_SAMPLES]


class ArraySource:
    """Audio in memory played as if live: paced on `clock`, or as fast as possible without one.

    Pacing waits on the clock until each frame would have been fully heard, measured from
    the first frame, so it never drifts. On a VirtualClock the waiting moves the clock, so a
    whole spoken session runs in a test with cues due at the right moments of the audio.
    `tail_seconds` of silence follow the audio, so a command at its very end still gets its
    trailing silence and is cut.
    """

    def __init__(self, audio: np.ndarray, clock: Clock | None = None, tail_seconds: float = 1.0,
                 name: str = "audio") -> None:
        self.audio = np.asarray(audio, dtype=np.float32)
        self.clock = clock
        self.tail_seconds = tail_seconds
        self.name = name

    def frames(self, cancel: threading.Event) -> Iterator[np.ndarray]:
        start = self.clock.now() if self.clock is not None else 0.0
        for n, frame in enumerate(frames_of(self.audio, self.tail_seconds), start=1):
            if cancel.is_set():
                return
            if self.clock is not None and self.clock.wait_until(start + n * FRAME_SECONDS, cancel):
                return
            yield frame


class WavFileSource(ArraySource):
    """A WAV file (any rate 8-48 kHz, mono or stereo, 8-32 bit) as if someone were saying it.

    A file that cannot be read raises hearing.signal.audio.AudioError naming the file.
    """

    def __init__(self, path: Path | str, clock: Clock | None = None, tail_seconds: float = 1.0) -> None:
        self.path = Path(path)
        super().__init__(read_wav(self.path), clock, tail_seconds, name=str(self.path))


KERNEL_PHASES = 1024         # the kernel is kept for this many fractional positions between two input samples
KAISER_BETA = 8.6            # its window: about 80 dB of stop band


@functools.lru_cache(maxsize=8)
def _kernel_table(rate_in: int, rate_out: int, half: int) -> np.ndarray:
    """Row p: the weights of the 2 * half input samples around a position p / KERNEL_PHASES past
    one (a new stretch of reference makes a new resampler: the table is made once a rate)."""
    cutoff = 0.45 * min(rate_in, rate_out) / rate_in          # cycles per input sample
    distance = np.arange(KERNEL_PHASES + 1)[:, None] / KERNEL_PHASES - np.arange(-half + 1, half + 1)[None, :]
    window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (distance / half) ** 2, 0.0, 1.0))) / np.i0(KAISER_BETA)
    table = 2 * cutoff * np.sinc(2 * cutoff * distance) * window
    table.flags.writeable = False
    return table


class StreamResampler:
    """Resample a stream chunk by chunk without clicks at chunk edges.

    Each output sample is the band-limited input read at its own (fractional) position: a
    windowed-sinc kernel (cut below the lower Nyquist frequency) centred there, weighting the
    input samples around it. The input carried between chunks keeps the stream seamless.

    Why not a low-pass and then linear interpolation: its images of the top octave fold down
    into the low bands, so the echo canceller's reference would differ from what reached the
    microphone in every "s" the coach says (docs/hearing.md, "Hearing over the coach's voice").
    """

    def __init__(self, rate_in: int, rate_out: int = SAMPLE_RATE, taps: int = 63, phase: float = 0.0) -> None:
        """`phase`: where the first output sample falls, in input samples after the first input
        (0 <= phase < rate_in / rate_out); a stream that starts between two output samples keeps
        the output on the grid of the streams before it. Output lags input by (taps - 1) / 2 input samples."""
        self.step = rate_in / rate_out
        self._half = (taps - 1) // 2                              # the kernel reaches this far each side
        self._kernels = _kernel_table(rate_in, rate_out, self._half)
        self._data = np.zeros(2 * self._half)                     # input not yet used up (silence before the stream)
        self._origin = -2 * self._half                            # the input sample _data[0] is
        self._next = float(phase) - self._half                    # where the next output is read, in input samples

    def process(self, chunk: np.ndarray) -> np.ndarray:
        data = np.concatenate([self._data, np.asarray(chunk, dtype=np.float64)])
        # An output needs the input up to `half` samples past its position.
        last = self._origin + len(data) - 1
        count = max(0, int(np.floor((last - self._half - self._next) / self.step)) + 1)
        positions = self._next + self.step * np.arange(count) - self._origin
        whole = np.floor(positions)
        phases = np.rint((positions - whole) * KERNEL_PHASES).astype(np.int64)
        windows = np.lib.stride_tricks.sliding_window_view(data, 2 * self._half)
        out = np.einsum("ij,ij->i", windows[whole.astype(np.int64) - self._half + 1], self._kernels[phases])
        self._next += self.step * count
        keep_from = int(np.floor(self._next - self._origin)) - self._half + 1
        self._data, self._origin = data[keep_from:], self._origin + keep_from
        return out.astype(np.float32)


# ----- the microphone through miniaudio (pip alone) ----------------------------------------------

STALL_SECONDS = 2.0          # no audio from the device this long: it is gone


class CaptureStream(Protocol):
    """A started capture device; `close` stops it. What MiniaudioMicrophone opens."""

    def close(self) -> None: ...


# open_capture(sample_rate, block_samples, deliver) starts capturing float32 mono blocks
# into deliver(block) from the device's own thread.
OpenCapture = Callable[[int, int, Callable[[np.ndarray], None]], CaptureStream]


def miniaudio_capture_devices(miniaudio_module: Any, surveyed: sound.SoundSurvey | None = None) -> list[str]:
    """Names of the capture devices on the backend the coach uses (the first real backend that
    lists a capture device; one whose listing fails is skipped, never fatal); from `surveyed`
    when the launch has surveyed the backends already."""
    return (surveyed or sound.SoundSurvey.of(miniaudio_module)).captures


def _open_miniaudio_capture(sample_rate: int, block_samples: int, deliver: Callable[[np.ndarray], None],
                            surveyed: sound.SoundSurvey | None = None) -> CaptureStream:
    import miniaudio

    device = miniaudio.CaptureDevice(input_format=miniaudio.SampleFormat.FLOAT32, nchannels=1,
                                     sample_rate=sample_rate,
                                     buffersize_msec=max(10, int(1000 * block_samples / sample_rate)),
                                     backends=sound.chosen_backends(miniaudio, need_capture=True, surveyed=surveyed))

    def receive() -> Generator[None, bytes, None]:     # miniaudio sends each captured buffer
        while True:
            data = yield
            deliver(np.frombuffer(bytes(data), dtype=np.float32).copy())

    receiver = receive()
    next(receiver)
    device.start(receiver)
    return device


class MiniaudioMicrophone:
    """The default microphone through miniaudio, whose wheel carries its own audio backends.

    miniaudio converts the device's rate and channels to 16 kHz mono itself. Its thread
    hands blocks to a queue; `frames` rechunks them to FRAME_SAMPLES and checks `cancel`
    at least every 100 ms. A device that stops delivering for STALL_SECONDS (unplugged,
    suspended) ends listening with one line. `open_capture` is injected in tests.
    """

    name = "microphone"

    def __init__(self, open_capture: OpenCapture | None = None, stall_seconds: float = STALL_SECONDS,
                 surveyed: sound.SoundSurvey | None = None) -> None:
        if open_capture is None:
            reason = miniaudio_unavailable_reason(surveyed)
            if reason:
                raise MicrophoneUnavailable(reason)
            open_capture = functools.partial(_open_miniaudio_capture, surveyed=surveyed)
        self._open_capture = open_capture
        self.stall_seconds = stall_seconds

    def frames(self, cancel: threading.Event) -> Iterator[np.ndarray]:
        blocks: queue.Queue[np.ndarray] = queue.Queue()
        try:
            stream = self._open_capture(SAMPLE_RATE, FRAME_SAMPLES, blocks.put)
        except MicrophoneUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - miniaudio.MiniaudioError and friends
            raise MicrophoneUnavailable(f"the microphone could not be opened ({_one_line(exc)})") from None
        try:
            pending = np.zeros(0, dtype=np.float32)
            waited = 0.0
            noted_at = 0.0
            while not cancel.is_set():
                try:
                    block = blocks.get(timeout=0.1)
                except queue.Empty:
                    waited += 0.1
                    if waited >= self.stall_seconds:
                        raise MicrophoneUnavailable("the microphone stopped (no audio from it for "
                                                    f"{self.stall_seconds:g} s)") from None
                    continue
                waited = 0.0
                waiting = blocks.qsize()
                if waiting * FRAME_SECONDS > 0.3 and time.monotonic() >= noted_at + 5.0:
                    noted_at = time.monotonic()
                    log.info("microphone: %d blocks (about %.0f ms) wait to be heard", waiting,
                             1000 * waiting * len(block) / SAMPLE_RATE)
                pending = np.concatenate([pending, np.asarray(block, dtype=np.float32).reshape(-1)])
                while len(pending) >= FRAME_SAMPLES and not cancel.is_set():
                    yield pending[:FRAME_SAMPLES]
                    pending = pending[FRAME_SAMPLES:]
        finally:
            stream.close()


def miniaudio_unavailable_reason(surveyed: sound.SoundSurvey | None = None) -> str | None:
    """Why miniaudio cannot record here, in one line, or None when it finds a microphone."""
    try:
        import miniaudio
    except ImportError:
        return "no microphone support: miniaudio is not installed (pip install miniaudio)"
    try:
        devices = miniaudio_capture_devices(miniaudio, surveyed)
    except Exception as exc:  # noqa: BLE001 - a broken sound system reports itself in many ways
        return f"no microphone found ({_one_line(exc)})"
    return None if devices else "no microphone found (no audio input device)"


def open_microphone(surveyed: sound.SoundSurvey | None = None) -> AudioSource:
    """The microphone: miniaudio first (pip alone), then PyAudio through SpeechRecognition.
    Raises MicrophoneUnavailable with miniaudio's one-line reason when neither can record."""
    try:
        return MiniaudioMicrophone(surveyed=surveyed)
    except MicrophoneUnavailable as first:
        if pyaudio_unavailable_reason() is None:
            return MicrophoneSource()
        raise first from None


def _one_line(exc: BaseException) -> str:
    return " ".join(" ".join(str(a) for a in exc.args).split()) or type(exc).__name__


# ----- the microphone through PyAudio (SpeechRecognition), the alternative ----------------------

def _pyaudio_input_devices(pyaudio_module: Any) -> list[str]:
    audio = pyaudio_module.PyAudio()
    try:
        return [str(info.get("name")) for i in range(audio.get_device_count())
                if int((info := audio.get_device_info_by_index(i)).get("maxInputChannels", 0)) > 0]
    finally:
        audio.terminate()


def microphone_unavailable_reason(surveyed: sound.SoundSurvey | None = None) -> str | None:
    """Why the live microphone cannot be used here, in one line, or None when it can.

    miniaudio first, then PyAudio. Looks at the devices only (in `surveyed`, when the launch
    has surveyed them); it does not record, so it is quick and silent.
    """
    first = miniaudio_unavailable_reason(surveyed)
    if first is None or pyaudio_unavailable_reason() is None:
        return None
    return first


def pyaudio_unavailable_reason() -> str | None:
    """Why PyAudio (through SpeechRecognition) cannot record here, or None when it can."""
    try:
        import speech_recognition  # noqa: F401
    except ImportError:
        return f"no microphone support: SpeechRecognition is not installed ({MIC_HINT})"
    try:
        import pyaudio
    except ImportError:
        return f"no microphone support: PyAudio is not installed ({MIC_HINT})"
    try:
        devices = _pyaudio_input_devices(pyaudio)
    except Exception as exc:  # noqa: BLE001 - PortAudio without a sound system raises many kinds of errors
        return f"no microphone found ({' '.join(str(exc).split()) or type(exc).__name__})"
    return None if devices else "no microphone found (no audio input device)"


class MicrophoneSource:
    """The default (or a chosen) microphone through SpeechRecognition's Microphone.

    Asks for 16 kHz; when the device only runs at its own rate, that rate is read and
    resampled. `microphone` builds the SpeechRecognition-like object (tests pass a fake).
    """

    name = "microphone"

    def __init__(self, device_index: int | None = None,
                 microphone: Callable[[int | None, int | None], Any] | None = None) -> None:
        if microphone is None:
            reason = pyaudio_unavailable_reason()
            if reason:
                raise MicrophoneUnavailable(reason)
            import speech_recognition

            def microphone(index: int | None, rate: int | None) -> Any:
                return speech_recognition.Microphone(device_index=index, sample_rate=rate, chunk_size=FRAME_SAMPLES)
        self._make = microphone
        self.device_index = device_index

    def _open(self) -> Any:
        """An entered Microphone with a live stream: 16 kHz if the device takes it, else its own rate."""
        for rate in (SAMPLE_RATE, None):
            try:
                mic = self._make(self.device_index, rate)
                mic.__enter__()
            except Exception as exc:  # noqa: BLE001 - SpeechRecognition asserts on bad devices and rates
                log.debug("microphone at %s Hz: %s", rate or "its own rate", exc)
                continue
            # SpeechRecognition (third-party) swallows open errors, leaving no stream attribute set.
            if getattr(mic, "stream", None) is not None:
                return mic
        raise MicrophoneUnavailable("the microphone could not be opened (is another program using it?)")

    def frames(self, cancel: threading.Event) -> Iterator[np.ndarray]:
        mic = self._open()
        try:
            rate = int(mic.SAMPLE_RATE)
            resampler = StreamResampler(rate) if rate != SAMPLE_RATE else None
            chunk = max(1, round(FRAME_SAMPLES * rate / SAMPLE_RATE))
            pending = np.zeros(0, dtype=np.float32)
            while not cancel.is_set():
                try:
                    data = mic.stream.read(chunk)
                except Exception as exc:  # noqa: BLE001 - unplugged, suspended, or the sound server went away
                    raise MicrophoneUnavailable(f"the microphone stopped ({' '.join(str(exc).split())})") from None
                audio = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
                pending = np.concatenate([pending, resampler.process(audio) if resampler else audio])
                while len(pending) >= FRAME_SAMPLES and not cancel.is_set():
                    yield pending[:FRAME_SAMPLES]
                    pending = pending[FRAME_SAMPLES:]
        finally:
            mic.__exit__(None, None, None)
