"""The statistical reader's classifier: what a line means, as probabilities over labels.

A multinomial logistic regression over hashed features of the normalized words: the words,
word pairs, the first word, how each word sounds, and the letters inside each word (so
"fume roller" still shares most of its features with "foam roller"). A label is an intent,
or an intent with the value of its one categorical slot ("ask:weak_glutes",
"start:glute_bridge", "ask_history:streak", "adjust:+"): one model reads both what is
wanted and which thing it is about.

Training is deterministic (zero start, full-batch Adam, fixed epochs): the same examples
always give the same weights, so a cached model can be checked against its data by hash.
"""
from __future__ import annotations

import hashlib
import itertools
import math
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from voicecoach.files import arrays_from_bytes, read_bytes, read_private
from voicecoach.intents.normalize import (
    DURATION_PREFIX,
    NUMBER_PREFIX,
    match_tokens,
    surface_tokens,
)
from voicecoach.intents.sounds import sound_key
from voicecoach.limits import MAX_MODEL_BYTES

FEATURE_BITS = 17                 # 131,072 hashed features: few collisions for ~20k distinct ones
EPOCHS = 12
BATCH_SIZE = 64
LEARNING_RATE = 0.02
L2 = 1e-5                         # keeps rare features from taking over
SEED = 7
LETTER_NGRAMS = (3, 4)
GROUP_SCALE = {"w": 1.0, "b": 0.8, "f": 0.6, "s": 0.6, "c": 0.35, "n": 0.5}
MAX_FEATURE_TOKENS = 60           # a line longer than this is read by its first words


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    weight: float = 1.0


def _token_name(token: str) -> str:
    if token.startswith(DURATION_PREFIX):
        return "#dur"
    if token.startswith(NUMBER_PREFIX):
        return "#num"
    return token


def feature_names(text: str) -> list[tuple[str, float]]:
    """The named features of a line with their scale (before hashing)."""
    tokens = [_token_name(t) for t in match_tokens(text)][:MAX_FEATURE_TOKENS]
    words = [w for w in surface_tokens(text) if not w.startswith("#")][:MAX_FEATURE_TOKENS]
    out: list[tuple[str, float]] = []
    for token in tokens:
        out.append((f"w:{token}", GROUP_SCALE["w"]))
    padded = ["<s>", *tokens, "</s>"]
    for a, b in itertools.pairwise(padded):
        out.append((f"b:{a}_{b}", GROUP_SCALE["b"]))
    if tokens:
        out.append((f"f:{tokens[0]}", GROUP_SCALE["f"]))
    length = "1" if len(tokens) <= 1 else "2-3" if len(tokens) <= 3 else "4-7" if len(tokens) <= 7 else "8+"
    out.append((f"n:{length}", GROUP_SCALE["n"]))
    for word in words:
        if len(word) >= 3:
            out.append((f"s:{sound_key(word)}", GROUP_SCALE["s"]))
        marked = f"<{word}>"
        for n in LETTER_NGRAMS:
            for i in range(max(0, len(marked) - n + 1)):
                out.append((f"c:{marked[i:i + n]}", GROUP_SCALE["c"]))
    return out


def featurize(text: str, bits: int = FEATURE_BITS) -> tuple[np.ndarray, np.ndarray]:
    """Hashed feature indices and values of a line, L2-normalized (repeats add up)."""
    mask = (1 << bits) - 1
    values: dict[int, float] = {}
    for name, scale in feature_names(text):
        index = zlib.crc32(name.encode("utf-8")) & mask
        values[index] = values.get(index, 0.0) + scale
    if not values:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    indices = np.fromiter(values.keys(), dtype=np.int64, count=len(values))
    data = np.fromiter(values.values(), dtype=np.float32, count=len(values))
    data /= float(np.sqrt((data ** 2).sum()))
    return indices, data


