"""The keyword model: a small classifier that hears barge-in phrases in speech embeddings.

Whisper's check (hearing/bargein/keywords.py) asks a transcriber, and tiny.en finds a lone
"ouch" unlikely and reverberation blurs its reading. This model asks directly, the way
openWakeWord detects custom words: Google's speech embedding model (through `pyopen-wakeword`)
turns the audio into 96 numbers every 80 ms, and a numpy head over the utterance's last
embeddings says stop / pause / report_pain / none. It is trained on synthesized speech only
(bench/train_keywords.py); the weights ship in voicecoach/hearing/bargein/models/. Its training
and figures: docs/hearing.md, "The keyword model beside the check".

    spotter, notice = open_keyword_spotter(setting)     # setting: None (the shipped model), a path, "off"
    hit = spotter.spot(audio)                            # KeywordHit | None, as BargeInSpotter
"""
from __future__ import annotations

import ctypes
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voicecoach.files import arrays_from_bytes, read_bytes
from voicecoach.hearing.bargein.keywords import MAX_AUDIO_SECONDS, PAIN, KeywordHit
from voicecoach.hearing.signal.audio import SAMPLE_RATE
from voicecoach.intents.names import Intent
from voicecoach.limits import MAX_MODEL_BYTES

SHIPPED_MODEL = Path(__file__).parent / "models" / "barge_in_keywords.npz"
INSTALL_HINT = "pip install pyopen-wakeword"
EMBEDDING_SIZE = 96
MEL_BINS = 32
MEL_WINDOW = 76            # mel frames (10 ms each) one embedding looks at
EMBEDDING_STEP = 8         # mel frames between embeddings: 80 ms
# The phrase each class reports (the class is what the listen loop acts on).
CLASS_PHRASES: dict[str, str] = {Intent.STOP: "stop", Intent.PAUSE: "pause", Intent.REPORT_PAIN: "that hurts"}
OFF = "off"
# Below this score of Whisper's check (its margin under its own hit floors) a keyword model hit
# is not taken: -8 let the coach's own lines through, -6 none (docs/hearing.md).
WHISPER_VETO = -6.0
# A hit the model is sure of (its probability SURE_MARGIN above its threshold) is vetoed only
# below SURE_VETO: reverberation leaves Whisper misreading commands the model hears plainly.
SURE_MARGIN = 0.15
SURE_VETO = -12.0
# The model's score at which its report_pain overrules a "stop" or "pause" hit of Whisper's
# check ("stop, that hurts"); at 0 it turned stops and pauses into pain (docs/hearing.md).
PAIN_OVER_COMMAND = SURE_MARGIN
# Quiet kept after an utterance's last loud sample: in the middle of what training gave.
KEPT_QUIET_SECONDS = 0.2


class KeywordModelUnavailable(Exception):
    """The feature package is missing or the model file cannot be used (one line)."""


# ----- features ------------------------------------------------------------------------------

