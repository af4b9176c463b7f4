"""The shipped templates, compiled once and kept in the user's cache folder.

Compiling the templates (about 5,000 expanded sentences, each normalized) takes 0.15-0.2 s;
reading the compiled catalog back takes about 20 ms, so the coach's first prompt and every
`voicecoach parse` start sooner. The cache file is named by a hash of everything the
compilation reads (the template files and the code that compiles them), so an edited
template or a new version compiles afresh. A cache file that is damaged, not ours or
unreadable is ignored and written again; without a cache folder the templates are simply
compiled every time.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import sys
from pathlib import Path
from typing import Callable, TypeVar

log = logging.getLogger(__name__)
CACHE_PREFIX = "catalog-"
CODE_DIR = Path(__file__).parent
# The code whose output the cache holds: every module of the intents package, and the limits.
CODE_FILES = tuple(sorted(CODE_DIR.glob("*.py"))) + (CODE_DIR.parent / "limits.py",)

T = TypeVar("T")


def source_digest(template_dir: Path) -> str:
    """A hash of the template files and the compiling code: what the compiled catalog depends on."""
    digest = hashlib.sha256(f"{sys.version_info[:2]} pickle {pickle.HIGHEST_PROTOCOL}".encode())
    for path in sorted(template_dir.glob("*.yaml")) + list(CODE_FILES):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def default_cache_dir() -> Path | None:
    if os.environ.get("VOICECOACH_NO_CATALOG_CACHE"):
        return None
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voicecoach"))


def cached(template_dir: Path, build: Callable[[], T], cache_dir: Path | None,
           keep: Callable[[T], bool] = lambda built: True) -> T:
    """`build()`'s result for `template_dir`, read from `cache_dir` when it was kept there;
    a new result is kept when `keep(result)`."""
    if cache_dir is None:
        return build()
    try:
        path = cache_dir / f"{CACHE_PREFIX}{source_digest(template_dir)}.pickle"
    except OSError as exc:
        log.info("the compiled templates are not cached: %s", exc)
        return build()
    kept = _read(path)
    if kept is not None:
        return kept
    built = build()
    if keep(built):
        _write(path, built)
    return built


def _read(path: Path):
    try:
        info = path.stat()
    except OSError:
        return None
    # Only a file we wrote: ours, and writable by nobody else (it is unpickled).
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) or not stat.S_ISREG(info.st_mode):
        log.info("%s is not a cache file of ours; compiling the templates", path)
        return None
    try:
        with open(path, "rb") as file:
            return pickle.load(file)
    except Exception as exc:  # noqa: BLE001 - a damaged cache is compiled again, whatever the damage
        log.info("%s is damaged (%s); compiling the templates", path, type(exc).__name__)
        return None


def _write(path: Path, value: object) -> None:
    """Atomically, private to the user; older compiled catalogs are removed."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for old in path.parent.glob(f"{CACHE_PREFIX}*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("the compiled templates are not cached: %s", exc)
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
