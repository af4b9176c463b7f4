"""Ending the program from outside like Ctrl-C: SIGTERM (a service manager, `kill`) and SIGHUP
(the terminal closed) raise `Stopped` in the main thread, where the running mode closes the
session, so the history records how it ended.

Whatever the program was doing when the signal came, it ends: `end_soon` gives it
STOP_GRACE_SECONDS to close the session and leave `stop_on_signals`' block, then ends the
process itself. A mode that runs an event loop (text mode's prompt) takes the signals on the
loop instead (`stop_on_loop_signals`), and raises Stopped once the loop has returned."""
from __future__ import annotations

import os
import select
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# signal -> the reason a session ended by it is recorded with
REASONS: dict[int, str] = {signal.SIGTERM: "terminated", signal.SIGHUP: "hangup"}
STOP_GRACE_SECONDS = 0.8      # to close the session once told to stop; then the process ends regardless
_ENDS: list[threading.Timer] = []    # the process ends pending (`end_soon`), called off when the stop was handled


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
        end_soon(signum)
        raise Stopped(signum)

    previous = {each: signal.signal(each, stop) for each in signums}
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)
        _call_off_ends()           # the stop was handled: the program leaves by itself


def end_soon(signum: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """End the process with the signal's exit code `grace` seconds from now, unless it has
    ended by then: a stop that something swallowed, or a close that hangs on a terminal that
    is gone, never leaves the program running deaf to its signals."""
    timer = threading.Timer(grace, _exit_now, (128 + signum,))
    timer.daemon = True
    _ENDS.append(timer)
    timer.start()


def _call_off_ends() -> None:
    while _ENDS:
        _ENDS.pop().cancel()


def _exit_now(code: int) -> None:
    os._exit(code)


class LoopStop:
    """The first stop of a loop's run: its signal, noted once; `on_stop` ends what the loop runs."""

    def __init__(self, on_stop: Callable[[int], None]) -> None:
        self.first: int | None = None
        self.interrupted = False         # Ctrl-C read as a key (the terminal in raw mode sends no SIGINT)
        self._on_stop = on_stop

    def stop(self, signum: int) -> None:
        """Stop as for `signum` (also called for a terminal that is gone, as SIGHUP)."""
        if self.first is None:
            self.first = signum
            end_soon(signum)
            self._on_stop(signum)


@contextmanager
def stop_on_loop_signals(loop, on_stop: Callable[[int], None],
                         signums: tuple[int, ...] = tuple(REASONS)) -> Iterator[LoopStop]:
    """Within the block, these signals are taken on the asyncio `loop`, where an exception
    raised by a handler could be lost inside a callback: the first calls `on_stop(signum)`
    (which ends what the loop runs) and is kept as the LoopStop's `first`; the caller raises
    Stopped for it once the loop is done. Later signals are ignored while the session closes."""
    stopping = LoopStop(on_stop)
    if threading.current_thread() is not threading.main_thread():    # signals reach the main thread alone
        yield stopping
        return
    previous = {each: signal.getsignal(each) for each in signums}
    for each in signums:
        loop.add_signal_handler(each, stopping.stop, each)
    try:
        yield stopping
    finally:
        for each, handler in previous.items():
            loop.remove_signal_handler(each)
            stopped = stopping.first is not None
            signal.signal(each, signal.SIG_IGN if stopped or handler is None else handler)


def terminal_gone(fd: int | None) -> bool:
    """Whether the terminal on `fd` has hung up (closed, its window gone). An end of input read
    from it is then the terminal's end, not Ctrl-D, even before SIGHUP arrives. A pipe or a file
    is never a terminal: its end (a pipe's writer gone shows as a hang-up too) is the end of input."""
    if fd is None:
        return False
    try:
        if not os.isatty(fd):
            return False
    except OSError:
        return True
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return any(events & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, events in poller.poll(0))
    except (OSError, ValueError):
        return True
