"""Sustained rate rise: a principal calling a key a few times its usual hourly rate, held
for hours — quieter than a one-hour spike, and below the spike thresholds.

"Usual" is the median of the pair's active hours (hours with at least one call) in the
``rise_recent_days`` days before the day of each hour, taken from the baseline and from
the scanned window's own earlier days, so a rate that grows slowly over weeks moves its
usual along and is never a finding, while hours of a few times that rate are.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from kmslog.baseline.features import PAIR_SERIES, split_pair
from kmslog.baseline.findings import Finding
from kmslog.baseline.thresholds import Thresholds
from kmslog.kms.dates import readable


@dataclass(frozen=True)
class Usual:
    """A pair's usual hourly rate before one day."""

    median: float
    p95: float
    active_hours: int

    def limit(self, t: Thresholds) -> float:
        return max(float(t.rise_min_calls), t.rise_factor * self.median)


def _index(day: date, hour: int) -> int:
    return day.toordinal() * 24 + hour


def _hour_end(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour + 1)


class _History:
    """Active-hour counts per day of each candidate pair (baseline and window)."""

    def __init__(self, rows: pl.DataFrame) -> None:
        self.by_pair: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(list))
        for entity, day, calls in rows.select("entity", "day", "calls").iter_rows():
            if calls > 0:
                self.by_pair[entity][day].append(int(calls))
        self.cache: dict[tuple[str, date], Usual | None] = {}

    def usual(self, entity: str, day: date, t: Thresholds) -> Usual | None:
        mark = (entity, day)
        if mark not in self.cache:
            days = self.by_pair.get(entity, {})
            vals = [
                c
                for back in range(1, t.rise_recent_days + 1)
                for c in days.get(day - timedelta(days=back), [])
            ]
            if len(vals) < max(1, t.rise_min_active_hours):
                self.cache[mark] = None
            else:
                arr = np.asarray(vals, dtype=float)
                self.cache[mark] = Usual(
                    float(np.median(arr)), float(np.quantile(arr, 0.95)), len(vals)
                )
        return self.cache[mark]


def sustained_rises(
    base_series: pl.DataFrame, window_series: pl.DataFrame, t: Thresholds
) -> list[Finding]:
    """Runs of at least ``rise_min_hours`` consecutive hours over the pair's limit."""
    win = window_series.filter(pl.col("series") == PAIR_SERIES)
    if not win.height or t.rise_min_hours < 1:
        return []
    candidates = (
        win.filter(pl.col("calls") >= max(1, t.rise_min_calls)).get_column("entity").unique()
    )
    if not candidates.len():
        return []
    cols = ["entity", "day", "calls"]
    in_pairs = (pl.col("series") == PAIR_SERIES) & pl.col("entity").is_in(candidates.implode())
    history = _History(pl.concat([base_series.filter(in_pairs).select(cols), win.select(cols)]))
    out: list[Finding] = []
    rows = win.filter(pl.col("entity").is_in(candidates.implode())).sort("entity", "day", "hour")
    for (entity,), part in rows.group_by("entity", maintain_order=True):
        run: list[dict[str, Any]] = []
        for row in part.iter_rows(named=True):
            usual = history.usual(str(entity), row["day"], t)
            over = usual is not None and row["calls"] >= usual.limit(t)
            idx = _index(row["day"], int(row["hour"]))
            if run and (not over or idx != run[-1]["idx"] + 1):
                if len(run) >= t.rise_min_hours:
                    out.append(_finding(str(entity), run, t))
                run = []
            if over:
                run.append({**row, "idx": idx, "usual": usual})
        if len(run) >= t.rise_min_hours:
            out.append(_finding(str(entity), run, t))
    return out


def _finding(entity: str, run: list[dict[str, Any]], t: Thresholds) -> Finding:
    key, principal = split_pair(entity)
    usual: Usual = run[0]["usual"]
    ratios = [h["calls"] / max(h["usual"].median, 1.0) for h in run]
    count = int(sum(h["calls"] for h in run))
    pairs = sorted({(s["ts"], s["event_id"]) for h in run for s in h["samples"] if s["event_id"]})
    ids = tuple(dict.fromkeys(i for _, i in pairs))[: t.sample_cap]
    met = run[t.rise_min_hours - 1]
    detected = min(_hour_end(met["day"], int(met["hour"])), met["last"])
    lo, hi = min(ratios), max(ratios)
    spread = f"{lo:.1f}×" if round(lo, 1) == round(hi, 1) else f"{lo:.1f}–{hi:.1f}×"
    explanation = (
        f"{principal} on key {key}: held {len(run)} h at {spread} the usual "
        f"{usual.median:.0f} calls/h (p95 {usual.p95:.0f}): {count} calls between "
        f"{readable(run[0]['first'])} and {readable(run[-1]['last'])}, each hour at least "
        f"{usual.limit(t):.0f} ({t.rise_factor:g}× usual, minimum {t.rise_min_calls}); usual "
        f"is the median of its {usual.active_hours} active hours in the "
        f"{t.rise_recent_days} days before {run[0]['day'].isoformat()}"
    )
    score = (
        40
        + 10 * min(3.0, math.log2(max(lo, 1.0)))
        + 5 * min(3, len(run) - t.rise_min_hours + 1)
        + 5 * min(2.0, math.log10(max(count, 1)) - 1)
    )
    return Finding(
        kind="sustained_rate_rise",
        key_arn=key,
        principal=principal,
        score=min(100.0, max(score, 0.0)),
        start=run[0]["first"],
        end=run[-1]["last"],
        count=count,
        event_ids=ids,
        explanation=explanation,
        detected_at=detected,
        subject=f"{len(run)}h",
        details={
            "hours": len(run),
            "calls_per_hour": [int(h["calls"]) for h in run],
            "ratios": [round(r, 2) for r in ratios],
            "usual_per_hour": usual.median,
            "usual_p95_per_hour": usual.p95,
            "usual_active_hours": usual.active_hours,
            "threshold_per_hour": round(usual.limit(t), 2),
            "recent_days": t.rise_recent_days,
        },
    )
