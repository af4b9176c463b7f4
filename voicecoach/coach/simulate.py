"""Run a scripted session on a virtual clock: `@<seconds> <utterance>` lines in, a timeline out.

Nothing sleeps: the clock jumps to the next user line or the next cue, whichever comes
first, and moves on by each spoken line's estimated duration. A cue that falls due while
an answer is being said cuts in at its exact time; the answer's remaining sentences
follow after the cue (the same rule the voice follows).
"""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.replies import Reply
from voicecoach.coach.session import Session
from voicecoach.files import read_text
from voicecoach.intents.types import Match
from voicecoach.limits import MAX_SCRIPT_LINES, MAX_SCRIPT_SECONDS, MAX_TEXT_FILE_BYTES
from voicecoach.printable import escaped

SCRIPT_LINE = re.compile(r"@\s*(\d+(?:\.\d+)?)\s+(.+)")
# The longest routine the content limits allow (10 sets of two 600 s holds, rests and
# switches, for every exercise) ends within a day of the last line; past that, something loops.
MAX_SIMULATED_SECONDS = MAX_SCRIPT_SECONDS + 24 * 3600


class ScriptError(ValueError):
    """A script line that cannot be read; the message is `file:line: what is wrong`."""


class SimulationLimit(RuntimeError):
    """The session ran past MAX_SIMULATED_SECONDS of virtual time; the message says so."""


@dataclass(frozen=True)
class ScriptLine:
    t: float
    text: str
    line: int


@dataclass(frozen=True)
class TimelineEvent:
    t: float
    who: str                            # "user" | "coach"
    text: str
    intent: str | None = None
    slots: dict[str, Any] | None = None
    cue: str | None = None
    exercise: str | None = None
    side: str | None = None
    cut: bool = False                   # an answer line a cue cut into

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"t": round(self.t, 3), "who": self.who, "text": self.text}
        if self.who == "user":
            out["intent"], out["slots"] = self.intent, self.slots or {}
        else:
            if self.cue:
                out["cue"] = self.cue
            if self.cut:
                out["cut"] = True
        out["exercise"], out["side"] = self.exercise, self.side
        return out

    def as_text(self) -> str:
        minutes, seconds = divmod(self.t, 60)
        who = "you" if self.who == "user" else "coach"
        return f"[{int(minutes):02d}:{seconds:04.1f}] {who}: {escaped(self.text)}{' …' if self.cut else ''}"


def parse_script(text: str, source: str = "<script>") -> list[ScriptLine]:
    lines: list[ScriptLine] = []
    last_t = 0.0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(lines) >= MAX_SCRIPT_LINES:
            raise ScriptError(f"{source}:{number}: more than {MAX_SCRIPT_LINES} lines; split the script")
        m = SCRIPT_LINE.fullmatch(stripped)
        if not m:
            raise ScriptError(f"{source}:{number}: expected '@<seconds> <utterance>', got {_short(stripped)}")
        t = float(m[1])
        if not t <= MAX_SCRIPT_SECONDS:          # also refuses inf from a number of 309 digits
            raise ScriptError(f"{source}:{number}: time {_short(m[1])} is past the limit of "
                              f"{MAX_SCRIPT_SECONDS} seconds ({MAX_SCRIPT_SECONDS // 3600} hours)")
        if t < last_t:
            raise ScriptError(f"{source}:{number}: time {t:g} is earlier than the line before ({last_t:g})")
        last_t = t
        lines.append(ScriptLine(t, m[2].strip(), number))
    return lines


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


def load_script(path: Path) -> list[ScriptLine]:
    try:
        text = read_text(path, MAX_TEXT_FILE_BYTES)
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"{path}: cannot read: {exc}") from None
    return parse_script(text, str(path))


@dataclass(frozen=True)
class NotRun:
    """The session ended (the user left) at `t` with `lines` script lines still to come."""

    t: float
    lines: int

    def __str__(self) -> str:
        minutes, seconds = divmod(self.t, 60)
        lines = "1 later line was" if self.lines == 1 else f"{self.lines} later lines were"
        return f"the session ended at {int(minutes):02d}:{seconds:04.1f}; {lines} not run"


@dataclass
class _Speaking:
    reply: Reply
    end: float
    event: int                          # index of its line in the timeline


