"""Echo cancellation with the exact reference: the coach's own voice taken out of the microphone.

    player --(samples it hands the device, and when)--> EchoCanceller.played(...)
    microphone frame (and when it was captured) --> EchoCanceller.process(...) --> cleaned frame

The player publishes what it plays with the clock time the device plays it (hearing and voice
never import each other); the canceller keeps that reference on the microphone's clock, finds
the delay from the signals, and cleans each frame with an `EchoEngine`: WebRTC's AEC3 through
livekit (without it, `open_canceller` returns None and a one-line notice, and the coach's voice
is told from the user's by its words only). A linear canceller runs beside it
(hearing.signal.linear_echo): while the coach is heard, its double-talk score decides whether
the user is talking and its output is what the recognizer gets. That judgement is one
injected part, the gate (`EchoGate`); `ResidueGate` is the coach's, and the benchmarks pass
the fixed margins it replaced (bench/echo_baselines.py) for comparison. How it was measured:
docs/hearing.md.
"""
from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.hearing.signal.linear_echo import (
    BLOCK,
    FIT_S,
    VOICE_LEVEL,
    DoubleTalkDetector,
    LinearCanceller,
)
from voicecoach.hearing.signal.sources import StreamResampler

ENGINE_FRAME = SAMPLE_RATE // 100      # AEC3 works on 10 ms frames
REFERENCE_SECONDS = 12.0               # reference kept; longer than any delay or estimation window
MAX_DELAY_MS = 500.0                   # delays searched (device buffers + room; a laptop is ~20-200 ms)
ESTIMATE_WINDOW_S = 2.0                # signal used by one delay check
RECHECK_S = 4.0                        # seconds between checks once the delay is known
CHECK_EVERY = SAMPLE_RATE // 2         # until then (and while the coach is silent), look every 0.5 s
MIN_PEAK_RATIO = 6.0                   # a correlation peak this far above the rest is a delay, not chance
AGREE_MS = 3.0                         # two checks this close agree
LEAD_MS = 20.0                         # the reference goes in this much early: AEC3 cannot model an echo before its sound
FIT_LEAD_MS = 3.0                      # a least-squares start of the linear filter has no taps earlier than the delay less this
SELF_ALIGN_MS = 150.0                  # AEC3 finds delays up to this itself (measured: up to ~400 ms); we shift only beyond
SETTLE_S = 0.6                         # after a new alignment the fresh filter lets echo through this long
CONTIGUOUS_S = 0.010                   # a reference block this close to the last one's end continues it
REVERB_S = 0.3                         # the coach's voice still rings in the room this long after a sound
LINEAR_SETTLE_S = 1.0                  # a fresh linear filter predicts too little of the echo this long
LINEAR_SPAN_MS = 100.0                 # the linear filter keeps its taps while the delay stays this far into them
USER_DB = 11.0                         # the linear canceller's error this far above its predicted residue: the user
SURE_DB = 14.0                         # this far: sure enough to start an utterance on one frame
CANCELLER_HINT = "pip install livekit"
log = logging.getLogger(__name__)


class EchoEngine(Protocol):
    name: str

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """ENGINE_FRAME int16 samples of each in (the reference aligned to the microphone); cleaned int16 out."""


class Aec3Engine:
    """WebRTC's AEC3 (with its high-pass filter) through livekit's AudioProcessingModule."""

    name = "webrtc-aec3"

    def __init__(self) -> None:
        from livekit import rtc  # lazily: the package carries a 30 MB native library

        self._rtc = rtc
        self._apm = rtc.AudioProcessingModule(echo_cancellation=True, high_pass_filter=True)
        self._apm.set_stream_delay_ms(0)    # the reference arrives aligned; AEC3 finds what is left

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        far = self._rtc.AudioFrame(reference.tobytes(), SAMPLE_RATE, 1, ENGINE_FRAME)
        self._apm.process_reverse_stream(far)
        near = self._rtc.AudioFrame(mic.tobytes(), SAMPLE_RATE, 1, ENGINE_FRAME)
        self._apm.set_stream_delay_ms(0)    # must be set before every near-end frame
        self._apm.process_stream(near)
        return np.frombuffer(near.data, dtype=np.int16).copy()


