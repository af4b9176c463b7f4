"""`voicecoach transcribe FILE.wav ...`: what the recognizer hears, one JSON line a file."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from voicecoach.hearing.audio import AudioError, read_wav
from voicecoach.hearing.engines import ENGINES, open_recognizer
from voicecoach.hearing.reading import read_intent
from voicecoach.hearing.recognizer import RecognizerUnavailable
from voicecoach.limits import MAX_COMMAND_AUDIO_SECONDS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, help="WAV files (8-48 kHz, 8-32 bit PCM or 32-bit float, up to 30 s each)")
    parser.add_argument("--asr", choices=ENGINES, default="whisper", help="the recognizer (default: whisper)")
    parser.add_argument("--asr-model", default=None, metavar="DIR",
                        help="a CTranslate2 Whisper model directory (default: $VOICECOACH_ASR_MODEL, the config file, or the bundled tiny.en)")
    parser.add_argument("--reader-model", default=None, metavar="FILE",
                        help="a saved statistical reader (.npz), or 'off' to read with the templates alone")


def run(args: argparse.Namespace) -> int:
    from voicecoach.content.loader import load_content
    from voicecoach.intents.catalog import load_catalog
    from voicecoach.intents.understand import open_reader
    from voicecoach.settings import settings_of

    catalog = load_catalog()
    statistical, reader_notice = open_reader(catalog, load_content().topic_texts(), settings_of(args).reader_model,
                                             background=False)
    if reader_notice:
        print(f"voicecoach: {reader_notice}", file=sys.stderr)
    try:
        recognizer, notice = open_recognizer(args.asr, catalog, settings_of(args).asr_model, background=False)
    except RecognizerUnavailable as exc:
        print(f"voicecoach: no recognizer: {exc}", file=sys.stderr)
        return 1
    if notice:
        print(f"voicecoach: {notice}", file=sys.stderr)
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
