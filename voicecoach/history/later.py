"""The history of a user who has none yet, created once the greeting is under way.

On a first launch there is no database file: the greeting (with no plan for today) is known
without one, and creating it (the schema, each step synced to disk) takes up to 0.2 s. A
`HistoryLater` creates it on a thread of its own once `start`ed, and closes it there; the
first use (an event to record, a question about history) waits for that, then opens it on
the session's own thread (an SQLite connection stays with the thread that opened it). Nothing
is lost, and each event is written in its own transaction as usual (history.store).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from voicecoach.coach.events import CoachEvent
from voicecoach.content.model import Content

if TYPE_CHECKING:
    from voicecoach.history.store import HistoryRecorder

log = logging.getLogger(__name__)
STOP_WAIT_S = 5.0          # at exit, the longest a creation under way is waited for


class HistoryLater:
    """An EventListener (and the answers about history) backed by a database made on its own
    thread. `open_history()` gives the recorder, or None and the one line saying why; that line
    goes to `tell`. Without a recorder, events are not kept and a question about history gets
    the coach's line for no history, as when history is off."""

    def __init__(self, open_history: Callable[[], tuple[HistoryRecorder | None, str | None]], content: Content,
                 tell: Callable[[str], None]) -> None:
        self._open, self._content, self._tell = open_history, content, tell
        self._without = content.wording.line("no_history")
        self._recorder: HistoryRecorder | None = None
        self._made = False           # the database was created (on the thread), not yet opened here
        self._done = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Create the database now, on a thread of its own (once; later calls do nothing)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="voicecoach-history", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            if not self._stopping.is_set():      # stopped before it began: nothing is created
                self._made = self._create()
        except Exception as exc:       # the coach runs without history, as when it cannot be opened
            log.debug("history: creating the database failed", exc_info=True)
            self._tell(f"history is unavailable ({exc}); the coach runs without it")
        finally:
            self._done.set()

    def _create(self) -> bool:
        """Create the database (opening it creates and migrates it), and close it again."""
        recorder, notice = self._open()
        if notice:
            self._tell(notice)
        if recorder is None:
            return False
        recorder.close()
        return True

    def recorder(self) -> HistoryRecorder | None:
        """The recorder, opened on the calling thread once the database is made (its making is
        started now if it was not), or None without a history. Called from one thread only."""
        self.start()
        self._done.wait()
        if self._made and self._recorder is None:
            self._made = False                   # opened once: a failure is said once
            recorder, notice = self._open()
            if notice:
                self._tell(notice)
            if recorder is not None:
                recorder.learn(self._content)
            self._recorder = recorder
        return self._recorder

    def record(self, event: CoachEvent) -> None:
        recorder = self.recorder()
        if recorder is not None:
            recorder.record(event)

    def answer(self, what: str) -> str:
        """As HistoryRecorder.answer; without a history, the coach's line saying there is none."""
        recorder = self.recorder()
        return recorder.answer(what) if recorder is not None else self._without

    def close(self, timeout: float = STOP_WAIT_S) -> bool:
        """Stop: a creation not begun is not begun; one under way is waited for (at most
        `timeout` s), so the file is left whole. True when nothing is left running."""
        self._stopping.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True
