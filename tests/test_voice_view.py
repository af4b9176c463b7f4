"""The live terminal view: a rich panel on a terminal, plain lines anywhere else."""
from __future__ import annotations

import io

from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.replies import Reply
from voicecoach.view import LiveView, ViewState, render_lines


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


def test_lines_show_exercise_side_set_countdown_heard_and_said(tiny_content):
    assert render_lines(ViewState())[0].startswith("Waiting")
    session, clock = started_session(tiny_content)
    clock.set(10)
    state = ViewState.from_session(session.view(), heard="start the stretch -> start", said="Go.")
    status, bar, heard, said = render_lines(state)
    assert status.startswith("The IT band stretch · left side") and "[work]" in status
    assert bar.endswith("20 s left") and bar.count("█") == 10
    assert heard == "heard: start the stretch -> start" and said == "said:  Go."
    reps = ViewState("work", "glute bridges", None, 2, 2, 3, 5, 6.0, 15.0)
    assert render_lines(reps)[0] == "Glute bridges · set 2 of 2 · rep 3 of 5  [work]"


def test_on_a_terminal_the_panel_follows_the_session_by_itself(tiny_content):
    session, clock = started_session(tiny_content)
    out = Tty()
    live = LiveView(out, snapshot=lambda: ViewState.from_session(session.view()))
    assert live.tty
    live.speak(Reply("Halfway.", cue="halfway"))
    live.heard("how long is left -> time_left")
    clock.set(20)                    # no update call: the snapshot function is read at each draw
    live.close()
    text = out.getvalue()
    assert "Halfway." in text and "left side" in text and "time_left" in text and "10 s left" in text


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
