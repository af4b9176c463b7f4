"""Putting a voice together from settings: engine, speaker device, cue cache, player.

    settings = VoiceSettings.chosen(s.voice, s.rate, s.volume)   # s: the resolved Settings
    opened = open_voice(settings, clock, cue_phrases)  # a VoiceSpeaker, or the one-line reason why not
    speaker = opened.speaker or TerminalSpeaker()

The first-launch greeting of the default voice is shipped ready to play (`ship_greeting` makes
it again; voicecoach.voice.shipped reads it).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from voicecoach.coach.clock import Clock
from voicecoach.content.model import Content
from voicecoach.voice.cache import CueCache, default_cache_dir
from voicecoach.voice.devices import (
    DeviceFactory,
    SpeakerUnavailable,
    open_output_device,
)
from voicecoach.voice.engines import ENGINES, VoiceEngine, VoiceUnavailable, open_engine
from voicecoach.voice.lexicon import for_speech
from voicecoach.voice.player import VoiceSpeaker
from voicecoach.voice.shipped import (
    SHIPPED_DIR,
    ShippedCues,
    ShippedIndex,
    ShippedLine,
    WantedLine,
    write_shipped,
)

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
               on_stop: Callable[[], None] | None = None, synth_gate: AbstractContextManager | None = None,
               first_line_first: bool = False) -> OpenedVoice:
    """A VoiceSpeaker ready to talk (its cues are made in the background), or the reason why not.

    The speaker device is tried first: without one, no voice is loaded at all. With
    `first_line_first`, the cues not kept anywhere are made once the first line plays."""
    try:
        device = open_device(DEVICE_RATE)
    except SpeakerUnavailable as exc:
        return OpenedVoice(None, problem=str(exc))
    try:
        engine, notice = settings.open_engine()
    except VoiceUnavailable as exc:
        device.close()
        return OpenedVoice(None, problem=f"no voice ({exc})")
    speaker = VoiceSpeaker(engine, device, cache or CueCache(default_cache_dir(), ShippedCues()), clock,
                           on_start=on_start, on_stop=on_stop, cue_phrases=list(cue_phrases), synth_gate=synth_gate,
                           first_line_first=first_line_first)
    return OpenedVoice(speaker, notice=notice)


def first_greeting(content: Content) -> list[str]:
    """The lines a user hears first on a first launch (no history yet, so no plan for today):
    Session.begin's greeting, its question, and the offer of the routine."""
    from voicecoach.coach.session import OPENING_LINES

    return [content.wording.line(key) for key in OPENING_LINES]


def default_voice() -> VoiceEngine:
    """The voice of a user who chose none: the bundled Piper voice at rate 1.0 and volume 1.0
    (not loaded yet). VoiceUnavailable when that voice is not installed (eSpeak is not it)."""
    engine, notice = VoiceSettings().open_engine()
    if notice is not None or engine.name != "piper":
        raise VoiceUnavailable(notice or f"the default voice is piper, not {engine.name}")
    return engine


def wanted_greeting(engine: VoiceEngine, content: Content) -> list[WantedLine]:
    """The first-launch greeting's lines as the shipped folder must hold them for `engine`."""
    return [WantedLine(CueCache.key(engine, text), text, for_speech(text, engine.name)) for text in first_greeting(content)]


def ship_greeting(content: Content, folder: Path = SHIPPED_DIR) -> ShippedIndex:
    """Synthesize the first-launch greeting with the default voice and write it into `folder`
    (bench/ship_greeting.py): run it after changing the greeting's lines or the voice."""
    engine = default_voice()
    load = getattr(engine, "load", None)
    if load is not None:
        load()                          # a voice that fails to load speaks eSpeak instead: not shipped
    if engine.name != "piper":
        raise VoiceUnavailable("the default Piper voice did not load")
    wanted = wanted_greeting(engine, content)
    audio = {line.key: engine.synthesize(line.text) for line in wanted}
    lines = tuple(ShippedLine(line.key, line.text, line.spoken, f"{line.key}.pcm", len(audio[line.key]))
                  for line in wanted)
    index = ShippedIndex(engine.name, engine.voice_id, engine.sample_rate, engine.rate, engine.volume, lines)
    write_shipped(folder, index, audio)
    return index
