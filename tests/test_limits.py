"""Limits as data: numbers from speech, content and scripts stay in range, and input is bounded."""
from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import time

import pytest

from conftest import REPO
from voicecoach import cli, limits
from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.session import Session
from voicecoach.intents.load import load_catalog
from voicecoach.intents.matcher import recognize
from voicecoach.intents.types import Match


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


# ----- the table ------------------------------------------------------------------------

@pytest.mark.parametrize("limit,value,words", [
    (limits.HOLD_SECONDS, 4, "5 to 600 seconds"),
    (limits.HOLD_SECONDS, 1e12, "5 to 600 seconds, not 1e+12"),
    (limits.HOLD_SECONDS, math.nan, "finite"),
    (limits.TEMPO_SECONDS, math.inf, "finite"),
    (limits.REPS, 1e9, "1 to 100"),
    (limits.REPS, 2.5, "whole number"),
    (limits.SETS, "two", "must be a number"),
    (limits.SWITCH_SECONDS, True, "must be a number"),
])
def test_limit_refuses_with_the_range(limit, value, words):
    problem = limit.problem(value)
    assert problem and problem.startswith(limit.name) and words in problem


@pytest.mark.parametrize("limit,value", [(limits.HOLD_SECONDS, 5), (limits.HOLD_SECONDS, 600.0),
                                         (limits.REPS, 100), (limits.TEMPO_SECONDS, 0.5)])
def test_limit_accepts_its_ends(limit, value):
    assert limit.problem(value) is None


def test_clamp_keeps_computed_numbers_in_range():
    assert limits.HOLD_SECONDS.clamp(math.inf) == 600 and limits.HOLD_SECONDS.clamp(math.nan) == 5
    assert limits.REPS.clamp(1e9) == 100 and limits.REPS.clamp(7) == 7


# ----- numbers in speech (the matcher never crashes on a number) ------------------------

@pytest.mark.parametrize("text", [
    "hold for " + "9" * 309 + " seconds",          # float overflow
    "hold for " + "9" * 400 + " minutes",
    "hold for " + "9" * 5000,                       # past int's 4300-digit conversion limit
    "hold for " + "9" * 5000 + ":30",
    "hold for " + "hundred " * 3000 + "seconds",    # a number in words that grows without end
    "hold for 1." + "9" * 480 + " seconds",
])
def test_huge_numbers_are_read_as_too_long_not_a_crash(catalog, text):
    match = recognize(text, catalog)
    assert match.intent in ("set_duration", "none")
    if match.intent == "set_duration":
        assert limits.HOLD_SECONDS.problem(match.slots["seconds"]) is not None or match.slots["seconds"] == 2


@pytest.mark.parametrize("text,seconds", [
    ("hold for -5 seconds", -5), ("hold for -1:30", -90), ("hold for negative 30", -30),
    ("hold for 45 seconds", 45), ("make it a minute and a half", 90),
])
def test_negative_durations_stay_negative(catalog, text, seconds):
    match = recognize(text, catalog)
    assert (match.intent, match.slots.get("seconds")) == ("set_duration", seconds)


def _say(session: Session, catalog, text: str) -> list[str]:
    return [r.text for r in session.handle(recognize(text, catalog, session.context()))]


@pytest.mark.parametrize("text", ["hold for -5 seconds", "hold for " + "9" * 400 + " seconds",
                                  "hold for 1000000000000 seconds"])
def test_session_refuses_holds_out_of_range(tiny_content, catalog, text):
    session = Session(tiny_content, VirtualClock())
    session.begin()
    _say(session, catalog, "start the stretch")
    replies = _say(session, catalog, text)
    assert replies == ["I can time holds from five seconds to ten minutes."]


def test_session_refuses_a_nan_or_text_slot(tiny_content):
    session = Session(tiny_content, VirtualClock())
    session.begin()
    for seconds in (math.nan, math.inf, "45", None):
        replies = session.handle(Match("x", "set_duration", {"seconds": seconds}, 1.0))
        assert [r.text for r in replies] == ["I can time holds from five seconds to ten minutes."]


# ----- input bounds ----------------------------------------------------------------------

