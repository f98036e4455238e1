"""Which source module reads a path: ``scheme://`` picks the module, anything
else is a local path or glob. A new source is one module added here."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from kmslog.sources import discover as local_discover
from kmslog.sources import local
from kmslog.sources.base import NoInputError
from kmslog.sources.discover import Discovery

SCHEMES = ("s3", "store")
SUPPORTED = "supported: s3://, store:// (--store DIR), local paths"


def scheme_of(path: str) -> str | None:
    """The URL scheme of ``path`` (``"s3"``), None for a local path."""
    head, sep, _ = path.partition("://")
    if not sep or not head.isalnum():
        return None
    return head.lower()


def decompressed_chunks(path: str, max_size: int) -> Iterator[bytes]:
    """The decompressed bytes of ``path``, whatever source it lives in."""
    scheme = scheme_of(path)
    if scheme is None:
        return local.decompressed_chunks(path, max_size)
    if scheme == "s3":
        from kmslog.sources import s3

        return s3.decompressed_chunks(path, max_size)
    raise NoInputError(f"unsupported source scheme {scheme}:// ({SUPPORTED})")


def discover(
    paths: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
    accounts: frozenset[str] = frozenset(),
    regions: frozenset[str] = frozenset(),
) -> Discovery:
    """Every object to read under ``paths``, sorted by path, local and remote."""
    locals_ = [p for p in paths if scheme_of(p) is None]
    remote = [p for p in paths if scheme_of(p) is not None]
    for path in remote:
        if scheme_of(path) not in SCHEMES:
            raise NoInputError(f"unsupported source scheme in {path!r} ({SUPPORTED})")
    found = local_discover.discover(locals_, since, until, accounts, regions)
    s3_paths = [p for p in remote if scheme_of(p) == "s3"]
    stores = [p for p in remote if scheme_of(p) == "store"]
    if s3_paths:
        from kmslog.sources import s3

        _add(found, s3.discover(s3_paths, since, until, accounts, regions))
    if stores:
        from kmslog.store import read

        _add(found, read.discover(stores, since, until, accounts, regions))
    return found


def _add(found: Discovery, more: Discovery) -> None:
    found.files = sorted(found.files + more.files, key=lambda f: f.path)
    found.skipped_digest += more.skipped_digest
    found.skipped_insight += more.skipped_insight
    found.skipped_other += more.skipped_other
    found.pruned += more.pruned
    found.missing += more.missing
    found.precounted += more.precounted
