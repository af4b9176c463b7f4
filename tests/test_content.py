"""The shipped content is faithful and complete; broken content gets `file:line: message`."""
from __future__ import annotations

import argparse
import shutil

import pytest

from conftest import REPO, SHARED
from voicecoach.content.loader import (
    MAX_SPOKEN_WORDS, ContentError, default_content_dir, load_content, sentences_for_topic, topic_problems,
    validate_content,
)
from voicecoach.intents.load import load_catalog

ARTICLE_EXERCISES = {"foam_rolling", "glute_bridge", "lateral_band_walk", "it_band_stretch"}

ARTICLE = SHARED / "article" / "it-band-article.txt"


def test_shipped_content_loads_with_every_topic_and_exercise():
    content = load_content()
    # Every topic the article has is one a question can name, and no other.
    assert set(content.topics) == set(load_catalog(None, content.exercise_names()).named_values("topic"))
    assert set(content.exercises) == ARTICLE_EXERCISES
    assert content.routine == ("foam_rolling", "glute_bridge", "lateral_band_walk", "it_band_stretch")
    assert all(t.sentences for t in content.topics.values())


def test_installed_content_is_the_checkout_content():
    shipped = default_content_dir()
    assert (shipped / "article.yaml").is_file() and (shipped / "exercises.yaml").is_file()
    assert load_content(shipped) == load_content(REPO / "content")


def test_every_sentence_is_easy_to_follow_by_ear():
    content = load_content()
    spoken = [s for t in content.topics.values() for s in t.sentences] + list(content.safety)
    for sentence in spoken:
        assert len(sentence.split()) <= MAX_SPOKEN_WORDS, sentence
        assert not any(mark in sentence for mark in ("(", ")", "e.g", "I T ", "1.", "2.")), sentence


def test_sentences_for_topic_reads_an_exercise_topic_from_the_exercise():
    content = load_content()
    stretch = sentences_for_topic(content, "it_band_stretch")
    assert stretch[: len(content.exercises["it_band_stretch"].steps) + 1][1:] == content.exercises["it_band_stretch"].steps
    assert "thirty seconds on each side" in stretch[-1]
    with pytest.raises(KeyError, match="unknown topic 'yoga'"):
        sentences_for_topic(content, "yoga")


def test_overviews_name_the_three_causes_and_the_four_exercises():
    topics = load_content().topics
    causes = " ".join(topics["causes"].sentences).lower()
    assert all(c in causes for c in ("overuse", "poor form", "weak glutes"))
    exercises = " ".join(topics["exercises"].sentences).lower()
    assert all(e in exercises for e in ("foam rolling", "glute bridges", "lateral band walks", "it band stretch"))


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
    for said in (content.topics["safety"].sentences, content.safety):
        text = " ".join(said).lower()
        for phrase in ("start", "light", "gradually", "listen to your body", "stop", "consult a medical professional"):
            assert phrase in text, (phrase, said)
    # The article says to consult when there is pain, not only if it lasts.
    assert not any(w in " ".join(content.safety).lower() for w in ("persists", "goes on"))


@pytest.mark.shared("article/it-band-article.txt")
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
    ("hold_seconds: {value: 30, source: article}", "hold_seconds: {value: -30, source: article}", "hold_seconds must be 5 to 600 seconds, not -30"),
    ("hold_seconds: {value: 30, source: article}", "hold_seconds: {value: 30, source: blog}", "source must be"),
    ("hold_seconds: {value: 30, source: article}", "hold_seconds: 30", "must be {value: N"),
    ("reps: {value: 10, source: ours}", "reps: {value: 2.5, source: ours}", "whole number"),
    ("kind: hold ", "kind: sprint ", "program kind"),
    ("sides: [left, right]                       # \"repeat", "sides: [left, up]                       # \"repeat", "sides must be"),
    ("    name: \"glute bridges\"", "    nmae: \"glute bridges\"", "unknown key 'nmae'"),
    ("rest_seconds: {value: 30, source: ours}", "rest_seconds: {value: 0, source: ours}", "rest_seconds must be 1 to 600 seconds"),
    ("tempo_seconds: {value: 2, source: ours}", "tempo_seconds: {value: two, source: ours}", "tempo_seconds must be a number"),
    ("    name: \"glute bridges\"", "    name: [glute, bridges]", "name must be text"),
    ("  glute_bridge:\n", "  Glute Bridge:\n", "exercise id 'Glute Bridge' must be lower case"),
    ("    unit: steps ", "    unit: [steps] ", "unit must be text"),
    ("      hold_start: \"Roll for {duration}.\"", "      hold_start: \"Roll for {minutes}.\"", "may use {duration}, {count}, {unit}, not {minutes}"),
    ("      hold_start: \"Roll", "      hold_begin: \"Roll", "unknown cue 'hold_begin'"),
    ("    why:\n      - \"Glute bridges help", "    why: 3\n    whyy:\n      - \"Glute bridges help", "must be a list of sentences"),
    # Numbers outside their limits (voicecoach/limits.py), NaN and infinity.
    ("reps: {value: 10, source: ours}", "reps: {value: 1000000000, source: ours}", "reps must be 1 to 100, not 1e+09"),
    ("hold_seconds: {value: 30, source: article}", "hold_seconds: {value: .nan, source: article}", "hold_seconds must be a finite number"),
    ("hold_seconds: {value: 30, source: article}", "hold_seconds: {value: 1.0e+12, source: article}", "hold_seconds must be 5 to 600 seconds"),
    ("tempo_seconds: {value: 2, source: ours}", "tempo_seconds: {value: .inf, source: ours}", "tempo_seconds must be a finite number"),
    ("rest_seconds: {value: 30, source: ours}", "rest_seconds: {value: .nan, source: ours}", "rest_seconds must be a finite number"),
    ("switch_seconds: {value: 5, source: ours}", "switch_seconds: {value: -.inf, source: ours}", "switch_seconds must be a finite number"),
    ("sets: {value: 2, source: ours}", "sets: {value: 1000, source: ours}", "sets must be 1 to 10"),
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