def test_an_over_long_line_is_refused_at_once(catalog):
    text = "how do i do a glute bridge " * 4000       # 108,000 characters
    started = time.perf_counter()
    match = recognize(text, catalog)
    assert match.intent == "none"
    assert time.perf_counter() - started < 0.5     # a generous bound: the guard does no work at all


def _parse_stdin(data: bytes, monkeypatch, encoding: str = "ascii") -> tuple[int, bytes]:
    """Run `parse` in this process with stdin and stdout as strict streams of `encoding`."""
    out = io.BytesIO()
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="strict")
    stdout = io.TextIOWrapper(out, encoding=encoding, errors="strict", write_through=True)
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    code = cli.main(["parse"])
    stdout.flush()
    return code, out.getvalue()


def test_parse_stream_goes_on_after_bad_lines(monkeypatch):
    lines = [b"start", b"\xff\xfe bad \xc3(", b"a" * 100_000, b"hold for " + b"9" * 5000 + b" seconds",
             b"hold for -5 seconds", "caf\u00e9 pause".encode(), b"pause"]
    code, out = _parse_stdin(b"\n".join(lines) + b"\n", monkeypatch)
    rows = [json.loads(line) for line in out.decode("ascii").splitlines()]
    assert code == 0 and len(rows) == len(lines)
    assert rows[0]["intent"] == "start" and rows[-1]["intent"] == "pause"
    assert rows[1]["text"] == "\ufffd\ufffd bad \ufffd("
    assert rows[2]["intent"] == "none" and rows[2]["error"] == "line too long (100000 characters, at most 500)"
    assert rows[4]["slots"] == {"seconds": -5}
    assert rows[5]["text"] == "caf\u00e9 pause"


@pytest.mark.slow
def test_parse_stdin_under_a_strict_c_locale_gives_valid_utf8():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONIOENCODING", "PYTHONUTF8")}
    for extra in ({"LC_ALL": "C"}, {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}):
        result = subprocess.run([sys.executable, "-m", "voicecoach", "parse"], input=b"\xff\xfe pause\nstart\n",
                                capture_output=True, env={**env, **extra}, cwd=REPO, timeout=60)
        assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
        rows = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]   # strict: valid UTF-8
        assert [r["intent"] for r in rows] == ["pause", "start"]
        assert rows[0]["text"].startswith("\ufffd")


