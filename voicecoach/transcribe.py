"""`voicecoach transcribe FILE.wav ...`: what the recognizer hears, one JSON line a file.

With `--played PLAYED.wav` (one for each FILE, in order: what the speaker played while FILE
was recorded, starting at the same moment, at any sample rate) each recording goes through
the live listen loop instead: the echo canceller fed with what was played, voice activity,
end of speech and the barge-in rules while the coach spoke; one JSON line an utterance:
"file", "start_ms", "end_ms", "text", "intent", "slots" (and "ignored" with the reason when
the rules would not act on it).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from voicecoach.hearing.asr.engines import ENGINES, open_recognizer
from voicecoach.hearing.asr.recognizer import RecognizerUnavailable
from voicecoach.hearing.reading import read_intent
from voicecoach.hearing.signal.audio import SAMPLE_RATE, AudioError, read_wav
from voicecoach.limits import MAX_COMMAND_AUDIO_SECONDS
from voicecoach.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, help="WAV files (8-48 kHz, 8-32 bit PCM or 32-bit float, up to 30 s each)")
    parser.add_argument("--asr", choices=ENGINES, default="whisper", help="the recognizer (default: whisper)")
    parser.add_argument("--asr-model", default=None, metavar="DIR",
                        help="a CTranslate2 Whisper model directory (default: $VOICECOACH_ASR_MODEL, the config file, or the bundled tiny.en)")
    parser.add_argument("--reader-model", default=None, metavar="FILE",
                        help="a saved statistical reader (.npz), or 'off' to read with the templates alone")
    parser.add_argument("--keyword-model", default=None, metavar="FILE",
                        help="the barge-in keyword model (.npz; default: the shipped one), or 'off' for Whisper's check alone")
    parser.add_argument("--played", action="append", type=Path, default=None, metavar="PLAYED.wav",
                        help="what the speaker played while the recording was made (one per FILE, in order, same start)")
    parser.add_argument("--echo", choices=("webrtc", "none"), default="webrtc",
                        help="echo canceller used with --played (default: webrtc)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from voicecoach.content.loader import load_content
    from voicecoach.intents.load import load_catalog
    from voicecoach.intents.understand import open_reader

    catalog = load_catalog(cache=settings.catalog_cache)
    if args.played is not None and len(args.played) != len(args.files):
        print(f"voicecoach: {len(args.files)} recordings but {len(args.played)} --played files; give one --played per recording, in order",
              file=sys.stderr)
        return 2
    statistical, reader_notice = open_reader(catalog, load_content().topic_texts(), settings.reader_model,
                                             background=False,
                                             model_source=settings.sources.get("reader_model", "the settings"),
                                             tuned=settings.tuned_reader)
    if reader_notice:
        print(f"voicecoach: {reader_notice}", file=sys.stderr)
    try:
        recognizer, notice = open_recognizer(args.asr, catalog, settings.asr_model, background=False,
                                             asr_model_source=settings.sources.get("asr_model", "flag"))
    except RecognizerUnavailable as exc:
        print(f"voicecoach: no recognizer: {exc}", file=sys.stderr)
        return 1
    if notice:
        print(f"voicecoach: {notice}", file=sys.stderr)
    if args.played is not None:
        return _run_played(args, settings, recognizer, catalog, statistical)
    # As the live coach hears with nothing going on: stop, pause and pain phrases first, by
    # Whisper's check (the keyword model listens only while the coach talks or an exercise runs).
    barge_in = _barge_in_check(settings.keyword_model, recognizer, lambda: False)
    failures = 0
    for path in args.files:
        try:
            # One file is one command: past Whisper's 30 s window the rest would go unheard.
            audio = read_wav(path, MAX_COMMAND_AUDIO_SECONDS, "one command")
        except AudioError as exc:
            print(f"voicecoach: {exc}", file=sys.stderr)
            print(json.dumps({"file": str(path), "error": str(exc)}), flush=True)
            failures += 1
            continue
        started = time.perf_counter()
        hit = _barge_in_hit(barge_in, audio)
        if hit is not None:
            print(json.dumps({
                "file": str(path), "text": hit.phrase, "intent": hit.intent, "slots": {},
                "score": round(hit.score, 3), "decode_ms": round(1000 * (time.perf_counter() - started), 1),
                "audio_ms": round(1000 * len(audio) / SAMPLE_RATE, 1),
            }, ensure_ascii=False), flush=True)
            continue
        try:
            transcript = recognizer.transcribe(audio)
        except RecognizerUnavailable as exc:
            print(f"voicecoach: no recognizer: {exc}", file=sys.stderr)
            return 1
        reading = read_intent(transcript, catalog, statistical=statistical)
        heard = reading.hypothesis.text if reading.hypothesis else ""
        print(json.dumps({
            "file": str(path), "text": heard, "intent": reading.match.intent, "slots": reading.match.slots,
            "score": round(reading.match.score, 3), "decode_ms": round(transcript.decode_ms, 1),
            "audio_ms": round(transcript.audio_ms, 1),
        }, ensure_ascii=False), flush=True)
    return 1 if failures else 0


def _barge_in_check(keyword_model: str | None, recognizer, model_wanted=None):
    """Whisper's closed-vocabulary check and the keyword model, as the live loop has them."""
    from voicecoach.hearing.pipeline import HearingOptions, barge_in_spotter

    spotter, notices = barge_in_spotter(HearingOptions(keyword_model=keyword_model), recognizer,
                                        model_wanted)
    for notice in notices:
        print(f"voicecoach: {notice}", file=sys.stderr)
    return spotter


