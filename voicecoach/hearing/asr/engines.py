"""Choosing a recognizer: Whisper when a model loads, sphinx as the fallback, or a clear reason."""
from __future__ import annotations

import threading
from typing import Callable, ContextManager

import numpy as np

from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.hearing.asr.recognizer import Recognizer, RecognizerUnavailable, Transcript
from voicecoach.intents.catalog import Catalog

ENGINES = ("whisper", "sphinx")


def _sphinx() -> Recognizer:
    from voicecoach.hearing.asr.sphinx import SphinxRecognizer

    return SphinxRecognizer()


class FallingBack:
    """Whisper loading in the background, and sphinx from the moment Whisper is known to fail.

    A model can fail after `open_recognizer` has returned: a damaged model.bin, a model that
    loads but cannot decode (an empty vocabulary), a load that never ends. Then `notify`
    is told once, in one line, and every later command goes to the fallback; the primary's
    failure is never repeated per utterance. Without a fallback, hearing hears nothing.
    """

    def __init__(self, primary, notify: Callable[[str], None],
                 fallback: Callable[[], Recognizer] | None = None) -> None:
        self.primary = primary
        self._notify = notify
        self._make_fallback = fallback or (lambda: _sphinx())    # sphinx is imported only if needed
        self._current: Recognizer | None = None       # None while the primary is in use
        self._dead = False
        self._lock = threading.Lock()
        primary.on_loaded = self._loaded
        if getattr(primary, "failed", None):          # it failed before we were told to watch
            self._switch(primary.failed)

    def close(self, timeout: float = 30.0) -> None:
        close = getattr(self.primary, "close", None)
        if close is not None:
            close(timeout)

    @property
    def name(self) -> str:
        return self._current.name if self._current is not None else self.primary.name

    def _loaded(self, primary) -> None:
        if primary.failed:
            self._switch(primary.failed)

    def _switch(self, why: str) -> None:
        with self._lock:
            if self._current is not None or self._dead:
                return
            try:
                self._current = self._make_fallback()
                message = f"{why}; using sphinx instead"
            except RecognizerUnavailable as fallback_problem:
                self._dead = True
                message = f"{why}, and {fallback_problem}; nothing said is heard (type to the coach)"
        self._notify(message)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        if self._current is None and not self._dead:
            try:
                return self.primary.transcribe(audio)      # waits for the load, within its timeout
            except RecognizerUnavailable as exc:
                self._switch(str(exc))
        if self._current is not None:
            return self._current.transcribe(audio)
        return Transcript((), 0.0, 1000.0 * len(audio) / SAMPLE_RATE)


def open_recognizer(engine: str, catalog: Catalog, asr_model: str | None = None,
                    background: bool = True, notify: Callable[[str], None] | None = None,
                    load_gate: ContextManager | None = None) -> tuple[Recognizer, str | None]:
    """The recognizer to use and, when it is a fallback, the one line that says why.

    With `background`, Whisper loads while the caller goes on; should the load fail later,
    `notify` gets the one line and sphinx takes over (see FallingBack). `load_gate` is held
    while Whisper loads (see WhisperRecognizer.start_loading)."""
    if engine == "sphinx":
        return _sphinx(), None
    if engine != "whisper":
        raise RecognizerUnavailable(f"unknown recognizer {engine!r} (choose {' or '.join(ENGINES)})")
    try:
        from voicecoach.hearing.asr.whisper import load_whisper

        # No prompt of our phrases: measured, it did not make commands parse more often and
        # cost 20 ms a decode (docs/hearing.md).
        whisper = load_whisper(asr_model, background=background, gate=load_gate)
        if not background and whisper.failed:
            raise RecognizerUnavailable(whisper.failed)
        if background:
            return FallingBack(whisper, notify or (lambda line: None)), None
        return whisper, None
    except RecognizerUnavailable as whisper_problem:
        try:
            return _sphinx(), f"{whisper_problem}; using sphinx instead"
        except RecognizerUnavailable as sphinx_problem:
            raise RecognizerUnavailable(f"{whisper_problem}, and {sphinx_problem}") from None
