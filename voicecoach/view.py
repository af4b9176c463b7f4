"""The live bottom line of the voice loop: exercise, side and a countdown of the hold, rest
or reps, with the coach's lines and what was heard printed above it.

On a terminal it keeps one line at the bottom and redraws it in place with two ANSI codes
(carriage return, erase line), four times a second when given a snapshot function, so the
countdown moves on its own; lines printed through the view go above it. Every write to the
terminal is made under one lock, so a line of the conversation never lands on the bottom
line's row. Anywhere else (a pipe, a log file) it prints plain lines, one each time the
status, what was heard or what was said changes. Text mode shows the same `bottom_line` in
prompt_toolkit's toolbar.

    view = LiveView(snapshot=lambda: ViewState.from_session(session.view()))
    view.speak(reply)        # it is a Speaker: "coach: ..." above the bottom line
    view.heard("how long is left -> time_left")
    view.update(state)       # or push snapshots yourself
    view.close()
"""
from __future__ import annotations

import logging
import shutil
import sys
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TextIO

from voicecoach.coach.replies import Reply, capitalized
from voicecoach.coach.session import SessionView
from voicecoach.voice.speaker import SpeakerBase
from voicecoach.words import say_number

log = logging.getLogger(__name__)

ERASE_LINE = "\r\x1b[2K"        # to the line's start, and clear it
REFRESH_SECONDS = 0.25            # the bottom line is redrawn four times a second
ELLIPSIS = "…"


@dataclass(frozen=True)
class ViewState:
    """A plain snapshot of what is going on, filled from the session."""

    phase: str = "idle"               # idle | intro | work | rest | switch | paused
    exercise: str | None = None       # the exercise's display name
    side: str | None = None
    set_no: int = 0
    sets: int = 0
    rep: int = 0
    reps: int = 0
    remaining: float = 0.0            # seconds left in the current block
    block_seconds: float = 0.0        # the block's whole length (for the bar)
    heard: str = ""
    said: str = ""
    unit: str = ""                    # what a rep is called ("reps", "steps")

    @classmethod
    def from_session(cls, view: SessionView, heard: str = "", said: str = "") -> ViewState:
        """From the session's snapshot (coach.session.SessionView or anything with its fields)."""
        return cls(phase=view.phase, exercise=view.exercise_name, side=view.side, set_no=view.set_no,
                   sets=view.sets, rep=view.rep, reps=view.reps, remaining=view.remaining,
                   block_seconds=view.block_seconds, heard=heard, said=said, unit=view.unit)


# Ends with the coach's own way to leave (content/coach.yaml, `leave`); tests/test_session_sequences.py
# checks the two agree.
IDLE_LINE = "Say start, or ask a question. Say stop to leave."


def bottom_line(state: ViewState, idle: str = IDLE_LINE) -> str:
    """ "The IT band stretch · left side · 23 s left": the live line under the conversation."""
    if state.phase == "idle" or state.exercise is None:
        return idle
    parts = [capitalized(state.exercise)]
    if state.side:
        parts.append(f"{state.side} side")
    if state.sets > 1:
        parts.append(f"set {state.set_no} of {state.sets}")
    left = round(float(state.remaining))
    if state.phase == "paused":
        parts.append("paused")
    elif state.phase == "intro":
        parts.append(f"starts in {left} s")
    elif state.phase == "rest":
        parts.append(f"rest {left} s")
    elif state.phase == "switch":
        parts.append(f"switch sides {left} s")
    elif state.reps:
        parts.append(f"{say_number(state.reps - state.rep)} {state.unit or 'reps'} to go")
    else:
        parts.append(f"{left} s left")
    return " · ".join(parts)


def status_line(state: ViewState) -> str:
    """The plain-output status: what is going on, without the ticking countdown."""
    if state.phase == "idle" or state.exercise is None:
        return "Waiting: say start, or ask a question."
    parts = [capitalized(state.exercise)]
    if state.side:
        parts.append(f"{state.side} side")
    if state.sets > 1:
        parts.append(f"set {state.set_no} of {state.sets}")
    if state.reps:
        parts.append(f"rep {state.rep} of {state.reps}")
    return " · ".join(parts) + f"  [{state.phase}]"


