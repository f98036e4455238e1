"""Delivery gaps learned from the logs' own cadence.

CloudTrail writes a file per account and Region every few minutes while there is
activity, and AWS services call one another around the clock, so most account-Regions
have records at a steady rhythm. A stretch with none, much longer than the place's
usual silences, means logging was off, files were lost or deleted, or the files of
that time were not given.

The fold's partial is :class:`Arrivals`, built per batch by :func:`arrivals` and
combined by :func:`merge` (associative and commutative: any split and any grouping
give the same value). It keeps, per (account, Region):

* the distinct *minutes* holding a record (epoch minutes): the cadence is learned at
  minute resolution, and the count is bounded (at most 525,600 a year per
  account-Region), whatever the number of records or files;
* per occupied *hour*, the earliest and the latest record's time and file. A gap is
  at least :data:`FLOOR_SECONDS` (an hour) long, so the last record before it is the
  last record of its hour and the first after it the first of its hour: the exact
  edges and the files that hold them come from these, at an eighth of the minutes'
  count and without keeping a file name per minute or per record.

Per-file (first, last) spans were the alternative: they name files directly, but their
number grows with the traffic (CloudTrail splits busy periods into many files) and
each keeps a long path, while minutes and hours stay bounded.

:func:`gaps` then finds, per account-Region, the silences longer than
``max(FACTOR × usual, FLOOR_SECONDS)``; :func:`missing_regions` names account-Regions
absent while other accounts have records there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from kmslog.blindspots.model import Gap
from kmslog.decode import schema as S

# The usual silence is the median, over the days of the logs, of each day's longest
# silence between records (a silence belongs to the day it starts). A high quantile
# of all spacings would flag every night of a quiet account (its many short daytime
# spacings outvote the one long night), and a time-weighted one lets a long gap in
# short logs hide itself; the median of daily longest silences is what a normal day
# looks like and shrugs off a few odd days.
FACTOR = 4.0  # a silence four times a normal day's longest is not a normal day
# Records carry the time of the call, not of delivery, so what the floor guards against
# is quiet spells: below an hour, a small account's lulls would make noise (CloudTrail
# itself publishes files about every 5 minutes while there is activity). The hour is
# also what lets the edges come from hourly summaries.
FLOOR_SECONDS = 3600.0
# Fewer days of silences than this teach no cadence (the median of one or two days is
# one of them, possibly the gap itself): such account-Regions are skipped.
MIN_DAYS = 3

KEYS = ("account", "region")
_TIME: pl.DataType = pl.Datetime("ms", "UTC")
MINUTES_SCHEMA = pl.Schema({"account": pl.String, "region": pl.String, "minute": pl.Int64})
HOURS_SCHEMA = pl.Schema(
    {
        "account": pl.String(),
        "region": pl.String(),
        "hour": pl.Int64(),
        "first_time": _TIME,
        "first_source": pl.String(),
        "last_time": _TIME,
        "last_source": pl.String(),
    }
)


@dataclass(frozen=True, eq=False)
class Arrivals:
    """Where and when records were seen: a mergeable partial (see the module doc).

    ``minutes``: account, region, minute (epoch minutes), distinct and sorted;
    ``hours``: account, region, hour (epoch hours), first_time, first_source,
    last_time, last_source, one row per occupied hour, sorted.
    """

    minutes: pl.DataFrame
    hours: pl.DataFrame

    @classmethod
    def empty(cls) -> Arrivals:
        return cls(pl.DataFrame(schema=MINUTES_SCHEMA), pl.DataFrame(schema=HOURS_SCHEMA))

    def equals(self, other: Arrivals) -> bool:
        return self.minutes.equals(other.minutes) and self.hours.equals(other.hours)

    def places(self) -> list[tuple[str, str]]:
        """The (account, Region) pairs with records, sorted."""
        unique = self.minutes.select(KEYS).unique().sort(KEYS)
        return list(unique.iter_rows())


def _edges(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """One row per ``keys``: the earliest time and its file, the latest and its file.
    Ties on time go to the smallest (first) and largest (last) file name, a named file
    before none (``min`` and ``max`` skip nulls), so the answer does not depend on row
    order, and edges of edges are the edges of the whole."""
    first, last = pl.col("first_time"), pl.col("last_time")
    return frame.group_by(keys).agg(
        first.min(),
        pl.col("first_source").filter(first == first.min()).min(),
        last.max(),
        pl.col("last_source").filter(last == last.max()).max(),
    )


def _summarise_hours(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (account, region, hour) of ``frame``'s edges (:func:`_edges`), sorted."""
    return _edges(frame, [*KEYS, "hour"]).select(HOURS_SCHEMA.names()).sort([*KEYS, "hour"])


