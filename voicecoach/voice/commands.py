"""`voicecoach say "text" [--out FILE.wav] [--voice piper|espeak|VOICE.onnx]`: hear or save a line."""
from __future__ import annotations

import argparse
import sys
import wave
from pathlib import Path

import numpy as np

from voicecoach.coach.replies import Reply
from voicecoach.voice.engines import VoiceUnavailable, open_engine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="what to say")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE.wav", help="save to a WAV file instead of playing")
    add_voice_arguments(parser)


def add_voice_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--voice", default=None,
                        help="piper (default), espeak, or a Piper .onnx voice file (also $VOICECOACH_VOICE or the config file)")
    parser.add_argument("--rate", type=float, default=None, help="speaking rate, 1.0 is normal (0.6 to 1.6)")
    parser.add_argument("--volume", type=float, default=None, help="volume, 0.0 to 1.0")


def engine_from_args(args: argparse.Namespace):
    from voicecoach.config import load_config

    config = load_config()
    voice = args.voice
    name = voice if voice in ("piper", "espeak") else None
    rate = args.rate if args.rate is not None else float(config.get("rate", 1.0))
    volume = args.volume if args.volume is not None else float(config.get("volume", 1.0))
    if not 0.6 <= rate <= 1.6:
        raise VoiceUnavailable(f"--rate {rate} is outside 0.6 to 1.6")
    if not 0.0 <= volume <= 1.0:
        raise VoiceUnavailable(f"--volume {volume} is outside 0.0 to 1.0")
    return open_engine(name, None if name else voice, rate, volume)


def run(args: argparse.Namespace) -> int:
    try:
        engine, notice = engine_from_args(args)
    except VoiceUnavailable as exc:
        print(f"voicecoach: {exc}", file=sys.stderr)
        return 1
    if notice:
        print(f"voicecoach: {notice}", file=sys.stderr)
    if args.out is not None:
        audio = engine.synthesize(args.text)
        try:
            with wave.open(str(args.out), "wb") as wav:
                wav.setnchannels(1)
                wav.setsampwidth(2)
                wav.setframerate(engine.sample_rate)
                wav.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
        except OSError as exc:
            print(f"voicecoach: {args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"{args.out}: {len(audio) / engine.sample_rate:.2f} s at {engine.sample_rate} Hz ({engine.name})")
        return 0
    from voicecoach.voice.devices import SoundDeviceOutput, SpeakerUnavailable
    from voicecoach.voice.player import VoiceSpeaker

    try:
        device = SoundDeviceOutput(engine.sample_rate)
    except SpeakerUnavailable as exc:
        print(f"voicecoach: {exc}; printing instead.", file=sys.stderr)
        print(args.text)
        return 0
    speaker = VoiceSpeaker(engine, device, threaded=False)
    speaker.speak(Reply(args.text))
    speaker.play_all()
    speaker.close()
    return 0
