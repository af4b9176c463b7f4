"""Putting a voice together from settings: engine, speaker device, cue cache, player.

    settings = VoiceSettings.chosen(s.voice, s.rate, s.volume)   # s: the resolved Settings
    opened = open_voice(settings, clock, cue_phrases)  # a VoiceSpeaker, or the one-line reason why not
    speaker = opened.speaker or TerminalSpeaker()
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from voicecoach.coach.clock import Clock
from voicecoach.voice.cache import CueCache, default_cache_dir
from voicecoach.voice.devices import (
    DeviceFactory,
    SpeakerUnavailable,
    open_output_device,
)
from voicecoach.voice.engines import ENGINES, VoiceEngine, VoiceUnavailable, open_engine
from voicecoach.voice.player import VoiceSpeaker

DEVICE_RATE = 22050          # both bundled voices speak at this rate; others are resampled


@dataclass(frozen=True)
class VoiceSettings:
    engine: str | None = None     # "piper" or "espeak"; None: piper
    voice: str | None = None      # a Piper .onnx voice file
    rate: float = 1.0             # 1.0 is the voice's own pace
    volume: float = 1.0           # 0.0 to 1.0

    @classmethod
    def chosen(cls, voice: str | None, rate: float = 1.0, volume: float = 1.0) -> VoiceSettings:
        """From the resolved `voice`, `rate` and `volume` settings (voicecoach.settings checks
        rate and volume against voicecoach.limits); `voice` names an engine or a voice file."""
        if voice in ENGINES:
            return cls(engine=voice, rate=rate, volume=volume)
        return cls(voice=voice, rate=rate, volume=volume)

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
               on_stop: Callable[[], None] | None = None, synth_gate: AbstractContextManager | None = None) -> OpenedVoice:
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