@dataclass
class SparseRows:
    """Rows of hashed features in compressed form (CSR), enough for training."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str], bits: int = FEATURE_BITS) -> SparseRows:
        pieces = [featurize(t, bits) for t in texts]
        indptr = np.zeros(len(pieces) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum([len(i) for i, _ in pieces])
        indices = np.concatenate([i for i, _ in pieces]) if pieces else np.zeros(0, dtype=np.int64)
        data = np.concatenate([d for _, d in pieces]) if pieces else np.zeros(0, dtype=np.float32)
        return cls(indptr, indices, data)

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def row_of_entry(self) -> np.ndarray:
        return np.repeat(np.arange(self.rows), np.diff(self.indptr))


class IntentClassifier:
    """Probabilities over `labels` for any line. Only features seen in training have weights:
    `features` (sorted hashed indices) and their rows in `weights`."""

    def __init__(self, labels: Sequence[str], features: np.ndarray, weights: np.ndarray, bias: np.ndarray,
                 bits: int = FEATURE_BITS, data_hash: str = "") -> None:
        self.labels = tuple(labels)
        self.features = features
        self.weights = weights
        self.bias = bias
        self.bits = bits
        self.data_hash = data_hash

    def scores(self, text: str) -> np.ndarray:
        indices, data = featurize(text, self.bits)
        rows = np.searchsorted(self.features, indices)
        known = (rows < len(self.features)) & (self.features[np.minimum(rows, len(self.features) - 1)] == indices)
        return self.bias + (data[known, None] * self.weights[rows[known]]).sum(axis=0)

    def probabilities(self, text: str) -> dict[str, float]:
        scores = self.scores(text)
        exp = np.exp(scores - scores.max())
        probs = exp / exp.sum()
        return {label: float(p) for label, p in zip(self.labels, probs)}

    def save(self, path) -> None:
        np.savez_compressed(path, labels=np.array(self.labels), features=self.features,
                            weights=self.weights, bias=self.bias, bits=np.array(self.bits),
                            data_hash=np.array(self.data_hash))

    @classmethod
    def load(cls, path, private: bool = False) -> IntentClassifier:
        """A saved classifier, checked whole (`from_arrays`). `private`: a file of our cache,
        read only when it is ours, writable by nobody else and not a symlink.
        Raises ModelError naming the file and what is wrong."""
        try:
            data = read_private(path, MAX_MODEL_BYTES) if private else read_bytes(path, MAX_MODEL_BYTES)
            return cls.from_arrays(arrays_from_bytes(data, MAX_MODEL_BYTES))
        except (OSError, ModelError) as exc:
            raise ModelError(f"{path}: {_reason(exc)}") from None

    @classmethod
    def from_arrays(cls, stored: dict[str, np.ndarray]) -> IntentClassifier:
        """The classifier `save` wrote, every array checked: kinds, shapes, finite weights, the
        feature indices sorted and within `bits`. Raises ModelError saying what does not fit."""
        missing = sorted({"labels", "features", "weights", "bias", "bits", "data_hash"} - set(stored))
        if missing:
            raise ModelError(f"no {', '.join(missing)} in it")
        labels, features, weights, bias = (stored[k] for k in ("labels", "features", "weights", "bias"))
        bits = _scalar(stored["bits"], "iu", "bits")
        if not MIN_FEATURE_BITS <= bits <= MAX_FEATURE_BITS:
            raise ModelError(f"bits is {bits}, not {MIN_FEATURE_BITS} to {MAX_FEATURE_BITS}")
        _array(labels, "U", 1, "labels")
        _array(features, "iu", 1, "features")
        _array(weights, "f", 2, "weights")
        _array(bias, "f", 1, "bias")
        if len(labels) < 2 or len(set(labels.tolist())) != len(labels):
            raise ModelError("its labels are fewer than two, or repeated")
        if weights.shape != (len(features), len(labels)) or bias.shape != (len(labels),):
            raise ModelError(f"weights {weights.shape} and bias {bias.shape} do not fit "
                             f"{len(features)} features and {len(labels)} labels")
        if len(features) and (features[0] < 0 or features[-1] >= 1 << bits or np.any(np.diff(features) <= 0)):
            raise ModelError("its feature indices are not sorted, or not within its bits")
        for name, values in (("weights", weights), ("bias", bias)):
            if not np.all(np.isfinite(values)) or np.any(np.abs(values) > MAX_WEIGHT):
                raise ModelError(f"its {name} are not all finite numbers of at most {MAX_WEIGHT:g}")
        data_hash = stored["data_hash"]
        _array(data_hash, "U", 0, "data_hash")
        return cls([str(x) for x in labels], features.astype(np.int64), weights.astype(np.float32),
                   bias.astype(np.float32), bits, str(data_hash))


class ModelError(ValueError):
    """A saved classifier that cannot be used; the message is one line."""


MIN_FEATURE_BITS, MAX_FEATURE_BITS = 8, 24
MAX_WEIGHT = 1e4                  # trained weights stay within a few tens


def _reason(exc: Exception) -> str:
    return str(exc.strerror or exc) if isinstance(exc, OSError) else str(exc)


def _array(value: np.ndarray, kinds: str, ndim: int, name: str) -> None:
    if value.dtype.kind not in kinds or value.ndim != ndim:
        raise ModelError(f"{name} is a {value.ndim}-d array of {value.dtype}, not as saved")


def _scalar(value: np.ndarray, kinds: str, name: str) -> int:
    _array(value, kinds, 0, name)
    return int(value)


def examples_hash(examples: Iterable[Example], bits: int = FEATURE_BITS) -> str:
    """What a trained model depends on: the examples, the features' code version and settings."""
    digest = hashlib.sha256(f"v3|{bits}|{EPOCHS}|{BATCH_SIZE}|{LEARNING_RATE}|{L2}|{SEED}|{GROUP_SCALE}|{LETTER_NGRAMS}".encode())
    for ex in examples:
        digest.update(f"{ex.text}\t{ex.label}\t{ex.weight}\n".encode())
    return digest.hexdigest()[:16]


