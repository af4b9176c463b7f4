"""The terminal's end is the session's end: closing the pseudo-terminal at any moment (starting
up, at the prompt, mid-exercise), a SIGHUP or a SIGTERM ends text mode within a second, and a
session under way is recorded as ended by hang-up (or as terminated)."""
from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import sys
import time

import pytest

from conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.realtime,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals are tested on Linux")]

END_WITHIN = 1.0
PROMPTED = b"you>"          # prompt_toolkit draws the prompt, then moves the cursor


class Coach:
    """`voicecoach --text` on a fresh pseudo-terminal (it is the program's controlling terminal)."""

    def __init__(self, tmp_path, db, stdout=None) -> None:
        """`stdout`: a file for the coach's output (its input stays the terminal: plain lines are read)."""
        env = {**os.environ, "TERM": "xterm", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
               "XDG_CONFIG_HOME": str(tmp_path), "COLUMNS": "80", "LINES": "24"}
        self.pid, self.fd = os.forkpty()
        if self.pid == 0:                                   # the child: nothing here may return
            try:
                os.chdir(REPO)
                if stdout is not None:
                    os.dup2(os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND), 1)
                os.execve(sys.executable, [sys.executable, "-m", "voicecoach", "--text", "--db", str(db)], env)
            finally:
                os._exit(127)
        self.seen = b""
        self.open = True

    def pump(self, seconds: float) -> None:
        """Read what it shows for `seconds`, answering the cursor-position requests a terminal answers."""
        end = time.monotonic() + seconds
        while self.open and time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            self.seen += data
            for _ in range(data.count(b"\x1b[6n")):
                os.write(self.fd, b"\x1b[1;1R")

    def wait_for(self, text: bytes, timeout: float) -> None:
        end = time.monotonic() + timeout
        while text not in self.seen and time.monotonic() < end:
            self.pump(0.05)
        assert text in self.seen, self.seen[-400:]

    def hang_up(self) -> None:
        os.close(self.fd)
        self.open = False

    def ended_within(self, seconds: float) -> int | None:
        """The exit status once it ended within `seconds`; None (and killed) when it did not."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return status
            time.sleep(0.01)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        return None

    def close(self) -> None:
        if self.open:
            self.hang_up()


def end_reasons(db) -> list[str | None]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as history:
        return [row[0] for row in history.execute("SELECT end_reason FROM sessions ORDER BY id")]


def test_closing_the_terminal_at_any_moment_ends_the_coach_within_a_second(tmp_path):
    db = tmp_path / "history.db"
    rng = random.Random(27)
    slow = []
    started = time.monotonic()
    for attempt in range(24):           # each moment 8 times, at a random point within it
        coach = Coach(tmp_path, db)
        moment = ("starting", "prompt", "exercise")[attempt % 3]
        try:
            if moment != "starting":
                coach.wait_for(PROMPTED, 30)
            if moment == "exercise":
                os.write(coach.fd, b"start\r")
            coach.pump(rng.uniform(0.0, 0.8))
        finally:
            coach.close()
        status = coach.ended_within(END_WITHIN)
        if status is None:
            slow.append((attempt, moment))
    assert not slow, f"still running {END_WITHIN} s after the terminal closed: {slow}"
    reasons = end_reasons(db)
    assert reasons and set(reasons) == {"hangup"}, reasons
    assert time.monotonic() - started < 90


@pytest.mark.parametrize("signum, reason", [(signal.SIGHUP, "hangup"), (signal.SIGTERM, "terminated")])
def test_a_signal_at_the_prompt_ends_the_session_within_a_second(tmp_path, signum, reason):
    db = tmp_path / "history.db"
    for attempt, wait in enumerate((0.0, 0.1, 0.5)):
        coach = Coach(tmp_path, db)
        try:
            coach.wait_for(PROMPTED, 30)
            os.write(coach.fd, b"start\r")
            deadline = time.monotonic() + 30
            while len(end_reasons(db)) <= attempt:         # the session is under way
                assert time.monotonic() < deadline, "the session never started"
                coach.pump(0.05)
            coach.pump(wait)
            os.kill(coach.pid, signum)
            status = coach.ended_within(END_WITHIN)
        finally:
            coach.close()
        assert status is not None, f"still running {END_WITHIN} s after {signal.Signals(signum).name}"
    assert end_reasons(db) == [reason] * 3


def test_closing_the_terminal_ends_plain_line_reading_too(tmp_path):
    """With its output going to a file the coach reads plain lines from the terminal (LineReader)."""
    db, shown = tmp_path / "history.db", tmp_path / "shown.txt"
    for attempt, wait in enumerate((0.0, 0.2, 0.6)):
        coach = Coach(tmp_path, db, stdout=shown)
        try:
            deadline = time.monotonic() + 30
            while b"start the routine" not in (shown.read_bytes() if shown.exists() else b""):
                assert time.monotonic() < deadline, "the coach never spoke"
                coach.pump(0.05)
            shown.write_bytes(b"")
            os.write(coach.fd, b"start\n")
            while len(end_reasons(db)) <= attempt:
                assert time.monotonic() < deadline, "the session never started"
                coach.pump(0.05)
            coach.pump(wait)
        finally:
            coach.close()
        assert coach.ended_within(END_WITHIN) is not None
    assert end_reasons(db) == ["hangup"] * 3
