"""Audio as the recognizer wants it: float32 mono at 16 kHz, from any ordinary WAV file."""
from __future__ import annotations

import os
import struct
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from voicecoach.files import open_checked
from voicecoach.limits import MAX_WAV_FILE_BYTES, MAX_WAV_SECONDS

SAMPLE_RATE = 16000
MIN_RATE, MAX_RATE = 8000, 48000


class AudioError(ValueError):
    """A file that cannot be used as audio; the message names the file and the reason."""


# Format tags of the WAVE "fmt " chunk; EXTENSIBLE carries the real one in its sub-format.
WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT, WAVE_FORMAT_EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
PCM_WIDTHS = (1, 2, 3, 4)        # bytes a sample: 8-bit unsigned, 16/24/32-bit signed
FLOAT_WIDTHS = (4, 8)
MAX_CHANNELS = 8
MAX_CHUNKS = 1000                # chunks before "data": real files have a handful


@dataclass(frozen=True)
class WavFormat:
    tag: int                     # WAVE_FORMAT_PCM or WAVE_FORMAT_IEEE_FLOAT (EXTENSIBLE resolved)
    channels: int
    rate: int
    width: int                   # bytes a sample, as stored
    frames: int                  # frames the data chunk holds (as far as the file goes)

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def read_wav(path: Path | str, max_seconds: float = MAX_WAV_SECONDS, what: str = "") -> np.ndarray:
    """Read a WAV (8-48 kHz, mono to 8 channels, 8/16/24/32-bit PCM or 32/64-bit float, plain
    or WAVE_FORMAT_EXTENSIBLE) as float32 mono 16 kHz.

    Refuses, naming the file: what is not such a WAV, a file with no samples ("no audio"), and
    one longer than `max_seconds` (`what` says what the limit is for) before reading its samples.
    """
    path = Path(path)
    try:
        with open_checked(path, MAX_WAV_FILE_BYTES) as f:
            fmt = _read_header(path, f)
            if fmt.frames == 0:
                raise AudioError(f"{path}: no audio (the file holds no samples)")
            if fmt.seconds > max_seconds:
                purpose = f" for {what}" if what else ""
                raise AudioError(f"{path}: {fmt.seconds:.1f} s of audio is over the limit of {max_seconds:g} s{purpose}")
            frames = f.read(fmt.frames * fmt.channels * fmt.width)
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise AudioError(f"{path}: cannot read: it is a directory") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if fmt.tag == WAVE_FORMAT_IEEE_FLOAT:
        samples = np.frombuffer(frames[: len(frames) - len(frames) % fmt.width], dtype=f"<f{fmt.width}")
        # Float files may hold NaN, infinities or peaks past full scale (past float32's range
        # too); the recognizer may not. Clipped at the stored width, then made float32.
        samples = np.clip(np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0).astype(np.float32)
    else:
        samples = pcm_to_float(frames, fmt.width)
    usable = len(samples) - len(samples) % fmt.channels
    mono = samples[:usable].reshape(-1, fmt.channels).mean(axis=1)
    return resample(mono, fmt.rate, SAMPLE_RATE)


def _read_header(path: Path, f: BinaryIO) -> WavFormat:
    """The format and length of a RIFF/WAVE file; leaves `f` at the first sample."""
    def refuse(reason: str) -> AudioError:
        return AudioError(f"{path}: not a PCM WAV file ({reason})")

    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise refuse("no RIFF/WAVE header" if head else "the file is empty")
    fmt: tuple[int, int, int, int, int] | None = None
    for _ in range(MAX_CHUNKS):
        chunk = f.read(8)
        if len(chunk) < 8:
            raise refuse("no data chunk" if fmt else "no fmt chunk")
        name, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if name == b"fmt ":
            body = f.read(size)
            if size < 16 or len(body) < 16:
                raise refuse(f"fmt chunk of {len(body)} bytes is too short")
            tag, channels, rate, _, block, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == WAVE_FORMAT_EXTENSIBLE:
                if len(body) < 40:
                    raise refuse("WAVE_FORMAT_EXTENSIBLE without its sub-format")
                tag = struct.unpack("<H", body[24:26])[0]     # the sub-format GUID opens with the tag
            fmt = (tag, channels, rate, block, bits)
            if size % 2:
                f.read(1)
        elif name == b"data":
            if fmt is None:
                raise refuse("data before the fmt chunk")
            available = os.fstat(f.fileno()).st_size - f.tell()
            return _checked_format(path, refuse, *fmt, min(size, available))
        else:
            f.seek(size + size % 2, 1)
    raise refuse(f"more than {MAX_CHUNKS} chunks before the data")


def _checked_format(path: Path, refuse, tag: int, channels: int, rate: int, block: int, bits: int,
                    data_size: int) -> WavFormat:
    """`data_size`: what the data chunk says, cut to what the file holds (a recording that was
    never finished says 0xFFFFFFFF)."""
    if tag not in (WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT):
        raise refuse(f"format tag {tag:#06x} is neither PCM nor float")
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(f"{path}: {channels} channels are not supported (1 to {MAX_CHANNELS})")
    width = block // channels if block % channels == 0 else 0
    widths = PCM_WIDTHS if tag == WAVE_FORMAT_PCM else FLOAT_WIDTHS
    if width not in widths or bits > 8 * width or bits == 0:
        kind = "PCM" if tag == WAVE_FORMAT_PCM else "float"
        raise AudioError(f"{path}: {channels} channels of {bits}-bit {kind} samples in {block}-byte frames are not supported")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"{path}: sample rate {rate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz")
    return WavFormat(tag, channels, rate, width, data_size // block)


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
    n_out = max(1, round(len(audio) * target / rate))    # a sample or two still make one
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