class SpeechEmbeddings:
    """16 kHz float audio -> embeddings (n, 96), one every 80 ms, in two TensorFlow Lite calls.

    pyopen-wakeword's `OpenWakeWordFeatures` feeds the models 80 ms at a time (for streams);
    a whole utterance is done here in one call each, resizing the models' inputs, with the
    same numbers (the tests compare the two).
    """

    def __init__(self) -> None:
        try:
            from pyopen_wakeword import OpenWakeWordFeatures
        except ImportError:
            raise KeywordModelUnavailable(f"the keyword model needs pyopen-wakeword ({INSTALL_HINT})") from None
        try:
            self._models = OpenWakeWordFeatures.from_builtin()
        except (OSError, AttributeError) as exc:      # no TensorFlow Lite library for this platform
            raise KeywordModelUnavailable(f"pyopen-wakeword cannot load its models: {exc}") from None
        self._lock = threading.Lock()       # an interpreter runs one call at a time

    def __call__(self, audio: np.ndarray, last: int | None = None) -> np.ndarray:
        """Embeddings of `audio`; with `last`, only the last `last` of them (less to compute).
        Audio too short for one embedding (under about 0.8 s) gets silence in front."""
        audio = np.asarray(audio, dtype=np.float32)
        if last is not None:
            needed = samples_for(last)
            audio = audio[-needed:] if len(audio) > needed else np.concatenate(
                [np.zeros(needed - len(audio), np.float32), audio])
        elif len(audio) < samples_for(1):
            audio = np.concatenate([np.zeros(samples_for(1) - len(audio), np.float32), audio])
        pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16).astype(np.float32)
        with self._lock:
            mels = self._run(self._models.mel_interpreter, pcm[None]).reshape(-1, MEL_BINS) / 10.0 + 2.0
            count = (len(mels) - MEL_WINDOW) // EMBEDDING_STEP + 1
            if count <= 0:
                return np.zeros((0, EMBEDDING_SIZE), np.float32)
            windows = np.stack([mels[i * EMBEDDING_STEP:i * EMBEDDING_STEP + MEL_WINDOW] for i in range(count)])
            embeddings = self._run(self._models.emb_interpreter, windows[..., None]).reshape(count, EMBEDDING_SIZE)
        return embeddings[-last:] if last is not None else embeddings

    def _run(self, interpreter, array: np.ndarray) -> np.ndarray:
        lib = self._models.lib
        array = np.ascontiguousarray(array, dtype=np.float32)
        dims = (ctypes.c_int32 * array.ndim)(*array.shape)
        lib.TfLiteInterpreterResizeInputTensor(interpreter, ctypes.c_int32(0), dims, ctypes.c_int32(array.ndim))
        lib.TfLiteInterpreterAllocateTensors(interpreter)
        source = lib.TfLiteInterpreterGetInputTensor(interpreter, ctypes.c_int32(0))
        lib.TfLiteTensorCopyFromBuffer(source, array.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(array.nbytes))
        lib.TfLiteInterpreterInvoke(interpreter)
        result = lib.TfLiteInterpreterGetOutputTensor(interpreter, ctypes.c_int32(0))
        size = lib.TfLiteTensorByteSize(result)
        out = np.empty(size // 4, np.float32)
        lib.TfLiteTensorCopyToBuffer(result, out.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(size))
        return out


def samples_for(embeddings: int) -> int:
    """Audio samples that give exactly `embeddings` embeddings (the mel model gives a frame
    every 10 ms once it has 35 ms: measured, (samples - 560) // 160 + 1 frames)."""
    mel_frames = MEL_WINDOW + (embeddings - 1) * EMBEDDING_STEP
    return (mel_frames - 1) * 160 + 560


# ----- the classifier head ----------------------------------------------------------------------

@dataclass(frozen=True)
class KeywordHead:
    """One hidden layer over the last `window` embeddings, averaged in `segments` equal parts
    (their order kept: "stop at" is not "at stop") with their maximum, and log-seconds."""
    window: int
    segments: int
    classes: tuple[str, ...]          # "none" among them
    mean: np.ndarray
    scale: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    threshold: float                  # a phrase class's probability from which it is a hit
    about: str = ""                   # how it was made (the training script's summary)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        x = (np.atleast_2d(features) - self.mean) / self.scale
        hidden = np.maximum(0.0, x @ self.w1 + self.b1)
        logits = hidden @ self.w2 + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        np.savez_compressed(path, window=self.window, segments=self.segments, classes=np.array(self.classes), mean=self.mean.astype(np.float32),
                            scale=self.scale.astype(np.float32), w1=self.w1.astype(np.float32),
                            b1=self.b1.astype(np.float32), w2=self.w2.astype(np.float32),
                            b2=self.b2.astype(np.float32), threshold=self.threshold, about=self.about)

    @classmethod
    def load(cls, path: Path) -> KeywordHead:
        """The model saved at `path`, read as a bounded regular file and checked whole: the
        kinds and shapes of its arrays, finite weights, its classes and threshold."""
        try:
            saved = arrays_from_bytes(read_bytes(path, MAX_MODEL_BYTES), MAX_MODEL_BYTES)
        except FileNotFoundError:
            raise KeywordModelUnavailable(f"no keyword model at {path}") from None
        except OSError as exc:
            raise KeywordModelUnavailable(f"cannot read the keyword model {path}: {exc.strerror or exc}") from None
        if not _arrays_fit(saved):
            raise KeywordModelUnavailable(f"the keyword model {path} does not fit this program (its arrays)")
        mean, scale, w1, b1, w2, b2 = (np.asarray(saved[k], np.float64) for k in WEIGHT_ARRAYS)
        head = cls(int(saved["window"]), int(saved["segments"]), tuple(str(c) for c in saved["classes"]),
                   mean, scale, w1, b1, w2, b2, threshold=float(saved["threshold"]), about=str(saved["about"]))
        head.check(path)
        return head

    def check(self, path: Path) -> None:
        inputs = feature_size(self.segments)
        shapes_fit = (self.mean.shape == (inputs,) and self.scale.shape == (inputs,) and self.w1.shape[0] == inputs
                      and self.b1.shape == (self.w1.shape[1],) and self.w2.shape == (self.w1.shape[1], len(self.classes))
                      and self.b2.shape == (len(self.classes),))
        if not shapes_fit or not 0 < self.segments <= self.window or Intent.NONE not in self.classes or not set(self.classes) - {Intent.NONE} <= set(CLASS_PHRASES):
            raise KeywordModelUnavailable(f"the keyword model {path} does not fit this program (its shapes or classes)")
        weights = (self.mean, self.scale, self.w1, self.b1, self.w2, self.b2)
        if not all(np.all(np.isfinite(w)) for w in weights) or np.any(self.scale == 0) or not 0 < self.threshold <= 1:
            raise KeywordModelUnavailable(f"the keyword model {path} holds weights that are not finite, "
                                          "a zero scale or a threshold outside (0, 1]")


WEIGHT_ARRAYS = ("mean", "scale", "w1", "b1", "w2", "b2")
MAX_WINDOW = 1000                 # embeddings a model looks back over (the shipped one: a few tens)


def _arrays_fit(saved: dict[str, np.ndarray]) -> bool:
    """Whether a saved model has each array, of the kind and number of dimensions `save` writes."""
    kinds = {"window": ("iu", 0), "segments": ("iu", 0), "classes": ("U", 1), "threshold": ("f", 0), "about": ("U", 0),
             "mean": ("f", 1), "scale": ("f", 1), "w1": ("f", 2), "b1": ("f", 1), "w2": ("f", 2), "b2": ("f", 1)}
    if any(name not in saved or saved[name].dtype.kind not in kind or saved[name].ndim != ndim
           for name, (kind, ndim) in kinds.items()):
        return False
    return 0 < int(saved["window"]) <= MAX_WINDOW and 0 < int(saved["segments"]) <= MAX_WINDOW


def head_features(embeddings: np.ndarray, seconds: float, segments: int) -> np.ndarray:
    """The head's input: the embeddings' mean in each of `segments` parts, their maximum over
    the window, and the utterance's length (log-seconds). Averaging keeps the few thousand
    synthesized takes from being learned by heart (each embedding flattened: 1,537 inputs)."""
    parts = [part.mean(axis=0) for part in np.array_split(embeddings, segments)]
    return np.concatenate([*parts, embeddings.max(axis=0), [np.log(max(seconds, 0.05))]]).astype(np.float32)


def feature_size(segments: int) -> int:
    return (segments + 1) * EMBEDDING_SIZE + 1


def without_trailing_quiet(audio: np.ndarray, kept_seconds: float = KEPT_QUIET_SECONDS) -> np.ndarray:
    """`audio` up to `kept_seconds` after its last sample above 1% of its peak (the training
    takes' own trim, bench/train_keywords.py's trim()).

    The head sees the utterance's last 0.96 s, and its training takes end 0.05-0.35 s after
    that point; an utterance cut later (a recording with more silence after the word, a
    slower end of speech) would push a short "ouch" out of the window. Noise or an echo above
    that level is kept: then nothing is cut.
    """
    loud = np.flatnonzero(np.abs(audio) > 0.01 * float(np.abs(audio).max(initial=0.0)))
    if len(loud) == 0:
        return audio
    return audio[:loud[-1] + 1 + int(kept_seconds * SAMPLE_RATE)]


# ----- the spotter ------------------------------------------------------------------------------

class KeywordModelSpotter:
    """`spot(audio) -> KeywordHit | None` as BargeInSpotter, from the keyword model.

    The score is the phrase class's probability minus the threshold (0 and up is a hit), so
    it reads like the Whisper check's margin.
    """

    name = "keyword model"

    def __init__(self, head: KeywordHead, embeddings: SpeechEmbeddings | None = None,
                 max_seconds: float = MAX_AUDIO_SECONDS) -> None:
        self.head = head
        self.embeddings = embeddings or SpeechEmbeddings()
        self.max_seconds = max_seconds

    def spot(self, audio: np.ndarray) -> KeywordHit | None:
        best = self.best(audio)
        return best if best is not None and best.score >= 0.0 else None

    def best(self, audio: np.ndarray) -> KeywordHit | None:
        probabilities = self.probabilities(audio)
        if probabilities is None:
            return None
        phrases = [(p, c) for p, c in zip(probabilities, self.head.classes) if c != Intent.NONE]
        probability, intent = max(phrases)
        return KeywordHit(CLASS_PHRASES[intent], intent, round(float(probability) - self.head.threshold, 4))

    def probabilities(self, audio: np.ndarray) -> np.ndarray | None:
        """Each class's probability for an utterance (None when empty or longer than a phrase)."""
        audio = np.asarray(audio, dtype=np.float32)
        if len(audio) == 0 or len(audio) > self.max_seconds * SAMPLE_RATE:
            return None
        audio = without_trailing_quiet(audio)
        embedded = self.embeddings(audio, last=self.head.window)
        return self.head.probabilities(head_features(embedded, len(audio) / SAMPLE_RATE, self.head.segments))[0]


@dataclass(frozen=True)
class Veto:
    """When Whisper's check, scoring under its hit, rules a model hit out: below `below`, or
    below `sure_below` for a hit the model is sure of (SURE_MARGIN and up)."""
    below: float = WHISPER_VETO
    sure_below: float = SURE_VETO

    def rules_out(self, check_score: float, model_score: float) -> bool:
        return check_score < (self.sure_below if model_score >= SURE_MARGIN else self.below)

    @property
    def floor(self) -> float:
        """Below this score of the check no model hit can pass (the model need not be run)."""
        return min(self.below, self.sure_below)


VETO = Veto()                                   # the coach's
NO_VETO = Veto(float("-inf"), float("-inf"))


def decide(check: KeywordHit | None, model: KeywordHit | None | Callable[[], KeywordHit | None],
           veto: Veto = VETO) -> KeywordHit | None:
    """The barge-in to act on, from the best reading of Whisper's check and of the keyword
    model (a score of 0 and up is a hit; None: that part read nothing). The one rule the
    listen loop (EitherSpotter) and the benchmarks (bench/keywords.py, bench/train_keywords.py)
    apply:

    - the check's hit, unless it is not pain and the model is sure of pain (PAIN_OVER_COMMAND:
      "stop, that hurts" opens with "stop" for Whisper; the model hears the pain);
    - else the model's hit, unless the check's own score rules it out (`veto`; a check that
      read nothing vetoes nothing).

    `model` may be given as a function, asked only when the check does not settle the
    utterance: the model is not run for a pain hit of the check, nor below the veto's floor."""
    if check is not None and check.score >= 0:
        if check.intent == PAIN:
            return check
        pain = model() if callable(model) else model
        return pain if pain is not None and pain.intent == PAIN and pain.score >= PAIN_OVER_COMMAND else check
    if check is not None and check.score < veto.floor:
        return None
    hit = model() if callable(model) else model
    if hit is None or hit.score < 0 or (check is not None and veto.rules_out(check.score, hit.score)):
        return None
    return hit


class EitherSpotter:
    """Whisper's check (`first`) and the keyword model (`second`), decided by `decide`.
    Whisper's check goes first: when both hear a phrase but not the same one, it names the
    right one more often (measured: the model took two noisy "pause"/"wait" for "stop" that
    the check had right), and its score vetoes the model's hits on what Whisper reads as
    other words ("Squeeze your glutes at the top." was a model hit "stop"; see bench/keywords.py).

    Pain is the exception. Whisper's check reads the phrase an utterance opens with, so
    "stop, that hurts" or "hold on, that hurts" is a hit "stop" or "pause" there, while the
    model, trained on a pain phrase naming the whole utterance, hears report_pain. When the
    first's hit is not pain and the second is sure of pain, pain is acted on: it stops the
    exercise too, and a pain report taken for a pause loses the coach's safety advice.
    Measured on bench/train_keywords.py's decision takes (seeds 41 and 43, never trained on):
    see docs/hearing.md ("Pain after a command").

    The model runs only when the check does not settle the utterance, and only while
    `second_wanted()` (None: always). A failing check is a check that read nothing; a failing
    model leaves the check's hit standing."""

    def __init__(self, first, second, second_wanted: Callable[[], bool] | None = None, veto: Veto = VETO) -> None:
        self.first, self.second, self.veto = first, second, veto
        self.second_wanted = second_wanted

    def spot(self, audio: np.ndarray) -> KeywordHit | None:
        try:
            first = self.first.best(audio)
        except Exception:  # noqa: BLE001 - a failing check must not take the other with it
            first = None
        settled = first is not None and first.score >= 0

        def second() -> KeywordHit | None:
            if self.second_wanted is not None and not self.second_wanted():
                return None
            try:
                return self.second.best(audio)
            except Exception:
                if settled:           # the first's hit stands
                    return None
                raise

        return decide(first, second, self.veto)

    def best(self, audio: np.ndarray) -> KeywordHit | None:
        scored = [b for b in (self.first.best(audio), self.second.best(audio)) if b is not None]
        return max(scored, key=lambda b: b.score) if scored else None


def open_keyword_spotter(setting: str | None) -> tuple[KeywordModelSpotter | None, str | None]:
    """The keyword model named by the `keyword_model` setting, and a one-line notice when it
    cannot be used. None or "" is the shipped model; "off" is no model and no notice."""
    if setting is not None and str(setting).strip().lower() == OFF:
        return None, None
    path = Path(str(setting)).expanduser() if setting else SHIPPED_MODEL
    try:
        embeddings = SpeechEmbeddings()        # the package first: its absence is the likelier problem
        return KeywordModelSpotter(KeywordHead.load(path), embeddings), None
    except KeywordModelUnavailable as problem:
        return None, f"{problem}; barge-in phrases are checked by Whisper alone"


def combined_spotter(whisper_spotter, keyword_spotter, model_wanted: Callable[[], bool] | None = None):
    """What the listen loop checks barge-in phrases with: both when there are both; the
    model's hits only while `model_wanted()` (None: always)."""
    if whisper_spotter is None or keyword_spotter is None:
        return keyword_spotter or whisper_spotter
    return EitherSpotter(whisper_spotter, keyword_spotter, model_wanted)


def describe(path: Path = SHIPPED_MODEL) -> str:
    """The shipped model's summary (as the training script wrote it), for --verbose and tests."""
    try:
        return json.loads(KeywordHead.load(path).about).get("summary", "")
    except (KeywordModelUnavailable, ValueError, AttributeError):
        return ""
