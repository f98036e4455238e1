"""HashSet (the run's set of kept dedup hashes) against a plain dict."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslog.run.dedup import Earlier, HashSet, _member

# Few distinct values, so batches overlap each other and themselves.
values = st.lists(st.integers(min_value=0, max_value=40), max_size=30)


@settings(max_examples=200, deadline=None)
@given(st.lists(values, max_size=8), values)
def test_intersect_and_tags_match_a_dict(batches: list[list[int]], query: list[int]) -> None:
    hs = HashSet(tagged=True)
    first: dict[int, int] = {}
    for tag, batch in enumerate(batches):
        hs.add(np.array(batch, dtype=np.uint64), tag=tag)
        for v in batch:
            first.setdefault(v, tag)
    q = np.array(query, dtype=np.uint64)
    assert hs.intersect(q).tolist() == sorted({v for v in query if v in first})
    assert hs.tags(q).tolist() == [first.get(v, -1) for v in query]
    assert len(hs) >= len(first)


def test_tags_of_huge_hashes_and_empty_sets() -> None:
    big = np.array([2**64 - 1, 2**63, 1], dtype=np.uint64)
    hs = HashSet(tagged=True)
    assert hs.intersect(big).tolist() == []
    hs.add(big[:2], tag=3)
    hs.add(big[1:], tag=5)
    assert hs.tags(big).tolist() == [3, 3, 5]
    assert hs.intersect(big[::-1]).tolist() == sorted(big.tolist())


@settings(max_examples=200, deadline=None)
@given(values, st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=40)), max_size=30))
def test_member_keeps_row_order(kept: list[int], rows: list[int | None]) -> None:
    earlier = Earlier().extend(np.array(kept, dtype=np.uint64), np.array(kept, dtype=np.uint64))
    series = pl.Series(rows, dtype=pl.UInt64)
    got = _member(earlier.keys, series).to_list()
    # A null row reads as 0 (callers mask nulls out themselves).
    assert got == [(0 if r is None else r) in set(kept) for r in rows]
