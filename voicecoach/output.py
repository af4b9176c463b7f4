"""The one output stage: every reply the coach makes goes through `OutputStage.deliver`."""
from __future__ import annotations

from typing import Callable, Iterable

from voicecoach.coach.replies import Reply
from voicecoach.voice.speaker import Speaker


class OutputStage:
    """Hands replies to each speaker (a voice, the terminal, or both), applying rate changes."""

    def __init__(self, speakers: Iterable[Speaker], on_reply: Callable[[Reply], None] | None = None) -> None:
        self.speakers = list(speakers)
        self._on_reply = on_reply
        self.last_reply: Reply | None = None

    def deliver(self, replies: Iterable[Reply]) -> None:
        for reply in replies:
            if reply.rate is not None:
                for speaker in self.speakers:
                    set_rate = getattr(speaker, "set_rate", None)
                    if set_rate is not None:
                        set_rate(reply.rate)
            for speaker in self.speakers:
                speaker.speak(reply)
            self.last_reply = reply
            if self._on_reply is not None:
                self._on_reply(reply)

    def stop(self) -> None:
        for speaker in self.speakers:
            speaker.stop()

    def hold(self) -> None:
        """Fall silent to listen, keeping what was being said (voices that can; the terminal cannot unprint)."""
        for speaker in self.speakers:
            if hasattr(speaker, "hold"):
                speaker.hold()

    def resume(self) -> None:
        """After a hold: say the cut sentence again from its start, then the rest."""
        for speaker in self.speakers:
            if hasattr(speaker, "resume"):
                speaker.resume()

    @property
    def speaking(self) -> bool:
        return any(s.speaking for s in self.speakers)

    def close(self) -> None:
        for speaker in self.speakers:
            speaker.close()
