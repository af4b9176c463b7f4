"""The shipped first-launch greeting: up to date with content/coach.yaml and the default voice,
found only by the cue cache's exact key, and played while the voice is still loading."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from test_voice_fakes import ToneEngine, spans
from voicecoach.coach.clock import RealClock, VirtualClock
from voicecoach.coach.replies import Reply
from voicecoach.coach.session import Session
from voicecoach.content.loader import load_content
from voicecoach.voice.build import default_voice, first_greeting, wanted_greeting
from voicecoach.voice.cache import CueCache
from voicecoach.voice.devices import RecordingDevice
from voicecoach.voice.player import VoiceSpeaker
from voicecoach.voice.shipped import (
    REGENERATE,
    SHIPPED_DIR,
    ShippedCues,
    ShippedIndex,
    ShippedLine,
    WantedLine,
    from_pcm16,
    pcm16,
    read_index,
    stale_lines,
    write_shipped,
)

GREETING = "Hi, I'm your IT band coach."


def test_the_shipped_greeting_is_todays_greeting_for_the_default_voice():
    """Fails when coach.yaml's greeting, the lexicon or the default voice changed without the
    shipped audio being made again (it would then simply not be used: a slow first launch)."""
    engine = default_voice()
    problems = stale_lines(read_index(), wanted_greeting(engine, load_content()))
    assert not problems, f"the shipped greeting is stale: {'; '.join(problems)}. Run: {REGENERATE}"
    assert ShippedCues().keys() == {line.key for line in wanted_greeting(engine, load_content())}


def test_every_shipped_line_is_whole_audio():
    index = read_index()
    assert index is not None
    shipped = ShippedCues()
    for line in index.lines:
        audio = shipped.audio(line.key)
        assert audio is not None and audio.dtype == np.float32 and len(audio) == line.samples > index.sample_rate // 2
        assert 0.05 < np.abs(audio).max() <= 1.0
    assert sum(path.stat().st_size for path in SHIPPED_DIR.iterdir()) < 500_000


def test_the_shipped_lines_are_what_a_first_time_user_hears_first():
    content = load_content()
    said = [reply.text for reply in Session(content, VirtualClock()).begin()]
    assert said == first_greeting(content)


def ship(folder, engine, texts):
    """A shipped folder of `texts` as `engine` says them now."""
    audio = {CueCache.key(engine, text): engine.synthesize(text) for text in texts}
    lines = tuple(ShippedLine(CueCache.key(engine, t), t, t, f"{CueCache.key(engine, t)}.pcm",
                              len(audio[CueCache.key(engine, t)])) for t in texts)
    write_shipped(folder, ShippedIndex(engine.name, engine.voice_id, engine.sample_rate, engine.rate,
                                       engine.volume, lines), audio)
    engine.calls.clear()


def test_only_the_exact_key_finds_shipped_audio(tmp_path):
    """Same engine, voice, sample rate, rate, volume and text: played; any change: synthesized."""
    ship(tmp_path / "shipped", ToneEngine(), [GREETING])
    engine = ToneEngine()
    cache = CueCache(tmp_path / "cues", ShippedCues(tmp_path / "shipped"))
    found = cache.get(engine, GREETING)
    assert engine.calls == [] and np.allclose(found, ToneEngine().synthesize(GREETING), atol=1e-4)
    engine.rate = 0.8
    cache.get(engine, GREETING)
    engine.rate, engine.volume = 1.0, 0.5
    cache.get(engine, GREETING)
    engine.volume = 1.0
    cache.get(engine, "Hi, I'm your knee coach.")
    other = ToneEngine(voice_id="another")
    cache.get(other, GREETING)
    assert engine.calls == [GREETING, GREETING, "Hi, I'm your knee coach."] and other.calls == [GREETING]
    assert not list((tmp_path / "shipped").glob("*.npy"))      # never written to


def test_the_users_own_cache_comes_before_the_shipped_audio(tmp_path):
    engine = ToneEngine()
    ship(tmp_path / "shipped", engine, [GREETING])
    kept = CueCache(tmp_path / "cues")
    kept.get(ToneEngine(), GREETING)
    (mine,) = list((tmp_path / "cues").glob("*.npy"))
    np.save(mine, np.full(10, 0.25, dtype=np.float32))     # a different take, kept by an earlier run
    assert np.array_equal(CueCache(tmp_path / "cues", ShippedCues(tmp_path / "shipped")).get(engine, GREETING),
                          np.full(10, 0.25, dtype=np.float32))


def test_damaged_shipped_audio_is_synthesized_instead(tmp_path):
    folder = tmp_path / "shipped"
    ship(folder, ToneEngine(), [GREETING, "Shall we start the routine?"])
    index = read_index(folder)
    assert index is not None
    (folder / index.lines[0].file).write_bytes(b"\x00\x01\x02")        # cut short
    (folder / index.lines[1].file).unlink()
    engine = ToneEngine()
    cache = CueCache(None, ShippedCues(folder))
    cache.get(engine, GREETING)
    cache.get(engine, "Shall we start the routine?")
    assert engine.calls == [GREETING, "Shall we start the routine?"]


@pytest.mark.parametrize("index", ["not json", '{"lines": []}',
                                   ('{"engine": "tone", "voice_id": "tone", "sample_rate": 8000, "rate": 1, '
                                    '"volume": 1, "lines": [{"key": "k", "text": "t", "spoken": "t", '
                                    '"file": "../../etc/passwd", "samples": 1}]}')])
def test_an_unreadable_index_ships_nothing(tmp_path, index):
    (tmp_path / "index.json").write_text(index)
    assert read_index(tmp_path) is None and ShippedCues(tmp_path).keys() == set()


def test_pcm_keeps_the_samples_within_one_step():
    audio = np.sin(np.linspace(0, 20, 1000)).astype(np.float32) * 0.8
    assert np.abs(from_pcm16(pcm16(audio)) - audio).max() <= 1 / 32767
    assert from_pcm16(pcm16(np.array([2.0, -2.0], dtype=np.float32))).tolist() == [1.0, -1.0]


def test_stale_lines_name_each_difference():
    line = ShippedLine("k1", GREETING, "Hi, I'm your I T band coach.", "k1.pcm", 10)
    index = ShippedIndex("piper", "joe", 22050, 1.0, 1.0, (line,))
    assert stale_lines(index, [WantedLine("k1", GREETING, "Hi, I'm your I T band coach.")]) == []
    changed = stale_lines(index, [WantedLine("k2", "Hello, I'm your coach.", "Hello, I'm your coach.")])
    assert len(changed) == 2 and "Hello, I'm your coach.\" is not shipped for piper/joe at rate 1" in changed[0]
    assert "no longer said" in changed[1]
    assert "lexicon" in stale_lines(index, [WantedLine("k1", GREETING, "Hi, I'm your IT band coach.")])[0]
    assert stale_lines(None, []) == ["no shipped greeting"]


class LoadingEngine(ToneEngine):
    """A tone engine whose first synthesis waits until it has 'loaded' (as Piper loads its network)."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded = threading.Event()

    def synthesize(self, text: str) -> np.ndarray:
        assert self.loaded.wait(timeout=10)
        return super().synthesize(text)


