"""Audio as the recognizer wants it: float32 mono at 16 kHz, from any ordinary WAV file."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
MIN_RATE, MAX_RATE = 8000, 48000


class AudioError(ValueError):
    """A file that cannot be used as audio; the message names the file and the reason."""


def read_wav(path: Path | str) -> np.ndarray:
    """Read a PCM WAV (8-48 kHz, mono or stereo, 8/16/24/32-bit) as float32 mono 16 kHz."""
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"{path}: not a PCM WAV file ({exc})") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"{path}: sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    if channels < 1 or width not in (1, 2, 3, 4):
        raise AudioError(f"{path}: {channels} channels of {8 * width}-bit samples are not supported")
    samples = pcm_to_float(frames, width)
    usable = len(samples) - len(samples) % channels
    mono = samples[:usable].reshape(-1, channels).mean(axis=1)
    return resample(mono, rate, SAMPLE_RATE)


def pcm_to_float(data: bytes, width: int) -> np.ndarray:
    """Little-endian PCM bytes to floats in [-1, 1]. 8-bit WAV is unsigned, wider is signed."""
    data = data[: len(data) - len(data) % width]
    if width == 1:
        return (np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if width == 3:
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float32) / float(1 << 23)
    return np.frombuffer(data, dtype="<i4").astype(np.float32) / 2147483648.0


def resample(audio: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited resampling by FFT (good enough for speech, no extra dependency)."""
    audio = np.asarray(audio, dtype=np.float32)
    if rate == target or len(audio) == 0:
        return audio
    n_out = int(round(len(audio) * target / rate))
    spectrum = np.fft.rfft(audio)
    keep = n_out // 2 + 1
    if keep <= len(spectrum):
        spectrum = spectrum[:keep]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(keep - len(spectrum), dtype=spectrum.dtype)])
    return (np.fft.irfft(spectrum, n_out) * (n_out / len(audio))).astype(np.float32)


def write_wav(path: Path | str, audio: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """Write float audio in [-1, 1] as 16-bit mono PCM."""
    pcm = (np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
