"""`voicecoach check-audio`: how the microphone hears the room, the speaker and you.

Three short recordings on one device clock (miniaudio's duplex stream plays and records
together, so the delay it measures is the one an echo canceller sees):

1. one second of quiet: the noise floor;
2. a one-second chirp played while recording: the echo's delay (the peak of the
   cross-correlation with what was played) and its level at the microphone;
3. three seconds while you say "stop": your voice's level above the noise.

`analyze` is a pure function of those recordings, so it is tested with generated signals;
the devices are injected (`AudioCheckDevice`), so tests use fakes. Without a microphone or
a speaker the command says so in one line.
"""
from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from voicecoach.hearing.signal.audio import SAMPLE_RATE

if TYPE_CHECKING:
    from voicecoach.settings import Settings

CHIRP_SECONDS = 1.0
CHIRP_LOW_HZ, CHIRP_HIGH_HZ = 200.0, 6000.0
CHIRP_LEVEL = 0.3                 # about -13 dBFS peak: audible, far from clipping
QUIET_SECONDS = 1.0
SPEECH_SECONDS = 3.0
TAIL_SECONDS = 0.6                # recorded after the chirp, for the delay and the room's tail
FRAME = 480                       # 30 ms frames for levels

# Judgements, in dB (dBFS: 0 is the loudest a sample can be).
CLIPPED = 0.98                    # a sample this close to full scale
NOISY_ROOM_DBFS = -40.0
ECHO_FOUND_RATIO = 8.0            # correlation peak against its median: the chirp was heard
SPEECH_ABOVE_NOISE_DB = 15.0      # less and words start to drown
ECHO_OVER_SPEECH_DB = 0.0         # the coach's voice louder than yours at the microphone
LONG_DELAY_MS = 250.0             # Bluetooth and some USB devices


@dataclass(frozen=True)
class AudioReport:
    noise_dbfs: float
    echo_found: bool
    echo_delay_ms: float | None
    echo_dbfs: float | None           # the chirp's level as the microphone heard it
    echo_gain_db: float | None        # heard against played
    echo_clipped: bool
    speech_dbfs: float | None         # your voice, over its loudest half second
    speech_clipped: bool

    @property
    def speech_over_noise_db(self) -> float | None:
        return None if self.speech_dbfs is None else self.speech_dbfs - self.noise_dbfs

    @property
    def echo_over_speech_db(self) -> float | None:
        if self.echo_dbfs is None or self.speech_dbfs is None:
            return None
        return self.echo_dbfs - self.speech_dbfs


def dbfs(audio: np.ndarray) -> float:
    """RMS level in dB relative to full scale; silence is -120."""
    rms = float(np.sqrt(np.mean(np.square(np.asarray(audio, dtype=np.float64))))) if len(audio) else 0.0
    return 20.0 * np.log10(max(rms, 1e-6))


def chirp(seconds: float = CHIRP_SECONDS, rate: int = SAMPLE_RATE, level: float = CHIRP_LEVEL) -> np.ndarray:
    """A logarithmic sweep with 10 ms fades: a sharp correlation peak, no clicks."""
    t = np.arange(int(seconds * rate)) / rate
    k = np.log(CHIRP_HIGH_HZ / CHIRP_LOW_HZ)
    phase = 2 * np.pi * CHIRP_LOW_HZ * seconds / k * (np.exp(t / seconds * k) - 1)
    fade = np.minimum(1.0, np.minimum(t, seconds - t) / 0.01)
    return (level * np.sin(phase) * fade).astype(np.float32)


def frame_levels(audio: np.ndarray, frame: int = FRAME) -> np.ndarray:
    usable = len(audio) - len(audio) % frame
    if usable == 0:
        return np.array([dbfs(audio)])
    frames = np.asarray(audio[:usable], dtype=np.float64).reshape(-1, frame)
    return 20.0 * np.log10(np.maximum(np.sqrt(np.mean(frames ** 2, axis=1)), 1e-6))


