"""The shipped content is faithful and complete; broken content gets `file:line: message`."""
from __future__ import annotations

import shutil

import pytest

from conftest import REPO, SHARED
from voicecoach.content.loader import ContentError, default_content_dir, load_content, validate_content
from voicecoach.content.model import EXERCISES, TOPICS

ARTICLE = SHARED / "article" / "it-band-article.txt"


def test_shipped_content_loads_with_every_topic_and_exercise():
    content = load_content()
    assert set(content.topics) == set(TOPICS)
    assert set(content.exercises) == set(EXERCISES)
    assert content.routine == ("foam_rolling", "glute_bridge", "lateral_band_walk", "it_band_stretch")
    assert all(t.sentences for t in content.topics.values())


def test_installed_content_is_the_checkout_content():
    assert default_content_dir().resolve() == (REPO / "content").resolve() or (default_content_dir() / "article.yaml").exists()


def test_the_stretch_holds_thirty_seconds_a_side_as_the_article_says():
    program = load_content().exercises["it_band_stretch"].program
    assert program.hold_seconds.value == 30 and program.hold_seconds.source == "article"
    assert program.sides == ("left", "right")


def test_every_number_says_whether_it_is_the_articles_or_ours():
    for exercise in load_content().exercises.values():
        program = exercise.program
        for name in ("sets", "hold_seconds", "reps", "tempo_seconds", "rest_seconds", "switch_seconds"):
            value = getattr(program, name)
            if value is not None:
                assert value.source in ("article", "ours"), (exercise.id, name)
    ours = load_content().exercises["glute_bridge"].program
    assert ours.reps.source == "ours" and ours.sets.source == "ours"


def test_safety_advice_follows_the_article():
    content = load_content()
    said = " ".join(content.topics["safety"].sentences + content.safety).lower()
    for phrase in ("stop", "medical professional", "gradually", "listen to your body"):
        assert phrase in said


@pytest.mark.skipif(not ARTICLE.exists(), reason=f"the article is not here ({ARTICLE})")
def test_exercise_steps_come_from_the_article():
    article = ARTICLE.read_text(encoding="utf-8").lower()
    for exercise in load_content().exercises.values():
        for step in exercise.steps:
            # Compare word beginnings: "Squeeze" restates the article's "squeezing".
            key_words = [w.strip(".,").lower()[:5] for w in step.split() if len(w) > 5]
            assert all(w in article for w in key_words), (exercise.id, step)


@pytest.fixture
def broken(tmp_path):
    """A copy of the shipped content to break one line at a time."""
    target = tmp_path / "content"
    shutil.copytree(default_content_dir(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


def _replace(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return text[: text.index(old)].count("\n") + 1


@pytest.mark.parametrize("old,new,words", [
    ("hold_seconds: {value: 30, source: article}", "hold_seconds: {value: -30, source: article}", "positive number"),
    ("hold_seconds: {value: 30, source: article}", "hold_seconds: {value: 30, source: blog}", "source must be"),
    ("hold_seconds: {value: 30, source: article}", "hold_seconds: 30", "must be {value: N"),
    ("reps: {value: 10, source: ours}", "reps: {value: 2.5, source: ours}", "whole number"),
    ("kind: hold ", "kind: sprint ", "program kind"),
    ("sides: [left, right]                       # \"repeat", "sides: [left, up]                       # \"repeat", "sides must be"),
    ("    name: \"glute bridges\"", "    nmae: \"glute bridges\"", "unknown key 'nmae'"),
])
def test_exercise_errors_name_the_file_and_line(broken, old, new, words):
    line = _replace(broken / "exercises.yaml", old, new)
    problems = validate_content(broken)
    assert any(p.startswith(f"{broken / 'exercises.yaml'}:{line}:") and words in p for p in problems), problems
    with pytest.raises(ContentError):
        load_content(broken)


def test_routine_with_an_unknown_exercise(broken):
    line = _replace(broken / "article.yaml", "routine: [foam_rolling,", "routine: [yoga,")
    assert any(p.startswith(f"{broken / 'article.yaml'}:{line}:") and "'yoga'" in p for p in validate_content(broken))


def test_yaml_syntax_error_names_its_line(broken):
    line = _replace(broken / "article.yaml", '    title: "Overuse"', '    title: Overuse: too much')
    problems = validate_content(broken)
    assert problems and problems[0].startswith(f"{broken / 'article.yaml'}:{line}:") and "invalid YAML" in problems[0]


def test_missing_topic_and_long_sentence(broken):
    _replace(broken / "article.yaml", "  poor_form:\n", "  poor_forms:\n")
    long = "This sentence " + "goes on and on " * 8 + "."
    line = _replace(broken / "article.yaml", '- "That puts stress on the IT band."', f'- "{long}"')
    problems = validate_content(broken)
    assert any("unknown topic 'poor_forms'" in p for p in problems)
    assert any("'poor_form' is missing" in p for p in problems)
    assert any(p.startswith(f"{broken / 'article.yaml'}:{line}:") and "too long" in p for p in problems)
