"""Anomaly scoring as a fold: aggregate the scan window, then compare with a profile.

The partial state holds the window's daily observations and hourly series with a
capped, deterministic sample of event ids (the earliest by time, then id), so the
result does not depend on how the files were split between workers. All comparison
happens in ``finish``, against the part of the profile before the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import polars as pl

from kmslog.baseline import features as F
from kmslog.baseline.detect import Window, detect
from kmslog.baseline.findings import Finding
from kmslog.baseline.profile import Profile
from kmslog.baseline.thresholds import Thresholds
from kmslog.decode import schema as S

_MIN_COMPACT_ROWS = 50_000
FLUSH_ROWS = 40_000


@dataclass
class AnomalyResult:
    findings: list[Finding]
    cutoff: date | None
    baseline_start: datetime | None
    baseline_days: int
    window_events: int

    @property
    def note(self) -> str | None:
        if self.baseline_days == 0:
            return "the profile has no history before the scanned window: nothing to compare"
        return None

    def to_dict(self) -> dict[str, object]:
        return {
            "note": self.note,
            "baseline_cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "baseline_start": self.baseline_start.isoformat() if self.baseline_start else None,
            "baseline_days": self.baseline_days,
            "window_events": self.window_events,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class WindowState:
    obs: list[pl.DataFrame] = field(default_factory=list)
    series: list[pl.DataFrame] = field(default_factory=list)
    compacted_rows: int = 0
    pending_rows: int = 0
    first: datetime | None = None
    events: int = 0
    buffer: list[pl.DataFrame] = field(default_factory=list)
    buffer_rows: int = 0


def _flush(state: WindowState, cap: int) -> WindowState:
    if state.buffer:
        obs, ser = F.extract(pl.concat(state.buffer, how="vertical_relaxed"), sample_cap=cap)
        state.obs.append(obs)
        state.series.append(ser)
        state.pending_rows += obs.height + ser.height
        state.buffer = []
        state.buffer_rows = 0
    if state.pending_rows > max(_MIN_COMPACT_ROWS, state.compacted_rows):
        _compact(state, cap)
    return state


def _compact(state: WindowState, cap: int) -> WindowState:
    if state.obs:
        state.obs = [
            pl.concat(state.obs)
            .group_by("dim", "e1", "e2", "value", "day")
            .agg(
                pl.col("count").sum(),
                pl.col("first").min(),
                pl.col("last").max(),
                pl.col("samples").explode().drop_nulls().sort().head(cap),
            )
        ]
    if state.series:
        state.series = [
            pl.concat(state.series)
            .group_by("series", "entity", "day", "hour")
            .agg(
                pl.col("calls").sum(),
                pl.col("errors").sum(),
                pl.col("first").min(),
                pl.col("last").max(),
                pl.col("samples").explode().drop_nulls().sort().head(cap),
                pl.col("error_samples").explode().drop_nulls().sort().head(cap),
            )
        ]
    state.compacted_rows = sum(f.height for f in (*state.obs, *state.series))
    state.pending_rows = 0
    return state


@dataclass(frozen=True)
class AnomalyScan:
    """Fold producing an :class:`AnomalyResult` for the scanned window."""

    profile: Profile | None
    since: datetime | None = None
    until: datetime | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    name: str = "anomalies"

    def __getstate__(self) -> dict[str, object]:
        # Workers only aggregate the window (start/update/combine); the comparison in
        # ``finish`` runs on the parent's instance. Not shipping the profile with every
        # per-file task keeps parallel scans from pickling it thousands of times.
        state = dict(self.__dict__)
        state["profile"] = None
        return state

    def start(self) -> WindowState:
        return WindowState()

    def update(self, state: WindowState, frame: pl.DataFrame) -> WindowState:
        if self.since is not None:
            frame = frame.filter(pl.col(S.EVENT_TIME) >= self.since)
        if self.until is not None:
            frame = frame.filter(pl.col(S.EVENT_TIME) <= self.until)
        if not frame.height:
            return state
        state.buffer.append(F.slim(frame))
        state.buffer_rows += frame.height
        lo = frame.get_column(S.EVENT_TIME).min()
        state.first = lo if state.first is None else min(state.first, lo)  # type: ignore[type-var,assignment]
        state.events += frame.height
        if state.buffer_rows >= FLUSH_ROWS:
            _flush(state, self.thresholds.sample_cap)
        return state

    def combine(self, a: WindowState, b: WindowState) -> WindowState:
        firsts = [t for t in (a.first, b.first) if t is not None]
        merged = WindowState(
            obs=[*a.obs, *b.obs],
            series=[*a.series, *b.series],
            first=min(firsts) if firsts else None,
            events=a.events + b.events,
            compacted_rows=a.compacted_rows + b.compacted_rows,
            pending_rows=a.pending_rows + b.pending_rows,
            buffer=[*a.buffer, *b.buffer],
            buffer_rows=a.buffer_rows + b.buffer_rows,
        )
        cap = self.thresholds.sample_cap
        if merged.buffer_rows >= FLUSH_ROWS:
            _flush(merged, cap)
        elif merged.pending_rows > max(_MIN_COMPACT_ROWS, merged.compacted_rows):
            _compact(merged, cap)
        return merged

    def finish(self, state: WindowState) -> AnomalyResult:
        if self.profile is None:
            raise RuntimeError("AnomalyScan.finish needs the instance that holds the profile")
        _flush(state, self.thresholds.sample_cap)
        _compact(state, self.thresholds.sample_cap)
        if self.since is not None:
            cutoff: date | None = self.since.astimezone(UTC).date()
        elif state.first is not None:
            cutoff = state.first.astimezone(UTC).date()
        else:
            cutoff = None
        base_start = self.profile.start
        days = (cutoff - base_start.date()).days if cutoff and base_start else 0
        if cutoff is None or not state.obs:
            return AnomalyResult([], cutoff, base_start, max(days, 0), state.events)
        window = Window(state.obs[0], state.series[0])
        findings = detect(self.profile, window, cutoff, self.thresholds)
        return AnomalyResult(findings, cutoff, base_start, max(days, 0), state.events)
