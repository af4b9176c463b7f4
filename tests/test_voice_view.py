"""The live bottom line: one line redrawn in place on a terminal (carriage return, erase line),
the conversation above it, every write under one lock; plain lines anywhere else."""
from __future__ import annotations

import io
import re
import threading
import time

import pytest

from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.replies import Reply
from voicecoach.view import LiveView, ViewState, bottom_line, fit, status_line


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def started_session(tiny_content):
    from voicecoach.coach.session import Session
    from voicecoach.intents.load import load_catalog
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
    live._refresh()
    text = out.getvalue()
    live.close()
    assert "coach: Halfway." in text and "heard: how long is left -> time_left" in text
    assert "The IT band stretch · left side · 10 s left" in text
    # The conversation lines come before the bottom line, which is drawn last (below them).
    assert text.rindex("10 s left") > text.index("heard: how long") > text.index("coach: Halfway.")
    plain = strip_codes(out.getvalue())
    assert "said:" not in plain and "┃" not in plain and "╭" not in plain     # no panel: one line
    # Only carriage returns and "erase line": the cursor is never hidden, nothing else is drawn.
    assert set(re.findall(r"\x1b\[[0-9;?]*[A-Za-z]", text)) == {"\x1b[2K"}


def strip_codes(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def screen_of(text: str, columns: int = 80, rows: int = 24):
    """The screen a terminal shows after `text` (pyte), and its rows with trailing spaces cut."""
    pyte = pytest.importorskip("pyte", reason="pyte is not installed (pip install -e '.[test]')")
    screen = pyte.Screen(columns, rows)
    pyte.Stream(screen).feed(text.replace("\n", "\r\n"))     # a terminal's output turns \n into \r\n
    return screen, [line.rstrip() for line in screen.display]


def test_close_takes_the_bottom_line_away_and_leaves_the_conversation(tiny_content):
    session, clock = started_session(tiny_content)
    out = Tty()
    live = LiveView(out)
    live.update(session.view())
    live.speak(Reply("Hold it there."))
    live.heard("how long is left -> time_left")
    screen, lines = screen_of(out.getvalue())
    assert lines[:3] == ["coach: Hold it there.", "heard: how long is left -> time_left",
                         "The IT band stretch · left side · 30 s left"]
    live.close()
    live.close()                                  # a second close writes nothing more
    screen, lines = screen_of(out.getvalue())
    assert lines[:3] == ["coach: Hold it there.", "heard: how long is left -> time_left", ""]
    assert (screen.cursor.x, screen.cursor.y) == (0, 2)           # at the start of an empty row
    live.speak(Reply("Bye."))          # after close: a plain line, no bottom line again
    assert screen_of(out.getvalue())[1][:4] == lines[:2] + ["coach: Bye.", ""]


def test_the_bottom_line_is_cut_to_the_terminal_width_with_an_ellipsis(monkeypatch):
    assert fit("The IT band stretch · left side", 80) == "The IT band stretch · left side"
    assert fit("The IT band stretch · left side", 12) == "The IT band…"
    assert fit("abcdef", 6) == "abcdef" and fit("abcdefg", 6) == "abcde…" and fit("abc", 0) == ""
    assert fit("睡眠睡眠", 5) == "睡眠…"            # wide characters take two columns
    monkeypatch.setenv("COLUMNS", "30")           # shutil.get_terminal_size reads it at each draw
    out = Tty()
    long = ViewState("work", "the very long iliotibial band stretch against the wall", "left", 1, 3,
                     remaining=20.0, block_seconds=30.0)
    live = LiveView(out)
    live.update(long)
    live.speak(Reply("Hold it there, and breathe out slowly as you lean into the wall."))
    monkeypatch.setenv("COLUMNS", "20")           # the terminal made narrower: the next draw fits it
    live.update(long)
    drawn = [part for part in out.getvalue().split("\r\x1b[2K") if part and "\n" not in part]
    assert drawn[-2:] == ["The very long iliotibial ban…", "The very long ilio…"]    # 29, then 19 columns
    assert all(len(part) <= 29 for part in drawn)
    screen, lines = screen_of(out.getvalue(), columns=30)
    assert lines[-1] == "" and "The very long ilio…" in lines      # one row: it never wrapped
    live.close()


class SlowTty(Tty):
    """A terminal that takes a write in small pieces, letting other threads run in between:
    without the view's lock, two threads' lines would interleave on one row."""

    def write(self, text: str) -> int:
        for k in range(0, len(text), 4):
            super().write(text[k:k + 4])
            time.sleep(0)
        return len(text)


def test_lines_from_several_threads_never_share_a_row(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = SlowTty()
    live = LiveView(out)
    states = [ViewState("work", "the IT band stretch", side, 1, 1, remaining=float(n), block_seconds=30.0)
              for n in range(30) for side in ("left", "right")]

    def speaker(k: int) -> None:
        for n in range(40):
            live.speak(Reply(f"line {n} from speaker {k}."))

    def hearer() -> None:
        for n in range(40):
            live.heard(f"utterance {n} -> time_left")

    def updater() -> None:
        for state in states:
            live.update(state)

    threads = [threading.Thread(target=speaker, args=(k,)) for k in range(3)]
    threads += [threading.Thread(target=hearer), threading.Thread(target=updater)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    live.close()
    said = 3 * 40 + 40
    screen, lines = screen_of(out.getvalue(), columns=200, rows=said + 2)
    conversation = [line for line in lines if line]
    assert len(conversation) == said                                   # each line on a row of its own
    assert all(re.fullmatch(r"coach: line \d+ from speaker \d\.|heard: utterance \d+ -> time_left", line)
               for line in conversation), [line for line in conversation if "·" in line or "  " in line][:3]
    assert sorted(conversation) == sorted([f"coach: line {n} from speaker {k}." for k in range(3) for n in range(40)]
                                          + [f"heard: utterance {n} -> time_left" for n in range(40)])
    assert lines[said] == "" and (screen.cursor.x, screen.cursor.y) == (0, said)   # the bottom line went


def test_the_refresh_thread_moves_the_countdown_and_stops_on_close(tiny_content):
    session, clock = started_session(tiny_content)
    out = Tty()
    live = LiveView(out, snapshot=lambda: ViewState.from_session(session.view()))
    ticker = live._ticker
    assert ticker is not None and ticker.daemon and ticker.is_alive()
    clock.set(12)                                 # nobody calls update: the thread draws the new time
    deadline = time.monotonic() + 5
    while "18 s left" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "The IT band stretch · left side · 18 s left" in out.getvalue()
    live.close()
    assert not ticker.is_alive()                  # stopped and joined by close
    written = out.getvalue()
    clock.set(20)
    time.sleep(3 * 0.25)
    assert out.getvalue() == written              # nothing drawn after close
    assert screen_of(written)[1][0] == ""         # and the bottom line is gone


def test_a_failing_snapshot_or_draw_keeps_the_view_alive(tiny_content, caplog):
    session, clock = started_session(tiny_content)
    failing = {"snapshot": False}

    def snapshot() -> ViewState:
        if failing["snapshot"]:
            raise RuntimeError("a snapshot taken mid-update")
        return ViewState.from_session(session.view())

    class BrokenTty(Tty):
        broken = False

        def write(self, text: str) -> int:
            if self.broken:
                raise OSError("the terminal went away")
            return super().write(text)

    out = BrokenTty()
    live = LiveView(out, snapshot=snapshot)
    clock.set(4)
    assert bottom_line(live.current()) == "The IT band stretch · left side · 26 s left"
    failing["snapshot"] = True
    clock.set(9)
    assert bottom_line(live.current()) == "The IT band stretch · left side · 26 s left"   # the last good one
    live._refresh()
    assert out.getvalue().endswith("26 s left")
    out.broken = True
    time.sleep(3 * 0.25)                          # several ticks fail to draw
    assert live._ticker is not None and live._ticker.is_alive()
    assert sum("could not be redrawn" in r.getMessage() for r in caplog.records) == 1    # said once
    out.broken, failing["snapshot"] = False, False
    deadline = time.monotonic() + 5
    while "21 s left" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.getvalue().endswith("21 s left")   # drawing again once it can
    live._snapshot = lambda: ViewState("work", "the IT band stretch", remaining=None)   # type: ignore[arg-type]
    live.speak(Reply("Still here."))              # a bottom line that cannot be made: the last one drawn
    assert out.getvalue().endswith("coach: Still here.\n" + "The IT band stretch · left side · 21 s left")
    assert live._ticker.is_alive()
    live.close()
    assert not live._ticker.is_alive()


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
