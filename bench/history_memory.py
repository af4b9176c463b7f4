"""Memory of a long typed session with history on: 20,000 lines to `voicecoach --text`.

    python bench/history_memory.py [--lines 20000]

Runs the real program three times in this process's children, typing the same lines: without
history (the baseline), with history and SQLite's default page cache, and with history as
shipped. Prints resident memory after the first quarter of the lines and at the end, and the
growth per line; "flat" means the last three quarters grew at most 128 kB more than the baseline.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLAT_KB = 128
# A mix that writes events: a new session every 8 lines, pauses, pain, questions.
LINES = ["start the stretch", "pause", "resume", "my knee hurts a bit", "what is the IT band", "skip",
         "how long is left", "stop"]


def rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1])
    return 0


def cpu_ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_until_idle(pid: int) -> None:
    before = -1
    while (now := cpu_ticks(pid)) != before:
        before = now
        time.sleep(0.5)


def run(history: str, lines: int, folder: Path) -> tuple[int, int]:
    """Resident kB after a quarter of the lines and after all of them."""
    argv = [sys.executable, "-m", "voicecoach", "--text"]
    env = {**os.environ, "VOICECOACH_CONFIG": str(folder / "none.yaml"), "PYTHONUNBUFFERED": "1"}
    if history == "off":
        argv.append("--no-history")
    else:
        db = folder / f"{history}.db"
        argv += ["--db", str(db)]
    if history == "default cache":
        # The same program with SQLite's default cache, for comparison.
        argv = [sys.executable, "-c", "import voicecoach.history.store as s; s.CACHE_KIB = 2000; "
                "from voicecoach.cli import main; raise SystemExit(main(__import__('sys').argv[1:]))", *argv[3:]]
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             text=True, cwd=REPO, env=env)
    quarter = 0
    for i in range(lines):
        child.stdin.write(LINES[i % len(LINES)] + "\n")
        if i + 1 in (lines // 4, lines):
            child.stdin.flush()
            wait_until_idle(child.pid)          # it has answered everything typed so far
            quarter = rss_kb(child.pid) if i + 1 == lines // 4 else quarter
    end = rss_kb(child.pid)
    child.stdin.close()
    child.wait(timeout=600)
    return quarter, end


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: run(name, args.lines, Path(tmp)) for name in ("off", "default cache", "on")}
    base_growth = results["off"][1] - results["off"][0]
    print(f"{'history':<14} {'RSS at 1/4 (kB)':>16} {'RSS at end (kB)':>16} {'growth (kB)':>12} {'B/line':>7}  flat")
    for name, (quarter, end) in results.items():
        growth = end - quarter
        per_line = growth * 1024 / (args.lines * 3 / 4)
        print(f"{name:<14} {quarter:>16} {end:>16} {growth:>12} {per_line:>7.1f}  {'yes' if growth - base_growth <= FLAT_KB else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