def test_the_shipped_greeting_plays_while_the_voice_is_still_loading(tmp_path):
    """The cue phrases not kept anywhere need the engine, and it is still loading: the shipped
    greeting plays meanwhile, and the gate shared with the recognizer's load is not waited for."""
    ship(tmp_path / "shipped", ToneEngine(), [GREETING])
    engine = LoadingEngine()
    device = RecordingDevice(engine.sample_rate, RealClock(), paced=False)
    said = threading.Event()
    gate = threading.Lock()
    gate.acquire()                      # the recognizer is loading its model
    sp = VoiceSpeaker(engine, device, CueCache(tmp_path / "cues", ShippedCues(tmp_path / "shipped")), RealClock(),
                      cue_phrases=["Halfway.", GREETING], synth_gate=gate,
                      on_start=lambda text: said.set() if text == GREETING else None)
    try:
        sp.speak(Reply(GREETING))
        assert said.wait(timeout=5)
        assert not engine.loaded.is_set() and not sp.cues_ready.is_set()
    finally:
        gate.release()
        engine.loaded.set()
        assert sp.cues_ready.wait(timeout=10)
        sp.close()
    assert [t for _, _, t in spans(device)] == [GREETING]
    assert engine.calls == ["Halfway."]


class TimedEngine(ToneEngine):
    """A tone engine that notes whether a line had started playing when it was first asked to make one."""

    def __init__(self, started: threading.Event) -> None:
        super().__init__()
        self.started = started
        self.first_call_after_start: bool | None = None

    def synthesize(self, text: str) -> np.ndarray:
        if self.first_call_after_start is None:
            self.first_call_after_start = self.started.is_set()
        return super().synthesize(text)


def first_line_first_speaker(tmp_path, engine, started: threading.Event) -> VoiceSpeaker:
    ship(tmp_path / "shipped", ToneEngine(), [GREETING])
    device = RecordingDevice(engine.sample_rate, RealClock(), paced=False)
    return VoiceSpeaker(engine, device, CueCache(tmp_path / "cues", ShippedCues(tmp_path / "shipped")), RealClock(),
                        cue_phrases=[GREETING, "Halfway.", "Switch sides."], first_line_first=True,
                        on_start=lambda text: started.set())


def test_the_engine_makes_nothing_ahead_before_the_shipped_greeting_starts(tmp_path):
    """Loading the engine (Piper's network) would compete with the greeting for the processor:
    the lines not kept anywhere are made once the greeting has started playing."""
    started = threading.Event()
    engine = TimedEngine(started)
    sp = first_line_first_speaker(tmp_path, engine, started)
    try:
        assert not sp.cues_ready.wait(timeout=0.5)     # looked for, found wanting, and waiting
        assert engine.calls == []
        sp.speak(Reply(GREETING))
        assert sp.cues_ready.wait(timeout=10)
    finally:
        sp.close()
    assert engine.first_call_after_start is True
    assert sorted(engine.calls) == ["Halfway.", "Switch sides."]


def test_a_line_not_kept_anywhere_is_made_at_once_all_the_same(tmp_path):
    """First-line-first holds back only what is made ahead: a greeting that was not shipped (another
    voice or rate) is synthesized at once, and the rest follows once it plays."""
    started = threading.Event()
    engine = TimedEngine(started)
    sp = first_line_first_speaker(tmp_path, engine, started)
    try:
        sp.speak(Reply("Hello there, a line never shipped."))
        assert started.wait(timeout=5)
        assert sp.cues_ready.wait(timeout=10)
    finally:
        sp.close()
    assert engine.first_call_after_start is False
    assert engine.calls[0] == "Hello there, a line never shipped."
