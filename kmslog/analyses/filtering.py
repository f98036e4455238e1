"""``kmslog filter``: the records a filter pattern matches, as a fold.

``update`` applies the pattern's polars expression to each frame and keeps the
matching rows' evidence; results are ordered by time, then source and record
index, so they do not depend on how files were split between workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from kmslog.analyses.base import columns_read
from kmslog.decode import schema as S
from kmslog.patterns import FilterPattern

EVIDENCE = (
    S.EVENT_TIME,
    S.EVENT_SOURCE,
    S.EVENT_NAME,
    S.IDENTITY_ARN,
    S.SOURCE_IP,
    S.ERROR_CODE,
    S.AWS_REGION,
    S.SOURCE,
    S.RECORD_INDEX,
    S.RAW,
)
ORDER = (S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX)


@dataclass
class FilterState:
    frames: list[pl.DataFrame] = field(default_factory=list)
    scanned: int = 0


@dataclass(frozen=True)
class FilterResult:
    """Matching records (columns: ``EVIDENCE``) in time order, and how many
    records were tested."""

    matches: pl.DataFrame
    scanned: int


@dataclass(frozen=True)
class FilterAnalysis:
    pattern: FilterPattern
    name: str = "filter"

    @property
    def columns(self) -> frozenset[str] | None:
        """What ``update`` reads: the pattern's columns and the evidence."""
        return columns_read([self.pattern.to_polars(), *(pl.col(c) for c in EVIDENCE)])

    def start(self) -> FilterState:
        return FilterState()

    def update(self, state: FilterState, frame: pl.DataFrame) -> FilterState:
        matched = frame.filter(self.pattern.to_polars()).select(EVIDENCE)
        frames = state.frames + [matched] if matched.height else state.frames
        return FilterState(frames, state.scanned + frame.height)

    def combine(self, a: FilterState, b: FilterState) -> FilterState:
        return FilterState(a.frames + b.frames, a.scanned + b.scanned)

    def finish(self, state: FilterState) -> FilterResult:
        if state.frames:
            matches = pl.concat(state.frames, how="vertical").sort(ORDER)
        else:
            matches = pl.DataFrame(schema={c: _dtype(c) for c in EVIDENCE})
        return FilterResult(matches, state.scanned)


def _dtype(column: str) -> pl.DataType:
    return pl.from_arrow(S.SCHEMA.empty_table().select([column])).schema[column]  # type: ignore[union-attr]
