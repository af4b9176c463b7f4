"""Injected clocks: the real monotonic clock in use, a virtual one in tests and `simulate`."""
from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale."""

    def wait_until(self, deadline: float, cancel: threading.Event | None = None) -> bool:
        """Block until `deadline` or until `cancel` is set; True when cancelled."""


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    def wait_until(self, deadline: float, cancel: threading.Event | None = None) -> bool:
        event = cancel or threading.Event()
        return event.wait(max(0.0, deadline - self.now()))


class VirtualClock:
    """A clock that moves only when told to: a whole session runs in milliseconds."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

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

    def wait_until(self, deadline: float, cancel: threading.Event | None = None) -> bool:
        if cancel is not None and cancel.is_set():
            return True
        self.set(max(deadline, self._now))
        return False
