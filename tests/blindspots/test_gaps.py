"""Delivery gaps from the logs' cadence: found and not found for regular and
irregular rhythms, the partial's merge independent of split and grouping, and
Regions an account lacks."""

from __future__ import annotations

import itertools
import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslog.blindspots import gaps as G
from kmslog.decode import schema as S
from kmslog.decode.memory import frame_from_records

T0 = datetime(2024, 3, 4, tzinfo=UTC)
A, B = "111122223333", "444455556666"


def _shared() -> Path:
    root = os.environ.get("KMSLOG_SHARED")
    if root:
        return Path(root)
    return Path(__file__).resolve().parents[2] / ".." / "shared"


EXTERNAL = _shared() / "external"


def frame(
    times: list[datetime],
    account: str = A,
    region: str = "us-east-1",
    sources: list[str | None] | None = None,
) -> pl.DataFrame:
    """The four columns arrivals reads, typed as the event table types them."""
    names = sources if sources is not None else [_file(t, account, region) for t in times]
    return pl.DataFrame(
        {
            S.RECIPIENT_ACCOUNT_ID: [account] * len(times),
            S.AWS_REGION: [region] * len(times),
            S.EVENT_TIME: times,
            S.SOURCE: names,
        },
        schema={
            S.RECIPIENT_ACCOUNT_ID: pl.String,
            S.AWS_REGION: pl.String,
            S.EVENT_TIME: pl.Datetime("ms", "UTC"),
            S.SOURCE: pl.String,
        },
    )


def _file(t: datetime, account: str, region: str) -> str:
    # CloudTrail names a file after the 5-minute period it was written in.
    stamp = t.replace(minute=t.minute - t.minute % 5, second=0).strftime("%Y%m%dT%H%MZ")
    return f"AWSLogs/{account}/CloudTrail/{region}/{account}_CloudTrail_{region}_{stamp}_x.json.gz"


def every(step: timedelta, days: int = 5, skip: tuple[datetime, datetime] | None = None) -> list:
    out, t = [], T0
    while t < T0 + timedelta(days=days):
        if skip is None or not (skip[0] <= t < skip[1]):
            out.append(t)
        t += step
    return out


def gaps_of(*frames: pl.DataFrame, **kw: float) -> list[G.Gap]:
    return G.gaps(G.arrivals(pl.concat(frames)), **kw)  # type: ignore[arg-type]


# --- regular cadence ----------------------------------------------------------------


def test_regular_cadence_without_hole_has_no_gap() -> None:
    assert gaps_of(frame(every(timedelta(minutes=5)))) == []


def test_hole_in_a_regular_cadence_is_a_gap_with_exact_edges_and_files() -> None:
    hole = (T0 + timedelta(days=2, hours=1), T0 + timedelta(days=2, hours=4))
    times = every(timedelta(minutes=5), skip=hole)
    (gap,) = gaps_of(frame(times))
    last = max(t for t in times if t < hole[0])
    first = min(t for t in times if t >= hole[1])
    assert (gap.account, gap.region) == (A, "us-east-1")
    assert (gap.start, gap.end) == (last, first)
    assert gap.usual == 300.0  # a normal day's longest silence: one 5-minute step
    assert gap.before == _file(last, A, "us-east-1")
    assert gap.after == _file(first, A, "us-east-1")


def test_the_floor_keeps_short_lulls_out() -> None:
    short = (T0 + timedelta(days=2), T0 + timedelta(days=2, minutes=45))
    assert gaps_of(frame(every(timedelta(minutes=5), skip=short))) == []
    longer = (T0 + timedelta(days=2), T0 + timedelta(days=2, minutes=70))
    (gap,) = gaps_of(frame(every(timedelta(minutes=5), skip=longer)))
    assert (gap.end - gap.start).total_seconds() > G.FLOOR_SECONDS
    # A larger floor hides it; a floor under an hour is refused.
    assert gaps_of(frame(every(timedelta(minutes=5), skip=longer)), floor=7200) == []
    with pytest.raises(ValueError):
        gaps_of(frame(every(timedelta(minutes=5))), floor=600)


