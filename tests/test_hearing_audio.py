"""Reading WAV files of every ordinary kind, and clear errors for the rest."""
from __future__ import annotations

import wave

import numpy as np
import pytest

from voicecoach.hearing.signal.audio import SAMPLE_RATE, AudioError, read_wav, resample, write_wav


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


# ----- float, WAVE_FORMAT_EXTENSIBLE, empty and long files -------------------------------

import struct  # noqa: E402

from voicecoach.hearing.signal.audio import WAVE_FORMAT_EXTENSIBLE, WAVE_FORMAT_IEEE_FLOAT, WAVE_FORMAT_PCM  # noqa: E402

# The KSDATAFORMAT_SUBTYPE GUID tail shared by PCM and IEEE float sub-formats.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def riff(tag: int, channels: int, rate: int, bits: int, data: bytes, extensible: bool = False,
         data_size: int | None = None, extra_chunks: bytes = b"") -> bytes:
    block = channels * (bits // 8)
    fmt = struct.pack("<HHIIHH", WAVE_FORMAT_EXTENSIBLE if extensible else tag, channels, rate, rate * block, block, bits)
    if extensible:
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + _GUID_TAIL
    body = (b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
            + b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pcm24(audio: np.ndarray) -> bytes:
    ints = (audio * 8388607).astype("<i4")
    return b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)


def _is_tone(audio: np.ndarray, seconds: float = 0.5) -> None:
    assert audio.dtype == np.float32 and len(audio) == pytest.approx(SAMPLE_RATE * seconds, abs=2)
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.argmax(spectrum) * SAMPLE_RATE / len(audio) == pytest.approx(440, abs=4)
    assert 0.4 < np.max(np.abs(audio)) < 0.6


@pytest.mark.parametrize("extensible", [False, True])
@pytest.mark.parametrize("channels", [1, 2])
def test_32_bit_float_wav(tmp_path, extensible, channels):
    audio = np.repeat(tone(44100), channels).astype("<f4")
    path = tmp_path / "f.wav"
    path.write_bytes(riff(WAVE_FORMAT_IEEE_FLOAT, channels, 44100, 32, audio.tobytes(), extensible))
    _is_tone(read_wav(path))


@pytest.mark.parametrize("extensible", [False, True])
def test_24_bit_pcm_wav_plain_and_extensible(tmp_path, extensible):
    path = tmp_path / "p24.wav"
    path.write_bytes(riff(WAVE_FORMAT_PCM, 1, 48000, 24, pcm24(tone(48000)), extensible))
    _is_tone(read_wav(path))


def test_float_nan_and_peaks_become_ordinary_samples(tmp_path):
    audio = np.array([np.nan, np.inf, -np.inf, 4.0, 0.25] * 3200, dtype="<f4")
    path = tmp_path / "f.wav"
    path.write_bytes(riff(WAVE_FORMAT_IEEE_FLOAT, 1, 16000, 32, audio.tobytes()))
    out = read_wav(path)
    assert np.all(np.isfinite(out)) and np.max(np.abs(out)) <= 1.0


def test_chunks_before_the_data_and_an_unfinished_length(tmp_path):
    data = (tone(16000) * 32767).astype("<i2").tobytes()
    path = tmp_path / "x.wav"
    path.write_bytes(riff(WAVE_FORMAT_PCM, 1, 16000, 16, data, data_size=0xFFFFFFFF,
                          extra_chunks=b"LIST\x05\x00\x00\x00abcde\x00"))
    _is_tone(read_wav(path))


def test_an_empty_wav_is_no_audio(tmp_path):
    path = tmp_path / "empty.wav"
    write_wav(path, np.zeros(0, dtype=np.float32))
    with pytest.raises(AudioError, match=f"^{path}: no audio"):
        read_wav(path)


def test_a_long_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "long.wav"
    # Ten minutes of 16 kHz mono, as the header says; the test writes them for real.
    path.write_bytes(riff(WAVE_FORMAT_PCM, 1, 16000, 16, bytes(2 * 16000 * 600)))
    with pytest.raises(AudioError, match=f"^{path}: 600.0 s of audio is over the limit of 30 s for one command$"):
        read_wav(path, 30.0, "one command")
    assert len(read_wav(path)) == 16000 * 600          # the general limit (an hour) reads it whole


@pytest.mark.parametrize("content,words", [
    (b"", "not a PCM WAV file (the file is empty)"),
    (b"RIFF\x00\x00\x00\x00WAVE", "not a PCM WAV file (no fmt chunk)"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt \x04\x00\x00\x00abcd", "fmt chunk of 4 bytes is too short"),
    (riff(0x0055, 1, 16000, 16, b"\x00" * 10), "format tag 0x0055 is neither PCM nor float"),
    (riff(WAVE_FORMAT_PCM, 0, 16000, 16, b"\x00" * 10), "0 channels are not supported"),
    (riff(WAVE_FORMAT_PCM, 1, 16000, 12, b"\x00" * 10), "12-bit PCM samples in 1-byte frames are not supported"),
    (riff(WAVE_FORMAT_IEEE_FLOAT, 1, 16000, 16, b"\x00" * 10), "16-bit float samples"),
    (riff(WAVE_FORMAT_PCM, 1, 4000, 16, b"\x00" * 10), "4000 Hz is outside"),
    (riff(WAVE_FORMAT_PCM, 1, 16000, 16, b"\x00" * 10)[:44].replace(b"fmt ", b"junk"), "not a PCM WAV file (data before the fmt chunk)"),
])
def test_every_refusal_gives_its_reason(tmp_path, content, words):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError) as err:
        read_wav(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and words in message and "()" not in message, message
