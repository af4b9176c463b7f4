"""Text mode on a terminal, with prompt_toolkit: the coach's lines print above the prompt,
never into what is being typed; line editing and input history; a bottom line with the
exercise, the side and a countdown.

One asyncio loop runs both the prompt and the coach, so the session is only ever touched
from one thread. When stdin is not a terminal, app.run_text_session reads plain lines instead.
"""
from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable

from voicecoach.coach.clock import Clock
from voicecoach.coach.replies import Reply
from voicecoach.coach.session import Session, SessionView
from voicecoach.intents.catalog import Catalog
from voicecoach.output import OutputStage
from voicecoach.stopping import LoopStop, Stopped, stop_on_loop_signals, terminal_gone
from voicecoach.view import ViewState, bottom_line
from voicecoach.voice.speaker import SpeakerBase

PROMPT = "you> "
TOOLBAR_REFRESH = 0.5    # seconds between redraws of the countdown
MAX_WAIT = 0.25
LEAVE_SECONDS = 0.2      # for the prompt to put the terminal back as it was, once told to leave
_END = object()


class PromptSpeaker(SpeakerBase):
    """Prints each reply as a line; under patch_stdout the line goes above the prompt."""

    def speak(self, reply: Reply) -> None:
        print(f"coach: {reply.text}", file=sys.stdout, flush=True)   # sys.stdout as patched now

    def stop(self) -> None:
        """Printed lines cannot be taken back."""

    @property
    def speaking(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing held open."""


def toolbar_text(view: SessionView) -> str:
    """ "IT band stretch · left side · 23 s left" for the bottom line (the voice loop shows the same)."""
    return bottom_line(ViewState.from_session(view))


def run_prompt_session(session: Session, catalog: Catalog, output: OutputStage, clock: Clock,
                       step: Callable[[Session, Catalog, OutputStage, object], bool],
                       input=None, out=None) -> None:
    """Run text mode on a terminal until the user leaves (stop, Ctrl-D, Ctrl-C). SIGHUP, SIGTERM
    and a terminal that is gone end it too, raising Stopped once the prompt is down."""
    signum, interrupted = asyncio.run(_run(session, catalog, output, clock, step, input, out))
    if signum is not None:
        raise Stopped(signum)
    if interrupted:
        raise KeyboardInterrupt      # Ctrl-C: the session is recorded as quit, the exit status is 130


async def _run(session: Session, catalog: Catalog, output: OutputStage, clock: Clock, step, input,
               out) -> tuple[int | None, bool]:
    """The prompt and the coach on one loop; the signal that ended them (or None), and whether
    Ctrl-C was pressed at the prompt."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.patch_stdout import patch_stdout

    typed: asyncio.Queue[object] = asyncio.Queue()
    prompt: PromptSession[str] = PromptSession(history=InMemoryHistory(), input=input, output=out)

    def end(signum: int) -> None:
        typed.put_nowait(_END)
        _leave(prompt)

    with stop_on_loop_signals(asyncio.get_running_loop(), end) as stopping, patch_stdout(raw=True):
        terminal = sys.stdin.fileno() if input is None and sys.stdin.isatty() else None
        reader = asyncio.create_task(_read_lines(prompt, session, typed, stopping, terminal))
        try:
            await _coach(session, catalog, output, clock, step, prompt, typed, stopping)
        finally:
            _leave(prompt)
            # A prompt begun after _leave (between two lines) is not left by it: cancelled instead.
            await asyncio.wait({reader}, timeout=LEAVE_SECONDS)
            reader.cancel()
            try:
                await reader
            except (EOFError, KeyboardInterrupt, asyncio.CancelledError, OSError):
                pass
    return stopping.first, stopping.interrupted


def _leave(prompt) -> None:
    """End the prompt, unless it is not running or already on its way out."""
    if prompt.app.is_running and not prompt.app.is_done:
        prompt.app.exit(exception=EOFError())


async def _read_lines(prompt, session: Session, typed: asyncio.Queue, stopping: LoopStop, terminal: int | None) -> None:
    """Typed lines into `typed`; at the end, _END (Ctrl-D, Ctrl-C) or a stop as for SIGHUP
    (`terminal` hung up)."""
    while True:
        try:
            text = await prompt.prompt_async(PROMPT, bottom_toolbar=lambda: toolbar_text(session.view()),
                                             refresh_interval=TOOLBAR_REFRESH)
        except (EOFError, KeyboardInterrupt) as end:
            if terminal_gone(terminal):
                stopping.stop(signal.SIGHUP)
            elif isinstance(end, KeyboardInterrupt):
                stopping.interrupted = True      # Ctrl-C as a key (the prompt reads it raw): as SIGINT
                await typed.put(_END)
            else:
                await typed.put(_END)
            return
        except OSError:                 # the terminal is gone: as if it had hung up
            stopping.stop(signal.SIGHUP)
            return
        await typed.put(text)


async def _coach(session: Session, catalog: Catalog, output: OutputStage, clock: Clock, step, prompt,
                 typed: asyncio.Queue, stopping: LoopStop) -> None:
    output.deliver(session.begin())
    while not session.wants_exit:
        due = [t for t in (session.next_due(), output.next_due()) if t is not None]
        wait = MAX_WAIT if not due else min(MAX_WAIT, max(0.0, min(due) - clock.now()))
        try:
            line = await asyncio.wait_for(typed.get(), timeout=wait)
        except asyncio.TimeoutError:
            line = None
        if line is _END:
            return
        try:
            step(session, catalog, output, line)
        except OSError:                 # a line printed to a terminal that is gone
            stopping.stop(signal.SIGHUP)
            return
        if prompt.app.is_running:
            prompt.app.invalidate()
