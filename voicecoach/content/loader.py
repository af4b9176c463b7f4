"""Load the article and exercise programs from content/*.yaml, checking everything on the way.

Every problem is reported as `file:line: what is wrong`; `load_content` raises ContentError
listing them all, and `validate_content` returns them. No YAML traceback reaches a user.
"""
from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Any

from voicecoach import limits
from voicecoach.content.model import (
    CUE_WORDING,
    RECALL_WORDS,
    Content,
    Exercise,
    Program,
    Topic,
    Value,
)
from voicecoach.content.wording import SECTION as WORDING_SECTION
from voicecoach.content.wording import read_wording
from voicecoach.yamlfile import line_of, load_yaml_mappings

SOURCES = ("article", "ours")
PROGRAM_KINDS = ("hold", "reps")
SIDES = ("left", "right")
NUMBER_FIELDS = ("sets", "hold_seconds", "reps", "tempo_seconds", "rest_seconds", "switch_seconds")
REQUIRED_NUMBERS = {"hold": ("sets", "hold_seconds"), "reps": ("sets", "reps")}
EXERCISE_ID = re.compile(r"[a-z][a-z0-9_]*")
MAX_SPOKEN_WORDS = 20            # a sentence longer than this is hard to follow by ear


class ContentError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def default_content_dir() -> Path:
    """The content shipped with the package (content/ in a checkout)."""
    return Path(str(importlib.resources.files("voicecoach.content_data")))


def load_content(directory: Path | str | None = None) -> Content:
    content, problems = _read(Path(directory) if directory else default_content_dir())
    if problems:
        raise ContentError(problems)
    assert content is not None
    return content


def validate_content(directory: Path | str | None = None) -> list[str]:
    """Every problem in the content files of `directory`, as `file:line: message`; [] when fine."""
    return _read(Path(directory) if directory else default_content_dir())[1]


def topic_problems(named: dict[str, str], content: Content, content_dir: Path | None = None) -> list[str]:
    """Topics the intent templates name (topic -> "file:line") that the content does not have."""
    article = (content_dir or default_content_dir()) / "article.yaml"
    return [f"{where}: topic {topic!r} is not in {article} (its topics: {', '.join(content.topics)})"
            for topic, where in sorted(named.items()) if topic not in content.topics]


def sentences_for_topic(content: Content, topic_id: str) -> tuple[str, ...]:
    """What the coach reads aloud for a topic; raises KeyError naming the known topics."""
    topic = content.topics.get(topic_id)
    if topic is None:
        raise KeyError(f"unknown topic {topic_id!r} (expected one of {', '.join(content.topics)})")
    return topic.sentences


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


SECTIONS = ("title", "topics", "exercises", "safety", "routine", WORDING_SECTION)
# A topic is whatever the article declares; the intent templates name topics by these ids
# (`topic_problems` checks the two agree).
TOPIC_ID = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
OTHER_SECTIONS = ("progression",)    # content/progression.yaml, read by voicecoach.history


def _read(directory: Path) -> tuple[Content | None, list[str]]:
    files, problems = load_yaml_mappings(directory, "content")
    if problems:
        return None, problems            # a missing or unreadable file hides what it holds
    docs: dict[str, tuple[Path, Any, int]] = {}
    for path, doc in files:
        for key, value in doc.items():
            if key in docs:
                problems.append(f"{path}:{line_of(key)}: section {key!r} is also in {docs[key][0]}")
            elif key not in SECTIONS + OTHER_SECTIONS:
                problems.append(f"{path}:{line_of(key)}: unknown section {key!r} (expected one of {', '.join(SECTIONS)})")
            docs[key] = (path, value, line_of(key))
    for key in SECTIONS:
        if key not in docs:
            problems.append(f"{directory}: no file has the section {key!r}")

    exercises = _exercises(*docs["exercises"], problems) if "exercises" in docs else {}
    section = docs["exercises"][1] if "exercises" in docs else None
    declared = {str(k) for k in section} if isinstance(section, dict) else set()
    topics = _topics(*docs["topics"], exercises, declared, problems) if "topics" in docs else {}
    safety = _sentences(*docs["safety"][:2], "safety", problems, docs["safety"][2]) if "safety" in docs else ()
    routine = _routine(*docs["routine"], declared, problems) if "routine" in docs else ()
    wording, wording_problems = read_wording(*docs[WORDING_SECTION]) if WORDING_SECTION in docs else (None, [])
    problems += wording_problems
    title = docs.get("title", (None, "", 0))[1]
    if "title" in docs and not _is_text(title):
        problems.append(f"{docs['title'][0]}:{line_of(title, docs['title'][2])}: title must be text")
    if problems or wording is None:
        return None, problems
    return Content(str(title), topics, exercises, routine, safety, wording), []


