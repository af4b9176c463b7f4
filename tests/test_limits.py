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
from voicecoach.intents.catalog import load_catalog
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
    ("hold for -5 seconds", -5), ("hold for minus five seconds", -5), ("hold for negative 30", -30),
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
