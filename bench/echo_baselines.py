"""The echo gates the coach's gate replaced, for comparison in the benchmarks.

The coach tells the user from its echo's remains with one gate (hearing/signal/echo.py's
ResidueGate: the double-talk score against the residue the linear canceller predicts; the
recognizer gets the linear output while the coach is heard). Before it, fixed margins on
AEC3's output decided, and the recognizer got AEC3's output. bench/barge_in.py
(`--gate fixed --hearing-input aec3`) and bench/coach_alone.py (`--baseline fixed`) pass
these to the canceller as its gate (hearing.pipeline.build_hearing's `echo_gate`).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.hearing.signal.echo import ENGINE_FRAME, EchoFrame, EchoGate, GateVerdict, ResidueGate
from voicecoach.hearing.signal.linear_echo import VOICE_LEVEL

RESIDUAL_MARGIN_DB = 20.0        # while the coach speaks, a cleaned frame this far below the microphone is its echo's remains
DOUBLE_TALK_RANGE_DB = 12.0      # while the coach is heard, the user counts only this close to its echo's usual level
ONSET_GUARD_S = 0.2              # AEC3 lets the first ~100 ms of the coach's voice after a pause through
PAUSE_S = 0.1                    # this much quiet before a sound makes it an onset
GATES = ("residue", "fixed")
HEARING_INPUTS = ("linear", "aec3")


def level_db(audio: np.ndarray) -> float:
    return 10.0 * float(np.log10(np.mean(np.square(audio, dtype=np.float64)) + 1e-12))


def starts_after_pause(played: np.ndarray) -> bool:
    """Whether the coach's voice starts, after PAUSE_S of quiet, within the last ONSET_GUARD_S (and the frame)."""
    voiced = np.mean(np.square(played[:len(played) // ENGINE_FRAME * ENGINE_FRAME].reshape(-1, ENGINE_FRAME)),
                     axis=1) > VOICE_LEVEL
    pause = round(PAUSE_S * 100)
    return any(voiced[i] and not voiced[i - pause:i].any() for i in range(pause, len(voiced)))


class FixedMargins:
    """While the coach is heard, a frame is its echo's remains when AEC3's output is RESIDUAL_MARGIN_DB
    under the microphone or DOUBLE_TALK_RANGE_DB under the echo's usual level, or within
    ONSET_GUARD_S of a line's onset; voice activity decides the rest. Never sure."""

    def __init__(self) -> None:
        self.echo_power = 0.0            # running mean power of the microphone while the coach is heard

    def judge(self, frame: EchoFrame) -> GateVerdict:
        kept = frame.linear if frame.coach_heard else frame.cleaned
        if not frame.coach_heard:
            return GateVerdict(False, False, kept, decides=False)
        power = float(np.mean(np.square(frame.mic, dtype=np.float64)))
        self.echo_power = power if self.echo_power == 0.0 else 0.98 * self.echo_power + 0.02 * power
        cleaned_db = level_db(frame.cleaned)
        onset = frame.played[-int((ONSET_GUARD_S + PAUSE_S) * SAMPLE_RATE) - len(frame.mic):]
        echo_only = (frame.unsure or starts_after_pause(onset)
                     or cleaned_db < level_db(frame.mic) - RESIDUAL_MARGIN_DB
                     or cleaned_db < 10.0 * np.log10(self.echo_power + 1e-12) - DOUBLE_TALK_RANGE_DB)
        return GateVerdict(echo_only, False, kept, decides=False)


class Aec3ForRecognizer:
    """Another gate's verdicts, with AEC3's output for the recognizer in every frame."""

    def __init__(self, inner: EchoGate) -> None:
        self.inner = inner

    def judge(self, frame: EchoFrame) -> GateVerdict:
        return replace(self.inner.judge(frame), kept=frame.cleaned)


def gate_maker(gate: str = "residue", hearing_input: str = "linear") -> Callable[[], EchoGate] | None:
    """A maker of fresh gates (each canceller its own: a gate may keep state) for the benchmarks'
    flags; None for the coach's own (the canceller's default)."""
    if gate not in GATES or hearing_input not in HEARING_INPUTS:
        raise ValueError(f"gate must be one of {GATES} and hearing_input one of {HEARING_INPUTS}")
    if gate == "residue" and hearing_input == "linear":
        return None
    base = FixedMargins if gate == "fixed" else ResidueGate
    return (lambda: Aec3ForRecognizer(base())) if hearing_input == "aec3" else base
