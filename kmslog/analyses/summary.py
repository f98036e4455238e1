"""The scan summary as a fold: record count, time span, and counts by account,
region, event source and KMS event name (with how many of those failed)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import polars as pl

from kmslog.decode import schema as S

KMS_SOURCE = "kms.amazonaws.com"


@dataclass
class SummaryState:
    records: int = 0
    first: datetime | None = None
    last: datetime | None = None
    accounts: Counter[str | None] = field(default_factory=Counter)
    regions: Counter[str | None] = field(default_factory=Counter)
    sources: Counter[str | None] = field(default_factory=Counter)
    kms_events: Counter[str | None] = field(default_factory=Counter)
    kms_errors: Counter[str | None] = field(default_factory=Counter)


@dataclass(frozen=True)
class Summary:
    """Counts are (value, count) pairs, most frequent first, ties by value;
    a None value means the field was absent or not a string."""

    records: int
    first: datetime | None
    last: datetime | None
    accounts: list[tuple[str | None, int]]
    regions: list[tuple[str | None, int]]
    sources: list[tuple[str | None, int]]
    kms_events: list[tuple[str | None, int, int]]  # (eventName, calls, of which errors)


def _ordered(counter: Counter[str | None]) -> list[tuple[str | None, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or ""))


def earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True)
class SummaryAnalysis:
    name: str = "summary"
    columns: ClassVar[frozenset[str]] = frozenset(
        {
            S.RECIPIENT_ACCOUNT_ID,
            S.AWS_REGION,
            S.EVENT_SOURCE,
            S.EVENT_NAME,
            S.ERROR_CODE,
            S.EVENT_TIME,
        }
    )

    def start(self) -> SummaryState:
        return SummaryState()

    def update(self, state: SummaryState, frame: pl.DataFrame) -> SummaryState:
        if not frame.height:
            return state
        # One grouping over every dimension at once, split into the counters in
        # Python (a few hundred groups at most), instead of one query per counter.
        kms = pl.col(S.EVENT_SOURCE) == KMS_SOURCE
        groups = frame.group_by(
            S.RECIPIENT_ACCOUNT_ID,
            S.AWS_REGION,
            S.EVENT_SOURCE,
            pl.when(kms).then(pl.col(S.EVENT_NAME)).alias("kms_name"),
            (kms & pl.col(S.ERROR_CODE).is_not_null()).alias("kms_error"),
        ).agg(
            pl.len().alias("n"),
            pl.col(S.EVENT_TIME).min().alias("first"),
            pl.col(S.EVENT_TIME).max().alias("last"),
        )
        part = SummaryState(records=frame.height)
        for account, region, source, name, error, n, first, last in groups.iter_rows():
            part.accounts[account] += n
            part.regions[region] += n
            part.sources[source] += n
            if source == KMS_SOURCE:
                part.kms_events[name] += n
                if error:
                    part.kms_errors[name] += n
            part.first = earliest(part.first, first)
            part.last = latest(part.last, last)
        return self.combine(state, part)

    def combine(self, a: SummaryState, b: SummaryState) -> SummaryState:
        return SummaryState(
            records=a.records + b.records,
            first=earliest(a.first, b.first),
            last=latest(a.last, b.last),
            accounts=a.accounts + b.accounts,
            regions=a.regions + b.regions,
            sources=a.sources + b.sources,
            kms_events=a.kms_events + b.kms_events,
            kms_errors=a.kms_errors + b.kms_errors,
        )

    def finish(self, state: SummaryState) -> Summary:
        return Summary(
            records=state.records,
            first=state.first,
            last=state.last,
            accounts=_ordered(state.accounts),
            regions=_ordered(state.regions),
            sources=_ordered(state.sources),
            kms_events=[
                (name, calls, state.kms_errors.get(name, 0))
                for name, calls in _ordered(state.kms_events)
            ],
        )