def test_bad_topic_id_and_long_sentence(broken):
    bad = _replace(broken / "article.yaml", "  poor_form:\n", "  Poor-Form:\n")
    long = "This sentence " + "goes on and on " * 8 + "."
    line = _replace(broken / "article.yaml", '- "That puts stress on the IT band."', f'- "{long}"')
    problems = validate_content(broken)
    assert any(p.startswith(f"{broken / 'article.yaml'}:{bad}: topic id 'Poor-Form' must be") for p in problems), problems
    assert any(p.startswith(f"{broken / 'article.yaml'}:{line}:") and "too long" in p for p in problems)


def test_a_topic_the_templates_name_must_be_in_the_content(broken):
    """Topics are the article's: a new one needs no code; one the templates name and the
    article lacks is reported with both places, at start-up and by `voicecoach validate`."""
    _replace(broken / "article.yaml", "  poor_form:\n", "  running_form:\n")
    assert validate_content(broken) == []
    content = load_content(broken)
    named = load_catalog(None, content.exercise_names()).named_values("topic")
    assert topic_problems(named, content, broken) == [
        f"the {{topic}} list: topic 'poor_form' is not in {broken / 'article.yaml'} "
        f"(its topics: {', '.join(content.topics)})"]
    assert topic_problems(named, load_content(), None) == []


def test_missing_key_is_reported_at_its_exercise(broken):
    path = broken / "exercises.yaml"
    text = path.read_text()
    start = text.index("  glute_bridge:")
    steps = text.index("    steps:", start)
    path.write_text(text[:steps] + text[text.index("    program:", start):])
    line = text[:start].count("\n") + 1
    problems = validate_content(broken)
    assert f"{path}:{line}: exercise 'glute_bridge' is missing steps" in problems, problems


def test_routine_item_on_its_own_line(broken):
    path = broken / "article.yaml"
    _replace(path, "routine: [foam_rolling, glute_bridge, lateral_band_walk, it_band_stretch]",
             "routine:\n  - foam_rolling\n  - glute_bridge\n  - jogging\n")
    line = path.read_text().splitlines().index("  - jogging") + 1
    problems = validate_content(broken)
    assert any(p.startswith(f"{path}:{line}: routine: unknown exercise 'jogging'") for p in problems), problems


def test_unknown_section_and_topic_pointing_at_no_exercise(broken):
    path = broken / "article.yaml"
    line = _replace(path, "routine: [", "warmup: [jog]\nroutine: [")
    bad = _replace(path, "    exercise: glute_bridge", "    exercise: [glute_bridge]")
    problems = validate_content(broken)
    assert any(p.startswith(f"{path}:{line}: unknown section 'warmup'") for p in problems), problems
    assert any(p.startswith(f"{path}:{bad}: topic 'glute_bridge': exercise must be an exercise id") for p in problems), problems


def test_unclosed_quote_names_the_line_where_it_opens(broken):
    path = broken / "exercises.yaml"
    line = _replace(path, "switch_seconds: {value: 5, source: ours}", 'switch_seconds: "5')
    problems = validate_content(broken)
    assert len(problems) == 1 and problems[0].startswith(f"{path}:{line}: invalid YAML"), problems


def test_load_content_raises_one_error_listing_every_problem(broken):
    _replace(broken / "exercises.yaml", "reps: {value: 10, source: ours}", "reps: {value: -1, source: ours}")
    _replace(broken / "exercises.yaml", "hold_seconds: {value: 30, source: article}", "hold_seconds: {value: 30, source: me}")
    with pytest.raises(ContentError) as caught:
        load_content(broken)
    assert isinstance(caught.value, ValueError) and len(caught.value.problems) == 2
    assert str(caught.value) == "\n".join(caught.value.problems)
    assert all(p.startswith(str(broken / "exercises.yaml") + ":") for p in caught.value.problems)


def test_an_empty_directory_says_there_is_no_content(tmp_path):
    assert validate_content(tmp_path) == [f"{tmp_path}: no content files (*.yaml)"]


def test_every_limit_violation_is_reported_at_once(broken):
    lines = [_replace(broken / "exercises.yaml", "reps: {value: 10, source: ours}", "reps: {value: 1000000000, source: ours}"),
             _replace(broken / "exercises.yaml", "hold_seconds: {value: 30, source: article}", "hold_seconds: {value: .nan, source: article}"),
             _replace(broken / "exercises.yaml", "switch_seconds: {value: 8, source: ours}", "switch_seconds: {value: .inf, source: ours}")]
    problems = validate_content(broken)
    for line in lines:
        assert any(p.startswith(f"{broken / 'exercises.yaml'}:{line}:") for p in problems), (line, problems)


def test_start_up_refuses_templates_naming_a_topic_the_content_lacks(broken):
    from voicecoach.cli import UserError, _catalog

    _replace(broken / "article.yaml", "  poor_form:\n", "  running_form:\n")
    args = argparse.Namespace()
    with pytest.raises(UserError, match="topic 'poor_form' is not in"):
        _catalog(args, load_content(broken))
    assert _catalog(args, load_content()) is not None
