"""Duplicate detection for CloudTrail records.

The key is (recipientAccountId, eventID): CloudTrail may deliver the same event
twice with the same ``eventID``, while the two copies of a cross-account call
share ``sharedEventID`` but differ in ``recipientAccountId`` and ``eventID``.
Records without an ``eventID`` are never duplicates.

Keys travel as 64-bit hashes (polars' hash with fixed seeds, identical in every
worker process of one installation), so a duplicate costs 8 bytes to remember.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from kmslog.decode import schema as S

_SEED = 0x6B6D736C6F67
HASH = "__dedup_hash"
# What the key reads (the decoder must build them whatever the analyses need).
KEY_COLUMNS = frozenset({S.RECIPIENT_ACCOUNT_ID, S.EVENT_ID})


def key_hash() -> pl.Expr:
    """UInt64 hash of the dedup key; null when the record has no eventID."""
    key = pl.concat_str(
        [pl.col(S.RECIPIENT_ACCOUNT_ID).fill_null(""), pl.col(S.EVENT_ID)], separator="\x00"
    )
    return pl.when(pl.col(S.EVENT_ID).is_not_null()).then(key.hash(_SEED)).otherwise(None)


def drop_duplicates(
    frame: pl.DataFrame, earlier: np.ndarray
) -> tuple[pl.DataFrame, np.ndarray, int]:
    """Rows of ``frame`` whose key is neither in ``earlier`` (sorted hashes) nor on
    an earlier row; the hashes of the kept keyed rows; how many were dropped."""
    hashes = frame.select(key_hash().alias(HASH)).to_series()
    keyed = hashes.is_not_null()
    repeat = keyed & ~hashes.is_first_distinct()
    if len(earlier):
        values = hashes.fill_null(0).to_numpy()
        pos = np.searchsorted(earlier, values)
        pos[pos == len(earlier)] = 0
        seen_before = pl.Series(earlier[pos] == values) & keyed
        repeat = repeat | seen_before
    dropped = int(repeat.sum())
    keep = ~repeat
    kept_hashes = hashes.filter(keep & keyed).to_numpy().astype(np.uint64, copy=False)
    if dropped:
        frame = frame.filter(keep)
    return frame, kept_hashes, dropped


class HashSet:
    """A growing set of uint64 hashes kept as a few sorted arrays of doubling
    sizes (a log-structured merge): 8 bytes per key, O(log n) lookups."""

    def __init__(self) -> None:
        self._levels: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(level) for level in self._levels)

    def intersect(self, values: np.ndarray) -> np.ndarray:
        """The members of ``values`` already in the set (sorted, unique)."""
        if not len(values) or not self._levels:
            return np.empty(0, dtype=np.uint64)
        hits = np.zeros(len(values), dtype=bool)
        for level in self._levels:
            pos = np.searchsorted(level, values)
            pos[pos == len(level)] = 0
            hits |= level[pos] == values
        return sorted_unique(values[hits])

    def add(self, values: np.ndarray) -> None:
        if not len(values):
            return
        level = sorted_unique(values.astype(np.uint64, copy=False))
        while self._levels and len(self._levels[-1]) <= len(level):
            level = sorted_unique(np.concatenate([self._levels.pop(), level]))
        self._levels.append(level)


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by sorting (numpy's hash-based unique is slower on uint64)."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]
