"""Audio sources: a WAV file played fast or on a virtual clock, the microphone through fakes."""
from __future__ import annotations

import sys
import threading
import types
import wave

import numpy as np
import pytest

from hearing_signals import voiced
from voicecoach.coach.clock import VirtualClock
from voicecoach.hearing.signal.audio import SAMPLE_RATE, AudioError, write_wav
from voicecoach.hearing.signal.sources import (FRAME_SECONDS, ArraySource, MicrophoneSource, MicrophoneUnavailable,
                                        StreamResampler, WavFileSource, pyaudio_unavailable_reason)
from voicecoach.hearing.signal.vad import FRAME_SAMPLES


def test_a_wav_file_comes_out_whole_in_frames_then_its_tail(tmp_path):
    audio = voiced(1.01)                              # not a whole number of frames
    write_wav(tmp_path / "a.wav", audio)
    frames = list(WavFileSource(tmp_path / "a.wav", tail_seconds=0.3).frames(threading.Event()))
    assert all(f.shape == (FRAME_SAMPLES,) and f.dtype == np.float32 for f in frames)
    joined = np.concatenate(frames)
    assert len(joined) == -(-(len(audio) + int(0.3 * SAMPLE_RATE)) // FRAME_SAMPLES) * FRAME_SAMPLES
    assert np.allclose(joined[:len(audio)], audio, atol=1e-3)    # 16-bit rounding and scale only
    assert not joined[len(audio):].any()


def test_as_fast_as_possible_no_clock_is_touched(tmp_path):
    write_wav(tmp_path / "a.wav", voiced(0.5))
    source = WavFileSource(tmp_path / "a.wav")
    assert source.clock is None and len(list(source.frames(threading.Event()))) > 0


def test_on_a_virtual_clock_each_frame_arrives_when_it_would_have_been_heard():
    clock = VirtualClock(start=10.0)
    source = ArraySource(voiced(0.3), clock, tail_seconds=0.0)
    times = [clock.now() for _ in source.frames(threading.Event())]
    assert times == pytest.approx([10.0 + n * FRAME_SECONDS for n in range(1, 11)])


def test_cancelling_stops_the_source_between_frames():
    cancel = threading.Event()
    seen = []
    for frame in ArraySource(voiced(2.0), VirtualClock()).frames(cancel):
        seen.append(frame)
        if len(seen) == 3:
            cancel.set()
    assert len(seen) == 3


def test_a_stereo_44k_file_is_heard_as_16k_mono(tmp_path):
    path = tmp_path / "stereo.wav"
    t = np.arange(44100) / 44100
    tone = (0.4 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(44100)
        wav.writeframes(np.stack([tone, tone], axis=1).tobytes())
    joined = np.concatenate(list(WavFileSource(path, tail_seconds=0).frames(threading.Event())))
    assert len(joined) == pytest.approx(SAMPLE_RATE, abs=FRAME_SAMPLES)
    spectrum = np.abs(np.fft.rfft(joined[:SAMPLE_RATE]))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)


def test_a_broken_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "broken.wav"
    path.write_bytes(b"RIFF\x00\x00not really a wave")
    with pytest.raises(AudioError, match="broken.wav"):
        WavFileSource(path)
    with pytest.raises(AudioError, match="missing.wav"):
        WavFileSource(tmp_path / "missing.wav")


def test_without_pyaudio_the_reason_is_one_line_with_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyaudio", None)       # import fails as if not installed
    reason = pyaudio_unavailable_reason()
    assert reason and "\n" not in reason
    assert "PyAudio" in reason and "voicecoach[mic]" in reason
    with pytest.raises(MicrophoneUnavailable, match="PyAudio"):
        MicrophoneSource()


def fake_pyaudio(devices: list[dict] | None = None, error: Exception | None = None) -> types.ModuleType:
    module = types.ModuleType("pyaudio")

    class PyAudio:
        def __init__(self):
            if error is not None:
                raise error

        def get_device_count(self):
            return len(devices or [])

        def get_device_info_by_index(self, i):
            return devices[i]

        def terminate(self):
            pass

    module.PyAudio = PyAudio
    return module


def test_only_speakers_means_no_microphone(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyaudio", fake_pyaudio([{"name": "HDMI", "maxInputChannels": 0}]))
    assert pyaudio_unavailable_reason() == "no microphone found (no audio input device)"
    monkeypatch.setitem(sys.modules, "pyaudio", fake_pyaudio([{"name": "Built-in", "maxInputChannels": 2}]))
    assert pyaudio_unavailable_reason() is None


def test_a_sound_system_error_becomes_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyaudio", fake_pyaudio(error=OSError("ALSA lib pcm.c\n  cannot find card 0")))
    assert pyaudio_unavailable_reason() == "no microphone found (ALSA lib pcm.c cannot find card 0)"


class FakeMicrophone:
    """Quacks like speech_recognition.Microphone: entered, it has a stream to read chunks from."""

    def __init__(self, audio: np.ndarray, rate: int, accepts_16k: bool = True, fail_after: int | None = None):
        self.audio, self.rate, self.accepts_16k, self.fail_after = audio, rate, accepts_16k, fail_after
        self.exited = False
        self.reads = 0

    def __call__(self, index, rate):
        if rate is not None and rate != self.rate and not self.accepts_16k:
            raise AssertionError("Invalid sample rate")
        self.SAMPLE_RATE = rate or self.rate
        self.stream = None
        return self

    def __enter__(self):
        self.stream = self
        self._pos = 0
        return self

    def __exit__(self, *exc):
        self.exited = True

    def read(self, size):
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            raise OSError("[Errno -9981] Input overflowed")
        chunk = self.audio[self._pos:self._pos + size]
        self._pos += size
        if len(chunk) < size:
            chunk = np.concatenate([chunk, np.zeros(size - len(chunk))])
        return (np.clip(chunk, -1, 1) * 32767).astype("<i2").tobytes()


def take(source, count: int) -> list[np.ndarray]:
    cancel = threading.Event()
    frames = []
    for frame in source.frames(cancel):
        frames.append(frame)
        if len(frames) == count:
            cancel.set()
    return frames


def test_a_16k_microphone_gives_its_samples_in_frames():
    audio = voiced(1.0)
    mic = FakeMicrophone(audio, SAMPLE_RATE)
    frames = take(MicrophoneSource(microphone=mic), 10)
    assert len(frames) == 10 and all(f.shape == (FRAME_SAMPLES,) for f in frames)
    assert np.allclose(np.concatenate(frames), audio[:10 * FRAME_SAMPLES], atol=1e-3)
    assert mic.exited


def test_a_44k_only_microphone_is_resampled_to_16k():
    t = np.arange(44100) / 44100
    mic = FakeMicrophone(0.5 * np.sin(2 * np.pi * 700 * t), 44100, accepts_16k=False)
    frames = take(MicrophoneSource(microphone=mic), 20)
    joined = np.concatenate(frames)[1000:]
    assert mic.SAMPLE_RATE == 44100
    spectrum = np.abs(np.fft.rfft(joined * np.hanning(len(joined))))
    assert np.fft.rfftfreq(len(joined), 1 / SAMPLE_RATE)[np.argmax(spectrum)] == pytest.approx(700, abs=30)


def test_a_microphone_that_will_not_open_says_so():
    class NeverOpens(FakeMicrophone):
        def __enter__(self):          # SpeechRecognition swallows the open error and leaves no stream
            return self

    with pytest.raises(MicrophoneUnavailable, match="could not be opened"):
        take(MicrophoneSource(microphone=NeverOpens(voiced(0.1), SAMPLE_RATE)), 1)


def test_a_microphone_that_stops_mid_stream_gives_one_line_and_is_closed():
    mic = FakeMicrophone(voiced(1.0), SAMPLE_RATE, fail_after=3)
    with pytest.raises(MicrophoneUnavailable, match=r"stopped \(\[Errno -9981\] Input overflowed\)"):
        take(MicrophoneSource(microphone=mic), 100)
    assert mic.exited


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_stream_resampling_keeps_a_tone_and_the_length(rate):
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * 500 * t)
    resampler = StreamResampler(rate)
    chunk = rate * 30 // 1000
    out = np.concatenate([resampler.process(tone[i:i + chunk]) for i in range(0, len(tone), chunk)])
    assert len(out) == pytest.approx(SAMPLE_RATE, abs=80)          # minus the filter's delay
    steady = out[400:-400]
    delay = 31 / rate                                               # half the 63-tap filter
    expected = 0.5 * np.sin(2 * np.pi * 500 * (np.arange(400, 400 + len(steady)) / SAMPLE_RATE - delay))
    assert np.max(np.abs(steady - expected)) < 0.02


def _band_noise(rate: int, low_hz: float, high_hz: float, seconds: float = 1.0) -> np.ndarray:
    spectrum = np.fft.rfft(np.random.default_rng(3).standard_normal(int(rate * seconds)))
    frequencies = np.fft.rfftfreq(int(rate * seconds), 1.0 / rate)
    spectrum[(frequencies < low_hz) | (frequencies > high_hz)] = 0.0
    noise = np.fft.irfft(spectrum, int(rate * seconds))
    return (0.3 * noise / np.max(np.abs(noise))).astype(np.float32)


def test_stream_resampling_folds_no_hiss_down_into_the_voice_band():
    """An "s" of the coach's voice (5.5-7 kHz at Piper's 22050 Hz) must come out with nothing
    below 4 kHz: the echo canceller's reference is resampled so, the sound in the room has no
    such fold (low-pass then linear interpolation left it 16 dB down, and the difference was
    taken for the user)."""
    hiss = _band_noise(22050, 5500.0, 7000.0)
    resampler = StreamResampler(22050)
    out = np.concatenate([resampler.process(hiss[i:i + 441]) for i in range(0, len(hiss), 441)])
    power = np.abs(np.fft.rfft(out[400:-400] * np.hanning(len(out) - 800))) ** 2
    frequencies = np.fft.rfftfreq(len(out) - 800, 1.0 / SAMPLE_RATE)
    folded = 10 * np.log10(power[frequencies < 4000].sum() / power.sum())
    assert folded < -60.0, f"{folded:.1f} dB of the hiss below 4 kHz"


def test_a_stream_started_between_two_output_samples_stays_on_the_grid():
    """What the echo canceller relies on: a stretch that starts at any input sample, given the
    phase of its first output, gives the very samples one continuous stream gives there."""
    rate, start = 22050, 7 * 22050 + 1
    voice = _band_noise(rate, 100.0, 7000.0)
    whole = StreamResampler(rate).process(np.concatenate([np.zeros(start, np.float32), voice]))
    first = int(np.ceil(start * SAMPLE_RATE / rate))
    phase = (first / SAMPLE_RATE - start / rate) * rate
    stretch = StreamResampler(rate, phase=phase).process(voice)
    count = min(len(stretch), len(whole) - first)
    assert count > 0.9 * SAMPLE_RATE
    difference = whole[first:first + count] - stretch[:count]
    assert 10 * np.log10(np.sum(difference ** 2) / np.sum(stretch[:count] ** 2) + 1e-30) < -50.0