def _key_line(mapping: dict, name: str) -> int:
    """The line of `name` in `mapping`: where to point when its value is a bare number."""
    return next((line_of(key) for key in mapping if key == name), line_of(mapping))


def _sentences(path: Path, value: Any, what: str, problems: list[str], line: int = 0) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        problems.append(f"{path}:{line_of(value, line)}: {what} must be a list of sentences")
        return ()
    out = []
    for sentence in value:
        where = f"{path}:{line_of(sentence, line_of(value))}"
        if not isinstance(sentence, str) or not sentence.strip():
            problems.append(f"{where}: {what}: a sentence must be text, not {sentence!r}")
        elif len(sentence.split()) > MAX_SPOKEN_WORDS:
            problems.append(f"{where}: {what}: sentence too long to follow by ear "
                            f"({len(sentence.split())} words, at most {MAX_SPOKEN_WORDS})")
        else:
            out.append(" ".join(sentence.split()))
    return tuple(out)


def _unknown_keys(path: Path, mapping: dict, allowed: set[str], what: str, problems: list[str]) -> None:
    for key in mapping:
        if key not in allowed:
            problems.append(f"{path}:{line_of(key)}: {what}: unknown key {key!r} (expected {', '.join(sorted(allowed))})")


def _exercises(path: Path, section: Any, line: int, problems: list[str]) -> dict[str, Exercise]:
    out: dict[str, Exercise] = {}
    if not isinstance(section, dict):
        problems.append(f"{path}:{line_of(section, line)}: exercises must be a mapping of exercise ids")
        return out
    for ex_id, body in section.items():
        where = f"{path}:{line_of(ex_id)}"
        if not isinstance(ex_id, str) or not EXERCISE_ID.fullmatch(ex_id):
            problems.append(f"{where}: exercise id {ex_id!r} must be lower case letters, digits and _")
            continue
        if not isinstance(body, dict):
            problems.append(f"{where}: exercise {ex_id!r} must be a mapping")
            continue
        _unknown_keys(path, body, {"name", "short_name", "unit", "recall", "why", "steps", "program", "cues"}, ex_id, problems)
        missing = [k for k in ("name", "why", "steps", "program") if k not in body]
        if missing:
            problems.append(f"{where}: exercise {ex_id!r} is missing {', '.join(missing)}")
            continue
        if not _is_text(body["name"]):
            problems.append(f"{path}:{line_of(body['name'], _key_line(body, 'name'))}: {ex_id}: name must be text, not {body['name']!r}")
        program = _program(path, ex_id, body["program"], _key_line(body, "program"), problems)
        cues = _cue_wording(path, ex_id, body, problems)
        for key in ("short_name", "unit", "recall"):
            if key in body and not _is_text(body[key]):
                problems.append(f"{path}:{_key_line(body, key)}: {ex_id}: {key} must be text, not {body[key]!r}")
        recall = str(body.get("recall") or "")
        if set(re.findall(r"{(\w+)}", recall)) - set(RECALL_WORDS):
            problems.append(f"{path}:{_key_line(body, 'recall')}: {ex_id}: recall may use {{amount}} only")
            recall = ""
        if program is not None and _is_text(body["name"]):
            why = _sentences(path, body["why"], f"{ex_id} why", problems, _key_line(body, "why"))
            steps = _sentences(path, body["steps"], f"{ex_id} steps", problems, _key_line(body, "steps"))
            out[ex_id] = Exercise(ex_id, str(body["name"]), why, steps, program, cues,
                                  unit_name=str(body.get("unit") or ""), short=str(body.get("short_name") or ""),
                                  recall=recall)
    if not section:
        problems.append(f"{path}:{line_of(section, line)}: exercises: there are none")
    return out


