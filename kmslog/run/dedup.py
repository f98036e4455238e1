"""Duplicate detection for CloudTrail records.

A duplicate is a second delivery of the *same* record: same recipientAccountId,
same eventID and the same text (``raw``). CloudTrail redelivers records
byte-identical; two different records that share an eventID (documentation
examples do, and anyone who can write a file can plant one) are both kept and
reported as an eventID conflict, so no record can hide another. The two copies
of a cross-account call share ``sharedEventID`` but differ in
``recipientAccountId`` and ``eventID``. Records without an ``eventID`` are never
duplicates.

Each keyed record carries two independent 64-bit hashes (polars' hash with fixed
seeds, identical in every worker process of one installation): the key
(account, eventID) and the content (``raw``). A record is dropped only when an
earlier kept record matches both, so a false drop needs a conflict *and* a
content-hash collision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from kmslog.decode import schema as S
from kmslog.run.api import EventIdConflict

_SEED = 0x6B6D736C6F67
_CONTENT_SEED = 0x72617763
HASH = "__dedup_hash"
CONTENT = "__dedup_content"
# What dedup reads (the decoder must build them whatever the analyses need;
# ``raw``, ``source`` and ``record_index`` are always built).
KEY_COLUMNS = frozenset({S.RECIPIENT_ACCOUNT_ID, S.EVENT_ID, S.RAW})

# Conflict details kept per run (the count stays exact beyond it). Each detail
# whose first record is in another group costs a re-read of that group.
MAX_CONFLICT_DETAILS = 100

_EMPTY = np.empty(0, dtype=np.uint64)


def _empty() -> np.ndarray:
    return _EMPTY.copy()


def key_hash() -> pl.Expr:
    """UInt64 hash of (recipientAccountId, eventID); null when there is no eventID."""
    key = pl.concat_str(
        [pl.col(S.RECIPIENT_ACCOUNT_ID).fill_null(""), pl.col(S.EVENT_ID)], separator="\x00"
    )
    return pl.when(pl.col(S.EVENT_ID).is_not_null()).then(key.hash(_SEED)).otherwise(None)


def content_hash() -> pl.Expr:
    """UInt64 hash of the record's text; null when there is no eventID."""
    return (
        pl.when(pl.col(S.EVENT_ID).is_not_null())
        .then(pl.col(S.RAW).hash(_CONTENT_SEED))
        .otherwise(None)
    )


@dataclass
class Earlier:
    """What earlier rows kept: sorted unique key hashes and content hashes."""

    keys: np.ndarray = field(default_factory=_empty)
    contents: np.ndarray = field(default_factory=_empty)

    def extend(self, keys: np.ndarray, contents: np.ndarray) -> Earlier:
        return Earlier(
            sorted_unique(np.concatenate([self.keys, keys])),
            sorted_unique(np.concatenate([self.contents, contents])),
        )


@dataclass
class Deduped:
    frame: pl.DataFrame
    # Key and content hashes of the kept rows that have an eventID, row by row.
    keys: np.ndarray
    contents: np.ndarray
    dropped: int
    conflicts: int
    # The first ``limit`` conflicts; ``first_*`` set when the first record is in this frame.
    details: list[EventIdConflict]
    # Dropped rows by their ``source`` (what a store's manifest records per object).
    dropped_sources: dict[str, int] = field(default_factory=dict)


