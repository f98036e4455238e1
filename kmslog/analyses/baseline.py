"""Learning a baseline profile as a fold.

The partial state is daily aggregates only (never events), so memory grows with the
number of distinct (feature, value, day) combinations, not with the corpus size.
Partials are compacted whenever the uncompacted tail outgrows the compacted part.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from kmslog.baseline import features as F
from kmslog.baseline.profile import Profile
from kmslog.decode import schema as S

_MIN_COMPACT_ROWS = 50_000
# Frames are buffered (slimmed) up to this many rows before features are extracted:
# on file-sized frames, query overhead would cost more than the work.
FLUSH_ROWS = 10_000


@dataclass
class LearnState:
    obs: list[pl.DataFrame] = field(default_factory=list)
    series: list[pl.DataFrame] = field(default_factory=list)
    compacted_rows: int = 0
    pending_rows: int = 0
    start: datetime | None = None
    end: datetime | None = None
    events: int = 0
    buffer: list[pl.DataFrame] = field(default_factory=list)
    buffer_rows: int = 0


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


# Long repeated strings (ARNs) are held as categoricals while learning: the state is
# many rows over few distinct entities, and this keeps it a fraction of the size.
_INTERNED_OBS = {"dim": pl.Categorical(), "e1": pl.Categorical(), "e2": pl.Categorical()}
_INTERNED_OBS["value"] = pl.Categorical()
_INTERNED_SERIES = {"series": pl.Categorical(), "entity": pl.Categorical()}


def _plain(frame: pl.DataFrame, columns: Mapping[str, pl.DataType]) -> pl.DataFrame:
    return frame.cast(dict.fromkeys(columns, pl.String()))


def _flush(state: LearnState) -> LearnState:
    if state.buffer:
        obs, ser = F.extract(pl.concat(state.buffer, how="vertical_relaxed"))
        state.obs.append(obs.cast(_INTERNED_OBS))  # type: ignore[arg-type]
        state.series.append(ser.cast(_INTERNED_SERIES))  # type: ignore[arg-type]
        state.pending_rows += obs.height + ser.height
        state.buffer = []
        state.buffer_rows = 0
    if state.pending_rows > max(_MIN_COMPACT_ROWS, state.compacted_rows):
        _compact(state)
    return state


def _compact(state: LearnState) -> LearnState:
    obs = (
        F.compact_observations(pl.concat(state.obs))
        if state.obs
        else F.empty_observations().cast(_INTERNED_OBS)  # type: ignore[arg-type]
    )
    ser = (
        F.compact_series(pl.concat(state.series))
        if state.series
        else F.empty_series().cast(_INTERNED_SERIES)  # type: ignore[arg-type]
    )
    state.obs = [obs]
    state.series = [ser]
    state.compacted_rows = obs.height + ser.height
    state.pending_rows = 0
    return state


@dataclass(frozen=True)
class BaselineLearner:
    """Fold that learns a :class:`Profile` from event frames."""

    name: str = "baseline"
    sources: tuple[str, ...] = ()

    def start(self) -> LearnState:
        return LearnState()

    def update(self, state: LearnState, frame: pl.DataFrame) -> LearnState:
        if not frame.height:
            return state
        state.buffer.append(F.slim(frame))
        state.buffer_rows += frame.height
        times = frame.get_column(S.EVENT_TIME)
        state.start = _min(state.start, times.min())  # type: ignore[arg-type]
        state.end = _max(state.end, times.max())  # type: ignore[arg-type]
        state.events += frame.height
        if state.buffer_rows >= FLUSH_ROWS:
            _flush(state)
        return state

    def combine(self, a: LearnState, b: LearnState) -> LearnState:
        merged = LearnState(
            obs=[*a.obs, *b.obs],
            series=[*a.series, *b.series],
            compacted_rows=a.compacted_rows + b.compacted_rows,
            pending_rows=a.pending_rows + b.pending_rows,
            start=_min(a.start, b.start),
            end=_max(a.end, b.end),
            events=a.events + b.events,
            buffer=[*a.buffer, *b.buffer],
            buffer_rows=a.buffer_rows + b.buffer_rows,
        )
        if merged.buffer_rows >= FLUSH_ROWS:
            _flush(merged)
        elif merged.pending_rows > max(_MIN_COMPACT_ROWS, merged.compacted_rows):
            _compact(merged)
        return merged

    def finish(self, state: LearnState) -> Profile:
        _flush(state)
        _compact(state)
        return Profile(
            _plain(state.obs[0], _INTERNED_OBS),
            _plain(state.series[0], _INTERNED_SERIES),
            state.start,
            state.end,
            state.events,
            list(self.sources),
        )
