"""Fakes shared by the voice tests (no tests here): a tone engine and a speaker on a virtual clock."""
from __future__ import annotations

import numpy as np

from voicecoach.coach.clock import VirtualClock
from voicecoach.voice.cache import CueCache
from voicecoach.voice.devices import RecordingDevice
from voicecoach.voice.player import VoiceSpeaker


class ToneEngine:
    """A stand-in engine: a tone whose length follows the words and the rate (0.3 s a word)."""

    name = "tone"
    sample_rate = 8000

    def __init__(self, voice_id: str = "tone") -> None:
        self.voice_id = voice_id
        self.rate = 1.0
        self.volume = 1.0
        self.calls: list[str] = []

    def synthesize(self, text: str) -> np.ndarray:
        self.calls.append(text)
        seconds = 0.3 * len(text.split()) / self.rate
        t = np.arange(int(seconds * self.sample_rate)) / self.sample_rate
        return (0.3 * self.volume * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def make_speaker(engine=None, cache=None, **kwargs):
    """A VoiceSpeaker without threads on a virtual clock, playing into a recording device."""
    clock = VirtualClock()
    engine = engine or ToneEngine()
    device = RecordingDevice(engine.sample_rate, clock)
    return VoiceSpeaker(engine, device, cache or CueCache(), clock, threaded=False, **kwargs), device, clock


def spans(device: RecordingDevice) -> list[tuple[float, float, str]]:
    """(start, audible end, text) of each thing said; a flush silences what the device held."""
    return device.spans()