def _found(level: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Which of ``ordered`` (sorted) are in ``level`` (sorted): binary searches in
    ascending order walk the level's memory forwards, several times faster on big
    levels than the same searches in random order."""
    pos = np.searchsorted(level, ordered)
    pos[pos == len(level)] = 0
    return level[pos] == ordered


def _member(sorted_values: np.ndarray, values: pl.Series) -> pl.Series:
    if not len(sorted_values):
        return pl.Series([False] * len(values), dtype=pl.Boolean)
    array = values.fill_null(0).to_numpy()
    order = np.argsort(array)
    hits = np.empty(len(array), dtype=bool)
    hits[order] = _found(sorted_values, array[order])
    return pl.Series(hits)


def drop_duplicates(frame: pl.DataFrame, earlier: Earlier, limit: int) -> Deduped:
    """The rows of ``frame`` that are not a second copy of an earlier record (in
    ``earlier`` or on an earlier row), with the counts and hashes of what is kept."""
    hashed = frame.select(key_hash().alias(HASH), content_hash().alias(CONTENT))
    keys, contents = hashed[HASH], hashed[CONTENT]
    keyed = keys.is_not_null()
    repeat = keyed & ~hashed.select(pl.struct(HASH, CONTENT).is_first_distinct()).to_series()
    if len(earlier.keys):
        repeat = repeat | (
            keyed & _member(earlier.keys, keys) & _member(earlier.contents, contents)
        )
    dropped = int(repeat.sum())
    keep = ~repeat
    dropped_sources: dict[str, int] = {}
    if dropped:
        counts = frame.filter(repeat).group_by(S.SOURCE).len()
        dropped_sources = dict(zip(counts[S.SOURCE], counts["len"], strict=True))
        frame, keys, contents = frame.filter(keep), keys.filter(keep), contents.filter(keep)
    # A kept row whose key an earlier kept row (here or before) had: its content
    # differs, or it would have been dropped.
    keyed = keys.is_not_null()
    first_here = keys.is_first_distinct()
    before = _member(earlier.keys, keys) & keyed if len(earlier.keys) else None
    clash = keyed & ~first_here
    if before is not None:
        clash = clash | before
    conflicts = int(clash.sum())
    details = []
    if conflicts and limit > 0:
        first = keyed & first_here
        if before is not None:
            first = first & ~before
        details = _details(frame.with_columns(keys.alias(HASH)), clash, first, limit)
    return Deduped(
        frame,
        keys.filter(keyed).to_numpy().astype(np.uint64, copy=False),
        contents.filter(keyed).to_numpy().astype(np.uint64, copy=False),
        dropped,
        conflicts,
        details,
        dropped_sources,
    )


def _details(
    kept: pl.DataFrame, clash: pl.Series, first: pl.Series, limit: int
) -> list[EventIdConflict]:
    # ``first``: the first kept row of each key, when it is in this frame.
    firsts = kept.filter(first).select(
        HASH, pl.col(S.SOURCE).alias("first_source"), pl.col(S.RECORD_INDEX).alias("first_pos")
    )
    rows = (
        kept.filter(clash)
        .head(limit)
        .select(HASH, S.RECIPIENT_ACCOUNT_ID, S.EVENT_ID, S.SOURCE, S.RECORD_INDEX)
        .join(firsts, on=HASH, how="left", maintain_order="left")
        .drop(HASH)
    )
    return [EventIdConflict(*row) for row in rows.iter_rows()]


def key_hashes(pairs: list[tuple[str | None, str]]) -> np.ndarray:
    """The key hashes of (account, eventID) pairs, as ``key_hash`` computes them."""
    frame = pl.DataFrame(
        {S.RECIPIENT_ACCOUNT_ID: [a for a, _ in pairs], S.EVENT_ID: [e for _, e in pairs]},
        schema={S.RECIPIENT_ACCOUNT_ID: pl.String, S.EVENT_ID: pl.String},
    )
    return frame.select(key_hash()).to_series().to_numpy().astype(np.uint64, copy=False)


class HashSet:
    """A growing set of uint64 hashes kept as a few sorted arrays of doubling
    sizes (a log-structured merge): 8 bytes per key, O(log n) lookups. With
    ``tagged``, each hash also keeps the smallest tag it was added with (4 bytes)."""

    def __init__(self, tagged: bool = False) -> None:
        self._levels: list[tuple[np.ndarray, np.ndarray | None]] = []
        self._tagged = tagged

    def __len__(self) -> int:
        return sum(len(level) for level, _ in self._levels)

    def intersect(self, values: np.ndarray) -> np.ndarray:
        """The members of ``values`` already in the set (sorted, unique)."""
        if not len(values) or not self._levels:
            return _empty()
        ordered = sorted_unique(values.astype(np.uint64, copy=False))
        hits = np.zeros(len(ordered), dtype=bool)
        for level, _ in self._levels:
            hits |= _found(level, ordered)
        return ordered[hits]

    def tags(self, values: np.ndarray) -> np.ndarray:
        """The smallest tag of each of ``values`` (-1 when absent)."""
        values = values.astype(np.uint64, copy=False)
        order = np.argsort(values)
        ordered = values[order]
        best = np.full(len(values), -1, dtype=np.int64)
        for level, tags in self._levels:
            assert tags is not None, "tags() needs a tagged HashSet"
            pos = np.minimum(np.searchsorted(level, ordered), len(level) - 1)
            tag = np.where(level[pos] == ordered, tags[pos].astype(np.int64), -1)
            better = (tag >= 0) & ((best < 0) | (tag < best))
            best[better] = tag[better]
        out = np.empty(len(values), dtype=np.int64)
        out[order] = best
        return out

    def add(self, values: np.ndarray, tag: int = 0) -> None:
        if not len(values):
            return
        level = sorted_unique(values.astype(np.uint64, copy=False))
        tags = np.full(len(level), tag, dtype=np.uint32) if self._tagged else None
        while self._levels and len(self._levels[-1][0]) <= len(level):
            old, old_tags = self._levels.pop()
            merged = np.concatenate([old, level])
            if tags is None or old_tags is None:
                level, tags = sorted_unique(merged), None
                continue
            # Stable sort: the older level comes first, so the first of equal
            # hashes holds the smaller tag (levels are added in tag order).
            order = np.argsort(merged, kind="stable")
            merged, both = merged[order], np.concatenate([old_tags, tags])[order]
            first = _first_of_runs(merged)
            level, tags = merged[first], both[first]
        self._levels.append((level, tags))


def _first_of_runs(ordered: np.ndarray) -> np.ndarray:
    keep = np.empty(len(ordered), dtype=bool)
    if len(ordered):
        keep[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return keep


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy's hash-based unique is slower on uint64)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    return ordered[_first_of_runs(ordered)]
