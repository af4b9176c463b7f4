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
import shlex
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


def readme_test_runs() -> list[list[str]]:
    """The pytest runs of the README's test command (the line after its marker), each as its
    pytest arguments, in order; the install step before them is left out. The default tier
    here is what CI runs."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "<!-- test command -->" in line:
            command = next(l for l in lines[i + 1:] if l.strip() and not l.startswith("```"))
            runs = [shlex.split(part) for part in command.split("&&")]
            return [words[words.index("pytest") + 1:] for words in runs if "pytest" in words]
    return [["-q"]]


OUT = REPO / "bench" / "out"


def run_tier(runs: list[list[str]], log: Path) -> tuple[float, float, int, str]:
    """Wall seconds, CPU seconds (user + system, the children and what they waited for), the
    first failing pytest's exit status (else 0) and each run's last line; every run goes on,
    as after `&&` it would not, so each is timed; pytest's whole output goes to `log`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    outputs, codes, lasts = [], [], []
    for arguments in runs:
        result = subprocess.run([sys.executable, "-m", "pytest", *arguments], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        outputs.append(result.stdout)
        codes.append(result.returncode)
        summary = [line for line in result.stdout.splitlines() if re.search(r"\b(passed|failed|error)", line)]
        lasts.append(summary[-1].strip("= ") if summary else result.stdout[-300:])
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("\n".join(outputs), encoding="utf-8")
    return wall, cpu, next((c for c in codes if c != 0), 0), " | ".join(lasts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="time the fast tier only")
    parser.add_argument("extra", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args(argv)
    names = ["fast"] if args.fast else ["default", "fast"]
    readme = readme_test_runs()
    print(f"{os.cpu_count()} cores; the targets are for an idle 2-core machine")
    status = 0
    for name in names:
        tier_args, target = TIERS[name]
        runs = [run + args.extra for run in (readme if tier_args is None else [tier_args])]
        load_before = os.getloadavg()[0]
        log = OUT / f"suite_time-{name}.log"
        wall, cpu, code, last = run_tier(runs, log)
        load_after = os.getloadavg()[0]
        verdict = "within" if wall <= target else "OVER"
        shown = " && ".join("pytest " + " ".join(run) for run in runs)
        print(f"{name:8} {shown}\n"
              f"         wall {wall:6.1f} s  cpu {cpu:6.1f} s  target {target:.0f} s wall: {verdict}"
              f"   load {load_before:.1f} -> {load_after:.1f}   exit {code}: {last}   (output: {log.relative_to(REPO)})")
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main())
