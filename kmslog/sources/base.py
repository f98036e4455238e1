"""What every source shares: the errors a source raises and the scheme-neutral
pieces a source module provides (see :mod:`kmslog.sources.registry`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol

from kmslog.sources.discover import Discovery


class SourceError(Exception):
    """A file or object that cannot be read at all. ``position`` is a byte offset
    in the compressed input when known."""

    def __init__(self, reason: str, position: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.position = position


class NoInputError(Exception):
    """No file to read: a path does not exist, nothing matched, or a listing failed."""


class Source(Protocol):
    """A source module: lists what a run reads and streams each object's bytes."""

    def discover(
        self,
        specs: Sequence[str],
        since: datetime | None,
        until: datetime | None,
        accounts: frozenset[str],
        regions: frozenset[str],
    ) -> Discovery: ...

    def decompressed_chunks(self, path: str, max_size: int) -> Iterator[bytes]: ...
