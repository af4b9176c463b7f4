"""Ending the program from outside like Ctrl-C: SIGTERM (a service manager, `kill`) and SIGHUP
(the terminal closed) raise `Stopped` in the main thread, where the running mode closes the
session, so the history records how it ended."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

# signal -> the reason a session ended by it is recorded with
REASONS = {signal.SIGTERM: "terminated", signal.SIGHUP: "hangup"}


class Stopped(KeyboardInterrupt):
    """The program was told to stop by a signal; handled wherever Ctrl-C is."""

    def __init__(self, signum: int) -> None:
        super().__init__(REASONS.get(signum, f"signal {signum}"))
        self.reason = REASONS.get(signum, f"signal {signum}")
        self.exit_code = 128 + signum


INTERRUPTED_EXIT = 128 + signal.SIGINT      # Ctrl-C: the shell's convention, 130


def stop_reason(interrupt: BaseException, default: str = "quit") -> str:
    """How a session ended by this interrupt is recorded: the signal's reason, or `default` (Ctrl-C)."""
    return interrupt.reason if isinstance(interrupt, Stopped) else default


def exit_code(interrupt: BaseException) -> int:
    """The exit status after this interrupt: 128 + the signal (143 SIGTERM, 129 SIGHUP, 130 Ctrl-C)."""
    return interrupt.exit_code if isinstance(interrupt, Stopped) else INTERRUPTED_EXIT


@contextmanager
def stop_on_signals(signums: tuple[int, ...] = tuple(REASONS)) -> Iterator[None]:
    """Within the block, the first of these signals raises Stopped; later ones are ignored while
    the session closes. Outside the main thread (where Python delivers signals) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame) -> None:
        for each in signums:
            signal.signal(each, signal.SIG_IGN)
        raise Stopped(signum)

    previous = {each: signal.signal(each, stop) for each in signums}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)