def _barge_in_hit(spotter, audio: np.ndarray):
    """The closed-vocabulary check's hit, or None (no check here, no hit, or the check failed:
    it is a shortcut, and the recognizer still hears everything)."""
    if spotter is None:
        return None
    try:
        return spotter.spot(audio)
    except Exception:  # noqa: BLE001 - the check is a shortcut; the recognizer still hears everything
        return None


def _run_played(args: argparse.Namespace, settings: Settings, recognizer, catalog, statistical=None) -> int:
    from voicecoach.hearing.bargein.keyword_model import open_keyword_spotter
    from voicecoach.hearing.pipeline import HearingOptions, build_hearing

    coach = CoachHeard()
    options = HearingOptions(echo=args.echo, keyword_model=settings.keyword_model)
    keyword_spotter, notice = open_keyword_spotter(options.keyword_model)      # loaded once for every file
    said = {notice} if notice else set()
    for line in said:
        print(f"voicecoach: {line}", file=sys.stderr)
    failures = 0
    for path, played_path in zip(args.files, args.played):
        try:
            mic, played = read_wav(path), read_wav(played_path)
        except AudioError as exc:
            print(f"voicecoach: {exc}", file=sys.stderr)
            print(json.dumps({"file": str(path), "error": str(exc)}), flush=True)
            failures += 1
            continue
        # Each recording is its own session: a fresh canceller and loop, built as the app builds them
        # (stop, pause and pain first; the keyword model's hits while the coach was heard lately).
        hearing = build_hearing(options, recognizer, catalog, statistical=statistical, model_wanted=coach.lately,
                                keyword_spotter=keyword_spotter)
        for line in set(hearing.notices) - said:
            print(f"voicecoach: {line}", file=sys.stderr)
            said.add(line)
        canceller = hearing.canceller
        try:
            heard = listen_to_recording(mic, played, hearing.loop, canceller, coach)
        except RecognizerUnavailable as exc:
            print(f"voicecoach: no recognizer: {exc}", file=sys.stderr)
            return 1
        for row in heard:
            print(json.dumps({"file": str(path), **row}, ensure_ascii=False), flush=True)
        if canceller is not None:
            delay = f"{canceller.delay_ms:.0f} ms" if canceller.delay_known else "not found (too little of the coach's voice)"
            print(f"voicecoach: {path}: echo delay {delay}", file=sys.stderr)
    return 1 if failures else 0


COACH_LEVEL = 1e-5      # mean power of a played frame above which the coach counts as speaking (-50 dBFS)


class CoachHeard:
    """When the coach last spoke in a recording's stream (seconds), for the keyword model:
    an utterance that ends within an utterance's length of the coach's voice overlapped it."""

    def __init__(self, window_s: float = 3.0) -> None:
        self.window_s = window_s
        self.now = 0.0
        self.last: float | None = None

    def frame(self, at: float, speaking: bool) -> None:
        self.now = at
        if speaking:
            self.last = at

    def lately(self) -> bool:
        return self.last is not None and self.now - self.last <= self.window_s


def listen_to_recording(mic: np.ndarray, played: np.ndarray, loop, canceller=None,
                        heard_coach: CoachHeard | None = None) -> list[dict]:
    """Run a recording and what was played during it (both 16 kHz, same start) through the listen loop.

    The played audio is the canceller's reference and tells the barge-in rules (and
    `heard_coach`, for the keyword model) when the coach was speaking. One dict an utterance
    the loop heard (acted on or ignored).
    """
    from voicecoach.hearing.loop import UtteranceHeard, UtteranceIgnored
    from voicecoach.hearing.signal.sources import FRAME_SAMPLES, frames_of

    rows: list[dict] = []

    def collect(events) -> None:
        for event in events:
            if isinstance(event, (UtteranceHeard, UtteranceIgnored)):
                row = {"start_ms": round(event.onset_ms), "end_ms": round(event.speech_end_ms),
                       "text": event.match.text, "intent": event.match.intent, "slots": event.match.slots}
                if isinstance(event, UtteranceIgnored):
                    row["ignored"] = event.reason
                rows.append(row)

    for index, frame in enumerate(frames_of(mic, tail_seconds=1.0)):
        start = index * FRAME_SAMPLES
        coach = played[start:start + FRAME_SAMPLES]
        speaking = bool(len(coach)) and float(np.mean(np.square(coach))) > COACH_LEVEL
        if speaking:
            loop.coach_speaking("")          # what was said is not known from a recording: its words cannot match
        else:
            loop.coach_silent()
        if heard_coach is not None:
            heard_coach.frame(start / 16000, speaking)
        if canceller is not None:
            # What was played is published as it plays (its timeline keeps only the last seconds).
            if start < len(played):
                canceller.played(played[start:start + FRAME_SAMPLES], 16000, start / 16000)
            frame = canceller.process(frame, start / 16000)
        collect(loop.push(frame))
    collect(loop.finish())
    return rows
