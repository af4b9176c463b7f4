"""The live bottom line: one line redrawn by rich on a terminal, the conversation above it;
plain lines anywhere else."""
from __future__ import annotations

import io

import pytest

from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.replies import Reply
from voicecoach.view import LiveView, ViewState, bottom_line, status_line


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def started_session(tiny_content):
    from voicecoach.coach.session import Session
    from voicecoach.intents.catalog import load_catalog
    from voicecoach.intents.matcher import recognize

    clock = VirtualClock()
    session = Session(tiny_content, clock, speech_seconds=lambda t, w: 0.0)
    session.handle(recognize("start the stretch", load_catalog(), session.context()))
    return session, clock


def test_the_bottom_line_shows_exercise_side_and_the_countdown_of_hold_rest_or_reps(tiny_content):
    assert bottom_line(ViewState()) == "Say start, or ask a question. Say stop to leave."
    session, clock = started_session(tiny_content)
    clock.set(10)
    assert bottom_line(ViewState.from_session(session.view())) == "The IT band stretch · left side · 20 s left"
    clock.set(32)
    assert bottom_line(ViewState.from_session(session.view())) == "The IT band stretch · right side · switch sides 3 s"
    reps = ViewState("work", "glute bridges", None, 2, 2, 3, 5, 6.0, 15.0, unit="reps")
    assert bottom_line(reps) == "Glute bridges · set 2 of 2 · two reps to go"
    assert bottom_line(ViewState("rest", "glute bridges", None, 1, 2, 0, 5, 12.4, 20.0)) == \
        "Glute bridges · set 1 of 2 · rest 12 s"
    assert bottom_line(ViewState("paused", "the IT band stretch", "right", 1, 1, 0, 0, 12.0, 30.0)) == \
        "The IT band stretch · right side · paused"
    assert status_line(reps) == "Glute bridges · set 2 of 2 · rep 3 of 5  [work]"


def test_text_mode_and_the_voice_loop_show_the_same_bottom_line(tiny_content):
    from voicecoach.textmode import toolbar_text

    session, clock = started_session(tiny_content)
    clock.set(7)
    assert toolbar_text(session.view()) == bottom_line(ViewState.from_session(session.view()))


def test_on_a_terminal_the_conversation_prints_above_one_live_bottom_line(tiny_content):
    session, clock = started_session(tiny_content)
    out = Tty()
    live = LiveView(out, snapshot=lambda: ViewState.from_session(session.view()))
    assert live.tty
    live.speak(Reply("Halfway.", cue="halfway"))
    live.heard("how long is left -> time_left")
    clock.set(20)                    # no update call: the snapshot function is read at each draw
    live._live.refresh()
    text = out.getvalue()
    live.close()
    assert "coach: Halfway." in text and "heard: how long is left -> time_left" in text
    assert "The IT band stretch · left side · 10 s left" in text
    # The conversation lines come before the bottom line, which is drawn last (below them).
    assert text.rindex("10 s left") > text.index("heard: how long") > text.index("coach: Halfway.")
    plain = strip_codes(out.getvalue())
    assert "said:" not in plain and "┃" not in plain and "╭" not in plain     # no panel: one line


def strip_codes(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_off_a_terminal_it_prints_one_plain_line_per_change(tiny_content):
    session, clock = started_session(tiny_content)
    out = io.StringIO()
    live = LiveView(out)
    assert not live.tty
    live.update(session.view())              # the session's own snapshot is accepted too
    clock.set(5)
    live.update(session.view())              # only the countdown moved: no new line
    live.speak(Reply("Halfway.", cue="halfway"))
    live.heard("stop -> stop")
    live.close()
    assert out.getvalue().splitlines() == [
        "The IT band stretch · left side  [work]", "said: Halfway.", "heard: stop -> stop"]
    assert "\x1b" not in out.getvalue()       # no terminal codes in a pipe


@pytest.mark.realtime      # a pseudo-terminal and a child process, on the wall clock
def test_the_voice_loop_on_a_terminal_keeps_a_bottom_line_under_the_conversation(tmp_path):
    """Through a pseudo-terminal, with --audio-in: the coach's and the heard lines stay on the
    screen; the bottom line is drawn in place under them, and goes at the end."""
    import os
    import sys

    import pytest

    from conftest import speak_to_wav

    pexpect = pytest.importorskip("pexpect", reason="pexpect is not installed (pip install -e '.[test]')")
    pyte = pytest.importorskip("pyte", reason="pyte is not installed (pip install -e '.[test]')")
    wav = speak_to_wav("what is the IT band", tmp_path / "ask.wav")
    env = {**os.environ, "TERM": "xterm", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    child = pexpect.spawn(sys.executable, ["-m", "voicecoach", "--no-history", "--audio-in", str(wav), "--fast"],
                          dimensions=(24, 80), env=env, timeout=120)
    raw = child.read()
    child.close()
    screen = pyte.Screen(80, 24)
    pyte.ByteStream(screen).feed(raw)
    lines = [line.rstrip() for line in screen.display]
    assert "coach: Hi, I'm your IT band coach." in lines
    assert any(line.startswith("heard: ") for line in lines), lines
    assert raw.count(b"Say start, or ask a question.") >= 2          # drawn, then drawn again in place
    assert not any("Say start, or ask a question." in line for line in lines)   # and gone at the end
