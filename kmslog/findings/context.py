"""What an evidence report says about the run that produced it.

A finding handed on to someone else must say which tool read which bytes: the kmslog
version, the command line, every input with its size and SHA-256, when the report was
made and which span of events it covers. Renderers that write a report (HTML today)
take a :class:`ReportContext` next to the findings.

Hashing streams each file in fixed-size chunks (``hashlib.file_digest``), so memory
stays bounded whatever the file size. Files are opened only when they are regular
files (``sources.regular.open_regular``): a FIFO given as input must not block the
report. Directories and globs list their files (capped at ``max_files``, with the
total count and size of all of them); the hashes are taken when the report is built,
after the run, so a file changed in between shows a hash of its new content.
"""

from __future__ import annotations

import glob
import hashlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from kmslog import __version__
from kmslog.run.api import IngestStats
from kmslog.sources.names import display_name
from kmslog.sources.regular import open_regular, special_kind

MAX_LISTED_FILES = 200


@dataclass(frozen=True)
class InputFile:
    """One file read (or meant to be read): display form, size in bytes, SHA-256 hex.
    ``sha256`` is None when the file could not be opened (``note`` says why)."""

    path: str
    size: int
    sha256: str | None
    note: str = ""


@dataclass(frozen=True)
class InputEntry:
    """One input as given on the command line. A file carries its own size and hash;
    a directory or glob has ``sha256`` None, ``size`` the total of all its files,
    ``file_count`` how many there are and ``files`` the first ``max_files`` of them."""

    path: str
    kind: str  # "file", "directory", "glob" or "missing"
    size: int
    sha256: str | None
    files: tuple[InputFile, ...] = ()
    file_count: int = 0
    note: str = ""

    @property
    def files_not_listed(self) -> int:
        return max(0, self.file_count - len(self.files))


@dataclass(frozen=True)
class ReportContext:
    version: str
    argv: tuple[str, ...]
    inputs: tuple[InputEntry, ...]
    generated: datetime  # UTC
    first: datetime | None  # earliest event the report covers
    last: datetime | None
    stats: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


def sha256_of(path: str) -> tuple[str | None, str]:
    """(hex digest, "") or (None, why it could not be read)."""
    try:
        with open_regular(path) as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest(), ""
    except OSError as exc:
        return None, exc.strerror or type(exc).__name__


def _files_under(root: str) -> list[str]:
    # The same walk as discovery (sorted, symlinked directories not followed), without
    # its name filters: the report lists every byte the input holds.
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        out.extend(os.path.join(dirpath, name) for name in sorted(filenames))
    return out


def _listed(paths: Sequence[str], max_files: int) -> tuple[tuple[InputFile, ...], int, int]:
    listed: list[InputFile] = []
    total = 0
    for index, path in enumerate(paths):
        info, special = special_kind(path)
        size = info.st_size if info is not None and special is None else 0
        total += size
        if index >= max_files:
            continue
        if special is not None:
            listed.append(InputFile(display_name(path), size, None, special))
            continue
        digest, note = sha256_of(path)
        listed.append(InputFile(display_name(path), size, digest, note))
    return tuple(listed), len(paths), total


def describe_input(spec: str, max_files: int = MAX_LISTED_FILES) -> InputEntry:
    shown = display_name(spec)
    if os.path.isdir(spec):
        files, count, total = _listed(_files_under(spec), max_files)
        return InputEntry(shown, "directory", total, None, files, count)
    if os.path.lexists(spec):
        info, special = special_kind(spec)
        if special is not None:
            return InputEntry(shown, "file", 0, None, note=special)
        digest, note = sha256_of(spec)
        size = info.st_size if info is not None else 0
        return InputEntry(shown, "file", size, digest, file_count=1, note=note)
    if glob.has_magic(spec):
        matches: list[str] = []
        for match in sorted(glob.glob(spec, recursive=True)):
            matches.extend(_files_under(match) if os.path.isdir(match) else [match])
        if matches:
            files, count, total = _listed(matches, max_files)
            return InputEntry(shown, "glob", total, None, files, count)
    return InputEntry(shown, "missing", 0, None, note="no such file")


def build_context(
    argv: Sequence[str],
    paths: Sequence[str],
    first: datetime | None,
    last: datetime | None,
    stats: Mapping[str, Any],
    now: datetime | None = None,
    max_files: int = MAX_LISTED_FILES,
) -> ReportContext:
    """The context of a run over ``paths`` started as ``argv``; ``now`` (UTC, default
    the clock) is the generation time."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return ReportContext(
        version=__version__,
        argv=tuple(argv),
        inputs=tuple(describe_input(p, max_files) for p in paths),
        generated=moment,
        first=first,
        last=last,
        stats=MappingProxyType(dict(stats)),
    )


def ingest_figures(stats: IngestStats) -> dict[str, int]:
    """The run's reconciling totals, for ``ReportContext.stats``."""
    return {
        "files read": stats.files_read,
        "files failed": stats.files_failed,
        "records seen": stats.records_seen,
        "records kept": stats.records_kept,
        "duplicates": stats.records_duplicate,
        "records rejected": stats.records_rejected,
        "outside the window": stats.records_out_of_window,
    }


def command_line() -> tuple[str, ...]:
    """The process's argv with the program shown as ``kmslog`` (not its install path)."""
    return ("kmslog", *sys.argv[1:])
