"""The hearing chain is built in one place (hearing.pipeline): the app, `transcribe --played` and
the benchmarks get the same chain for the same options."""
from __future__ import annotations

import argparse
import importlib

import pytest

from voicecoach.app import hearing_options, voice_hearing
from voicecoach.coach.session import Session
from voicecoach.hearing.pipeline import HearingOptions, build_hearing
from voicecoach.intents.load import load_catalog
from voicecoach.output import OutputStage
from voicecoach.settings import resolve_settings
from voicecoach.voice.speaker import SpeakerBase

CATALOG = load_catalog()


class PublishingVoice(SpeakerBase):
    """A voice that says what it plays (as the Piper voice does): the app then cancels its echo."""

    speaking = False
    publishes_playback = True

    def subscribe(self, subscriber) -> None:
        self.subscriber = subscriber

    def speak(self, reply) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def app_args(**values) -> argparse.Namespace:
    args = argparse.Namespace(echo=None, asr_model=None, keyword_model=None, reader_model=None, voice=None,
                              rate=None, volume=None, db=None, no_history=True, **values)
    args.settings = resolve_settings(args)
    return args


def bench_module(name: str):
    return importlib.import_module(f"bench.{name}")


def test_the_apps_options_are_the_pipelines_defaults_and_without_a_voice_there_is_no_canceller():
    assert hearing_options(app_args(), OutputStage([PublishingVoice()])) == HearingOptions()
    assert hearing_options(app_args(), OutputStage([])).echo == "none"
    with pytest.raises(ValueError, match="echo must be one of"):
        HearingOptions(echo="speex")


def test_the_benchmarks_chain_is_the_apps(whisper):
    output = OutputStage([PublishingVoice()])
    session = Session.__new__(Session)        # only its context is asked, and only when hearing reads
    app = voice_hearing(app_args(), output, whisper, CATALOG, session)
    live = bench_module("live")
    bench = live.shipped_hearing(whisper, CATALOG, session, output, None)
    assert app.graph() == bench.graph()
    assert app.graph()[:3] == ("EchoCanceller", "EchoGatedDetector", "EitherSpotter")
    barge_in = bench_module("barge_in")
    keyword = build_hearing(HearingOptions(), whisper, CATALOG).loop.spot.__self__.second
    options = barge_in.column_options(barge_in.KEYWORD_COLUMN, keyword_model=True)
    assert options == HearingOptions()
    assert build_hearing(options, whisper, CATALOG, keyword_spotter=keyword).graph() == app.graph()
    no_cancelling = build_hearing(barge_in.column_options("no cancellation", True), whisper, CATALOG)
    assert no_cancelling.canceller is None and no_cancelling.graph()[0] == "no canceller"


def test_a_benchmark_can_hand_in_the_parts_it_watches(whisper):
    class WatchedCheck:
        def spot(self, audio):
            return None

    watched = WatchedCheck()
    hearing = build_hearing(HearingOptions(barge_in="check", echo="none"), whisper, CATALOG, check=watched)
    assert hearing.loop.spot.__self__ is watched and hearing.canceller is None
    assert build_hearing(HearingOptions(barge_in="none", echo="none"), whisper, CATALOG, check=watched).loop.spot is None


def test_a_benchmarks_baseline_gate_goes_into_the_canceller_and_the_coach_keeps_its_own(whisper):
    baselines = bench_module("echo_baselines")
    fixed = build_hearing(HearingOptions(), whisper, CATALOG, echo_gate=baselines.gate_maker("fixed", "aec3"))
    assert isinstance(fixed.canceller.gate, baselines.Aec3ForRecognizer)
    assert isinstance(fixed.canceller.gate.inner, baselines.FixedMargins)
    shipped = build_hearing(HearingOptions(), whisper, CATALOG)
    assert type(shipped.canceller.gate).__name__ == "ResidueGate"
    assert baselines.gate_maker("residue", "linear") is None
