"""CloudWatch statistics over the samples of one period.

Names as CloudWatch accepts them: ``SampleCount``, ``Sum``, ``Average``,
``Minimum``, ``Maximum``, percentiles ``p90`` / ``p99.9``, and the extended
statistics ``tm90`` / ``TM(10%:90%)`` (trimmed mean), ``wm`` / ``WM`` (winsorized
mean), ``tc`` / ``TC`` (trimmed count), ``ts`` / ``TS`` (trimmed sum),
``PR(100:2000)`` (percentile rank) and ``IQM`` (= ``TM(25%:75%)``).

Boundaries follow the CloudWatch statistics definitions: a range excludes its
lower bound and includes its upper bound (``TM(150:1000)`` drops values <= 150
and > 1000); a single number is the upper bound as a percentage (``tm90`` drops
the highest 10 %). A percentile is the nearest-rank value: ``p95`` is the
smallest sample with at least 95 % of the samples at or below it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class StatisticError(ValueError):
    """A statistic name CloudWatch would not accept."""


class Kind(StrEnum):
    SAMPLE_COUNT = "SampleCount"
    SUM = "Sum"
    AVERAGE = "Average"
    MINIMUM = "Minimum"
    MAXIMUM = "Maximum"
    PERCENTILE = "p"
    TRIMMED_MEAN = "TM"
    WINSORIZED_MEAN = "WM"
    TRIMMED_COUNT = "TC"
    TRIMMED_SUM = "TS"
    PERCENTILE_RANK = "PR"


SIMPLE = (Kind.SAMPLE_COUNT, Kind.SUM, Kind.AVERAGE, Kind.MINIMUM, Kind.MAXIMUM)


@dataclass(frozen=True)
class Bound:
    value: float
    percent: bool


@dataclass(frozen=True)
class Statistic:
    """A parsed statistic. ``text`` is the name as given (used in reports)."""

    text: str
    kind: Kind
    percentile: float | None = None
    lower: Bound | None = None
    upper: Bound | None = None

    @property
    def needs_samples(self) -> bool:
        """Whether the period's individual values are needed (not just sum/count/min/max)."""
        return self.kind not in SIMPLE

    def low_sample_count(self, n: int) -> bool:
        """Too few samples for a percentile (CloudWatch's EvaluateLowSampleCountPercentile):
        fewer than 10/(1-p) samples for p >= 0.5, fewer than 10/p below that."""
        if self.kind is not Kind.PERCENTILE or self.percentile is None:
            return False
        p = self.percentile / 100
        if p >= 0.5:
            return p < 1 and n < round(10 / (1 - p), 9)
        return p > 0 and n < round(10 / p, 9)

    def of_samples(self, values: Sequence[float]) -> float | None:
        """The statistic over raw samples; None when it is undefined (no samples in range)."""
        if not values:
            return None
        if self.kind is Kind.SAMPLE_COUNT:
            return float(len(values))
        if self.kind is Kind.SUM:
            return float(math.fsum(values))
        if self.kind is Kind.AVERAGE:
            return math.fsum(values) / len(values)
        if self.kind is Kind.MINIMUM:
            return float(min(values))
        if self.kind is Kind.MAXIMUM:
            return float(max(values))
        ordered = sorted(values)
        if self.kind is Kind.PERCENTILE:
            assert self.percentile is not None
            return nearest_rank(ordered, self.percentile)
        if self.kind is Kind.PERCENTILE_RANK:
            lo = -math.inf if self.lower is None else self.lower.value
            hi = math.inf if self.upper is None else self.upper.value
            inside = sum(1 for v in ordered if lo < v <= hi)
            return 100.0 * inside / len(ordered)
        lo_v, hi_v = self._bounds(ordered)
        if self.kind is Kind.WINSORIZED_MEAN:
            clamped = [min(max(v, lo_v), hi_v) for v in ordered]
            return math.fsum(clamped) / len(clamped)
        kept = [v for v in ordered if lo_v < v <= hi_v]
        if self.kind is Kind.TRIMMED_COUNT:
            return float(len(kept))
        if not kept:
            return None
        if self.kind is Kind.TRIMMED_SUM:
            return float(math.fsum(kept))
        return math.fsum(kept) / len(kept)

    def _bounds(self, ordered: Sequence[float]) -> tuple[float, float]:
        def resolve(bound: Bound | None, default: float) -> float:
            if bound is None:
                return default
            if bound.percent:
                if bound.value <= 0:
                    return ordered[0] if self.kind is Kind.WINSORIZED_MEAN else -math.inf
                return nearest_rank(ordered, bound.value)
            return bound.value

        return resolve(self.lower, -math.inf), resolve(self.upper, math.inf)