def arrivals(frame: pl.DataFrame) -> Arrivals:
    """The partial of one batch, from its recipient_account_id, aws_region,
    event_time and source columns. Rows without an account, a Region or a time cannot
    be placed and are left out."""
    placed = frame.select(
        pl.col(S.RECIPIENT_ACCOUNT_ID).cast(pl.String).alias("account"),
        pl.col(S.AWS_REGION).cast(pl.String).alias("region"),
        pl.col(S.EVENT_TIME).cast(_TIME).alias("time"),
        pl.col(S.SOURCE).cast(pl.String).alias("source"),
    ).drop_nulls(["account", "region", "time"])
    seconds = pl.col("time").dt.epoch("s")
    # The edges of each minute first: a batch holds far fewer occupied minutes than
    # records, and the hours' edges are the edges of their minutes' edges.
    by_minute = _edges(
        placed.select(
            *KEYS,
            (seconds // 60).alias("minute"),
            pl.col("time").alias("first_time"),
            pl.col("source").alias("first_source"),
            pl.col("time").alias("last_time"),
            pl.col("source").alias("last_source"),
        ),
        [*KEYS, "minute"],
    )
    minutes = by_minute.select(*KEYS, "minute").sort([*KEYS, "minute"])
    hours = _summarise_hours(by_minute.with_columns((pl.col("minute") // 60).alias("hour")))
    return Arrivals(minutes.cast(MINUTES_SCHEMA), hours.cast(HOURS_SCHEMA))


def merge(a: Arrivals, b: Arrivals) -> Arrivals:
    """Both partials as one, equal to the partial of both batches together."""
    return merge_all((a, b))


def merge_all(parts: Sequence[Arrivals]) -> Arrivals:
    """All partials as one, as :func:`merge` would fold them, in one pass (a merge
    costs a fixed amount per call, whatever the partials' sizes)."""
    if not parts:
        return Arrivals.empty()
    if len(parts) == 1:
        return parts[0]
    minutes = pl.concat([p.minutes for p in parts]).unique().sort([*KEYS, "minute"])
    hours = _summarise_hours(pl.concat([p.hours for p in parts]))
    return Arrivals(minutes, hours)


def usual_silences(found: Arrivals, min_days: int = MIN_DAYS) -> pl.DataFrame:
    """Per account-Region with at least ``min_days`` days of silences: ``usual``, the
    median of each day's longest silence between occupied minutes, in seconds."""
    spacings = _spacings(found)
    daily = spacings.group_by([*KEYS, "day"]).agg(pl.col("spacing").max().alias("longest"))
    return (
        daily.group_by(KEYS)
        .agg(pl.col("longest").median().alias("usual"), pl.len().alias("days"))
        .filter(pl.col("days") >= min_days)
        .sort(KEYS)
    )


def _spacings(found: Arrivals) -> pl.DataFrame:
    ordered = found.minutes.sort([*KEYS, "minute"])
    return (
        ordered.with_columns(pl.col("minute").shift(1).over(KEYS).alias("prev"))
        .drop_nulls("prev")
        .with_columns(
            ((pl.col("minute") - pl.col("prev")) * 60).alias("spacing"),
            (pl.col("prev") // 1440).alias("day"),
        )
    )


def gaps(
    found: Arrivals,
    *,
    factor: float = FACTOR,
    floor: float = FLOOR_SECONDS,
    min_days: int = MIN_DAYS,
) -> list[Gap]:
    """The silences longer than ``max(factor × usual, floor)`` seconds, per account and
    Region, sorted by account, Region and start. ``start`` and ``end`` are the exact
    times of the last record before and the first after (``before`` / ``after`` their
    files); ``usual`` is :func:`usual_silences`' value. Account-Regions with fewer than
    ``min_days`` days of silences are skipped: they teach no cadence. A silence before
    the first or after the last record is no gap (the logs given may simply start or
    end there). ``floor`` must be at least an hour (see the module doc)."""
    if floor < 3600:
        raise ValueError("the floor of a gap must be at least an hour (3600 seconds)")
    usual = usual_silences(found, min_days)
    if usual.is_empty():
        return []
    limit = pl.max_horizontal(pl.col("usual") * factor, pl.lit(float(floor)))
    # A silence between records in minutes m1 < m2 is at most (m2 - m1 + 1) minutes.
    candidates = (
        _spacings(found)
        .join(usual, on=list(KEYS))
        .with_columns(limit.alias("limit"))
        .filter(pl.col("spacing") + 60 > pl.col("limit"))
        .with_columns(
            (pl.col("prev") // 60).alias("hour_before"),
            (pl.col("minute") // 60).alias("hour_after"),
        )
    )
    hours = found.hours
    edges = candidates.join(
        hours.select(*KEYS, pl.col("hour").alias("hour_before"), "last_time", "last_source"),
        on=[*KEYS, "hour_before"],
    ).join(
        hours.select(*KEYS, pl.col("hour").alias("hour_after"), "first_time", "first_source"),
        on=[*KEYS, "hour_after"],
    )
    silent = (pl.col("first_time") - pl.col("last_time")).dt.total_milliseconds() / 1000
    kept = edges.filter(silent > pl.col("limit")).sort([*KEYS, "last_time"])
    return [
        Gap(
            account=row["account"],
            region=row["region"],
            start=row["last_time"],
            end=row["first_time"],
            usual=float(row["usual"]),
            before=row["last_source"],
            after=row["first_source"],
        )
        for row in kept.iter_rows(named=True)
    ]


def missing_regions(found: Arrivals) -> list[tuple[str, str]]:
    """(account, Region) pairs, sorted, where the Region has records of other accounts
    but none of this one. Empty with fewer than two accounts, where nothing compares."""
    places = set(found.places())
    accounts = {account for account, _ in places}
    if len(accounts) < 2:
        return []
    regions = {region for _, region in places}
    return sorted((a, r) for a in accounts for r in regions if (a, r) not in places)