def test_parse_arguments_that_are_not_utf8(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert cli.main(["parse", "\udcff pause"]) == 0
    assert json.loads(out.getvalue())["text"] == "\ufffd pause"


# ----- YAML files: duplicate keys, alias bombs, nesting ---------------------------------

from voicecoach.intents.catalog import validate_catalog          # noqa: E402
from voicecoach.yamlfile import YamlError, load_yaml               # noqa: E402

LAUGHS = """\
a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


@pytest.mark.parametrize("text,words", [
    ("intents:\n  start:\n    sentences: [go]\n  start:\n    sentences: [begin]\n",
     ":4: key 'start' is already set at line 2 of this mapping"),
    (LAUGHS, "more than 100000 values once aliases are expanded"),
    ("a: &a [1, *a]\n", ":1: invalid YAML: a value contains itself"),
    ("a: " + "[" * 2000 + "]" * 2000 + "\n", "nest"),            # libyaml: "exceeded maximum nesting depth"
    ("a: " + "[" * 60 + "]" * 60 + "\n", "nested too deeply (at most 50 levels)"),
])
def test_yaml_that_would_lose_data_or_memory_is_refused(tmp_path, text, words):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(YamlError) as err:
        load_yaml(path)
    assert str(err.value).startswith(str(path)) and words in str(err.value), str(err.value)


def test_every_duplicate_key_is_reported(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\nb: 2\na: 3\nc:\n  d: 1\n  d: 2\n")
    with pytest.raises(YamlError) as err:
        load_yaml(path)
    assert str(err.value).splitlines() == [f"{path}:3: key 'a' is already set at line 1 of this mapping",
                                           f"{path}:6: key 'd' is already set at line 5 of this mapping"]


def test_aliases_that_stay_small_still_load(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("base: &b {value: 30, source: ours}\nother: *b\nmerged:\n  <<: *b\n  value: 40\n")
    assert load_yaml(path) == {"base": {"value": 30, "source": "ours"}, "other": {"value": 30, "source": "ours"},
                               "merged": {"value": 40, "source": "ours"}}


def _intents(tmp_path, text: str) -> list[str]:
    (tmp_path / "x.yaml").write_text(text)
    return validate_catalog(tmp_path)


WIDE = "(a|b)" * 30


@pytest.mark.parametrize("text,line,words", [
    # Rules of rules: 10 -> 1,000 -> 10^9 phrases.
    ('rules:\n  a: "(x|y|z|w|v|u|t|s|r|q)"\n  b: "<a> <a> <a>"\n  c: "<b> <b> <b>"\n'
     'intents:\n  start:\n    sentences: ["start <c>"]\n', 4, "expands to more than 5000 phrases"),
    (f'lists:\n  thing:\n    values:\n      - {{in: "{WIDE}", out: one}}\n'
     'intents:\n  start:\n    sentences: ["start {thing}"]\n', 4, "expands to more than 5000 phrases"),
    (f'lists:\n  thing:\n    values:\n      - {{in: "({WIDE})", out: one}}\n'
     'intents:\n  start:\n    sentences: ["start {thing}"]\n', 4, "expands to more than 5000 phrases"),
    (f'intents:\n  start:\n    sentences: ["go ({WIDE})"]\n', 3, "template expands to 1073741824 sentences"),
    ('intents:\n  start:\n    sentences: ["go ' + "(" * 30 + "x" + ")" * 30 + '"]\n', 3, "nested more than 20 deep"),
    ('lists:\n  thing:\n    values:\n      - {in: "(hip|knee)", out: one}\n      - {in: "knees", out: two}\n'
     'intents:\n  start:\n    sentences: ["start {thing}"]\n', 5, "'knees' in list 'thing' means 'two' here but 'one' at"),
    ('lists:\n  thing:\n    values:\n      - {in: [a, b], out: one}\n'
     'intents:\n  start:\n    sentences: ["start {thing}"]\n', 4, "'in' must be a template string"),
])
def test_intent_files_that_would_blow_up_are_refused(tmp_path, text, line, words):
    problems = _intents(tmp_path, text)
    assert any(p.startswith(f"{tmp_path / 'x.yaml'}:{line}:") and words in p for p in problems), problems


def test_many_rules_together_are_bounded(tmp_path):
    rules = "".join(f'  r{i}: "<r{i - 1}>"\n' for i in range(1, 40))
    text = 'rules:\n  r0: "' + "(a|b)" * 12 + '"\n' + rules + 'intents:\n  start:\n    sentences: [go]\n'
    problems = _intents(tmp_path, text)
    assert any("the rules expand to more than 50000 phrases in all" in p for p in problems), problems


# ----- simulate: any length up to a stated limit, never a silent stop --------------------

from voicecoach.coach.simulate import (                             # noqa: E402
    MAX_SIMULATED_SECONDS, ScriptError, ScriptLine, SimulationLimit, Simulator, parse_script,
)


def _vc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], capture_output=True, text=True,
                          timeout=60, cwd=REPO)


@pytest.mark.parametrize("stamp", ["9" * 400, "86401", "1" + "0" * 20 + ".5"])
def test_huge_timestamps_are_a_script_error_with_file_and_line(tmp_path, stamp):
    script = tmp_path / "s.txt"
    script.write_text(f"@1 start\n# a comment\n@{stamp} pause\n")
    for extra in ((), ("--json",)):
        result = _vc("simulate", str(script), *extra)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.startswith(f"voicecoach: {script}:3: time ") and "past the limit of 86400 seconds" in result.stderr
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_script_longer_than_six_hours_runs_to_its_end(tmp_path):
    script = tmp_path / "s.txt"
    script.write_text("@1 start the stretch\n@30000 how long left\n@80000 start the stretch\n@80100 how long left\n")
    result = _vc("simulate", str(script), "--json")
    assert result.returncode == 0, result.stderr
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["t"] for e in events if e["who"] == "user"] == [1, 30000, 80000, 80100]
    assert events[-1]["who"] == "coach" and events[-1]["t"] >= 80100     # the last line was answered


def test_a_script_line_too_many_is_refused():
    text = "@1 pause\n" * (limits.MAX_SCRIPT_LINES + 1)
    with pytest.raises(ScriptError, match=f"<script>:{limits.MAX_SCRIPT_LINES + 1}: more than"):
        parse_script(text)


class _EndlessSession(Session):
    """A session whose cues never end: the simulator must stop it and say so."""

    def next_due(self):
        return self.clock.now() + 3600.0

    def tick(self):
        return []


def test_a_session_that_never_ends_stops_at_the_stated_limit(tiny_content, catalog):
    sim = Simulator(lambda clock: _EndlessSession(tiny_content, clock), lambda t, s: recognize(t, catalog, s.context()))
    with pytest.raises(SimulationLimit, match=f"after {MAX_SIMULATED_SECONDS / 3600:g} virtual hours, the limit"):
        for _ in sim.events([ScriptLine(1.0, "start", 1)]):
            pass


def test_events_stream_before_the_script_ends(tiny_content, catalog):
    sim = Simulator(lambda clock: Session(tiny_content, clock), lambda t, s: recognize(t, catalog, s.context()))
    events = sim.events([ScriptLine(1.0, "start the stretch", 1), ScriptLine(80000.0, "how long left", 2)])
    first = [next(events) for _ in range(5)]
    assert all(e.t < 100 for e in first)
    assert len(sim.timeline) <= 3          # only the line being said and what came after it wait


# ----- transcribe: no audio is not "you", a long file is refused with the limit ----------

def test_transcribe_refuses_empty_and_over_long_files_in_one_line(tmp_path):
    import numpy as np

    from voicecoach.hearing.signal.audio import write_wav

    empty, long = tmp_path / "empty.wav", tmp_path / "long.wav"
    write_wav(empty, np.zeros(0, dtype=np.float32))
    write_wav(long, np.zeros(16000 * 600, dtype=np.float32))
    result = _vc("transcribe", "--asr", "sphinx", str(empty), str(long))
    if "no recognizer" in result.stderr:
        pytest.skip(result.stderr.strip())
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert rows == [{"file": str(empty), "error": f"{empty}: no audio (the file holds no samples)"},
                    {"file": str(long), "error": f"{long}: 600.0 s of audio is over the limit of 30 s for one command"}]


# ----- what the fuzz suite found --------------------------------------------------------

@pytest.mark.parametrize("text,words", [
    ("a: 2001-13-45\n", ":1: invalid YAML: cannot read '2001-13-45': month must be in 1..12"),
    ("a: [1, !!int x]\n", ":1: invalid YAML: cannot read 'x'"),
    ("a:\n  b: !!float\n", ":2: invalid YAML: cannot read"),
    ("a: " + "1" * 5000 + "\n", ":1: invalid YAML: cannot read '1111"),
])
def test_values_pyyaml_cannot_build_are_one_error_at_their_line(tmp_path, text, words):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(YamlError) as err:
        load_yaml(path)
    assert str(err.value).startswith(f"{path}{words}"), str(err.value)


@pytest.mark.parametrize("text,line,words", [
    ('intents:\n  start:\n    data:\n      - slots: {exercise: []}\n        sentences: [go]\n', 4,
     "'slots' must map slot names to a name, number or yes/no"),
    ('intents:\n  ask:\n    question_slot: []\n    sentences: [what is it]\n', 3, "question_slot [] is not a slot list"),
])
def test_intent_values_of_the_wrong_kind_are_refused(tmp_path, text, line, words):
    problems = _intents(tmp_path, text)
    assert any(p.startswith(f"{tmp_path / 'x.yaml'}:{line}:") and words in p for p in problems), problems


def test_text_mode_answers_an_over_long_line_and_goes_on():
    lines = ["a" * 100_000, "hold for " + "9" * 400 + " seconds", "why does my it band hurt"]
    result = subprocess.run([sys.executable, "-m", "voicecoach", "--text", "--no-history"], input="\n".join(lines) + "\n",
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    said = [line for line in result.stdout.splitlines() if line.startswith("coach: ")]
    assert "coach: Sorry, I didn't catch that. Say help to hear what you can say." in said
    assert "coach: I can time holds from five seconds to ten minutes." in said
    assert "coach: IT band pain is a common injury among runners." in said