ENGINES = {"webrtc": Aec3Engine}


class _Timeline:
    """Samples at 16 kHz indexed by absolute clock position (round(t * 16000)); unknown samples read as 0."""

    def __init__(self, seconds: float = REFERENCE_SECONDS) -> None:
        self.size = int(seconds * SAMPLE_RATE)
        self._samples = np.zeros(self.size, dtype=np.float32)
        self._index = np.full(self.size, -1, dtype=np.int64)      # which absolute sample each slot holds

    def write(self, start: int, samples: np.ndarray) -> None:
        if len(samples) > self.size:         # only the last `size` samples fit: they keep their own positions
            start, samples = start + len(samples) - self.size, samples[-self.size:]
        positions = np.arange(start, start + len(samples))
        slots = positions % self.size
        self._samples[slots] = samples
        self._index[slots] = positions

    def read(self, start: int, count: int) -> np.ndarray:
        positions = np.arange(start, start + count)
        slots = positions % self.size
        return np.where(self._index[slots] == positions, self._samples[slots], 0.0).astype(np.float32)


@dataclass(frozen=True)
class EchoFrame:
    """One microphone frame as the canceller saw it: what a gate judges."""
    mic: np.ndarray          # as captured (on the outputs' timing: a frame not a multiple of 10 ms comes out one engine frame late)
    cleaned: np.ndarray      # AEC3's output: what voice activity hears
    linear: np.ndarray       # the linear canceller's output
    played: np.ndarray       # the reference as it reaches the microphone, REVERB_S before the frame to its end
    coach_heard: bool        # the coach's voice (or its ringing) is in the frame
    unsure: bool             # the delay is not known yet, or a fresh filter is settling
    user_db: float           # the double-talk score: the linear error above the residue it predicts


@dataclass(frozen=True)
class GateVerdict:
    echo_only: bool          # nothing in the frame but what is left of the coach's echo
    sure: bool               # the user beyond doubt: an utterance may start on this frame alone
    kept: np.ndarray         # the frame as the recognizer is to get it
    decides: bool            # the verdict alone says speech or not (voice activity is not asked)


class EchoGate(Protocol):
    """What tells the user from the coach's echo's remains, frame by frame."""

    def judge(self, frame: EchoFrame) -> GateVerdict: ...


class ResidueGate:
    """The coach's gate. While the coach is heard, the user is the double-talk score standing
    USER_DB above the residue the linear canceller predicts (SURE_DB: sure), and the recognizer
    gets the linear output (AEC3's residual suppressor takes the user's consonants in double
    talk); otherwise voice activity decides on AEC3's output, and the recognizer gets the
    microphone as it came: there is no echo to take out, and AEC3, adapted to the coach's
    voice, still took from the user's "s" sounds ("add ten seconds" read "and ten circles")."""

    def judge(self, frame: EchoFrame) -> GateVerdict:
        if not frame.coach_heard:
            return GateVerdict(False, False, frame.mic, decides=False)
        return GateVerdict(frame.unsure or frame.user_db < USER_DB, not frame.unsure and frame.user_db >= SURE_DB,
                           frame.linear, decides=True)


def _resampler_at(at: float, sample_rate: int) -> tuple[StreamResampler | None, int]:
    """A resampler for a stretch of reference that starts playing at clock time `at`, and the
    16 kHz sample its first output is. Each stretch lands on the same grid of 16 kHz samples
    (sample k is the sound at k / 16 kHz), to a fraction of a sample: the echo filter learned on
    the last stretch fits the next one. Starting each on the nearest sample instead leaves up to
    half a sample of error: the echo's high frequencies come through until the filter re-learns
    (19 dB taken out in a line's first quarter second instead of 27, in the tests' room)."""
    if sample_rate == SAMPLE_RATE:
        return None, round(at * SAMPLE_RATE)
    first = math.ceil(at * SAMPLE_RATE - 1e-6)
    phase = min(max(0.0, (first / SAMPLE_RATE - at) * sample_rate), sample_rate / SAMPLE_RATE - 1e-9)
    return StreamResampler(sample_rate, SAMPLE_RATE, phase=phase), first


def _to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