def _cue_wording(path: Path, ex_id: str, body: dict, problems: list[str]) -> dict[str, str]:
    """An exercise's own cue wording: known cue names, text, and only the words each may fill in."""
    cues = body.get("cues") or {}
    where = f"{path}:{line_of(cues, _key_line(body, 'cues'))}"
    if not isinstance(cues, dict) or not all(_is_text(v) for v in cues.values()):
        problems.append(f"{where}: {ex_id}: cues must map cue names to text")
        return {}
    out = {}
    for name, text in cues.items():
        where = f"{path}:{line_of(name, line_of(cues))}"
        if name not in CUE_WORDING:
            problems.append(f"{where}: {ex_id}: unknown cue {name!r} (expected one of {', '.join(CUE_WORDING)})")
            continue
        used = set(re.findall(r"{(\w+)}", text))
        if used - set(CUE_WORDING[name]):
            problems.append(f"{where}: {ex_id}: cue {name} may use {{{'}, {'.join(CUE_WORDING[name])}}}, "
                            f"not {{{'}, {'.join(sorted(used - set(CUE_WORDING[name])))}}}")
            continue
        out[str(name)] = str(text)
    return out


def _program(path: Path, ex_id: str, body: Any, line: int, problems: list[str]) -> Program | None:
    where = f"{path}:{line_of(body, line)}"
    if not isinstance(body, dict):
        problems.append(f"{where}: {ex_id}: program must be a mapping")
        return None
    _unknown_keys(path, body, {"kind", "sides", *NUMBER_FIELDS}, f"{ex_id} program", problems)
    kind = body.get("kind")
    if kind not in PROGRAM_KINDS:
        problems.append(f"{path}:{line_of(kind, _key_line(body, 'kind'))}: {ex_id}: program kind must be one of {', '.join(PROGRAM_KINDS)}, not {kind!r}")
        return None
    sides = body.get("sides") or []
    if not isinstance(sides, list) or any(s not in SIDES for s in sides) or len(set(sides)) != len(sides):
        problems.append(f"{path}:{line_of(sides, _key_line(body, 'sides'))}: {ex_id}: sides must be a list of distinct {' or '.join(SIDES)}, not {sides!r}")
        return None
    values: dict[str, Value] = {}
    for name in NUMBER_FIELDS:
        if name in body:
            value = _value(path, ex_id, name, body[name], problems, _key_line(body, name))
            if value is not None:
                values[name] = value
        elif name in REQUIRED_NUMBERS[kind]:
            problems.append(f"{where}: {ex_id}: a {kind} program needs {name}")
    if any(name not in values for name in REQUIRED_NUMBERS[kind]):
        return None
    return Program(kind, tuple(sides), **values)


def _value(path: Path, ex_id: str, name: str, raw: Any, problems: list[str], key_line: int) -> Value | None:
    where = f"{path}:{line_of(raw, key_line)}"
    if not isinstance(raw, dict) or set(raw) != {"value", "source"}:
        problems.append(f"{where}: {ex_id}: {name} must be {{value: N, source: article|ours}}, not {raw!r}")
        return None
    number, source = raw["value"], raw["source"]
    problem = limits.PROGRAM[name].problem(number)
    if problem:
        problems.append(f"{where}: {ex_id}: {problem}")
        return None
    if source not in SOURCES:
        problems.append(f"{where}: {ex_id}: {name} source must be 'article' or 'ours', not {source!r}")
        return None
    return Value(float(number), str(source))


