"""Only regular files are opened.

A tree handed to a forensic tool may hold a FIFO (opening it blocks until a writer
comes), a symlink to ``/dev/zero`` (endless bytes), a socket or a symlink loop. Each is
recognised from ``stat`` before anything is opened, and the open itself is
non-blocking and re-checked with ``fstat``, so a FIFO swapped in between the two calls
cannot hang the run either.
"""

from __future__ import annotations

import errno
import io
import os
import stat

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_FLAGS = os.O_RDONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | _NONBLOCK


class NotRegularError(OSError):
    """``path`` exists but is not a regular file; ``kind`` says what it is."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def kind_of_mode(mode: int) -> str | None:
    """What a non-regular file is (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "directory"
    return "not a regular file"


def special_kind(path: str) -> tuple[os.stat_result | None, str | None]:
    """``(stat of the target, None)`` for a regular file (symlinks followed once),
    ``(stat or None, kind)`` for anything that must not be opened, and ``(None, None)``
    when ``stat`` fails for another reason (left to the reader, which reports it)."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "symlink loop"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR) and os.path.islink(path):
            return None, "broken symlink"
        return None, None
    return info, kind_of_mode(info.st_mode)


def open_failure(exc: OSError) -> str:
    """Why ``open_regular`` refused or failed, as a rejection reason."""
    if isinstance(exc, NotRegularError):
        return f"not a regular file: {exc.kind}"
    return f"cannot read file: {exc.strerror or exc}"


def open_regular(path: str) -> io.FileIO:
    """``path`` opened for reading, only if it is a regular file. Raises
    :class:`NotRegularError` for anything else and ``OSError`` when it cannot be opened."""
    _, kind = special_kind(path)
    if kind is not None:
        raise NotRegularError(kind)
    fd = os.open(path, _FLAGS)
    try:
        kind = kind_of_mode(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotRegularError(kind)
        if _NONBLOCK and fcntl is not None:
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~_NONBLOCK)
        return io.FileIO(fd, "rb", closefd=True)
    except BaseException:
        os.close(fd)
        raise