def echo_delay(played: np.ndarray, recorded: np.ndarray) -> tuple[int, float]:
    """(delay in samples, peak-to-median ratio) of `played` inside `recorded`, by FFT cross-correlation."""
    n = len(played) + len(recorded)
    size = 1 << (n - 1).bit_length()
    spectrum = np.fft.rfft(recorded, size) * np.conj(np.fft.rfft(played, size))
    # Phase transform: every frequency weighs the same, so the room's colour does not blur the peak.
    correlation = np.fft.irfft(spectrum / np.maximum(np.abs(spectrum), 1e-12), size)[: len(recorded)]
    magnitude = np.abs(correlation)
    lag = int(np.argmax(magnitude))
    return lag, float(magnitude[lag] / (np.median(magnitude) + 1e-12))


def analyze(quiet: np.ndarray, played: np.ndarray, recorded: np.ndarray, speech: np.ndarray | None,
            rate: int = SAMPLE_RATE) -> AudioReport:
    """The report from the three recordings (float32 mono at `rate`); `speech` may be None."""
    noise = float(np.median(frame_levels(quiet))) if len(quiet) else -120.0
    lag, sharpness = echo_delay(played, recorded)
    found = sharpness >= ECHO_FOUND_RATIO and dbfs(recorded) > noise + 3.0
    echo_dbfs = gain_db = delay_ms = None
    if found:
        heard = recorded[lag:lag + len(played)]
        echo_dbfs = dbfs(heard)
        gain_db = echo_dbfs - dbfs(played[: len(heard)])
        delay_ms = 1000.0 * lag / rate
    speech_dbfs = None
    speech_clipped = False
    if speech is not None and len(speech):
        levels = np.sort(frame_levels(speech))[::-1]
        loudest = levels[: max(1, int(0.5 * rate / FRAME))]      # the loudest half second
        if loudest.mean() > noise + 6.0:
            speech_dbfs = float(loudest.mean())
        speech_clipped = bool(np.max(np.abs(speech)) >= CLIPPED)
    return AudioReport(noise, found, delay_ms, echo_dbfs, gain_db, bool(np.max(np.abs(recorded), initial=0) >= CLIPPED),
                       speech_dbfs, speech_clipped)


def advice(report: AudioReport) -> list[str]:
    """What to change, in plain words; empty when all is well."""
    tips: list[str] = []
    if not report.echo_found:
        tips.append("The microphone did not hear the speaker: check that the volume is up and the right "
                    "speaker and microphone are chosen.")
    if report.echo_clipped:
        tips.append("The speaker overloads the microphone: turn the volume down.")
    elif report.echo_over_speech_db is not None and report.echo_over_speech_db > ECHO_OVER_SPEECH_DB:
        tips.append("The coach's voice reaches the microphone louder than yours: turn the volume down, "
                    "or put the laptop nearer your head than the speaker is.")
    if report.speech_clipped:
        tips.append("Your voice overloads the microphone: move the laptop away from your head.")
    if report.speech_dbfs is None:
        tips.append("I did not hear you: check the microphone is not muted, and speak towards it.")
    elif report.speech_over_noise_db is not None and report.speech_over_noise_db < SPEECH_ABOVE_NOISE_DB:
        tips.append("Your voice is close to the room's noise: move the laptop closer, or speak up.")
    if report.noise_dbfs > NOISY_ROOM_DBFS:
        tips.append("The room is noisy: turn off fans or music near the laptop.")
    if report.echo_delay_ms is not None and report.echo_delay_ms > LONG_DELAY_MS:
        tips.append("The sound comes back late (a wireless speaker?): a wired or built-in speaker works best.")
    return tips


def describe(report: AudioReport) -> list[str]:
    """The report in plain words, one line a finding, advice last."""
    quietness = "a quiet room" if report.noise_dbfs < -55 else "some noise" if report.noise_dbfs < NOISY_ROOM_DBFS else "a noisy room"
    lines = [f"Noise floor: {report.noise_dbfs:.0f} dBFS ({quietness})."]
    if report.echo_found:
        lines.append(f"Echo: the microphone hears the speaker {report.echo_delay_ms:.0f} ms after it plays, "
                     f"at {report.echo_dbfs:.0f} dBFS ({report.echo_gain_db:+.0f} dB against what was played).")
    else:
        lines.append("Echo: the microphone did not hear the test sound.")
    if report.speech_dbfs is not None:
        lines.append(f"Your voice: {report.speech_dbfs:.0f} dBFS, {report.speech_over_noise_db:.0f} dB above the noise.")
    else:
        lines.append("Your voice: not heard.")
    tips = advice(report)
    lines += [f"Advice: {tip}" for tip in tips] or ["All good: the coach should hear you over its own voice."]
    return lines


