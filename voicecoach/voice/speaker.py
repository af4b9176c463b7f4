"""The output stage's one small interface, and the terminal speaker.

Every way of delivering replies (terminal, synthesized voice) is a Speaker. The
session never knows which one is in use.
"""
from __future__ import annotations

import sys
from typing import Callable, Protocol, TextIO

from voicecoach.coach.replies import Reply


class Speaker(Protocol):
    def speak(self, reply: Reply) -> None:
        """Queue `reply`; return at once. Urgent replies and cues cut what is being said."""

    def stop(self) -> None:
        """Silence now and drop the queue."""

    @property
    def speaking(self) -> bool: ...

    def close(self) -> None: ...


class TerminalSpeaker:
    """Prints each reply as one line; the speaker of text mode and of machines without audio."""

    def __init__(self, out: TextIO | None = None, prefix: str = "coach: ",
                 on_line: Callable[[Reply], None] | None = None) -> None:
        self._out = out or sys.stdout
        self._prefix = prefix
        self._on_line = on_line

    def speak(self, reply: Reply) -> None:
        self._out.write(f"{self._prefix}{reply.text}\n")
        self._out.flush()
        if self._on_line:
            self._on_line(reply)

    def stop(self) -> None:
        """Printed lines cannot be taken back; nothing to do."""

    @property
    def speaking(self) -> bool:
        return False

    def close(self) -> None:
        self._out.flush()
