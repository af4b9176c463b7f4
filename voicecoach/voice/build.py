"""Putting a voice together from settings: engine, speaker device, cue cache, player.

    settings = VoiceSettings.from_args(args)           # flags > $VOICECOACH_VOICE > config file
    opened = open_voice(settings, clock, cue_phrases)  # a VoiceSpeaker, or the one-line reason why not
    speaker = opened.speaker or TerminalSpeaker()
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterable

from voicecoach.coach.clock import Clock
from voicecoach.voice.cache import CueCache, default_cache_dir
from voicecoach.voice.devices import DeviceFactory, SpeakerUnavailable, open_output_device
from voicecoach.voice.engines import ENGINES, VoiceEngine, VoiceUnavailable, open_engine
from voicecoach.voice.player import VoiceSpeaker

RATE_RANGE = (0.5, 2.0)
DEVICE_RATE = 22050          # both bundled voices speak at this rate; others are resampled


@dataclass(frozen=True)
class VoiceSettings:
    engine: str | None = None     # "piper" or "espeak"; None: $VOICECOACH_VOICE, the config file, then piper
    voice: str | None = None      # a Piper .onnx voice file
    rate: float = 1.0             # 1.0 is the voice's own pace
    volume: float = 1.0           # 0.0 to 1.0

    @classmethod
    def from_args(cls, args: argparse.Namespace, config: dict[str, Any] | None = None) -> VoiceSettings:
        """From --voice/--rate/--volume (any may be missing or None), then the config file.

        Raises VoiceUnavailable naming the value when rate or volume is out of range."""
        if config is None:
            from voicecoach.config import load_config

            config = load_config()
        voice = getattr(args, "voice", None)
        rate = getattr(args, "rate", None)
        volume = getattr(args, "volume", None)
        rate = float(config.get("rate", 1.0) if rate is None else rate)
        volume = float(config.get("volume", 1.0) if volume is None else volume)
        if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            raise VoiceUnavailable(f"rate {rate} is outside {RATE_RANGE[0]} to {RATE_RANGE[1]}")
        if not 0.0 <= volume <= 1.0:
            raise VoiceUnavailable(f"volume {volume} is outside 0.0 to 1.0")
        if voice in ENGINES:
            return cls(engine=voice, rate=rate, volume=volume)
        return cls(voice=voice, rate=rate, volume=volume)

    @classmethod
    def from_settings(cls, settings) -> VoiceSettings:
        """From resolved Settings (voicecoach.settings), whose rate and volume are already checked."""
        voice = settings.voice
        if voice in ENGINES:
            return cls(engine=str(voice), rate=settings.rate, volume=settings.volume)
        return cls(voice=voice, rate=settings.rate, volume=settings.volume)

    def open_engine(self) -> tuple[VoiceEngine, str | None]:
        """The engine and, when it is a fallback, the one-line notice saying why."""
        return open_engine(self.engine, self.voice, self.rate, self.volume)


@dataclass
class OpenedVoice:
    speaker: VoiceSpeaker | None
    notice: str | None = None      # the engine fell back (say it once, then carry on)
    problem: str | None = None     # why there is no voice at all (print it, use TerminalSpeaker)


def open_voice(settings: VoiceSettings, clock: Clock | None = None, cue_phrases: Iterable[str] = (),
               open_device: DeviceFactory = open_output_device, cache: CueCache | None = None,
               on_start: Callable[[str], None] | None = None,
               on_stop: Callable[[], None] | None = None, synth_gate: ContextManager | None = None) -> OpenedVoice:
    """A VoiceSpeaker ready to talk (its cues are made in the background), or the reason why not.

    The speaker device is tried first: without one, no voice is loaded at all."""
    try:
        device = open_device(DEVICE_RATE)
    except SpeakerUnavailable as exc:
        return OpenedVoice(None, problem=str(exc))
    try:
        engine, notice = settings.open_engine()
    except VoiceUnavailable as exc:
        device.close()
        return OpenedVoice(None, problem=f"no voice ({exc})")
    speaker = VoiceSpeaker(engine, device, cache or CueCache(default_cache_dir()), clock,
                           on_start=on_start, on_stop=on_stop, cue_phrases=list(cue_phrases), synth_gate=synth_gate)
    return OpenedVoice(speaker, notice=notice)
