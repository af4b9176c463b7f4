"""Text mode through a pseudo-terminal, as a person at a terminal sees it (pexpect drives it,
pyte draws the screen): the coach's lines print above the prompt and never into what is being
typed, the bottom line counts down, and a thirty second hold lasts thirty seconds from the "Go."
on the screen (real clock, generous tolerance)."""
from __future__ import annotations

import os
import sys
import time

import pytest

pexpect = pytest.importorskip("pexpect", reason="pexpect is not installed (pip install -e '.[test]')")
# A real terminal on the wall clock: the hold is timed as a person would time it.
pytestmark = pytest.mark.realtime

pyte = pytest.importorskip("pyte", reason="pyte is not installed (pip install -e '.[test]')")

GO = "coach: Left side. Hold for thirty seconds. Go."
SWITCH = "coach: Switch sides. Right side next."


class Terminal:
    """An 80x24 terminal running the coach; answers the cursor-position requests a terminal answers."""

    def __init__(self, tmp_path) -> None:
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        env = {**os.environ, "TERM": "xterm", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path),
               "XDG_CONFIG_HOME": str(tmp_path)}
        self.child = pexpect.spawn(sys.executable, ["-m", "voicecoach", "--text", "--no-history"],
                                   dimensions=(24, 80), env=env)

    def lines(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.child.read_nonblocking(65536, timeout=0.05)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                return
            self.stream.feed(data)
            for _ in range(data.count(b"\x1b[6n")):
                self.child.send(f"\x1b[{self.screen.cursor.y + 1};{self.screen.cursor.x + 1}R")

    def wait_for(self, text: str, timeout: float) -> float:
        """Pump until a screen line is `text`; the time it appeared."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if text in self.lines():
                return time.monotonic()
            self.pump(0.02)
        raise AssertionError(f"{text!r} never appeared:\n" + "\n".join(self.lines()))

    def close(self) -> None:
        self.child.sendcontrol("d")
        self.pump(1.0)
        self.child.close(force=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals are tested on Linux")
def test_lines_print_above_the_prompt_and_a_hold_lasts_thirty_seconds_from_go(tmp_path):
    term = Terminal(tmp_path)
    try:
        term.wait_for("coach: Shall we start the routine?", 60)
        term.child.send("start the stretch\r")
        term.wait_for("coach: Stand with your legs hip-width apart.", 15)
        term.child.send("how lon l")                       # typing while the instructions arrive
        term.wait_for("coach: We'll start with the left side.", 20)
        go = term.wait_for(GO, 10)
        term.pump(0.6)                                       # the prompt is drawn again below the line
        lines = term.lines()
        assert "you> how lon l" in lines                     # what is being typed stays whole
        assert not any("you>" in line and "coach:" in line for line in lines), lines
        assert lines.index(GO) < lines.index("you> how lon l")    # coach lines above the prompt
        toolbar = next(line for line in reversed(lines) if line)
        assert toolbar.startswith("The IT band stretch · left side ·") and toolbar.endswith("s left"), toolbar
        term.child.send("\x1b[D\x1b[Dg\x05eft\r")            # arrow keys and Ctrl-E edit it: "how long left"
        term.wait_for("you> how long left", 5)
        term.pump(1.0)
        assert any(line.startswith("coach: Twenty") and line.endswith("seconds left on the left side.")
                   for line in term.lines()), term.lines()
        switch = term.wait_for(SWITCH, 40)
        assert switch - go == pytest.approx(30.0, abs=1.0)
        term.child.send("\x1b[A")                            # input history: the last line comes back
        term.wait_for("you> how long left", 5)
    finally:
        term.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals are tested on Linux")
def test_ctrl_c_at_the_prompt_leaves_with_the_status_of_an_interrupt(tmp_path):
    term = Terminal(tmp_path)
    try:
        term.wait_for("coach: Shall we start the routine?", 60)
        term.child.sendcontrol("c")          # a key to the prompt (the terminal is raw): no SIGINT is sent
        end = time.monotonic() + 10
        while term.child.isalive() and time.monotonic() < end:
            term.pump(0.1)
        term.child.close()
        assert term.child.exitstatus == 130
    finally:
        term.child.close(force=True)
