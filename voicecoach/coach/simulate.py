"""Run a scripted session on a virtual clock: `@<seconds> <utterance>` lines in, a timeline out.

Nothing sleeps: the clock jumps to the next user line or the next cue, whichever comes
first, and moves on by each spoken line's estimated duration. A cue that falls due while
an answer is being said cuts in at its exact time; the answer's remaining sentences
follow after the cue (the same rule the voice follows).
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from voicecoach.coach.clock import VirtualClock
from voicecoach.coach.replies import Reply
from voicecoach.coach.session import Session
from voicecoach.intents.types import Match

SCRIPT_LINE = re.compile(r"@\s*(\d+(?:\.\d+)?)\s+(.+)")
MAX_SIMULATED_SECONDS = 6 * 3600     # a routine never runs this long; stops a runaway script


class ScriptError(ValueError):
    """A script line that cannot be read; the message is `file:line: what is wrong`."""


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
        return f"[{int(minutes):02d}:{seconds:04.1f}] {who}: {self.text}{' …' if self.cut else ''}"


def parse_script(text: str, source: str = "<script>") -> list[ScriptLine]:
    lines: list[ScriptLine] = []
    last_t = 0.0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = SCRIPT_LINE.fullmatch(stripped)
        if not m:
            raise ScriptError(f"{source}:{number}: expected '@<seconds> <utterance>', got {stripped!r}")
        t = float(m[1])
        if t < last_t:
            raise ScriptError(f"{source}:{number}: time {t:g} is earlier than the line before ({last_t:g})")
        last_t = t
        lines.append(ScriptLine(t, m[2].strip(), number))
    return lines


def load_script(path: Path) -> list[ScriptLine]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"{path}: cannot read: {exc}") from None
    return parse_script(text, str(path))


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
    timeline: list[TimelineEvent] = field(default_factory=list)

    def run(self, script: list[ScriptLine]) -> list[TimelineEvent]:
        session = self.make_session(self.clock)
        queue: deque[Reply] = deque(session.begin())
        pending = deque(script)
        speaking: _Speaking | None = None
        while self.clock.now() < MAX_SIMULATED_SECONDS:
            if speaking is None and queue:
                speaking = self._start_line(session, queue.popleft())
            end = speaking.end if speaking else None
            due = session.next_due()
            user_t = pending[0].t if pending else None
            nxt = min((t for t in (end, due, user_t) if t is not None), default=None)
            if nxt is None:
                break
            self.clock.set(max(self.clock.now(), nxt))
            if end is not None and end == nxt:
                session.line_ended(speaking.reply, self.clock.now())   # as the output stage reports it
                speaking = None
            elif due is not None and due == nxt:
                cues = session.tick()
                if speaking and speaking.reply.cue is None:
                    speaking = self._cut(speaking)
                # Cues go before waiting answers, after cues already waiting: in time order.
                waiting = next((i for i, r in enumerate(queue) if r.cue is None), len(queue))
                for offset, cue in enumerate(cues):
                    queue.insert(waiting + offset, cue)
            else:
                line = pending.popleft()
                match = self.understand(line.text, session)
                self.timeline.append(TimelineEvent(self.clock.now(), "user", line.text, match.intent, dict(match.slots)))
                if speaking and speaking.reply.cue is None:
                    speaking = self._cut(speaking)
                answers = [r for r in queue if r.cue is not None]   # unsaid answers are superseded
                queue = deque(answers + session.handle(match))
                if session.wants_exit:
                    break
        while queue and len(self.timeline) < 100000:
            self._start_line(session, queue.popleft())
            self.clock.set(self.clock.now() + self._length(session, self.timeline[-1].text))
        session.close("quit")
        return self.timeline

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
        return None