def _topics(path: Path, section: Any, line: int, exercises: dict[str, Exercise], declared: set[str],
            problems: list[str]) -> dict[str, Topic]:
    out: dict[str, Topic] = {}
    if not isinstance(section, dict):
        problems.append(f"{path}:{line_of(section, line)}: topics must be a mapping of topic ids")
        return out
    for topic_id, body in section.items():
        where = f"{path}:{line_of(topic_id)}"
        if not isinstance(topic_id, str) or not TOPIC_ID.fullmatch(topic_id):
            problems.append(f"{where}: topic id {topic_id!r} must be lowercase words joined by _ (like poor_form)")
            continue
        if not isinstance(body, dict):
            problems.append(f"{where}: topic {topic_id!r} must be a mapping with a title")
            continue
        _unknown_keys(path, body, {"title", "sentences", "exercise"}, topic_id, problems)
        if not _is_text(body.get("title")):
            problems.append(f"{path}:{line_of(body.get('title'), line_of(topic_id))}: topic {topic_id!r} needs a title as text")
            continue
        if ("sentences" in body) == ("exercise" in body):
            which = "has both" if "sentences" in body else "has neither"
            problems.append(f"{where}: topic {topic_id!r} needs sentences or an exercise; it {which}")
            continue
        if "exercise" in body:
            if not isinstance(body["exercise"], str):
                problems.append(f"{path}:{line_of(body['exercise'], line_of(topic_id))}: topic {topic_id!r}: "
                                f"exercise must be an exercise id, not {body['exercise']!r}")
                continue
            exercise = exercises.get(body["exercise"])
            if exercise is None and body["exercise"] in declared:
                continue                  # the exercise itself is broken and already reported
            if exercise is None:
                problems.append(f"{path}:{line_of(body['exercise'])}: topic {topic_id!r}: unknown exercise {body['exercise']!r}")
                continue
            sentences = exercise.why + exercise.steps + (program_summary(exercise),)
        else:
            sentences = _sentences(path, body["sentences"], topic_id, problems, _key_line(body, "sentences"))
        out[topic_id] = Topic(topic_id, str(body["title"]), sentences)
    if not section:
        problems.append(f"{path}:{line_of(section, line)}: topics: there are none")
    return out


def _routine(path: Path, value: Any, line: int, declared: set[str], problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        problems.append(f"{path}:{line_of(value, line)}: routine must be a list of exercise ids")
        return ()
    for ex_id in value:
        if not isinstance(ex_id, str) or ex_id not in declared:
            problems.append(f"{path}:{line_of(ex_id, line_of(value))}: routine: unknown exercise {ex_id!r} "
                            f"(expected one of {', '.join(sorted(d for d in declared if EXERCISE_ID.fullmatch(d)))})")
    return tuple(str(v) for v in value)


def program_summary(exercise: Exercise) -> str:
    """One spoken sentence on how the coach times the exercise, amounts first in words."""
    from voicecoach.words import say_number, say_seconds

    p = exercise.program
    sets = int(p.sets.value)
    each = " on each side" if p.sides else ""
    set_part = f"{say_number(sets)} sets of " if sets > 1 else ""
    if p.kind == "hold":
        assert p.hold_seconds is not None
        action = exercise.cues.get("hold_start", "Hold for {duration}.").rstrip(".")
        duration = say_seconds(p.hold_seconds.value)
        action = action.format(duration=f"{set_part}{duration}", count="", unit=exercise.unit)
        return f"{action[:1].upper()}{action[1:]}{each}."
    assert p.reps is not None
    return f"Do {set_part}{say_number(int(p.reps.value))} {exercise.unit}{each}."
