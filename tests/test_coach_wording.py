"""The coach's own wording (content/coach.yaml): every line the session says is there, each
uses only the values it is given, and a broken file is one clear line naming file, line and key."""
from __future__ import annotations

import ast
import shutil

import pytest

from conftest import REPO
from voicecoach.content.loader import ContentError, load_content, validate_content
from voicecoach.content.wording import LINES, placeholder_problems

SESSION = REPO / "voicecoach" / "coach" / "session.py"


def keys_the_session_names() -> set[str]:
    """Every string constant in session.py that is a line's key (what `_say` is called with)."""
    tree = ast.parse(SESSION.read_text(encoding="utf-8"))
    return {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in LINES}


def said_keys() -> set[str]:
    """The constant first arguments of every `self._say(...)` call in session.py."""
    tree = ast.parse(SESSION.read_text(encoding="utf-8"))
    return {call.args[0].value for call in ast.walk(tree)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "_say"
            and call.args and isinstance(call.args[0], ast.Constant)}


def test_the_shipped_wording_has_every_line_and_fills_them_in():
    wording = load_content().wording
    assert set(wording.lines) == set(LINES)
    assert wording.line("next_up", name="the IT band stretch") == "Next up: the IT band stretch."
    assert all(not placeholder_problems(text, LINES[key]) for key, text in wording.lines.items())


def test_every_line_is_one_the_session_says_and_every_line_it_says_is_declared():
    assert said_keys() <= set(LINES)
    assert set(LINES) - keys_the_session_names() == set()


def test_no_sentence_of_the_coach_is_left_in_the_session():
    """No Reply is made from text written in the code: a literal or an f-string."""
    tree = ast.parse(SESSION.read_text(encoding="utf-8"))
    written = [f"line {call.lineno}" for call in ast.walk(tree)
               if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Reply"
               and call.args and isinstance(call.args[0], (ast.Constant, ast.JoinedStr))]
    assert written == []


@pytest.fixture
def content_copy(tmp_path):
    copy = tmp_path / "content"
    shutil.copytree(REPO / "content", copy)
    return copy


def broken(copy, old: str, new: str) -> str:
    path = copy / "coach.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    problems = validate_content(copy)
    assert len(problems) == 1 and "\n" not in problems[0], problems
    return problems[0]


def line_of(copy, text: str) -> int:
    return next(n for n, line in enumerate((copy / "coach.yaml").read_text().splitlines(), 1) if text in line)


def test_an_unknown_placeholder_names_file_line_key_and_what_the_line_may_use(content_copy):
    problem = broken(content_copy, 'next_up: "Next up: {name}."', 'next_up: "Next up: {exercise}."')
    where = f"{content_copy / 'coach.yaml'}:{line_of(content_copy, 'next_up:')}"
    assert problem == f"{where}: coach.next_up: unknown placeholder {{exercise}} (this line may use: {{name}})"


@pytest.mark.parametrize("old, new, expected", [
    ('  keep_going: "Keep going."\n', "", "coach.keep_going is missing"),
    ('  keep_going: "Keep going."\n', '  keep_going: "Keep going."\n  keep_gong: "Keep going."\n', "coach: unknown line 'keep_gong'"),
    ('keep_going: "Keep going."', 'keep_going: "Keep {going."', "coach.keep_going: expected '}'"),
    ('keep_going: "Keep going."', "keep_going: [Keep, going]", "coach.keep_going: must be text"),
    ('keep_going: "Keep going."', 'keep_going: "Keep {0}."', "coach.keep_going: '{0}' is not a plain {name} placeholder"),
    ('next_up: "Next up: {name}."', 'next_up: "Next up: {name.__class__}."', "coach.next_up: '{name.__class__}' is not a plain"),
    ('next_up: "Next up: {name}."', 'next_up: "Next up: {name!r}."', "coach.next_up: {name} must be plain, without !r"),
])
def test_a_broken_line_is_one_line_naming_the_key(content_copy, old, new, expected):
    problem = broken(content_copy, old, new)
    assert problem.startswith(f"{content_copy / 'coach.yaml'}:") and expected in problem


def test_a_yaml_tag_that_would_run_code_is_refused_in_one_line(content_copy):
    problem = broken(content_copy, 'keep_going: "Keep going."', "keep_going: !!python/object/apply:os.system [echo hi]")
    assert problem.startswith(f"{content_copy / 'coach.yaml'}:") and "python/object" in problem


def test_without_the_file_the_section_is_missing_and_loading_says_so(content_copy):
    (content_copy / "coach.yaml").unlink()
    with pytest.raises(ContentError) as caught:
        load_content(content_copy)
    assert str(caught.value) == f"{content_copy}: no file has the section 'coach'"