def test_seconds_decide_at_the_threshold() -> None:
    # Records at :00:59 and 61 minutes later at :01:00 of the next hour but one: the
    # minutes are 61 apart, the silence just over an hour; 1 s less is no gap.
    base = every(timedelta(minutes=5), days=4)
    cut = T0 + timedelta(days=2)
    kept = [t for t in base if not (cut <= t <= cut + timedelta(hours=1, minutes=5))]
    edge = [cut + timedelta(seconds=59), cut + timedelta(hours=1, seconds=60)]
    (gap,) = gaps_of(frame(sorted(kept + edge)))
    assert (gap.start, gap.end) == (edge[0], edge[1])
    edge[1] -= timedelta(seconds=2)
    assert gaps_of(frame(sorted(kept + edge))) == []


def test_gaps_are_per_account_and_region() -> None:
    hole = (T0 + timedelta(days=3), T0 + timedelta(days=3, hours=6))
    steady = every(timedelta(minutes=5))
    found = gaps_of(
        frame(every(timedelta(minutes=5), skip=hole), A, "eu-west-1"),
        frame(steady, A, "us-east-1"),  # another Region of A fills nothing
        frame(steady, B, "eu-west-1"),  # nor does another account in the Region
    )
    assert [(g.account, g.region) for g in found] == [(A, "eu-west-1")]


def test_too_few_days_teach_no_cadence() -> None:
    hole = (T0 + timedelta(hours=20), T0 + timedelta(hours=30))
    times = every(timedelta(minutes=5), days=2, skip=hole)
    arr = G.arrivals(frame(times))
    assert G.usual_silences(arr).is_empty()
    assert G.gaps(arr) == []
    # Two days do give a median, but the gap itself is half of it.
    assert G.usual_silences(arr, min_days=2)["usual"].to_list() == [(10 * 3600 + 300 + 300) / 2]


# --- irregular cadence --------------------------------------------------------------


def workdays(days: int, rng: random.Random, *, skip_days: tuple[int, ...] = ()) -> list:
    """A quiet account: calls at random between 08:00 and 18:00, none at night."""
    out = []
    for day in range(days):
        if day in skip_days:
            continue
        start = T0 + timedelta(days=day, hours=8)
        t = start
        while t < start + timedelta(hours=10):
            out.append(t)
            t += timedelta(seconds=rng.randint(60, 3 * 3600))
    return out


def test_nights_of_a_quiet_account_are_no_gaps() -> None:
    rng = random.Random(7)
    times = workdays(10, rng)
    arr = G.arrivals(frame(times))
    (usual,) = G.usual_silences(arr)["usual"].to_list()
    assert usual >= 14 * 3600  # the night is a normal day's longest silence
    assert G.gaps(arr) == []


def test_a_quiet_account_silent_for_days_has_a_gap() -> None:
    rng = random.Random(11)
    times = workdays(14, rng, skip_days=(6, 7, 8))
    (gap,) = G.gaps(G.arrivals(frame(times)))
    assert gap.start < T0 + timedelta(days=6) and gap.end > T0 + timedelta(days=9)
    assert gap.start == max(t for t in times if t < T0 + timedelta(days=6))
    assert gap.end == min(t for t in times if t > T0 + timedelta(days=6))


def test_bursty_busy_cadence_flags_only_the_long_outage() -> None:
    rng = random.Random(3)
    times, t = [], T0
    end = T0 + timedelta(days=6)
    outage = (T0 + timedelta(days=4), T0 + timedelta(days=4, hours=5))
    while t < end:
        if not (outage[0] <= t < outage[1]):
            times.append(t)
        t += timedelta(seconds=rng.choice([1, 5, 30, 120, 600, 1500]))
    (gap,) = gaps_of(frame(times))
    assert outage[0] - timedelta(hours=1) < gap.start < outage[0] <= outage[1] <= gap.end


# --- the partial --------------------------------------------------------------------

_accounts = st.sampled_from([A, B])
_regions = st.sampled_from(["us-east-1", "eu-west-1"])
_sources = st.sampled_from(["a.json.gz", "b.json.gz", "c.json.gz", None])
_offsets = st.integers(min_value=0, max_value=4 * 86400)
_row = st.tuples(_accounts, _regions, _offsets, _sources)


def _frame_of(rows: list[tuple[str, str, int, str | None]]) -> pl.DataFrame:
    parts = [frame([T0 + timedelta(seconds=o)], a, r, [s]) for a, r, o, s in rows]
    return pl.concat(parts) if parts else frame([])


