"""The compiled templates kept in the cache folder: the same catalog, rebuilt whenever in doubt."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from voicecoach.intents import catalog as catalog_module
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


def test_an_edited_template_is_compiled_again(templates: Path, tmp_path: Path):
    build, calls = counting_build(templates)
    cached(templates, build, tmp_path / "cache")
    before = source_digest(templates)
    first = sorted(templates.glob("*.yaml"))[0]
    first.write_text(first.read_text() + "\n# an edit\n")
    assert source_digest(templates) != before
    cached(templates, build, tmp_path / "cache")
    assert len(calls) == 2
    assert len(list((tmp_path / "cache").glob(f"{CACHE_PREFIX}*.pickle"))) == 1    # the old one is gone


def test_a_damaged_cache_file_is_compiled_again_and_replaced(templates: Path, tmp_path: Path):
    build, calls = counting_build(templates)
    cached(templates, build, tmp_path / "cache")
    (kept,) = (tmp_path / "cache").glob(f"{CACHE_PREFIX}*.pickle")
    kept.write_bytes(kept.read_bytes()[:1000])
    catalog, problems = cached(templates, build, tmp_path / "cache")
    assert len(calls) == 2 and not problems and catalog.sentences
    assert cached(templates, build, tmp_path / "cache")[0].sentences == catalog.sentences
    assert len(calls) == 2


def test_a_cache_file_others_may_write_is_never_read(templates: Path, tmp_path: Path):
    build, calls = counting_build(templates)
    cached(templates, build, tmp_path / "cache")
    (kept,) = (tmp_path / "cache").glob(f"{CACHE_PREFIX}*.pickle")
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
    real_cached = catalog_module.__dict__.get("cached")
    assert real_cached is None                 # imported where used, so the first prompt does not pay for it
    import voicecoach.intents.compiled as compiled

    monkeypatch.setattr(compiled, "default_cache_dir", lambda: seen.append(tmp_path) or tmp_path)
    catalog_module.load_catalog.cache_clear()
    try:
        catalog = catalog_module.load_catalog()
    finally:
        catalog_module.load_catalog.cache_clear()
    assert seen == [tmp_path] and catalog.sentences
    assert list(tmp_path.glob(f"{CACHE_PREFIX}*.pickle"))
