"""The complete test run, as the README gives it: the live room and everything else, side by side.

    python3 tests/run_all.py            # every test
    python3 tests/run_all.py -x         # extra pytest arguments go to both runs

The live room (tests marked `live`: the coach through a private sound server, spoken to at the
speed of speech) spends most of its time waiting on speech, and the rest of the suite is CPU
work. Run one after the other they take about ten minutes on two cores; side by side, the rest
at the lowest CPU priority (nice 19) so that the coach in the room is never starved, the whole
takes about as long as the room. A run of the rest beside the room at the same priority made
the room miss spoken commands (docs/testing.md).

The rest's output is shown as it comes; the room's is shown whole when both have ended. The
exit status is the first failure's (pytest's own: 1 failed tests, 5 nothing collected, ...),
else 0. Ctrl-C stops both.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKERS = "2"                  # the rest, on pytest-xdist's workers
LOWEST_PRIORITY = 19


def commands(extra: list[str]) -> tuple[list[str], list[str]]:
    """(the live room's pytest command, the rest's)."""
    pytest = [sys.executable, "-m", "pytest", "-q"]
    return [*pytest, "-m", "live", *extra], [*pytest, "-n", WORKERS, "-m", "not live", *extra]


def _lowest_priority() -> None:
    os.setpriority(os.PRIO_PROCESS, 0, LOWEST_PRIORITY)


def main(argv: list[str]) -> int:
    live_command, rest_command = commands(argv)
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as live_output:
        started = time.monotonic()
        live = subprocess.Popen(live_command, cwd=REPO, stdout=live_output, stderr=subprocess.STDOUT)
        try:
            rest = subprocess.Popen(rest_command, cwd=REPO, preexec_fn=_lowest_priority)
        except OSError:
            live.terminate()
            live.wait()
            raise
        try:
            rest_status = rest.wait()
            if live.poll() is None:
                print(f"run_all: the rest ended after {time.monotonic() - started:.0f} s; waiting for the live room",
                      flush=True)
            live_status = live.wait()
        except KeyboardInterrupt:
            for process in (rest, live):
                process.terminate()
            for process in (rest, live):
                process.wait()
            return 130
        live_output.seek(0)
        print(f"\n--- the live room ({' '.join(live_command[1:])}) ---", flush=True)
        sys.stdout.write(live_output.read())
    print(f"run_all: {time.monotonic() - started:.0f} s in all; the rest: status {rest_status}, "
          f"the live room: status {live_status}", flush=True)
    return next((status for status in (rest_status, live_status) if status != 0), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
