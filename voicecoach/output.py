"""The one output stage: every reply the coach makes goes through `OutputStage.deliver`.

Handed over at once (a voice player keeps its own queue), or paced: each answer line waits
until the one before has had its reading time, while cues show the moment they are due
(the rule the voice follows). A line's numbers are worked out when it is shown, and the
stage reports when each line really ended (`on_line_end`), so the session can count a hold
from the "Go." the user saw.

With a voice that plays lines itself (`plays_lines`, the VoiceSpeaker), the voice
gets each reply as it is and works out its numbers when it starts saying it; the other
speakers (the terminal, the live view) show each line as the voice starts it, with the
same text, and the voice's word on when a line ended goes to `on_line_end`.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from voicecoach.coach.clock import Clock
from voicecoach.coach.replies import Reply
from voicecoach.voice.speaker import Speaker


class OutputStage:
    """Hands replies to each speaker (a voice, the terminal, or both), applying rate changes.

    With `pace` (seconds to read a line at a speaking-rate multiple) and a clock, answer
    lines are shown one at a time at that pace; call `pump()` when `next_due()` comes.
    """

    def __init__(self, speakers: Iterable[Speaker], on_reply: Callable[[Reply], None] | None = None,
                 clock: Clock | None = None, pace: Callable[[str, float], float] | None = None,
                 on_line_end: Callable[[Reply, float], None] | None = None) -> None:
        self.speakers = list(speakers)
        self._on_reply = on_reply
        self.on_line_end = on_line_end
        self.last_reply: Reply | None = None
        self.saying: Reply | None = None       # the reply the voice is saying now (several may be queued)
        self._clock = clock
        self._pace = pace if clock is not None else None
        self._rate = 1.0
        self._waiting: deque[Reply] = deque()
        self._free_at = float("-inf")          # when the line being read has had its time
        self._ended: deque[tuple[Reply, float]] = deque()   # the voice's line ends, for the session's thread
        self.wake: Callable[[], None] | None = None         # told when a line end waits to be pumped

    @property
    def paced(self) -> bool:
        return self._pace is not None

    def deliver(self, replies: Iterable[Reply]) -> None:
        if self._pace is None:
            for reply in replies:
                self._show(reply)
            return
        for reply in replies:
            if reply.rate is not None:
                self._rate = reply.rate          # the pace changes now, even if the line is dropped
            if reply.urgent:
                self._waiting.clear()
            if reply.is_cue or reply.urgent:
                self._show(reply)           # a cue is never late: it goes before waiting answers
            else:
                self._waiting.append(reply)
        self.pump()

    def supersede(self) -> None:
        """The user spoke: answers not yet shown are dropped (the session says again what matters),
        and the reply to what was said shows at once, as a voice stops to listen."""
        self._waiting.clear()
        if self._clock is not None:
            self._free_at = min(self._free_at, self._clock.now())
        for speaker in self.speakers:
            speaker.drop_waiting()

    def pump(self) -> None:
        """Pass on the lines the voice finished, then show every waiting line whose turn has come.
        Call it from the thread that drives the session: line ends reach it here."""
        while self._ended and self.on_line_end is not None:
            self.on_line_end(*self._ended.popleft())
        assert self._clock is not None or not self._waiting
        while self._waiting and self._clock is not None and self._free_at <= self._clock.now():
            self._show(self._waiting.popleft())

    def flush(self) -> None:
        """Show every waiting line now (the input ended: nobody is left to pace them for)."""
        while self._waiting:
            self._show(self._waiting.popleft())

    @property
    def line_ends_waiting(self) -> bool:
        """The voice finished lines the session has not heard of yet (see pump)."""
        return bool(self._ended)

    def next_due(self) -> float | None:
        """When the next waiting line is shown (None: nothing waits)."""
        return max(self._free_at, self._clock.now()) if self._waiting and self._clock is not None else None

    def _show(self, reply: Reply) -> None:
        queued, reply = reply, reply.spoken()
        if reply.rate is not None:
            self._rate = reply.rate
            for speaker in self.speakers:
                speaker.set_rate(reply.rate)
        voice = self._voice()
        if voice is not None:
            voice.listen_lines(self._voice_started, self._voice_ended)
            voice.speak(queued)           # its numbers are worked out as it starts
        else:
            for speaker in self.speakers:
                speaker.speak(reply)
        self.last_reply = reply
        if self._on_reply is not None:
            self._on_reply(reply)
        if self._pace is not None and self._clock is not None:
            now = self._clock.now()
            # A cue is over once shown ("Go." starts the hold); an answer once it has been read.
            end = now if reply.is_cue else now + self._pace(reply.text, self._rate)
            self._free_at = max(self._free_at, end)
            if self.on_line_end is not None:
                self.on_line_end(reply, end)

    @property
    def has_voice(self) -> bool:
        """A voice plays the lines and reports when each one ended."""
        return self._voice() is not None

    def _voice(self) -> Speaker | None:
        """The voice that plays lines itself and says when each started and ended, if any."""
        return next((s for s in self.speakers if s.plays_lines), None)

    def _voice_started(self, reply: Reply) -> None:
        self.saying = reply
        voice = self._voice()
        for speaker in self.speakers:
            if speaker is not voice:
                speaker.speak(reply)

    def _voice_ended(self, reply: Reply, at: float) -> None:
        # Called on the voice's playing thread: the session hears of it at the next pump().
        self._ended.append((reply, at))
        if self.wake is not None:
            self.wake()

    def stop(self) -> None:
        self._waiting.clear()
        for speaker in self.speakers:
            speaker.stop()

    def hold(self) -> None:
        """Fall silent to listen, keeping what was being said (voices that can; the terminal cannot unprint)."""
        for speaker in self.speakers:
            speaker.hold()

    def resume(self) -> None:
        """After a hold: say the cut sentence again from its start, then the rest."""
        for speaker in self.speakers:
            speaker.resume()

    @property
    def speaking(self) -> bool:
        return bool(self._waiting) or any(s.speaking for s in self.speakers)

    def close(self, finish_s: float = 0.0) -> None:
        """Close every speaker; with `finish_s`, the voice first says what it still has (a
        goodbye), for at most that long."""
        voice = self._voice()
        if voice is not None and finish_s > 0:
            voice.finish(finish_s)
        unsaid = voice.unsaid() if voice is not None else []
        for speaker in self.speakers:
            speaker.close()
        for reply in unsaid:             # the voice stopped before these: the screen still shows them
            self._voice_started(reply)
