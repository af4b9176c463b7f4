"""`voicecoach say "text" [--out FILE.wav] [--voice piper|espeak|VOICE.onnx] [--rate R] [--volume V]`:
hear or save a line in the coach's voice."""
from __future__ import annotations

import argparse
import sys
import threading
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from voicecoach.coach.replies import Reply

if TYPE_CHECKING:
    import numpy as np

    from voicecoach.settings import Settings  # resolved by the command line, handed in
    from voicecoach.voice.build import VoiceSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="what to say")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.wav", help="save to a WAV file instead of playing")
    add_voice_arguments(parser)


def add_voice_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--voice", default=None,
                        help="piper (default), espeak, or a Piper .onnx voice file (also $VOICECOACH_VOICE or the config file)")
    parser.add_argument("--rate", type=float, default=None, help="speaking rate, 1.0 is normal (0.5 to 2.0)")
    parser.add_argument("--volume", type=float, default=None, help="volume, 0.0 to 1.0")


def run(args: argparse.Namespace, resolved: Settings) -> int:
    from voicecoach.voice.build import VoiceSettings

    settings = VoiceSettings.chosen(resolved.voice, resolved.rate, resolved.volume)
    if args.out is not None:
        return _save(settings, args.text, args.out)
    from voicecoach.voice.build import open_voice

    opened = open_voice(settings)
    if opened.notice:
        print(f"voicecoach: {opened.notice}", file=sys.stderr)
    if opened.speaker is None:
        print(f"voicecoach: {opened.problem}; printing instead.", file=sys.stderr)
        print(args.text)
        return 0
    speaker = opened.speaker
    done = threading.Event()
    speaker.on_stop = done.set
    try:
        speaker.speak(Reply(args.text))
        done.wait()
    except KeyboardInterrupt:
        speaker.stop()
    finally:
        speaker.close()
    return 0


def _save(settings: VoiceSettings, text: str, out: Path) -> int:
    from voicecoach.voice.engines import VoiceUnavailable

    try:
        engine, notice = settings.open_engine()
    except VoiceUnavailable as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 1
    if notice:
        print(f"voicecoach: {notice}", file=sys.stderr)
    audio = engine.synthesize(text)
    try:
        write_wav(out, audio, engine.sample_rate)
    except OSError as exc:
        print(f"voicecoach: {out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{out}: {len(audio) / engine.sample_rate:.2f} s at {engine.sample_rate} Hz ({engine.name})")
    return 0


def write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """16-bit mono PCM, what every player reads."""
    import numpy as np

    with open(path, "wb") as file, wave.open(file, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
