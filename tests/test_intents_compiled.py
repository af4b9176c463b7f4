"""The compiled templates kept in the cache folder: the same catalog, rebuilt whenever in doubt."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from voicecoach.intents import load as load_module
from voicecoach.intents.catalog import INTENTS_DIR, _build
from voicecoach.intents.compiled import CACHE_PREFIX, cached, source_digest


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "intents"
    folder.mkdir()
    for path in INTENTS_DIR.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    return folder


def counting_build(folder: Path):
    calls: list[int] = []

    def build():
        calls.append(1)
        return _build(folder)
    return build, calls


def test_a_kept_catalog_is_the_catalog_compiled_afresh(templates: Path, tmp_path: Path):
    build, calls = counting_build(templates)
    fresh, problems = cached(templates, build, tmp_path / "cache")
    kept, _ = cached(templates, build, tmp_path / "cache")
    assert not problems and len(calls) == 1
    assert kept.sentences == fresh.sentences
    assert kept.weights == fresh.weights and kept.rule_weights == fresh.rule_weights
    assert kept.index == fresh.index and kept.question_slots == fresh.question_slots
    assert kept.asides == fresh.asides and kept.list_phrases == fresh.list_phrases


@pytest.mark.slow
def test_an_edited_template_is_compiled_again(templates: Path, tmp_path: Path):
    build, calls = counting_build(templates)
    cached(templates, build, tmp_path / "cache")
    before = source_digest(templates)
    first = sorted(templates.glob("*.yaml"))[0]
    first.write_text(first.read_text() + "\n# an edit\n")
    assert source_digest(templates) != before
    cached(templates, build, tmp_path / "cache")
    assert len(calls) == 2
    assert len(list((tmp_path / "cache").glob(f"{CACHE_PREFIX}*.json"))) == 1    # the old one is gone


@pytest.mark.slow
def test_a_damaged_cache_file_is_compiled_again_and_replaced(templates: Path, tmp_path: Path):
    build, calls = counting_build(templates)
    cached(templates, build, tmp_path / "cache")
    (kept,) = (tmp_path / "cache").glob(f"{CACHE_PREFIX}*.json")
    kept.write_bytes(kept.read_bytes()[:1000])
    catalog, problems = cached(templates, build, tmp_path / "cache")
    assert len(calls) == 2 and not problems and catalog.sentences
    assert cached(templates, build, tmp_path / "cache")[0].sentences == catalog.sentences
    assert len(calls) == 2


def test_a_cache_file_others_may_write_is_never_read(templates: Path, tmp_path: Path):
    build, calls = counting_build(templates)
    cached(templates, build, tmp_path / "cache")
    (kept,) = (tmp_path / "cache").glob(f"{CACHE_PREFIX}*.json")
    os.chmod(kept, 0o666)
    cached(templates, build, tmp_path / "cache")
    assert len(calls) == 2
    assert kept.stat().st_mode & 0o077 == 0          # written again, private


def test_problems_are_never_kept(templates: Path, tmp_path: Path):
    (templates / "broken.yaml").write_text("intents:\n  stop:\n    data: 3\n")
    build, calls = counting_build(templates)
    _, problems = cached(templates, build, tmp_path / "cache", keep=lambda built: not built[1])
    assert problems
    _, again = cached(templates, build, tmp_path / "cache", keep=lambda built: not built[1])
    assert again == problems and len(calls) == 2
    assert not list((tmp_path / "cache").glob(f"{CACHE_PREFIX}*"))


def test_an_unwritable_cache_folder_only_costs_the_compilation(templates: Path, tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    build, calls = counting_build(templates)
    catalog, problems = cached(templates, build, blocker / "cache")
    assert catalog.sentences and not problems and len(calls) == 1


def test_the_shipped_catalog_goes_through_the_cache(tmp_path: Path, monkeypatch):
    seen: list[Path | None] = []
    monkeypatch.setattr(load_module, "default_cache_dir", lambda: seen.append(tmp_path) or tmp_path)
    load_module.load_catalog.cache_clear()
    try:
        catalog = load_module.load_catalog()
    finally:
        load_module.load_catalog.cache_clear()
    assert seen == [tmp_path] and catalog.sentences
    assert list(tmp_path.glob(f"{CACHE_PREFIX}*.json"))


def _kept(cache: Path) -> Path:
    (kept,) = cache.glob(f"{CACHE_PREFIX}*.json")
    return kept


def test_a_symlinked_cache_file_is_never_followed(templates: Path, tmp_path: Path):
    build, calls = counting_build(templates)
    cache = tmp_path / "cache"
    cached(templates, build, cache)
    kept = _kept(cache)
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(kept.read_bytes())
    elsewhere.chmod(0o600)
    kept.unlink()
    kept.symlink_to(elsewhere)
    catalog, problems = cached(templates, build, cache)
    assert len(calls) == 2 and catalog.sentences and not problems
    assert not kept.is_symlink()                     # replaced by a file of ours
    assert elsewhere.read_bytes() == kept.read_bytes()


@pytest.mark.parametrize("payload", [
    b"[]", b"{}", b'{"format": 1}', b"\x80\x04\x95 not json", b"null", b"[" * 100_000,
    b'{"format": 1, "intents": ["stop"], "sentences": [["stop", {}, [["rule", "nowhere"]], null, "x:1"]]}',
])
@pytest.mark.slow
def test_a_cache_file_of_the_wrong_shape_is_compiled_again(templates: Path, tmp_path: Path, payload: bytes, caplog):
    build, calls = counting_build(templates)
    cache = tmp_path / "cache"
    cached(templates, build, cache)
    _kept(cache).write_bytes(payload)
    with caplog.at_level("INFO", logger="voicecoach.intents.compiled"):
        catalog, problems = cached(templates, build, cache)
    assert len(calls) == 2 and catalog.sentences and not problems
    assert "is damaged" in caplog.text
    assert cached(templates, build, cache)[0].sentences == catalog.sentences and len(calls) == 2


@pytest.mark.slow
def test_wrong_value_types_in_a_kept_catalog_are_refused(templates: Path, tmp_path: Path):
    import json

    build, calls = counting_build(templates)
    cache = tmp_path / "cache"
    cached(templates, build, cache)
    doc = json.loads(_kept(cache).read_text())
    for change in (lambda d: d["weights"].update(stop=float("nan")),
                   lambda d: d["sentences"][0].__setitem__(1, {"slot": [1, 2]}),
                   lambda d: d.__setitem__("max_phrase_len", "9"),
                   lambda d: d["rule_weights"].popitem()):
        broken = json.loads(json.dumps(doc))
        change(broken)
        _kept(cache).write_text(json.dumps(broken))
        cached(templates, build, cache)
    assert len(calls) == 5


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777])
@pytest.mark.slow
def test_a_cache_folder_others_may_write_is_never_read(templates: Path, tmp_path: Path, mode: int, caplog):
    build, calls = counting_build(templates)
    cache = tmp_path / "cache"
    cached(templates, build, cache)
    cache.chmod(mode)
    with caplog.at_level("INFO", logger="voicecoach.intents.compiled"):
        catalog, _ = cached(templates, build, cache)
    assert len(calls) == 2 and catalog.sentences
    assert "others may write to it" in caplog.text


def test_no_module_of_the_program_unpickles():
    import voicecoach

    root = Path(voicecoach.__file__).parent
    assert not [p for p in root.rglob("*.py") if "pickle" in p.read_text(encoding="utf-8")]
