"""The output stage's one small interface, and the terminal speaker.

Every way of delivering replies (terminal, live view, synthesized voice) is a Speaker. The
session never knows which one is in use. Four methods every speaker has; the rest are
capabilities only a voice has, declared here with what a speaker without them does
(SpeakerBase), so the output stage and the app ask `speaker.plays_lines` rather than
looking for methods.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TextIO

from voicecoach.coach.replies import Reply

if TYPE_CHECKING:
    import numpy as np

    from voicecoach.voice.devices import OutputDevice


class PlaybackSubscriber(Protocol):
    def __call__(self, text: str, samples: np.ndarray, sample_rate: int, at: float) -> None:
        """`samples` (float32 mono) start playing at clock time `at`; called from the playing thread."""


class Speaker(Protocol):
    def speak(self, reply: Reply) -> None:
        """Queue `reply`; return at once. Urgent replies and cues cut what is being said."""

    def stop(self) -> None:
        """Silence now and drop the queue."""

    @property
    def speaking(self) -> bool: ...

    def close(self) -> None: ...

    # ----- capabilities: SpeakerBase gives what a speaker without them does ---------------

    @property
    def plays_lines(self) -> bool:
        """It plays replies itself, in its own time, and reports each line's start and end
        (`listen_lines`); it may have some still unsaid when closed (`finish`, `unsaid`)."""

    @property
    def publishes_playback(self) -> bool:
        """It tells `subscribe`rs every block it plays (what the echo canceller needs)."""

    @property
    def device(self) -> OutputDevice | None:
        """The sound device it plays on, if any."""

    def drop_waiting(self) -> None:
        """The user spoke: drop answers not yet started."""

    def set_rate(self, rate: float) -> None:
        """Speak at this multiple of the voice's own pace from now on."""

    def hold(self) -> None:
        """Fall silent to listen, keeping what was being said."""

    def resume(self) -> None:
        """After a hold: say the cut sentence again from its start, then the rest."""

    def listen_lines(self, started: Callable[[Reply], None] | None,
                     ended: Callable[[Reply, float], None] | None) -> None:
        """Be told as each reply starts playing and when it really ended."""

    def finish(self, limit_s: float) -> bool:
        """Say what is queued, for at most `limit_s`; True when all of it was said."""

    def unsaid(self) -> list[Reply]:
        """The replies queued and not started yet."""

    def subscribe(self, subscriber: PlaybackSubscriber) -> None:
        """Call `subscriber` with every block played."""


class SpeakerBase:
    """A speaker without a voice's capabilities: it shows each reply as it comes, and what
    it cannot do (hold, change pace, report line ends) it does not do."""

    plays_lines = False
    publishes_playback = False
    device: OutputDevice | None = None

    def drop_waiting(self) -> None:
        """Nothing waits: every reply is shown as it comes."""

    def set_rate(self, rate: float) -> None:
        """No pace of its own."""

    def hold(self) -> None:
        """Shown lines cannot be taken back."""

    def resume(self) -> None:
        """Nothing was held."""

    def listen_lines(self, started: Callable[[Reply], None] | None,
                     ended: Callable[[Reply, float], None] | None) -> None:
        """Lines end as they are shown; the output stage times them (plays_lines is False)."""

    def finish(self, limit_s: float) -> bool:
        return True

    def unsaid(self) -> list[Reply]:
        return []

    def subscribe(self, subscriber: PlaybackSubscriber) -> None:
        """Plays no audio, so there is nothing to tell (publishes_playback is False)."""


class TerminalSpeaker(SpeakerBase):
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