def _merge_tree(parts: list[G.Arrivals], shape: list[int]) -> G.Arrivals:
    """Merge neighbours pairwise, at positions the draw picks, until one is left."""
    parts = list(parts)
    while len(parts) > 1:
        i = shape.pop() % (len(parts) - 1) if shape else 0
        parts[i : i + 2] = [G.merge(parts[i], parts[i + 1])]
    return parts[0] if parts else G.Arrivals.empty()


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(_row, max_size=40),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=5),
    shape=st.lists(st.integers(min_value=0, max_value=10), max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_merging_split_partials_in_any_grouping_equals_the_whole(
    rows: list[tuple[str, str, int, str | None]],
    cuts: list[int],
    shape: list[int],
    order: random.Random,
) -> None:
    whole = G.arrivals(_frame_of(rows))
    bounds = sorted({0, len(rows), *(c % (len(rows) + 1) for c in cuts)})
    parts = [G.arrivals(_frame_of(rows[lo:hi])) for lo, hi in itertools.pairwise(bounds)]
    order.shuffle(parts)
    merged = _merge_tree(parts, shape)
    assert merged.equals(whole)
    assert G.merge_all(parts).equals(whole)
    assert G.merge(whole, G.Arrivals.empty()).equals(whole)
    assert G.merge(whole, whole).equals(whole)


def test_edges_prefer_named_files_and_tie_on_name() -> None:
    t = T0 + timedelta(hours=1, minutes=10)
    arr = G.arrivals(frame([t, t, t], sources=["b.json.gz", None, "a.json.gz"]))
    (hour,) = arr.hours.iter_rows(named=True)
    assert (hour["first_source"], hour["last_source"]) == ("a.json.gz", "b.json.gz")
    assert hour["first_time"] == hour["last_time"] == t


def test_arrivals_from_the_event_table_leave_unplaceable_rows_out() -> None:
    base = {"eventVersion": "1.09", "eventSource": "kms.amazonaws.com", "eventName": "Decrypt"}
    records = [
        {**base, "eventTime": "2024-03-04T10:00:01Z", "awsRegion": "us-east-1",
         "recipientAccountId": A},
        {**base, "eventTime": "2024-03-04T10:00:59Z", "awsRegion": "us-east-1",
         "recipientAccountId": A},
        {**base, "eventTime": "2024-03-04T11:00:00Z", "recipientAccountId": A},
    ]  # fmt: skip
    arr = G.arrivals(frame_from_records(records, source="f.json"))
    assert arr.places() == [(A, "us-east-1")]
    assert arr.minutes["minute"].to_list() == [int(T0.timestamp()) // 60 + 600]
    (hour,) = arr.hours.iter_rows(named=True)
    assert hour["first_time"] == T0 + timedelta(hours=10, seconds=1)
    assert hour["last_time"] == T0 + timedelta(hours=10, seconds=59)


# --- missing Regions ----------------------------------------------------------------


def test_missing_regions_need_two_accounts() -> None:
    one = [T0, T0 + timedelta(hours=1)]
    arr = G.arrivals(
        pl.concat(
            [
                frame(one, A, "us-east-1"),
                frame(one, A, "eu-west-1"),
                frame(one, B, "us-east-1"),
                frame(one, B, "ap-south-1"),
            ]
        )
    )
    assert G.missing_regions(arr) == [(A, "ap-south-1"), (B, "eu-west-1")]
    alone = G.arrivals(pl.concat([frame(one, A, "us-east-1"), frame(one, A, "eu-west-1")]))
    assert G.missing_regions(alone) == []
    assert G.missing_regions(G.Arrivals.empty()) == []


# --- real records -------------------------------------------------------------------


def test_real_logs_merge_per_file_into_the_whole() -> None:
    folder = EXTERNAL / "stratus-red-team-detonation-logs" / "docs" / "detonation-logs"
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        pytest.skip("stratus-red-team detonation logs are not in shared/external")
    frames = []
    for path in files:
        records = json.loads(path.read_text())
        records = [r for r in records if isinstance(r, dict) and r.get("eventTime")]
        if records:
            frames.append(frame_from_records(records, source=path.name))
    merged = G.Arrivals.empty()
    for f in reversed(frames):
        merged = G.merge(merged, G.arrivals(f))
    whole = G.arrivals(pl.concat(frames, how="vertical_relaxed"))
    assert merged.equals(whole)
    assert len(whole.places()) >= 1
    # Each hour's edges are records of the hour, named by the file that holds them.
    names = {p.name for p in files}
    assert set(whole.hours["first_source"].drop_nulls().to_list()) <= names
