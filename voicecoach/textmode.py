"""Text mode on a terminal, with prompt_toolkit: the coach's lines print above the prompt,
never into what is being typed; line editing and input history; a bottom line with the
exercise, the side and a countdown.

One asyncio loop runs both the prompt and the coach, so the session is only ever touched
from one thread. When stdin is not a terminal, app.run_text_session reads plain lines instead.
"""
from __future__ import annotations

import asyncio
import sys
from typing import Callable

from voicecoach.coach.clock import Clock
from voicecoach.coach.replies import Reply
from voicecoach.coach.session import Session, SessionView
from voicecoach.intents.catalog import Catalog
from voicecoach.output import OutputStage
from voicecoach.view import ViewState, bottom_line

PROMPT = "you> "
TOOLBAR_REFRESH = 0.5    # seconds between redraws of the countdown
MAX_WAIT = 0.25
_END = object()


class PromptSpeaker:
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
    """Run text mode on a terminal until the user leaves (stop, Ctrl-D, Ctrl-C)."""
    asyncio.run(_run(session, catalog, output, clock, step, input, out))


async def _run(session: Session, catalog: Catalog, output: OutputStage, clock: Clock, step, input, out) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.patch_stdout import patch_stdout

    typed: asyncio.Queue[object] = asyncio.Queue()
    prompt = PromptSession(history=InMemoryHistory(), input=input, output=out)

    async def read_lines() -> None:
        while True:
            try:
                text = await prompt.prompt_async(PROMPT, bottom_toolbar=lambda: toolbar_text(session.view()),
                                                 refresh_interval=TOOLBAR_REFRESH)
            except (EOFError, KeyboardInterrupt):
                await typed.put(_END)
                return
            await typed.put(text)

    async def coach() -> None:
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
            step(session, catalog, output, line)
            if prompt.app.is_running:
                prompt.app.invalidate()

    with patch_stdout(raw=True):
        reader = asyncio.create_task(read_lines())
        try:
            await coach()
        finally:
            if prompt.app.is_running:
                prompt.app.exit(exception=EOFError())
            try:
                await reader
            except (EOFError, KeyboardInterrupt, asyncio.CancelledError):
                pass
