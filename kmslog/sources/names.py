"""File names as the user sees them.

A POSIX file name is any bytes; Python hands a name that is not valid UTF-8 to us as a
``str`` holding surrogate escapes (``b"\\xff"`` becomes ``"\\udcff"``), which Arrow,
orjson and a strict UTF-8 stdout all refuse. The real name is kept for opening the
file; :func:`display_name` is what goes into the ``source`` column, rejections and
messages.
"""

from __future__ import annotations


def display_name(path: str) -> str:
    """``path`` unchanged when it is valid UTF-8; otherwise its bytes decoded with the
    undecodable ones shown as ``\\xNN`` (so the result is valid UTF-8 and the oddity is
    visible). Two names can share a display form (a literal ``\\xff`` in a name); the
    real path, not this, is what identifies a file."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        pass
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        # A lone surrogate that is not an escaped byte (only a library caller can pass one).
        return path.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
