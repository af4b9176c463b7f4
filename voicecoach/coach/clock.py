"""Injected clocks: the real monotonic clock in use, a virtual one in tests and `simulate`."""
from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    # True when time moves only as the threads taking part let it (VirtualClock): a worker
    # decodes in step with the frames it hears. False on the real clock, which waits for nobody.
    lockstep: bool

    def now(self) -> float:
        """Seconds on a monotonic scale."""

    def wait_until(self, deadline: float, cancel: threading.Event | None = None) -> bool:
        """Block until `deadline` or until `cancel` is set; True when cancelled."""

    def take_part(self, thread: threading.Thread | None = None) -> None:
        """Time waits for `thread` (default: this one) from now on; a real clock waits for nobody."""

    def leave(self, thread: threading.Thread | None = None) -> None:
        """Time no longer waits for `thread` (default: this one)."""


class RealClock:
    lockstep = False

    def now(self) -> float:
        return time.monotonic()

    def wait_until(self, deadline: float, cancel: threading.Event | None = None) -> bool:
        event = cancel or threading.Event()
        return event.wait(max(0.0, deadline - self.now()))

    def take_part(self, thread: threading.Thread | None = None) -> None:
        """Real time waits for nobody."""

    def leave(self, thread: threading.Thread | None = None) -> None:
        """Real time waits for nobody."""


class VirtualClock:
    """A clock that moves only when told to: a whole session runs in milliseconds.

    Alone, `wait_until` simply moves the clock. Threads that `take_part` run in lockstep
    (a discrete-event simulation): the clock moves only when every taking part waits,
    and then to the earliest deadline among them, so a thread busy working (a decoder)
    takes no virtual time and never lets another thread's deadline (a cue) slip by.
    A wait whose `cancel` event is set counts as running: it returns at once.
    """

    POLL_SECONDS = 0.05      # longest real wait before a waiting thread looks again (cancel events)
    lockstep = True

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._cond = threading.Condition()
        self._members: set[threading.Thread] = set()
        self._waiting: dict[threading.Thread, tuple[float, threading.Event | None]] = {}

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards by {seconds}")
        self._now += seconds

    def set(self, t: float) -> None:
        if t < self._now:
            raise ValueError(f"cannot move a clock back from {self._now} to {t}")
        self._now = t

    def take_part(self, thread: threading.Thread | None = None) -> None:
        """From now on time waits for `thread` (default: this one); call before starting it."""
        with self._cond:
            self._members.add(thread or threading.current_thread())
            self._cond.notify_all()

    def leave(self, thread: threading.Thread | None = None) -> None:
        with self._cond:
            member = thread or threading.current_thread()
            self._members.discard(member)
            self._waiting.pop(member, None)
            self._step()
            self._cond.notify_all()

    def wait_until(self, deadline: float, cancel: threading.Event | None = None) -> bool:
        if cancel is not None and cancel.is_set():
            return True
        me = threading.current_thread()
        with self._cond:
            if not self._members:
                self.set(max(deadline, self._now))
                return False
            member = me in self._members
            if member:
                self._waiting[me] = (deadline, cancel)
            try:
                while self._now < deadline:
                    if cancel is not None and cancel.is_set():
                        return True
                    if member:
                        self._step()
                        if self._now >= deadline:
                            break
                    elif not self._members:
                        self.set(deadline)
                        break
                    self._cond.wait(self.POLL_SECONDS)
            finally:
                if member:
                    self._waiting.pop(me, None)
                self._cond.notify_all()
        return False

    def _step(self) -> None:
        """Move to the earliest deadline when every member waits and none has been woken."""
        if not self._members or any(m not in self._waiting for m in self._members):
            return
        if any(cancel is not None and cancel.is_set() for _, cancel in self._waiting.values()):
            return
        earliest = min(deadline for deadline, _ in self._waiting.values())
        if earliest > self._now and earliest != float("inf"):
            self._now = earliest
            self._cond.notify_all()
