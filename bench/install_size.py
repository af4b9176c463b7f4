"""How big an install is: a fresh venv's site-packages, total and by distribution (from each
one's RECORD, so a package's .libs folder counts with it), the largest first.

    python3 -m venv /tmp/v && /tmp/v/bin/pip install .
    python bench/install_size.py /tmp/v            # or: du -sm /tmp/v/lib/python3*/site-packages

See docs/install.md for the figures and what each package is for.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

MB = 1024 * 1024          # as du -m counts


def site_packages(venv: Path) -> Path:
    found = sorted(venv.glob("lib/python3*/site-packages")) or sorted(venv.glob("Lib/site-packages"))
    if not found:
        raise SystemExit(f"no site-packages under {venv}")
    return found[0]


def by_distribution(packages: Path) -> list[tuple[int, str]]:
    sizes = []
    for record in packages.glob("*.dist-info/RECORD"):
        total = 0
        for row in csv.reader(record.read_text(encoding="utf-8").splitlines()):
            if row:
                path = packages / row[0]
                total += path.stat().st_size if path.is_file() else 0
        sizes.append((total, record.parent.name.split("-")[0]))
    return sorted(sizes, reverse=True)


def disk_usage(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("venv", type=Path)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    packages = site_packages(args.venv)
    sizes = by_distribution(packages)
    print(f"{packages}: {disk_usage(packages) / MB:.0f} MB of files, {len(sizes)} distributions")
    for size, name in sizes[: args.top]:
        print(f"{size / MB:8.1f} MB  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
