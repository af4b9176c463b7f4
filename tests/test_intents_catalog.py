"""Template files: broken ones get `file:line: message`, never a traceback."""
from __future__ import annotations

import pytest

from voicecoach.intents.catalog import CatalogError, validate_catalog
from voicecoach.intents.load import load_catalog

LISTS = """lists:
  exercise:
    values:
      - in: "(stretch|the stretch)"
        out: it_band_stretch
"""


def _write(tmp_path, body: str, lists: str = LISTS):
    (tmp_path / "lists.yaml").write_text(lists)
    (tmp_path / "intents.yaml").write_text(body)
    return tmp_path


def test_shipped_templates_are_valid():
    assert validate_catalog() == []


def test_a_good_directory_loads(tmp_path):
    catalog = load_catalog(_write(tmp_path, 'intents:\n  start:\n    sentences:\n      - "start {exercise}"\n'))
    assert catalog.intents == ("start",)


@pytest.mark.parametrize("body,line,words", [
    ('intents:\n  start:\n    sentences:\n      - "start (the|a {exercise}"\n', 4, "never closed"),
    ('intents:\n  start:\n    sentences:\n      - "start {nothing}"\n', 4, "unknown slot list {nothing}"),
    ('intents:\n  start:\n    sentences:\n      - "start <nothing>"\n', 4, "unknown rule <nothing>"),
    ('intents:\n  start:\n    sentencez:\n      - "start"\n', 2, "unknown key"),
    ('intents:\n  start:\n    sentences:\n      - "go"\n  stop:\n    sentences:\n      - "go"\n', 7, "means stop"),
    ('intents:\n  start:\n    sentences:\n    - "go\n', 4, "invalid YAML"),
    ('intents:\n  start:\n    data:\n      - sentences: ["go"]\n        context: {bored: true}\n', 5, "unknown context key"),
    ('stuff:\n  start: 1\n', 1, "unknown section"),
])
def test_errors_name_file_and_line(tmp_path, body, line, words):
    problems = validate_catalog(_write(tmp_path, body))
    assert problems, "expected a problem"
    assert any(p.startswith(f"{tmp_path / 'intents.yaml'}:{line}:") and words in p for p in problems), problems


def test_load_raises_with_every_problem(tmp_path):
    with pytest.raises(CatalogError) as err:
        load_catalog(_write(tmp_path, 'intents:\n  start:\n    sentences:\n      - "a {x}"\n      - "b <y>"\n'))
    assert len(err.value.problems) == 2