@dataclass
class Simulator:
    """Drives a Session with a script; `make_session(clock)` builds it on the virtual clock.

    Three things can happen next: the line being said ends, a cue falls due, or the user
    speaks. The earliest wins. A cue cuts an answer (not another cue); a user line cuts
    the answer being said and drops the rest of it, as a person interrupting would.
    """

    make_session: Callable[[VirtualClock], Session]
    understand: Callable[[str, Session], Match]
    clock: VirtualClock = field(default_factory=VirtualClock)
    timeline: list[TimelineEvent] = field(default_factory=list)     # events not yet final
    not_run: NotRun | None = None       # set when the session ended with script lines left
    _final: list[TimelineEvent] = field(default_factory=list, repr=False)
    _session: Session | None = field(default=None, repr=False)

    def close(self, reason: str) -> None:
        """End the session being simulated for good (the program was interrupted), so its
        record is closed with `reason`."""
        if self._session is not None:
            self._session.close(reason)

    def run(self, script: list[ScriptLine]) -> list[TimelineEvent]:
        """The whole timeline at once (see `events` to stream it)."""
        return list(self.events(script))

    def events(self, script: list[ScriptLine]) -> Iterator[TimelineEvent]:
        """The timeline, each event as soon as it is final: memory stays flat however long the
        session runs. Raises SimulationLimit past MAX_SIMULATED_SECONDS of virtual time."""
        session = self._session = self.make_session(self.clock)
        queue: deque[Reply] = deque(session.begin())
        pending = deque(script)
        speaking: _Speaking | None = None
        while True:
            # Everything before the line being said is final (only that line can still be cut).
            speaking = self._flush(speaking)
            yield from self._final
            self._final.clear()
            if self.clock.now() > MAX_SIMULATED_SECONDS:
                raise SimulationLimit(f"the session was still running after {MAX_SIMULATED_SECONDS / 3600:g} "
                                      "virtual hours, the limit; stopped there")
            if speaking is None and queue:
                speaking = self._start_line(session, queue.popleft())
            end = speaking.end if speaking else None
            due = session.next_due()
            user_t = pending[0].t if pending else None
            nxt = min((t for t in (end, due, user_t) if t is not None), default=None)
            if nxt is None:
                break
            self.clock.set(max(self.clock.now(), nxt))
            if speaking is not None and end == nxt:
                session.line_ended(speaking.reply, self.clock.now())   # as the output stage reports it
                speaking = None
            elif due is not None and due == nxt:
                cues = session.tick()
                if speaking and speaking.reply.cue is None:
                    self._cut(speaking)
                    speaking = None
                # Cues go before waiting answers, after cues already waiting: in time order.
                waiting = next((i for i, r in enumerate(queue) if r.cue is None), len(queue))
                for offset, cue in enumerate(cues):
                    queue.insert(waiting + offset, cue)
            else:
                line = pending.popleft()
                match = self.understand(line.text, session)
                self.timeline.append(TimelineEvent(self.clock.now(), "user", line.text, match.intent, dict(match.slots)))
                if speaking and speaking.reply.cue is None:
                    self._cut(speaking)
                    speaking = None
                answers = [r for r in queue if r.cue is not None]   # unsaid answers are superseded
                queue = deque(answers + session.handle(match))
                if session.wants_exit:
                    if pending:
                        self.not_run = NotRun(self.clock.now(), len(pending))
                    break
        while queue:
            self._start_line(session, queue.popleft())
            self.clock.set(self.clock.now() + self._length(session, self.timeline[-1].text))
        session.close("quit")
        yield from self.timeline
        self.timeline.clear()

    def _flush(self, speaking: _Speaking | None) -> _Speaking | None:
        """Move the final events out of the timeline; returns `speaking` with its index updated."""
        upto = speaking.event if speaking else len(self.timeline)
        if upto:
            self._final.extend(self.timeline[:upto])
            del self.timeline[:upto]
            if speaking:
                speaking = _Speaking(speaking.reply, speaking.end, speaking.event - upto)
        return speaking

    def _length(self, session: Session, text: str) -> float:
        return session._speech_seconds(text, session.words_per_minute)

    def _start_line(self, session: Session, reply: Reply) -> _Speaking:
        reply = reply.spoken()              # numbers in it as they are now, not when it was queued
        now = self.clock.now()
        self.timeline.append(TimelineEvent(now, "coach", reply.text, cue=reply.cue,
                                           exercise=reply.exercise, side=reply.side))
        return _Speaking(reply, now + self._length(session, reply.text), len(self.timeline) - 1)

    def _cut(self, speaking: _Speaking) -> None:
        event = self.timeline[speaking.event]
        if self.clock.now() < speaking.end:
            self.timeline[speaking.event] = TimelineEvent(**{**event.__dict__, "cut": True})
