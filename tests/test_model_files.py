"""Model files are data checked whole before use: a damaged, odd or foreign one falls back in one line."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from voicecoach import cli
from voicecoach.hearing.bargein.keyword_model import SHIPPED_MODEL, KeywordHead, KeywordModelUnavailable
from voicecoach.intents.load import load_catalog
from voicecoach.intents.classifier import Example, IntentClassifier, ModelError, train
from voicecoach.intents.understand import StatisticalReader, open_reader, reader_intents

CATALOG = load_catalog()
EXAMPLES = [Example(text, label) for text, label in [
    ("start", "start:routine"), ("begin the routine", "start:routine"), ("pause", "pause"),
    ("hold on a second", "pause"), ("ouch that hurts", "report_pain"), ("my knee is sore", "report_pain"),
    ("skip this song", "none"), ("what is the weather", "none"), ("a bit more", "adjust:+")]]


@pytest.fixture(scope="module")
def saved() -> dict[str, np.ndarray]:
    buffer = io.BytesIO()
    train(EXAMPLES, epochs=3).save(buffer)
    with np.load(io.BytesIO(buffer.getvalue())) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _write(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    np.savez(path, **arrays)
    return path


def _changed(saved, **changes) -> dict[str, np.ndarray]:
    arrays = dict(saved)
    for name, value in changes.items():
        if value is None:
            arrays.pop(name)
        else:
            arrays[name] = value
    return arrays


def _bad_reader_models(saved):
    weights, features = saved["weights"], saved["features"]
    return {
        "nan weights": _changed(saved, weights=np.full_like(weights, np.nan)),
        "infinite bias": _changed(saved, bias=np.full_like(saved["bias"], np.inf)),
        "weights of the wrong shape": _changed(saved, weights=weights[:, :-1]),
        "negative bits": _changed(saved, bits=np.array(-3)),
        "huge bits": _changed(saved, bits=np.array(80)),
        "bits as text": _changed(saved, bits=np.array("17")),
        "unsorted features": _changed(saved, features=features[::-1].copy()),
        "features past the bits": _changed(saved, bits=np.array(8)),
        "labels as numbers": _changed(saved, labels=np.arange(len(saved["labels"]))),
        "repeated labels": _changed(saved, labels=np.array(["pause"] * len(saved["labels"]))),
        "no bias": _changed(saved, bias=None),
        "weights as integers": _changed(saved, weights=weights.astype(np.int32)),
    }


@pytest.mark.parametrize("case", ["nan weights", "infinite bias", "weights of the wrong shape", "negative bits",
                                  "huge bits", "bits as text", "unsorted features", "features past the bits",
                                  "labels as numbers", "repeated labels", "no bias", "weights as integers"])
def test_a_reader_model_that_does_not_fit_is_refused_naming_the_file(tmp_path, saved, case):
    path = _write(tmp_path / "reader.npz", _bad_reader_models(saved)[case])
    with pytest.raises(ModelError) as refused:
        IntentClassifier.load(path)
    assert str(refused.value).startswith(f"{path}: ") and "\n" not in str(refused.value)


def test_the_saved_reader_loads_and_reads_as_trained(tmp_path, saved):
    loaded = IntentClassifier.load(_write(tmp_path / "reader.npz", saved))
    assert loaded.labels == tuple(str(x) for x in saved["labels"])
    assert max(loaded.probabilities("hold on"), key=loaded.probabilities("hold on").get) == "pause"


def test_a_reader_model_with_unknown_labels_is_not_used(tmp_path, saved):
    labels = saved["labels"].copy().astype("<U40")
    labels[0] = "launch_rockets"
    path = _write(tmp_path / "reader.npz", _changed(saved, labels=labels))
    reader, notice = open_reader(CATALOG, {}, str(path), background=False, tuned="off")
    assert reader is None and "launch_rockets" in notice and str(path) in notice and "\n" not in notice


def test_nan_weights_fall_back_to_the_templates_in_one_line(tmp_path, saved, capsys):
    path = _write(tmp_path / "reader.npz", _bad_reader_models(saved)["nan weights"])
    code = cli.main(["parse", "--reader-model", str(path), "--tuned-reader", "off", "argh my leg is really sore"])
    out, err = capsys.readouterr()
    assert code == 0 and '"intent": "adjust"' not in out
    assert len(err.strip().splitlines()) == 1 and str(path) in err and "templates alone" in err


def test_an_object_array_in_a_model_never_runs(tmp_path):
    path = tmp_path / "reader.npz"
    np.savez(path, labels=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelError):
        IntentClassifier.load(path)


def test_a_model_that_expands_past_the_limit_is_refused_unread(tmp_path, monkeypatch):
    import voicecoach.intents.classifier as classifier

    monkeypatch.setattr(classifier, "MAX_MODEL_BYTES", 10_000)
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("weights.npy", bytes(1_000_000))
    with pytest.raises(ModelError, match="expand"):
        IntentClassifier.load(path)


def test_a_fifo_as_the_reader_model_is_refused_at_once(tmp_path):
    fifo = tmp_path / "reader.npz"
    os.mkfifo(fifo)
    with pytest.raises(ModelError, match="FIFO"):
        IntentClassifier.load(fifo)


# ----- the cached reader -------------------------------------------------------------------

def _cached_reader(cache: Path) -> StatisticalReader:
    return StatisticalReader(EXAMPLES, cache, intents=reader_intents(CATALOG)).load()


def _kept(cache: Path) -> Path:
    (kept,) = cache.glob("reader-*.npz")
    return kept


def test_the_cached_reader_is_private_and_used_again(tmp_path):
    cache = tmp_path / "cache"
    first = _cached_reader(cache)
    kept = _kept(cache)
    assert kept.stat().st_mode & 0o077 == 0
    stamp = kept.stat().st_mtime_ns
    again = _cached_reader(cache)
    assert again.ready and kept.stat().st_mtime_ns == stamp
    assert again.probabilities("pause") == pytest.approx(first.probabilities("pause"))


@pytest.mark.parametrize("spoil", ["symlink", "group-writable", "other-writable", "nan", "folder-writable"])
def test_an_odd_cached_reader_is_trained_again_and_replaced(tmp_path, saved, spoil, caplog):
    cache = tmp_path / "cache"
    _cached_reader(cache)
    kept = _kept(cache)
    if spoil == "symlink":
        elsewhere = tmp_path / "elsewhere.npz"
        kept.rename(elsewhere)
        kept.symlink_to(elsewhere)
    elif spoil == "nan":
        _write(kept, _bad_reader_models(saved)["nan weights"])
    elif spoil == "folder-writable":
        cache.chmod(0o777)
    else:
        kept.chmod(0o620 if spoil == "group-writable" else 0o602)
    with caplog.at_level("INFO", logger="voicecoach.intents.understand"):
        reader = _cached_reader(cache)
    assert reader.ready and "pause" in reader.probabilities("pause")
    assert "not used" in caplog.text or "not cached" in caplog.text
    if spoil != "folder-writable":
        assert not _kept(cache).is_symlink() and _kept(cache).stat().st_mode & 0o077 == 0


# ----- the keyword model -------------------------------------------------------------------

@pytest.fixture(scope="module")
def keyword_arrays() -> dict[str, np.ndarray]:
    with np.load(SHIPPED_MODEL) as arrays:
        return {name: arrays[name] for name in arrays.files}


def test_the_shipped_keyword_model_passes_its_checks():
    assert KeywordHead.load(SHIPPED_MODEL).classes


@pytest.mark.parametrize("case", ["nan", "zero scale", "threshold", "window as text", "no w2", "negative window", "fifo"])
def test_a_keyword_model_that_does_not_fit_is_refused_in_one_line(tmp_path, keyword_arrays, case):
    path = tmp_path / "keywords.npz"
    if case == "fifo":
        os.mkfifo(path)
    else:
        changes = {"nan": {"w1": np.full_like(keyword_arrays["w1"], np.nan)},
                   "zero scale": {"scale": np.zeros_like(keyword_arrays["scale"])},
                   "threshold": {"threshold": np.array(7.0)},
                   "window as text": {"window": np.array("12")},
                   "no w2": {"w2": None},
                   "negative window": {"window": np.array(-4)}}[case]
        _write(path, _changed(keyword_arrays, **changes))
    with pytest.raises(KeywordModelUnavailable) as refused:
        KeywordHead.load(path)
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)
