"""SIGTERM and SIGHUP end a session like Ctrl-C: the history records it closed, with its reason,
and the program exits with the conventional status (128 + the signal).
Each test runs the real program in a child process and signals it mid-session."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, default_signals
from voicecoach.stopping import Stopped, exit_code, stop_on_signals, stop_reason

# The real program in a child process, signalled once its session is under way.
pytestmark = pytest.mark.realtime

STARTED = "We'll start with the left side."


def coach_until_started(db: Path, tmp_path: Path) -> subprocess.Popen:
    """The coach in text mode, typed to through a pipe left open, once the stretch has begun."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "VOICECOACH_CONFIG": str(tmp_path / "none.yaml")}
    child = subprocess.Popen([sys.executable, "-m", "voicecoach", "--text", "--db", str(db)], cwd=REPO, env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=default_signals)
    child.stdin.write("start the stretch\n")
    child.stdin.flush()
    for line in child.stdout:
        if STARTED in line:
            return child
    child.kill()
    pytest.fail(f"the coach never started the stretch: {child.stderr.read()}")


def sessions(db: Path) -> list[tuple]:
    return sqlite3.connect(db).execute("SELECT ended_at IS NOT NULL, end_reason FROM sessions").fetchall()


@pytest.mark.parametrize("signum, reason", [(signal.SIGTERM, "terminated"), (signal.SIGHUP, "hangup"),
                                            (signal.SIGINT, "quit")])
def test_a_signal_ends_the_session_and_the_history_says_why(tmp_path, signum, reason):
    db = tmp_path / "h.db"
    child = coach_until_started(db, tmp_path)
    try:
        child.send_signal(signum)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    stderr = child.stderr.read()
    assert child.returncode == 128 + signum and "Traceback" not in stderr, stderr     # 143, 129, 130
    assert sessions(db) == [(1, reason)]
    ended = sqlite3.connect(db).execute("SELECT detail FROM events WHERE kind = 'session_ended'").fetchone()
    assert reason in ended[0]


def test_a_signal_raises_stopped_with_its_exit_code_and_the_handlers_are_put_back():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Stopped) as stopped:
        with stop_on_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pthread_sigmask(signal.SIG_BLOCK, [])      # a point where Python runs the handler
    assert stopped.value.exit_code == 128 + signal.SIGTERM and stop_reason(stopped.value) == "terminated"
    assert signal.getsignal(signal.SIGTERM) is before
    assert stop_reason(KeyboardInterrupt()) == "quit"
    assert exit_code(stopped.value) == 143 and exit_code(KeyboardInterrupt()) == 130


SWALLOWS_THE_STOP = """
import sys, time
from voicecoach.stopping import stop_on_signals
with stop_on_signals():
    print("ready", flush=True)
    while True:
        try:
            time.sleep(10)
        except KeyboardInterrupt:
            pass                       # a part that swallows the stop: the program must end anyway
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_that_something_swallows_still_ends_the_program(signum):
    import time

    child = subprocess.Popen([sys.executable, "-c", SWALLOWS_THE_STOP], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.3)                              # into its loop
        sent = time.monotonic()
        child.send_signal(signum)
        assert child.wait(timeout=5) == 128 + signum
        assert time.monotonic() - sent < 1.5
    finally:
        child.kill()
        child.wait()
