"""How long the test tiers take: the default run (the README's test command, complete) and the
fast tier, each in a child process, wall time and CPU time (the child and every process it
waited for: pytest-xdist's workers, the coach's own children), against their targets.

    python bench/suite_time.py              # both tiers
    python bench/suite_time.py --fast       # the fast tier only
    python bench/suite_time.py -- -x        # extra pytest arguments for both

pytest's whole output for each tier goes to bench/out/suite_time-<tier>.log.
The targets are for an idle 2-core machine. On a shared one the wall time says little: the
load average before and after is printed beside it, and CPU time, which load barely
changes, is the figure to compare between runs (see docs/testing.md).
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIERS = {
    # name: (pytest arguments, or None for the README's test command; target wall seconds on
    # an idle 2-core machine). The fast tier runs in one process: two workers cost it more to
    # start than they save.
    "default": (None, 240.0),
    "fast": (["-q", "-m", "not slow"], 60.0),
}


def readme_pytest_arguments() -> list[str]:
    """The pytest arguments of the README's test command (the line after its marker), so the
    default tier here is what CI runs."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "<!-- test command -->" in line:
            command = next(l for l in lines[i + 1:] if l.strip() and not l.startswith("```"))
            pytest_part = command.split("&&")[-1].split()
            return pytest_part[pytest_part.index("pytest") + 1:] if "pytest" in pytest_part else []
    return ["-q"]


OUT = REPO / "bench" / "out"


def run_tier(arguments: list[str], log: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system, the child and what it waited for), pytest's
    exit status and its last line; pytest's whole output goes to `log`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", *arguments], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout, encoding="utf-8")
    summary = [line for line in result.stdout.splitlines() if re.search(r"\b(passed|failed|error)", line)]
    return wall, cpu, result.returncode, (summary[-1].strip("= ") if summary else result.stdout[-300:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="time the fast tier only")
    parser.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    names = ["fast"] if args.fast else ["default", "fast"]
    readme = readme_pytest_arguments()
    print(f"{os.cpu_count()} cores; the targets are for an idle 2-core machine")
    status = 0
    for name in names:
        tier_args, target = TIERS[name]
        arguments = (readme if tier_args is None else tier_args) + args.extra
        load_before = os.getloadavg()[0]
        log = OUT / f"suite_time-{name}.log"
        wall, cpu, code, last = run_tier(arguments, log)
        load_after = os.getloadavg()[0]
        verdict = "within" if wall <= target else "OVER"
        print(f"{name:8} pytest {' '.join(arguments) or '(no arguments)'}\n"
              f"         wall {wall:6.1f} s  cpu {cpu:6.1f} s  target {target:.0f} s wall: {verdict}"
              f"   load {load_before:.1f} -> {load_after:.1f}   exit {code}: {last}   (output: {log.relative_to(REPO)})")
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main())
