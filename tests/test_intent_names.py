"""The names in voicecoach/intents/names.py and the intents the templates define agree both
ways: every template intent has a name in code, and every name in code (but `none`, which no
template may define) has its templates."""
from __future__ import annotations

import ast
import json

import yaml

from conftest import REPO
from voicecoach.intents.names import Aside, Intent

INTENTS_DIR = REPO / "voicecoach" / "intents"
ASIDE_FILE = "asides.yaml"


def defined_in_templates() -> dict[str, set[str]]:
    """File name -> the intents it defines (the keys under `intents:`)."""
    found = {}
    for path in sorted(INTENTS_DIR.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found[path.name] = set(document.get("intents") or {})
    return found


def test_every_template_intent_has_its_name_in_code():
    files = defined_in_templates()
    commands = set().union(*(names for name, names in files.items() if name != ASIDE_FILE))
    assert commands - {i.value for i in Intent} == set()
    assert files[ASIDE_FILE] - {a.value for a in Aside} == set()


def test_every_name_in_code_has_its_templates():
    files = defined_in_templates()
    commands = set().union(*(names for name, names in files.items() if name != ASIDE_FILE))
    assert {i.value for i in Intent} - {Intent.NONE.value} - commands == set()
    assert {a.value for a in Aside} - files[ASIDE_FILE] == set()
    assert Intent.NONE.value not in set().union(*files.values())


def test_a_name_is_the_plain_string_wherever_it_goes():
    assert Intent.STOP == "stop" and {"stop": 1}[Intent.STOP] == 1
    assert f"{Intent.REPORT_PAIN}" == str(Intent.REPORT_PAIN) == "report_pain"
    assert json.dumps({"intent": Intent.PAUSE}) == '{"intent": "pause"}'


def test_the_session_and_the_reader_spell_no_intent_as_a_bare_string():
    names = {i.value for i in Intent} - {"next", "no"}      # also plain words in sentences
    spelled = []
    for module in ("coach/session.py", "intents/slots.py", "intents/understand.py", "intents/matcher.py",
                   "hearing/loop.py", "hearing/bargein/keywords.py"):
        tree = ast.parse((REPO / "voicecoach" / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                for side in [node.left, *node.comparators]:
                    if isinstance(side, ast.Constant) and side.value in names:
                        spelled.append(f"{module}:{node.lineno}: {side.value!r}")
    assert spelled == []
