"""Choosing a recognizer: Whisper when a model loads, sphinx as the fallback, or a clear reason."""
from __future__ import annotations

from voicecoach.hearing.recognizer import Recognizer, RecognizerUnavailable
from voicecoach.intents.catalog import Catalog

ENGINES = ("whisper", "sphinx")


def open_recognizer(engine: str, catalog: Catalog, asr_model: str | None = None,
                    background: bool = True) -> tuple[Recognizer, str | None]:
    """The recognizer to use and, when it is a fallback, the one line that says why."""
    if engine == "sphinx":
        from voicecoach.hearing.sphinx import SphinxRecognizer

        return SphinxRecognizer(), None
    if engine != "whisper":
        raise RecognizerUnavailable(f"unknown recognizer {engine!r} (choose {' or '.join(ENGINES)})")
    try:
        from voicecoach.hearing.whisper import load_whisper

        # No prompt of our phrases: measured, it did not make commands parse more often and
        # cost 20 ms a decode (README "Hearing").
        return load_whisper(asr_model, background=background), None
    except RecognizerUnavailable as whisper_problem:
        try:
            from voicecoach.hearing.sphinx import SphinxRecognizer

            return SphinxRecognizer(), f"{whisper_problem}; using sphinx instead"
        except RecognizerUnavailable as sphinx_problem:
            raise RecognizerUnavailable(f"{whisper_problem}, and {sphinx_problem}") from None