def _joined(blocks: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(blocks).astype(np.float32) if blocks else np.zeros(0, np.float32)


def _in_step(held: np.ndarray, new: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """`length` samples out of what is held plus `new` (zeros in front when short), and the rest held."""
    held = np.concatenate([held, new])
    out, rest = held[:length], held[length:]
    if len(out) < length:
        out = np.concatenate([np.zeros(length - len(out), np.float32), out])
    return out, rest


def estimate_delay(reference: np.ndarray, mic: np.ndarray, max_delay: int) -> tuple[int, float] | None:
    """How many samples `mic` lags `reference` (GCC-PHAT), and how far the peak stands out; None if unclear.

    `reference` covers the same time as `mic` plus the `max_delay` samples before it.
    """
    size = 1 << (len(reference) + len(mic) - 1).bit_length()
    spectrum = np.fft.rfft(reference, size) * np.conj(np.fft.rfft(mic, size))
    spectrum /= np.abs(spectrum) + 1e-9                   # PHAT: every frequency counts alike; rooms smear less
    magnitude = np.abs(np.fft.irfft(spectrum, size)[:max_delay + 1])   # index k: mic lags by max_delay - k
    lag = int(np.argmax(magnitude))
    rest = np.delete(magnitude, slice(max(0, lag - 16), lag + 17))
    ratio = float(magnitude[lag] / (np.sqrt(np.mean(rest ** 2)) + 1e-12)) if len(rest) else 0.0
    return (max_delay - lag, ratio) if ratio >= MIN_PEAK_RATIO else None


@dataclass(frozen=True)
class DelayCheck:
    at: float                # clock time of the check
    delay_ms: float | None   # what the check found (None: no clear peak)
    peak_ratio: float


class EchoCanceller:
    """Reference in (`played`, from the player's thread), microphone frames in and cleaned out (`process`).

    Times are clock seconds: `at` in `played` is when the device starts playing the first
    sample; `at` in `process` is when the first sample of the frame was captured.
    """

    def __init__(self, make_engine: Callable[[], EchoEngine], initial_delay_ms: float = 0.0,
                 max_delay_ms: float = MAX_DELAY_MS, recheck_seconds: float = RECHECK_S,
                 gate: EchoGate | None = None) -> None:
        self.gate: EchoGate = gate if gate is not None else ResidueGate()
        self._make_engine = make_engine
        self.engine = make_engine()
        self.delay_ms = initial_delay_ms          # the delay measured (or assumed until measured)
        self.aligned_ms = self._alignment_for(initial_delay_ms)   # how far the reference is shifted
        self._settled_at = 0.0                    # clock time the filter in use has settled
        self.delay_known = False                  # True once measured from the signals
        self.checks: list[DelayCheck] = []
        self.max_delay = int(max_delay_ms * SAMPLE_RATE / 1000)
        self.recheck_samples = int(recheck_seconds * SAMPLE_RATE)
        self._reference = _Timeline()
        self._mic = _Timeline()
        self._lock = threading.Lock()
        self._resampler: StreamResampler | None = None
        self._resampler_rate = 0
        self._next_position: int | None = None    # where a contiguous reference block would start
        self._next_at = 0.0
        self._pending_mic = np.zeros(0, dtype=np.float32)
        self._pending_start = 0
        self._held_out = np.zeros(0, dtype=np.float32)
        self.echo_only = False                    # the last frame held nothing but what is left of the coach's echo
        self._since_check = 0                     # microphone samples since the last delay check
        self._candidate: float | None = None
        self._mic_end = 0
        self._linear = LinearCanceller()
        self.refits = 0                           # least-squares starts the linear filter took
        self._linear_shift = max(0.0, initial_delay_ms - LEAD_MS)   # how far the linear filter's reference is shifted
        self._doubletalk = DoubleTalkDetector()
        self._linear_settled_at = 0.0             # clock time the linear filter in use has settled
        self._held_linear = np.zeros(0, dtype=np.float32)
        self._held_estimate = np.zeros(0, dtype=np.float32)
        self._held_mic = np.zeros(0, dtype=np.float32)
        self.user_db = 0.0                        # the last frame's double-talk score (dB above the predicted residue)
        self.sure = False                         # the last frame was the user beyond doubt
        self.gate_decides = False                 # the gate alone said whether the last frame was speech
        self.coach_heard = False                  # the coach's voice (or its ringing) was in the last frame
        self.kept = np.zeros(0, dtype=np.float32)  # the last frame as the recognizer is to get it
        self.played_now = np.zeros(0, dtype=np.float32)  # what was played, as it reaches the microphone in the last frame

    @property
    def name(self) -> str:
        return self.engine.name

    # The player's side.
    def played(self, samples: np.ndarray, sample_rate: int, at: float) -> None:
        """`samples` (float32 mono at `sample_rate`) start playing at clock time `at`."""
        samples = np.asarray(samples, dtype=np.float32)
        if len(samples) == 0:
            return
        with self._lock:
            contiguous = (self._next_position is not None and sample_rate == self._resampler_rate
                          and abs(at - self._next_at) <= CONTIGUOUS_S)
            if not contiguous:      # a new stretch of speech (or the clock jumped): start it where it plays
                self._resampler_rate = sample_rate
                self._resampler, self._next_position = _resampler_at(at, sample_rate)
            audio = self._resampler.process(samples) if self._resampler is not None else samples
            assert self._next_position is not None
            self._reference.write(self._next_position, audio)
            self._next_position += len(audio)
            self._next_at = at + len(samples) / sample_rate

    # The microphone's side.
    def process(self, frame: np.ndarray, at: float) -> np.ndarray:
        """A microphone frame (float32, 16 kHz) captured from clock time `at`; the same length, echo removed."""
        frame = np.asarray(frame, dtype=np.float32)
        start = round(at * SAMPLE_RATE)
        with self._lock:
            self._mic.write(start, frame)
            self._mic_end = start + len(frame)
            if not len(self._pending_mic):
                self._pending_start = start
            self._pending_mic = np.concatenate([self._pending_mic, frame])
            whole = len(self._pending_mic) // ENGINE_FRAME * ENGINE_FRAME
            delay = round(self.aligned_ms * SAMPLE_RATE / 1000)
            reference = self._reference.read(self._pending_start - delay, whole)
            linear_delay = round(self._linear_shift * SAMPLE_RATE / 1000)
            linear_reference = self._reference.read(self._pending_start - linear_delay, whole)
            reverb = int(REVERB_S * SAMPLE_RATE)
            recent = self._reference.read(start - round(self.delay_ms * SAMPLE_RATE / 1000) - reverb, reverb + len(frame))
            self.played_now = recent[len(recent) - len(frame):]
            self._since_check += len(frame)
            fit_audio = None
            if self._since_check >= (self.recheck_samples if self.delay_known else CHECK_EVERY):
                fit_audio = self._check_delay(at)
        if fit_audio is not None:     # outside the lock: the player's thread must not wait for the fit
            left = self._linear.refit(*fit_audio)
            if left is not None:
                self._doubletalk.canceller_improved(*left)
                self.refits += 1
        mic_now, self._pending_mic = self._pending_mic[:whole], self._pending_mic[whole:]
        cleaned, linear, estimate = [], [], []
        for i in range(0, whole, ENGINE_FRAME):
            cleaned.append(self.engine.process(_to_int16(mic_now[i:i + ENGINE_FRAME]), _to_int16(reference[i:i + ENGINE_FRAME])))
            for j in range(i, i + ENGINE_FRAME, BLOCK):
                error, echo = self._linear.process(mic_now[j:j + BLOCK], linear_reference[j:j + BLOCK],
                                                   may_copy=self.echo_only or not self.coach_heard)
                linear.append(error)
                estimate.append(echo)
        self._pending_start += whole
        out = (np.concatenate(cleaned).astype(np.float32) / 32767.0) if cleaned else np.zeros(0, np.float32)
        # Frames that are not a multiple of 10 ms come out one engine frame late, never shorter.
        result, self._held_out = _in_step(self._held_out, out, len(frame))
        linear_out, self._held_linear = _in_step(self._held_linear, _joined(linear), len(frame))
        estimate_out, self._held_estimate = _in_step(self._held_estimate, _joined(estimate), len(frame))
        mic_out, self._held_mic = _in_step(self._held_mic, mic_now, len(frame))
        coach_heard = float(np.mean(np.square(recent))) > VOICE_LEVEL
        self.coach_heard = coach_heard
        # Until the delay is known, and while a fresh filter settles, only the coach is taken to be heard.
        unsure = not self.delay_known or at < self._settled_at or at < self._linear_settled_at
        self.user_db = self._doubletalk.score(linear_out, estimate_out, coach_heard, alone=unsure, mic=mic_out)
        verdict = self.gate.judge(EchoFrame(mic_out, result, linear_out, recent, coach_heard, unsure, self.user_db))
        self.echo_only, self.sure, self.kept, self.gate_decides = (verdict.echo_only, verdict.sure, verdict.kept,
                                                                   verdict.decides)
        return result

    def _check_delay(self, at: float) -> tuple[np.ndarray, np.ndarray, int] | None:
        """Measure the delay on the last few seconds; adopt it when two checks agree (or at the first).

        Only when the coach spoke through most of the window: silence has no delay to find.
        When the delay is first known, or a new one brings a fresh linear filter, the audio
        for that filter's least-squares start is returned (LinearCanceller.refit).
        """
        self._judge_delay(at)
        # A fit judged on audio the coach was silent through is refused: tried again at the
        # next check, until one is taken or NLMS has had its seconds of the coach's voice.
        if self.delay_known and not self._linear.refitted and not self._linear.settled:
            return self._fit_audio()
        return None

    def _fit_audio(self) -> tuple[np.ndarray, np.ndarray, int]:
        """The last FIT_S of the microphone, the reference the linear filter heard with it, and
        its first tap the fit may use: FIT_LEAD_MS before the measured delay."""
        count, taps = int(FIT_S * SAMPLE_RATE), self._linear.partitions * BLOCK
        shift = round(self._linear_shift * SAMPLE_RATE / 1000)
        first_tap = round((self.delay_ms - FIT_LEAD_MS) * SAMPLE_RATE / 1000) - shift
        return (self._reference.read(self._mic_end - count - shift - taps + 1, count + taps - 1),
                self._mic.read(self._mic_end - count, count), max(0, first_tap))

    def _judge_delay(self, at: float) -> None:
        """One delay check: adopt, confirm, or keep as a candidate (see _check_delay)."""
        window = int(ESTIMATE_WINDOW_S * SAMPLE_RATE)
        reference = self._reference.read(self._mic_end - window - self.max_delay, window + self.max_delay)
        voiced = np.mean(np.square(reference[-window:].reshape(-1, ENGINE_FRAME)), axis=1) > 1e-6
        if voiced.mean() < 0.5:
            self._since_check = self.recheck_samples if self.delay_known else 0   # look again soon
            self._since_check = max(0, self._since_check - CHECK_EVERY)
            return
        self._since_check = 0
        mic = self._mic.read(self._mic_end - window, window)
        found = estimate_delay(reference, mic, self.max_delay)
        if found is None:
            self.checks.append(DelayCheck(at, None, 0.0))
            return
        lag, ratio = found
        measured = 1000.0 * lag / SAMPLE_RATE
        self.checks.append(DelayCheck(at, measured, ratio))
        if abs(measured - self.delay_ms) > AGREE_MS:
            log.info("echo: a check finds the voice %.0f ms after it is played (%.0f ms in use)", measured, self.delay_ms)
        if abs(measured - self.delay_ms) <= AGREE_MS:
            self.delay_known, self._candidate = True, None
        elif not self.delay_known or (self._candidate is not None and abs(measured - self._candidate) <= AGREE_MS):
            self._realign(measured, at)
        else:
            self._candidate = measured

    @staticmethod
    def _alignment_for(delay_ms: float) -> float:
        """How far to shift the reference for a delay: not at all while AEC3 finds it alone."""
        return 0.0 if delay_ms <= SELF_ALIGN_MS else delay_ms - LEAD_MS

    def _realign(self, delay_ms: float, at: float) -> None:
        """Take a new delay. A new shift comes with a fresh engine: a filter adapted to the old
        alignment takes seconds to unlearn it, a new one converges within about half a second."""
        log.info("echo: the microphone hears the voice %.0f ms after it is played", delay_ms)
        self.delay_ms, self.delay_known, self._candidate = delay_ms, True, None
        aligned = self._alignment_for(delay_ms)
        if not 0.0 <= delay_ms - self._linear_shift <= LINEAR_SPAN_MS:
            # The echo now starts outside the filter's first part: a new shift, a fresh filter.
            self._linear_shift = max(0.0, delay_ms - LEAD_MS)
            self._linear, self._doubletalk = LinearCanceller(), DoubleTalkDetector()
            self._linear_settled_at = at + LINEAR_SETTLE_S
        self._linear.silence_before(round((delay_ms - LEAD_MS - self._linear_shift) * SAMPLE_RATE / 1000))
        if aligned != self.aligned_ms:
            self.aligned_ms = aligned
            self.engine = self._make_engine()
            self._settled_at = at + SETTLE_S


class EchoGatedDetector:
    """A speech detector that does not count what is left of the coach's echo as speech.

    The canceller takes out most of the echo, but the rest can still stand above a quiet
    room's noise. While the coach is heard, speech is the canceller's double-talk score
    standing USER_DB above the residue it predicts (two frames), or SURE_DB (one frame:
    `sure`); otherwise the inner detector decides (the canceller's gate says which). The
    recognizer gets `kept(frame)`.
    """

    def __init__(self, inner, canceller: EchoCanceller) -> None:
        self.inner = inner
        self.canceller = canceller
        self.name = f"{inner.name}+echo-gate"

    @property
    def sure(self) -> bool:
        """The last frame was the user beyond doubt (the endpointer may start on it alone)."""
        return self.canceller.sure

    def kept(self, frame: np.ndarray) -> np.ndarray:
        """The frame just judged, as the recognizer is to get it (the linear output in double talk)."""
        kept = self.canceller.kept
        return kept if len(kept) == len(frame) else frame

    def is_speech(self, frame: np.ndarray) -> bool:
        speech = self.inner.is_speech(frame)       # always fed: it tracks the noise floor
        if self.canceller.gate_decides:
            return not self.canceller.echo_only    # the double-talk score has its own noise floor
        return speech and not self.canceller.echo_only


def echo_gated_endpointer(canceller: EchoCanceller | None):
    """The usual Endpointer, its detector gated by the canceller when there is one."""
    from voicecoach.hearing.signal.vad import Endpointer, default_detector

    if canceller is None:
        return Endpointer()
    return Endpointer(EchoGatedDetector(default_detector(), canceller))


def open_canceller(name: str = "webrtc", initial_delay_ms: float = 0.0,
                   **options) -> tuple[EchoCanceller | None, str | None]:
    """The echo canceller, or None and the one-line reason (hearing then goes on without one)."""
    if name == "none":
        return None, None
    try:
        make_engine = ENGINES[name]
        make_engine().process(np.zeros(ENGINE_FRAME, np.int16), np.zeros(ENGINE_FRAME, np.int16))
    except ImportError:
        return None, f"no echo canceller ({CANCELLER_HINT}); the coach's own voice is told apart by its words only"
    except Exception as exc:  # noqa: BLE001 - the native library failed to load or start
        return None, f"no echo canceller ({' '.join(str(exc).split()) or type(exc).__name__}); the coach's own voice is told apart by its words only"
    return EchoCanceller(make_engine, initial_delay_ms, **options), None


class CancelledSource:
    """An audio source with the coach's echo taken out of every frame.

    A frame's capture time is counted from the first frame (first arrival less one frame),
    so the times stay steady however unevenly frames arrive; drift between the two device
    clocks is what the delay re-checks follow.
    """

    def __init__(self, source, canceller: EchoCanceller, clock) -> None:
        self.source = source
        self.canceller = canceller
        self.clock = clock
        self.name = source.name

    def frames(self, cancel):
        from voicecoach.hearing.signal.sources import FRAME_SECONDS

        first_at: float | None = None
        for count, frame in enumerate(self.source.frames(cancel)):
            if first_at is None:
                first_at = self.clock.now() - FRAME_SECONDS
            yield self.canceller.process(frame, first_at + count * FRAME_SECONDS)
