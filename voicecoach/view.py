"""The live terminal view of the voice loop: exercise, side, set and rep, a countdown bar,
the last thing heard and the last thing said. On a terminal it redraws in place with rich;
anywhere else the coach's lines are printed plainly (TerminalSpeaker) and this stays quiet.
"""
from __future__ import annotations

from typing import TextIO

from voicecoach.coach.replies import Reply, capitalized
from voicecoach.coach.session import SessionView

BAR_WIDTH = 30


def render_lines(view: SessionView, heard: str, said: str) -> list[str]:
    """The view as plain text lines (what the rich panel shows)."""
    if view.phase == "idle" or view.exercise_name is None:
        status = "Waiting: say start, or ask a question."
        bar = ""
    else:
        parts = [capitalized(view.exercise_name)]
        if view.side:
            parts.append(f"{view.side} side")
        if view.sets > 1:
            parts.append(f"set {view.set_no} of {view.sets}")
        if view.reps:
            parts.append(f"rep {view.rep} of {view.reps}")
        status = " · ".join(parts) + f"  [{view.phase}]"
        done = 0.0 if view.block_seconds <= 0 else 1.0 - view.remaining / view.block_seconds
        filled = int(round(BAR_WIDTH * min(1.0, max(0.0, done))))
        bar = "█" * filled + "░" * (BAR_WIDTH - filled) + f" {view.remaining:4.0f} s left"
    return [status, bar, f"heard: {heard or '-'}", f"said:  {said or '-'}"]


class LiveView:
    """A speaker that only displays: feed it replies, what was heard, and session snapshots."""

    def __init__(self, out: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=out)
        self._live = Live(console=self._console, auto_refresh=False, transient=False)
        self._live.start()
        self.heard_text = ""
        self.said_text = ""
        self._view = SessionView("idle")

    def speak(self, reply: Reply) -> None:
        self.said_text = reply.text
        self._draw()

    def heard(self, text: str) -> None:
        self.heard_text = text
        self._draw()

    def update(self, view: SessionView) -> None:
        self._view = view
        self._draw()

    def _draw(self) -> None:
        from rich.panel import Panel

        self._live.update(Panel("\n".join(render_lines(self._view, self.heard_text, self.said_text)),
                                title="voicecoach"), refresh=True)

    def stop(self) -> None:
        pass

    @property
    def speaking(self) -> bool:
        return False

    def close(self) -> None:
        self._live.stop()