def nearest_rank(ordered: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of sorted values."""
    if percent <= 0:
        return float(ordered[0])
    rank = math.ceil(percent / 100 * len(ordered))
    return float(ordered[min(max(rank, 1), len(ordered)) - 1])


_SIMPLE_NAMES = {k.value.lower(): k for k in SIMPLE}
_NUMBER = r"\d+(?:\.\d{1,10})?"
_SHORT = re.compile(rf"^(?P<k>p|tm|wm|tc|ts)(?P<n>{_NUMBER})?$", re.IGNORECASE)
_RANGE = re.compile(
    rf"^(?P<k>TM|WM|TC|TS|PR)\((?P<lo>{_NUMBER}%?)?:(?P<hi>{_NUMBER}%?)?\)$", re.IGNORECASE
)


def _bound(text: str | None, name: str, allow_percent: bool) -> Bound | None:
    if not text:
        return None
    percent = text.endswith("%")
    if percent and not allow_percent:
        raise StatisticError(f"{name}: percentile rank bounds are absolute values, not percentages")
    value = float(text.rstrip("%"))
    if percent and not 0 <= value <= 100:
        raise StatisticError(f"{name}: percentage bound {text} is outside 0..100")
    return Bound(value, percent)


def parse_statistic(text: str) -> Statistic:
    """Parse a statistic name; raises StatisticError naming what is wrong."""
    name = text.strip()
    if not name:
        raise StatisticError("empty statistic")
    simple = _SIMPLE_NAMES.get(name.lower())
    if simple is not None:
        return Statistic(name, simple)
    if name.upper() == "IQM":
        return Statistic(name, Kind.TRIMMED_MEAN, lower=Bound(25, True), upper=Bound(75, True))
    if m := _SHORT.match(name):
        kind = Kind(m["k"].upper() if m["k"].lower() != "p" else "p")
        if m["n"] is None:
            if kind is Kind.PERCENTILE:
                raise StatisticError(f"{name}: a percentile needs a number (p90)")
            # "tm" alone is the mean of everything; keep it as an unbounded trim.
            return Statistic(name, kind)
        value = float(m["n"])
        if not 0 <= value <= 100:
            raise StatisticError(f"{name}: {value} is outside 0..100")
        if kind is Kind.PERCENTILE:
            return Statistic(name, kind, percentile=value)
        return Statistic(name, kind, upper=Bound(value, True))
    if m := _RANGE.match(name):
        kind = Kind(m["k"].upper())
        lower = _bound(m["lo"], name, kind is not Kind.PERCENTILE_RANK)
        upper = _bound(m["hi"], name, kind is not Kind.PERCENTILE_RANK)
        if lower is None and upper is None:
            raise StatisticError(f"{name}: at least one bound is required")
        if (
            lower is not None
            and upper is not None
            and lower.percent == upper.percent
            and lower.value > upper.value
        ):
            raise StatisticError(f"{name}: lower bound is above the upper bound")
        return Statistic(name, kind, lower=lower, upper=upper)
    raise StatisticError(
        f"unknown statistic {name!r} (expected SampleCount, Sum, Average, Minimum, Maximum, "
        "pNN, tmNN, TM(a:b), wmNN, WM(a:b), tcNN, TC(a:b), tsNN, TS(a:b), PR(a:b) or IQM)"
    )


@dataclass(frozen=True)
class Aggregate:
    """Sum/count/min/max of one period's samples: enough for the five simple statistics."""

    count: int
    total: float
    minimum: float
    maximum: float

    def statistic(self, kind: Kind) -> float:
        if kind is Kind.SAMPLE_COUNT:
            return float(self.count)
        if kind is Kind.SUM:
            return self.total
        if kind is Kind.AVERAGE:
            return self.total / self.count
        if kind is Kind.MINIMUM:
            return self.minimum
        if kind is Kind.MAXIMUM:
            return self.maximum
        raise ValueError(f"{kind} needs the samples")
