"""Speaker and microphone on one duplex stream: the filter to 16 kHz, the stream on miniaudio's
null backend (it runs in real time without a sound card), and the app's wiring."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from voicecoach.coach.clock import RealClock
from voicecoach.voice.devices import SpeakerUnavailable
from voicecoach.voice.duplex import CAPTURE_RATE, DUPLEX_RATE, Decimator, MiniaudioDuplex, duplex_or_output


def _tone(hz: float, seconds: float, rate: int = DUPLEX_RATE) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def _db(audio: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.square(audio[200:-200], dtype=np.float64)) + 1e-20)


def test_the_decimator_keeps_speech_and_removes_what_16_khz_cannot_hold():
    speech_band = Decimator().process(_tone(1000, 0.5))
    above = Decimator().process(_tone(11000, 0.5))
    assert len(speech_band) == int(0.5 * CAPTURE_RATE)
    assert abs(_db(speech_band) - _db(_tone(1000, 0.5, CAPTURE_RATE))) < 0.5
    assert _db(above) < _db(speech_band) - 50          # would fold to 5 kHz without the filter


def test_the_decimator_gives_the_same_samples_block_by_block_as_at_once():
    audio = np.random.default_rng(3).standard_normal(DUPLEX_RATE).astype(np.float32)
    whole = Decimator().process(audio)
    blocked = Decimator()
    sizes = [480, 961, 7, 1440, 2000]
    parts, at = [], 0
    while at < len(audio):
        size = sizes[len(parts) % len(sizes)]
        parts.append(blocked.process(audio[at:at + size]))
        at += size
    assert np.allclose(np.concatenate(parts), whole, atol=1e-6)


def _null_duplex() -> MiniaudioDuplex:
    try:
        return MiniaudioDuplex(RealClock(), backends=["NULL"])
    except SpeakerUnavailable as exc:
        pytest.skip(f"miniaudio cannot open even its null backend here: {exc}")


def test_what_is_played_is_published_by_the_streams_own_count_and_the_microphone_hears_16_khz():
    duplex = _null_duplex()
    played: list[tuple[int, int, float]] = []
    heard: list[np.ndarray] = []
    enough = threading.Event()
    duplex.subscribe_played(lambda samples, rate, at: played.append((len(samples), rate, at)))

    def deliver(block: np.ndarray) -> None:
        heard.append(block)
        if sum(len(b) for b in heard) >= CAPTURE_RATE // 4:
            enough.set()

    capture = duplex.open_capture(CAPTURE_RATE, 160, deliver)
    try:
        tone = _tone(440, 0.2)
        for start in range(0, len(tone), duplex.block):
            duplex.write(tone[start:start + duplex.block])
        assert enough.wait(timeout=5)
    finally:
        capture.close()
        duplex.close()
    assert duplex.errors == []
    assert sum(n for n, _, _ in played) >= len(tone)
    assert {rate for _, rate, _ in played} == {DUPLEX_RATE}
    # Each block starts where the one before it ended: no jitter from when blocks were written.
    for (n, _, at), (_, _, next_at) in zip(played, played[1:]):
        assert next_at == pytest.approx(at + n / DUPLEX_RATE, abs=1e-9)
    assert all(b.dtype == np.float32 for b in heard)


def test_a_failing_listener_is_dropped_and_the_stream_goes_on():
    duplex = _null_duplex()
    later = threading.Event()

    def broken(block: np.ndarray) -> None:
        raise RuntimeError("listener broke")

    duplex.open_capture(CAPTURE_RATE, 160, broken)
    duplex.open_capture(CAPTURE_RATE, 160, lambda block: later.set())
    try:
        assert later.wait(timeout=5)
    finally:
        duplex.close()
    assert len(duplex.errors) == 1 and "listener broke" in duplex.errors[0]


def test_only_16_khz_capture_is_offered():
    duplex = _null_duplex()
    try:
        with pytest.raises(ValueError, match="16000"):
            duplex.open_capture(44100, 160, lambda block: None)
    finally:
        duplex.close()


def test_without_a_duplex_device_the_voice_opens_the_speaker_alone(monkeypatch):
    import voicecoach.voice.duplex as duplex_module

    def no_duplex(clock=None, backends=None):
        raise SpeakerUnavailable("no duplex audio device (miniaudio: no capture device)")

    monkeypatch.setattr(duplex_module, "MiniaudioDuplex", no_duplex)
    notes: list[str] = []
    opened = duplex_or_output(None, lambda rate: ("speaker", rate), notes.append)(22050)
    assert opened == ("speaker", 22050)
    assert notes == ["no duplex audio device (miniaudio: no capture device); speaker and microphone opened apart"]


def test_the_app_feeds_the_canceller_from_the_duplex_stream_not_from_the_player(monkeypatch):
    from voicecoach.app import _duplex_device, wire_echo_and_yield
    from voicecoach.hearing.signal.echo import open_canceller
    from voicecoach.output import OutputStage

    from voicecoach.voice.devices import DeviceBase
    from voicecoach.voice.speaker import SpeakerBase

    class FakeDuplex(DeviceBase):
        sample_rate = DUPLEX_RATE

        def duplex(self):
            return self

        def __init__(self) -> None:
            self.played = []

        def subscribe_played(self, listener) -> None:
            self.played.append(listener)

        def open_capture(self, sample_rate, block_samples, deliver):
            raise AssertionError("not opened here")

    class FakeVoice(SpeakerBase):
        publishes_playback = True

        def __init__(self, device) -> None:
            self.device, self.subscribers = device, []

        def subscribe(self, subscriber) -> None:
            self.subscribers.append(subscriber)

        def hold(self) -> None: ...

        def resume(self) -> None: ...

        speaking = False

    voice = FakeVoice(FakeDuplex())
    output = OutputStage([voice])
    assert _duplex_device(output) is voice.device
    canceller, yielding = wire_echo_and_yield(open_canceller("webrtc")[0], output)
    if canceller is None:
        pytest.skip("no echo canceller installed here (livekit)")
    assert voice.device.played == [canceller.played] and voice.subscribers == []
    plain = FakeVoice(DeviceBase())
    assert _duplex_device(OutputStage([plain])) is None
    wire_echo_and_yield(open_canceller("webrtc")[0], OutputStage([plain]))
    assert len(plain.subscribers) == 1


def test_the_microphone_source_reads_frames_from_the_duplex_stream():
    from voicecoach.hearing.signal.sources import FRAME_SAMPLES, MiniaudioMicrophone

    duplex = _null_duplex()
    cancel = threading.Event()
    frames = []
    try:
        for frame in MiniaudioMicrophone(open_capture=duplex.open_capture).frames(cancel):
            frames.append(frame)
            if len(frames) == 5:
                cancel.set()
    finally:
        duplex.close()
    assert [len(f) for f in frames] == [FRAME_SAMPLES] * 5
    assert duplex._captures == []            # the source let go of the stream when it ended