def train(examples: Sequence[Example], bits: int = FEATURE_BITS, epochs: int = EPOCHS,
          batch_size: int = BATCH_SIZE) -> IntentClassifier:
    """Fit the classifier to `examples` with mini-batch Adam (updating only the rows a batch
    touches) and L2, deterministically: a fixed seed orders the batches."""
    labels = sorted({ex.label for ex in examples})
    label_index = {label: i for i, label in enumerate(labels)}
    rows = SparseRows.of([ex.text for ex in examples], bits)
    y = np.array([label_index[ex.label] for ex in examples])
    sample_weight = np.array([ex.weight for ex in examples], dtype=np.float32)
    sample_weight *= len(examples) / sample_weight.sum()
    n, c = rows.rows, len(labels)
    used, compact = np.unique(rows.indices, return_inverse=True)
    w = np.zeros((len(used), c), dtype=np.float32)
    b = np.zeros(c, dtype=np.float32)
    m_w, v_w = np.zeros_like(w), np.zeros_like(w)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    rng = np.random.default_rng(SEED)
    lengths = np.diff(rows.indptr)
    step = 0
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(n), max(1, n // batch_size)):
            step += 1
            counts = lengths[batch]
            # Entries of the batch's rows, in batch order: start of each row plus an offset.
            offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            entries = np.repeat(rows.indptr[batch], counts) + offsets
            local_row = np.repeat(np.arange(len(batch)), counts)
            feats, data = compact[entries], rows.data[entries]
            scores = np.zeros((len(batch), c), dtype=np.float32)
            np.add.at(scores, local_row, data[:, None] * w[feats])
            scores += b
            scores -= scores.max(axis=1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
            probs[np.arange(len(batch)), y[batch]] -= 1.0
            error = probs * (sample_weight[batch] / len(batch))[:, None]
            touched, where = np.unique(feats, return_inverse=True)
            grad_w = np.zeros((len(touched), c), dtype=np.float32)
            np.add.at(grad_w, where, data[:, None] * error[local_row])
            grad_w += L2 * w[touched]
            grad_b = error.sum(axis=0)
            lr = LEARNING_RATE * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
            m_w[touched] = beta1 * m_w[touched] + (1 - beta1) * grad_w
            v_w[touched] = beta2 * v_w[touched] + (1 - beta2) * grad_w * grad_w
            w[touched] -= lr * m_w[touched] / (np.sqrt(v_w[touched]) + eps)
            m_b = beta1 * m_b + (1 - beta1) * grad_b
            v_b = beta2 * v_b + (1 - beta2) * grad_b * grad_b
            b -= lr * m_b / (np.sqrt(v_b) + eps)
    return IntentClassifier(labels, used, w, b, bits, examples_hash(examples, bits))
