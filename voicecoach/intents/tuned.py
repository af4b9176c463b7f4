"""The fine-tuned reader: all-MiniLM-L6-v2 fine-tuned as a classifier over the reader's labels.

The model is made by bench/finetune_reader.py from the same examples as the n-gram reader
(voicecoach/intents/classifier.py) and shipped beside this module as an int8 ONNX file
(models/reader.onnx) with its labels (models/reader.json). It runs with onnxruntime, one
thread, and reads tokens with our own WordPiece tokenizer over the bundled vocabulary
(voicecoach/intents/encoder.py): neither torch nor the `tokenizers` package is needed.

    reader = TunedReader(model_file, labels_file, intents)
    reader.load()                       # raises TunedReaderUnavailable with one line
    reader.probabilities("um pause it")  # {"pause": 0.97, ...}

A file that is not a regular file, is larger than MAX_TUNED_MODEL_BYTES, does not load, or
names labels this program does not read is refused with one line; the coach then reads with
the n-gram reader.
"""
from __future__ import annotations

import json
import threading
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voicecoach.files import read_bytes, read_text

MODEL_DIR = Path(__file__).with_name("models")
MODEL_FILE = MODEL_DIR / "reader.onnx"
LABELS_FILE_NAME = "reader.json"
MAX_TUNED_MODEL_BYTES = 64_000_000    # the shipped one is about 23 MB
MAX_LABELS_BYTES = 1_000_000
DEFAULT_MAX_TOKENS = 48

if TYPE_CHECKING:
    import numpy as np  # imported where the model loads, in the background: not before the first prompt


class TunedReaderUnavailable(RuntimeError):
    """The fine-tuned reader cannot be used; the message is one line."""


def labels_file_for(model: Path) -> Path:
    """The labels JSON beside a model: `reader.json`, or `<name>.json`."""
    beside = model.with_suffix(".json")
    return beside if beside.is_file() else model.with_name(LABELS_FILE_NAME)


class TunedReader:
    """Probabilities over labels for a line, from the fine-tuned ONNX model."""

    def __init__(self, model_file: Path = MODEL_FILE, labels_file: Path | None = None,
                 intents: Collection[str] | None = None) -> None:
        self.model_file = Path(model_file)
        self.labels_file = labels_file if labels_file is not None else labels_file_for(self.model_file)
        self.intents = frozenset(intents) if intents is not None else None
        self.labels: tuple[str, ...] = ()
        self.max_tokens = DEFAULT_MAX_TOKENS
        self._session: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._session is not None

    def load(self) -> TunedReader:
        with self._lock:
            if self._session is None:
                self._load()
        return self

    def _load(self) -> None:
        from voicecoach.intents.encoder import BUNDLED_VOCAB, WordPieceTokenizer

        where = f"the fine-tuned reader ({self.model_file})"
        try:
            meta = json.loads(read_text(self.labels_file, MAX_LABELS_BYTES))
            labels = meta["labels"]
            max_tokens = int(meta.get("max_tokens", DEFAULT_MAX_TOKENS))
            if not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)):
                raise ValueError("its labels are not a list of names")
            if not 8 <= max_tokens <= 512:
                raise ValueError(f"max_tokens {max_tokens} is outside 8 to 512")
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise TunedReaderUnavailable(f"its labels ({self.labels_file}) cannot be read: {_one_line(exc)}") from None
        known = self.intents if self.intents is not None else frozenset()
        for label in labels if self.intents is not None else ():
            intent, _, value = label.partition(":")
            if intent not in known or (intent == "adjust" and value not in ("+", "-")):
                raise TunedReaderUnavailable(f"{where}: its label {label!r} is not one this program reads")
        try:
            data = read_bytes(self.model_file, MAX_TUNED_MODEL_BYTES)
            tokenizer = WordPieceTokenizer.from_file(BUNDLED_VOCAB)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise TunedReaderUnavailable(f"{where} cannot be read: {_one_line(exc)}") from None
        session = _open_session(data, where)
        del data
        names = {i.name for i in session.get_inputs()}
        if names != {"input_ids", "attention_mask"}:
            raise TunedReaderUnavailable(f"{where} takes {sorted(names)}, not input_ids and attention_mask")
        self._session, self._tokenizer = session, tokenizer
        self.labels, self.max_tokens = tuple(labels), max_tokens
        try:
            probe = self._run("hello")
        except TunedReaderUnavailable:
            self._session = None
            raise
        import numpy as np

        if probe.shape != (len(labels),) or not np.all(np.isfinite(probe)):
            self._session = None
            raise TunedReaderUnavailable(f"{where} gives {probe.shape[0]} values for {len(labels)} labels")
        _return_freed_memory()

    def probabilities(self, text: str) -> dict[str, float]:
        if self._session is None:
            raise TunedReaderUnavailable("the fine-tuned reader is not loaded")
        return {label: float(p) for label, p in zip(self.labels, self._run(text))}

    def _run(self, text: str) -> np.ndarray:
        import numpy as np

        ids = np.array([self._tokenizer.encode(text, self.max_tokens)], dtype=np.int64)
        try:
            out = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
        except Exception as exc:  # noqa: BLE001 - a model that loads but cannot run is broken
            raise TunedReaderUnavailable(f"the fine-tuned reader failed: {_one_line(exc)}") from None
        return np.asarray(out, dtype=np.float64).reshape(-1)


def _open_session(data: bytes, where: str) -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise TunedReaderUnavailable("onnxruntime is not installed (pip install onnxruntime)") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1          # one short line: one thread is as fast, the other core stays free
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a damaged file
        raise TunedReaderUnavailable(f"{where} cannot be loaded: {_one_line(exc)}") from None


def _return_freed_memory() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] + ("..." if len(text) > 200 else "")