def _width(text: str) -> int:
    """Columns a string takes on a terminal: wide (East Asian) characters two, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def fit(line: str, columns: int) -> str:
    """The line cut to `columns` terminal columns, an ellipsis where it was cut; never longer."""
    if columns <= 0:
        return ""
    if _width(line) <= columns:
        return line
    kept, used = [], _width(ELLIPSIS)
    for c in line:
        used += _width(c)
        if used > columns:
            break
        kept.append(c)
    return "".join(kept).rstrip() + ELLIPSIS


class LiveView(SpeakerBase):
    """A display that is also a Speaker (it shows what is said; it never makes a sound)."""

    def __init__(self, out: TextIO | None = None, snapshot: Callable[[], ViewState] | None = None,
                 tty: bool | None = None) -> None:
        self._out = out or sys.stdout
        self._snapshot = snapshot
        self._lock = threading.Lock()          # the state
        self._write = threading.Lock()         # the terminal: every write to it is made under this one
        self._state = ViewState()
        self._last: ViewState | None = None    # the last state the snapshot function gave
        self._drawn = ""                       # the bottom line as last drawn
        self._draw_failed = False
        self._printed: dict[str, str] = {}
        self.tty = self._out.isatty() if tty is None else tty
        self._closed = False
        self._stopping = threading.Event()
        self._ticker: threading.Thread | None = None
        if self.tty:
            self._refresh()
            if snapshot is not None:       # redrawn on its own, so the countdown moves by itself
                self._ticker = threading.Thread(target=self._tick, name="voicecoach-view", daemon=True)
                self._ticker.start()

    # ----- what the loop tells it ----------------------------------------------------------

    def update(self, state: Any) -> None:
        """A new snapshot: a ViewState, or the session's SessionView."""
        if not isinstance(state, ViewState):
            state = ViewState.from_session(state)
        with self._lock:
            self._state = replace(state, heard=self._state.heard, said=self._state.said)
        self._show()

    def heard(self, text: str) -> None:
        with self._lock:
            self._state = replace(self._state, heard=text)
        self._above(f"heard: {text}")

    # ----- the Speaker interface -----------------------------------------------------------

    def speak(self, reply: Reply) -> None:
        with self._lock:
            self._state = replace(self._state, said=reply.text)
        self._above(f"coach: {reply.text}")

    def stop(self) -> None:
        """Nothing sounds, so nothing to silence."""

    @property
    def speaking(self) -> bool:
        return False

    def close(self) -> None:
        """The bottom line goes (the cursor left at the start of its empty row); the conversation stays."""
        self._stopping.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join()
        with self._write:
            if self.tty and not self._closed:
                self._out.write(ERASE_LINE)
                self._out.flush()
            self._closed = True

    # ----- drawing -------------------------------------------------------------------------

    def current(self) -> ViewState:
        """The state as it is now: the latest snapshot, with what was heard and said."""
        with self._lock:
            state = self._state
        if self._snapshot is not None:
            try:
                fresh = self._snapshot()
            except Exception:  # noqa: BLE001 - a snapshot taken mid-update: keep the last good one
                with self._lock:
                    last = self._last
                return state if last is None else replace(last, heard=state.heard, said=state.said)
            with self._lock:
                self._last = fresh
            state = replace(fresh, heard=state.heard, said=state.said)
        return state

    def _bottom(self) -> str:
        """The bottom line as it is now, cut to the terminal's width less one (so it never wraps);
        the last one drawn if it cannot be made."""
        try:
            self._drawn = fit(bottom_line(self.current()), shutil.get_terminal_size().columns - 1)
        except Exception:
            if not self._draw_failed:
                self._draw_failed = True
                log.warning("the bottom line could not be made", exc_info=True)
        return self._drawn

    def _tick(self) -> None:
        """The refresh thread: redraws until close(); a failed draw is logged (once), never fatal."""
        while not self._stopping.wait(REFRESH_SECONDS):
            try:
                self._refresh()
            except Exception:    # the display must not end the session
                if not self._draw_failed:
                    self._draw_failed = True
                    log.warning("the bottom line could not be redrawn", exc_info=True)

    def _refresh(self) -> None:
        """The bottom line drawn again in place."""
        # The line is made under the lock too, so the newest state is the one drawn last (the
        # snapshot function must not call the view).
        with self._write:
            if not self._closed:
                self._out.write(ERASE_LINE + self._bottom())
                self._out.flush()

    def _above(self, line: str) -> None:
        """A line of the conversation: above the bottom line on a terminal, plain elsewhere."""
        if not self.tty:
            self._show()
            return
        with self._write:
            # Erase the bottom line, write the line where it was, the bottom line again under it.
            self._out.write(ERASE_LINE + line + "\n" + ("" if self._closed else self._bottom()))
            self._out.flush()

    def _show(self) -> None:
        if self.tty:
            self._refresh()
            return
        state = self.current()
        # Plain output: one line per change; the ticking countdown is not worth a line a second.
        for key, line in (("status", status_line(state)), ("heard", f"heard: {state.heard}"),
                          ("said", f"said: {state.said}")):
            if line != self._printed.get(key) and not line.endswith(": "):
                self._printed[key] = line
                self._out.write(line + "\n")
        self._out.flush()