# ----- devices -------------------------------------------------------------------------------

class AudioCheckUnavailable(RuntimeError):
    """No microphone or speaker to check; the message is one line."""


class AudioCheckDevice(Protocol):
    def play_and_record(self, played: np.ndarray, extra_seconds: float) -> np.ndarray:
        """Play `played` and record from its first sample until `extra_seconds` after its last."""

    def close(self) -> None: ...


class MiniaudioDuplex:
    """Playback and capture on one miniaudio duplex stream: one clock for both."""

    def __init__(self, rate: int = SAMPLE_RATE, block_ms: int = 20) -> None:
        from voicecoach.hearing.signal.sources import miniaudio_unavailable_reason

        reason = miniaudio_unavailable_reason()
        if reason:
            raise AudioCheckUnavailable(reason)
        import miniaudio

        from voicecoach import sound

        self.rate, self.block_ms = rate, block_ms
        try:
            self._stream = miniaudio.DuplexStream(
                playback_format=miniaudio.SampleFormat.FLOAT32, playback_channels=1,
                capture_format=miniaudio.SampleFormat.FLOAT32, capture_channels=1, sample_rate=rate,
                buffersize_msec=block_ms, backends=sound.chosen_backends(miniaudio, need_capture=True))
        except Exception as exc:  # noqa: BLE001 - miniaudio.MiniaudioError: no duplex device
            raise AudioCheckUnavailable(f"cannot open the speaker and microphone together ({exc})") from None

    def play_and_record(self, played: np.ndarray, extra_seconds: float) -> np.ndarray:
        total = len(played) + int(extra_seconds * self.rate)
        recorded: list[np.ndarray] = []
        done = threading.Event()
        state = {"played": 0, "recorded": 0}

        def exchange() -> Generator[bytes, bytes, None]:    # miniaudio sends captured bytes, takes bytes to play
            captured = yield b""
            while True:
                block = np.frombuffer(bytes(captured), dtype=np.float32)
                if state["recorded"] < total:
                    recorded.append(block.copy())
                    state["recorded"] += len(block)
                elif not done.is_set():
                    done.set()
                start = state["played"]
                out = np.zeros(len(block), np.float32)
                chunk = played[start:start + len(block)]
                out[: len(chunk)] = chunk
                state["played"] += len(block)
                captured = yield out.tobytes()

        generator = exchange()
        next(generator)
        self._stream.start(generator)
        try:
            if not done.wait(timeout=total / self.rate + 3.0):
                raise AudioCheckUnavailable("the sound device stopped while checking")
        finally:
            self._stream.stop()
        return np.concatenate(recorded)[:total] if recorded else np.zeros(0, np.float32)

    def close(self) -> None:
        self._stream.close()


def run_check(device: AudioCheckDevice, say: Callable[[str], None] = print, rate: int = SAMPLE_RATE) -> AudioReport:
    """The three recordings, then the report."""
    say("Checking the audio: please stay quiet for a second...")
    quiet = device.play_and_record(np.zeros(0, np.float32), QUIET_SECONDS)
    say("Playing a short test sound...")
    sweep = chirp(rate=rate)
    recorded = device.play_and_record(sweep, TAIL_SECONDS)
    say('Now say "stop" as you would during an exercise...')
    speech = device.play_and_record(np.zeros(0, np.float32), SPEECH_SECONDS)
    return analyze(quiet, sweep, recorded, speech, rate)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(open_device=None)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """The `check-audio` verb; it has no settings of its own."""
    opener = getattr(args, "open_device", None) or MiniaudioDuplex
    try:
        device = opener()
    except AudioCheckUnavailable as exc:
        print(f"voicecoach: cannot check the audio here: {exc}", file=sys.stderr)
        return 1
    try:
        report = run_check(device)
    except AudioCheckUnavailable as exc:
        print(f"voicecoach: the audio check stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        device.close()
    for line in describe(report):
        print(line)
    return 0
