"""The hearing chain, built in one place from typed options.

    microphone -> echo canceller (fed what the speaker plays) -> endpointer (voice activity,
    gated by the canceller) -> barge-in check (Whisper's closed list + keyword model)
    -> recognizer -> reading -> HearingEvents

The app, `transcribe --played` and the benchmarks all get their chain from `build_hearing`:
a benchmark varies `HearingOptions` or passes its own parts (a recognizer, a keyword
spotter), never a construction of its own, so what it measures is what ships.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voicecoach.hearing.bargein.keyword_model import (
    EitherSpotter,
    combined_spotter,
    open_keyword_spotter,
)
from voicecoach.hearing.bargein.keywords import spotter_for
from voicecoach.hearing.loop import LATE_MS, ListenLoop, reader
from voicecoach.hearing.signal.echo import (
    CancelledSource,
    EchoCanceller,
    EchoGate,
    echo_gated_endpointer,
    open_canceller,
)
from voicecoach.hearing.signal.sources import AudioSource
from voicecoach.intents.types import Context

ECHO_ENGINES = ("webrtc", "none")
BARGE_IN_CHECKS = ("check+model", "check", "model", "none")


@dataclass(frozen=True)
class HearingOptions:
    echo: str = "webrtc"                 # the canceller's engine; "none": the coach is told apart by its words only
    barge_in: str = "check+model"        # which barge-in checks run before the full decode
    keyword_model: str | None = None     # the keyword model setting (None: the shipped one; "off": none)
    late_ms: float = LATE_MS             # a reading this long after its speech is not answered as new

    def __post_init__(self) -> None:
        if self.echo not in ECHO_ENGINES:
            raise ValueError(f"echo must be one of {', '.join(ECHO_ENGINES)}, not {self.echo!r}")
        if self.barge_in not in BARGE_IN_CHECKS:
            raise ValueError(f"barge_in must be one of {', '.join(BARGE_IN_CHECKS)}, not {self.barge_in!r}")


@dataclass
class Hearing:
    """A built chain: the listen loop, its canceller (None without one) and what was said about it."""
    loop: ListenLoop
    canceller: EchoCanceller | None
    notices: tuple[str, ...] = ()

    def source(self, raw: AudioSource, clock) -> AudioSource:
        """`raw` (a microphone, a file) with the coach's voice taken out, when there is a canceller."""
        return raw if self.canceller is None else CancelledSource(raw, self.canceller, clock)

    def graph(self) -> tuple[str, ...]:
        """The chain's parts by kind, in order: what a test compares between two builds."""
        spot = self.loop.spot
        owner = getattr(spot, "__self__", None)
        parts = [type(self.canceller).__name__ if self.canceller else "no canceller",
                 type(self.loop.endpointer.detector).__name__,
                 type(owner).__name__ if owner is not None else "no barge-in check"]
        if isinstance(owner, EitherSpotter):
            parts += [type(owner.first).__name__, type(owner.second).__name__]
        return tuple(parts)


def build_hearing(options: HearingOptions, recognizer, catalog, *, context: Callable[[], Context] = Context,
                  statistical=None, model_wanted: Callable[[], bool] | None = None,
                  keyword_spotter=None, check=None, echo_gate: Callable[[], EchoGate] | None = None) -> Hearing:
    """The chain for `options` on `recognizer` (a hearing Recognizer). `context` is asked at each
    utterance; `model_wanted` says when the keyword model's hits count (None: always);
    `keyword_spotter` is a keyword model already loaded (a benchmark's workers share one) and
    `check` a Whisper check already made (a benchmark watches what it scores); `echo_gate` makes
    the canceller's gate (None: the coach's own; a benchmark's baselines, bench/echo_baselines.py)."""
    notices: list[str] = []
    canceller = None
    if options.echo != "none":
        canceller, notice = open_canceller(options.echo, gate=echo_gate() if echo_gate is not None else None)
        notices += [notice] if notice else []
    spotter, said = barge_in_spotter(options, recognizer, model_wanted, keyword_spotter, check)
    notices += said
    loop = ListenLoop(reader(recognizer, catalog, context, statistical), endpointer=echo_gated_endpointer(canceller),
                      spot=spotter.spot if spotter is not None else None, late_ms=options.late_ms)
    return Hearing(loop, canceller, tuple(notices))


def barge_in_spotter(options: HearingOptions, recognizer, model_wanted: Callable[[], bool] | None = None,
                     keyword_spotter=None, check=None) -> tuple[Any, list[str]]:
    """The barge-in check `options` ask for (the listen loop's, and `transcribe`'s for a file),
    and what is to be said about it: Whisper's closed-list check (when the recognizer is
    Whisper) and the keyword model (its one-line notice when it cannot be used), decided by
    hearing.bargein.keyword_model.decide; None without either.

    `model_wanted` says when the model's hits count: while the coach talks or an exercise
    runs, where a missed "stop" or "ouch" costs most and a false "pause" little. With the
    coach idle and silent, Whisper hears the user clearly, and a false "stop" would end the
    program: there Whisper's check and the full decode decide alone."""
    notices: list[str] = []
    if options.barge_in not in ("check+model", "check"):
        check = None
    elif check is None:
        check = spotter_for(recognizer)
    model = None
    if options.barge_in in ("check+model", "model"):
        model = keyword_spotter
        if model is None:
            model, notice = open_keyword_spotter(options.keyword_model)
            notices += [notice] if notice else []
    return combined_spotter(check, model, model_wanted), notices
