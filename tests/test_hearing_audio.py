"""Reading WAV files of every ordinary kind, and clear errors for the rest."""
from __future__ import annotations

import wave

import numpy as np
import pytest

from voicecoach.hearing.audio import SAMPLE_RATE, AudioError, read_wav, resample, write_wav


def tone(rate: int, seconds: float = 0.5, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write_pcm(path, audio: np.ndarray, rate: int, width: int, channels: int = 1) -> None:
    if width == 1:
        data = (audio * 127 + 128).astype(np.uint8)
    elif width == 2:
        data = (audio * 32767).astype("<i2")
    elif width == 4:
        data = (audio * 2147483647).astype("<i4")
    else:
        raise ValueError(width)
    if channels == 2:
        data = np.repeat(data, 2)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data.tobytes())


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 44100, 48000])
@pytest.mark.parametrize("width", [1, 2, 4])
@pytest.mark.parametrize("channels", [1, 2])
def test_any_ordinary_wav_becomes_16k_mono_float(tmp_path, rate, width, channels):
    path = tmp_path / "t.wav"
    write_pcm(path, tone(rate), rate, width, channels)
    audio = read_wav(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == pytest.approx(SAMPLE_RATE * 0.5, abs=2)
    # The 440 Hz tone survives the conversion: its peak frequency is still 440 Hz.
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(audio) == pytest.approx(440, abs=4)
    assert 0.4 < np.max(np.abs(audio)) < 0.6


def test_round_trip_through_write_wav(tmp_path):
    audio = tone(SAMPLE_RATE)
    write_wav(tmp_path / "x.wav", audio)
    assert np.allclose(read_wav(tmp_path / "x.wav"), audio, atol=1e-4)


def test_resample_keeps_duration():
    assert len(resample(np.zeros(44100, dtype=np.float32), 44100, 16000)) == 16000


@pytest.mark.parametrize("content,words", [
    (b"", "not a PCM WAV"),
    (b"RIFF\x00\x00\x00\x00WAVEjunk", "not a PCM WAV"),
    (b"this is a text file, not audio", "not a PCM WAV"),
])
def test_broken_files_get_a_clear_error_naming_the_file(tmp_path, content, words):
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError) as err:
        read_wav(path)
    assert str(err.value).startswith(str(path)) and words in str(err.value)


def test_missing_file_and_unsupported_rate(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        read_wav(tmp_path / "nope.wav")
    path = tmp_path / "slow.wav"
    write_pcm(path, tone(4000), 4000, 2)
    with pytest.raises(AudioError, match="4000 Hz is outside"):
        read_wav(path)
