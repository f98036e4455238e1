"""The blind-spot fold: what ``update`` keeps per batch, and that any split of the
batches and any grouping of their states give what one batch gives."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest

from kmslog.analyses import blind_spots as BS
from kmslog.blindspots import destination, trails
from kmslog.decode import schema as S
from kmslog.decode.memory import frame_from_records

from . import records as R

SOURCES = sorted({trails.SOURCE, destination.CLOUDTRAIL, *destination.CALLS, "kms.amazonaws.com"})
NAMES = sorted(
    {*trails.ACTIONS, *destination.TRAIL_CALLS, *(n for c in destination.CALLS.values() for n in c)}
)


def _grid() -> pl.DataFrame:
    """A record for every event source with every event name (and names none keeps)."""
    recs = []
    for i, (source, name) in enumerate(
        (s, n) for s in SOURCES for n in [*NAMES, "Decrypt", "PutBucketAcl"]
    ):
        rec = R.call(name, R.at(1, i % 60), {"name": "org-trail"})
        recs.append({**rec, "eventSource": source})
    return frame_from_records(recs, source="grid.json")


def test_kept_rows_are_the_full_test_on_every_source_and_name() -> None:
    grid = _grid()
    full = grid.filter(BS.kept_rows()).select(*BS.ROW_COLUMNS)
    got = BS.kept(grid)
    assert got.equals(full)
    # Every name some source keeps, and no other source for it.
    assert set(got[S.EVENT_NAME]) == set(NAMES)
    assert got.height < grid.height


def test_kept_names_cover_every_name_the_full_test_keeps() -> None:
    kept = _grid().filter(BS.kept_rows())
    assert set(kept[S.EVENT_NAME]) <= set(BS.kept_names())


def _h(hours: float) -> datetime:
    return R.at(0) + timedelta(hours=hours)


def _records() -> list[dict[str, Any]]:
    """Trail calls among a steady cadence of other calls over five days, with a
    six-hour hole on the third: a window, an incident and a gap to find."""
    out = [
        R.create(_h(0.1), bucket="audit-logs"),
        R.stop(_h(30)),
        R.start(_h(31)),
        {
            **R.call("DeleteBucket", _h(40), {"bucketName": "audit-logs"}),
            "eventSource": destination.S3,
        },
    ]
    hole = (_h(2 * 24 + 6), _h(2 * 24 + 12))
    t = _h(0)
    while t < _h(5 * 24):
        if not hole[0] <= t < hole[1]:
            out.append({**R.call("Decrypt", t, {}), "eventSource": "kms.amazonaws.com"})
        t += timedelta(minutes=7)
    return out


def _fold(frames: list[pl.DataFrame], rnd: random.Random) -> BS.BlindSpots:
    """Each frame folded from a fresh state, the states then combined pairwise at
    random neighbours, as a pool of workers may."""
    fold = BS.BlindSpotAnalysis()
    states = [fold.update(fold.start(), f) for f in frames]
    while len(states) > 1:
        i = rnd.randrange(len(states) - 1)
        states[i : i + 2] = [fold.combine(states[i], states[i + 1])]
    return fold.finish(states[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_any_split_and_grouping_finds_what_one_batch_finds(seed: int) -> None:
    recs = _records()
    rnd = random.Random(seed)
    rnd.shuffle(recs)
    table = frame_from_records(recs, source="f.json")
    whole = BS.BlindSpotAnalysis()
    one = whole.finish(whole.update(whole.start(), table))
    assert one.windows and one.incidents and one.gaps
    # More batches than partials are left pending, so they are merged on the way too.
    cuts = sorted(rnd.sample(range(1, table.height), 3 * BS.PENDING))
    bounds = [0, *cuts, table.height]
    frames = [table[lo:hi] for lo, hi in zip(bounds, bounds[1:], strict=False)]
    assert _fold(frames, rnd) == one


def test_a_sequential_fold_over_many_batches_finds_what_one_batch_finds() -> None:
    table = frame_from_records(_records(), source="f.json")
    fold = BS.BlindSpotAnalysis()
    one = fold.finish(fold.update(fold.start(), table))
    state = fold.start()
    step = max(1, table.height // (2 * BS.PENDING + 3))
    for lo in range(0, table.height, step):
        state = fold.update(state, table[lo : lo + step])
    assert len(state.arrivals) <= BS.PENDING + 1
    assert fold.finish(state) == one
