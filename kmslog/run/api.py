"""What a run takes and gives back. The executor (``kmslog.run.executor``) fills these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_MAX_DECOMPRESSED = 4 * 1024**3


@dataclass(frozen=True)
class ScanOptions:
    since: datetime | None = None
    until: datetime | None = None
    accounts: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    strict: bool = False
    jobs: int | None = None  # None: one worker per core
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED
    # "native" or "python"; None: $KMSLOG_ENGINE, else native when it is built.
    engine: str | None = None
    # A Dask scheduler (tcp://HOST:PORT) or local:N to run the groups on (run/dask_executor.py).
    dask: str | None = None


@dataclass(frozen=True)
class Rejection:
    """A file or record that could not be used, and why. ``position`` is a record
    index, a byte offset or a line number, as ``position_kind`` says."""

    source: str
    position: int | None
    position_kind: str
    reason: str


@dataclass(frozen=True)
class EventIdConflict:
    """A kept record whose (recipientAccountId, eventID) an earlier kept record
    already had, with other content: both are kept. Positions are ``record_index``
    values; the first record's are None when it could not be located."""

    account: str | None
    event_id: str
    source: str
    position: int
    first_source: str | None
    first_position: int | None


@dataclass
class IngestStats:
    files_read: int = 0
    files_failed: int = 0
    files_skipped_digest: int = 0
    files_skipped_insight: int = 0
    files_skipped_other: int = 0
    # Not regular files (FIFOs, devices, sockets, broken symlinks, symlink loops): never
    # opened. Counts by kind, and the first files (position_kind "file", reason the kind).
    files_skipped_special: int = 0
    skipped_special_reasons: dict[str, int] = field(default_factory=dict)
    skipped_special: list[Rejection] = field(default_factory=list)
    files_pruned: int = 0
    records_seen: int = 0
    records_kept: int = 0
    records_duplicate: int = 0
    records_rejected: int = 0
    records_out_of_window: int = 0
    # Kept records (counted in records_kept) that reuse an earlier kept record's
    # account and eventID with different content; the first details are kept.
    event_id_conflicts: int = 0
    conflicts: list[EventIdConflict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    # Exact counts by kind of reason (the text before the first ':'), also for
    # rejections beyond the details kept in ``rejections``.
    rejection_reasons: dict[str, int] = field(default_factory=dict)
    # Per source (as in the ``source`` column): duplicates dropped and records or
    # whole-file problems rejected, exact (what a store's manifest records per object).
    duplicates_by_source: dict[str, int] = field(default_factory=dict)
    rejected_by_source: dict[str, int] = field(default_factory=dict)


@dataclass
class RunResult:
    stats: IngestStats
    results: dict[str, Any]
