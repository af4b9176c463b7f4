"""Reading a file as one careful step: opened once, checked on the open descriptor, bounded.

Every file the coach reads (settings, scripts, content, models, WAV) goes through
`open_checked` or `read_bytes`: a FIFO, a device or a folder is refused at once (a FIFO is
opened without waiting for a writer), and a file over its size limit is refused before it
is read. Files of our own cache must also be ours and writable by nobody else, and are
never reached through a symlink (`read_private`), in a folder with the same guarantees
(`private_folder`).
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO


class FileRefused(OSError):
    """A file that is not read; the message is the reason, without the path (callers add it)."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "it is a directory"
    if stat.S_ISFIFO(mode):
        return "it is a FIFO (named pipe), not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a regular file"
    if stat.S_ISSOCK(mode):
        return "it is a socket, not a regular file"
    return "it is not a regular file"


def _size_text(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size} bytes"


def _open_fd(path: Path | str, max_bytes: int, follow: bool) -> tuple[int, os.stat_result]:
    """An open descriptor of a regular file of at most `max_bytes`, and its fstat."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except OSError:
        if not follow and os.path.islink(path):
            raise FileRefused("it is a symbolic link") from None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(_kind(info.st_mode))
        if info.st_size > max_bytes:
            raise FileRefused(f"it is {_size_text(info.st_size)}, over the limit of {_size_text(max_bytes)}")
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def open_checked(path: Path | str, max_bytes: int) -> BinaryIO:
    """`path` opened for reading in binary, when it is a regular file of at most `max_bytes`.
    Raises OSError (FileRefused for a FIFO, a device, a folder or a file too big)."""
    fd, _ = _open_fd(path, max_bytes, follow=True)
    return os.fdopen(fd, "rb")


def read_bytes(path: Path | str, max_bytes: int) -> bytes:
    """The whole of a regular file of at most `max_bytes` (one that grows while read is refused too)."""
    with open_checked(path, max_bytes) as file:
        return _read_bounded(file, max_bytes)


def read_text(path: Path | str, max_bytes: int) -> str:
    """`read_bytes` as UTF-8 text; raises UnicodeDecodeError for other bytes."""
    return read_bytes(path, max_bytes).decode("utf-8")


def _read_bounded(file: BinaryIO, max_bytes: int) -> bytes:
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileRefused(f"it grew past the limit of {_size_text(max_bytes)} while being read")
    return data


def read_private(path: Path | str, max_bytes: int) -> bytes:
    """A file of our own cache: not a symlink, a regular file, ours, writable by nobody else."""
    fd, info = _open_fd(path, max_bytes, follow=False)
    with os.fdopen(fd, "rb") as file:
        problem = _not_private(info)
        if problem:
            raise FileRefused(problem)
        return _read_bounded(file, max_bytes)


def _not_private(info: os.stat_result) -> str | None:
    if info.st_uid != os.getuid():
        return f"it belongs to user {info.st_uid}, not to you"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "others may write to it"
    return None


def private_folder(path: Path) -> Path:
    """`path`, created private when missing, once it is a folder of the user's that nobody else
    may write to. Raises OSError (FileRefused saying why it is not private)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    info = os.stat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise FileRefused(f"{path}: it is not a directory")
    problem = _not_private(info)
    if problem:
        raise FileRefused(f"{path}: {problem}")
    return path


def write_private(path: Path, data: bytes) -> None:
    """`data` written to `path` in its (private) folder atomically, readable by the user alone."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.unlink(missing_ok=True)           # left by a process of the same number that was killed
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise


def arrays_from_bytes(data: bytes, max_bytes: int) -> dict:
    """The arrays of a .npz archive held in `data`, each read whole; numbers and text only.

    numpy refuses object arrays unless asked not to (we never ask), so reading runs no code.
    Raises FileRefused when `data` is not such an archive or expands past `max_bytes`."""
    import io
    import zipfile

    import numpy as np

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise FileRefused("it is not a .npz archive of arrays") from None
    if expanded > max_bytes:
        raise FileRefused(f"its arrays expand to {_size_text(expanded)}, over the limit of {_size_text(max_bytes)}")
    try:
        with np.load(io.BytesIO(data)) as saved:
            return {name: saved[name] for name in saved.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, NotImplementedError) as exc:
        raise FileRefused(f"its arrays cannot be read ({' '.join(str(exc).split())[:120]})") from None


def array_from_bytes(data: bytes):
    """The one array of a .npy file held in `data` (numbers only, as `arrays_from_bytes`)."""
    import io

    import numpy as np

    try:
        array = np.load(io.BytesIO(data))
    except (ValueError, OSError, EOFError) as exc:
        raise FileRefused(f"it is not a .npy array ({' '.join(str(exc).split())[:120]})") from None
    if not isinstance(array, np.ndarray):
        raise FileRefused("it is not a .npy array")
    return array


MAX_NAME_BYTES = 255             # one name in a path, on every common file system
MAX_PATH_BYTES = 4096


def path_problem(text: str) -> str | None:
    """Why the path a user wrote cannot name a file (an unknown ~user, a name too long for
    any file system, a symlink loop), or None."""
    if "\0" in text:
        return "a path cannot hold a NUL character"
    try:
        path = Path(text).expanduser()
    except RuntimeError:
        return f"{text.split('/')[0]}: no such user (so no home folder)"
    encoded = [os.fsencode(part) for part in path.parts]
    if sum(map(len, encoded)) > MAX_PATH_BYTES:
        return f"the path is over {MAX_PATH_BYTES} bytes long"
    if any(len(part) > MAX_NAME_BYTES for part in encoded):
        return f"a name in the path is over {MAX_NAME_BYTES} bytes long"
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "it is a loop of symbolic links"
    return None
