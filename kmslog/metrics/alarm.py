"""CloudWatch metric-alarm replay: datapoints in, state transitions out.

Pure: no I/O, no polars. Semantics follow the CloudWatch User Guide pages
"Evaluating an alarm" and "Configuring how CloudWatch alarms treat missing data":

* At each evaluation CloudWatch looks at an *evaluation range* of recent periods,
  longer than ``EvaluationPeriods`` (N) so that a few gaps can be bridged. The
  guide's worked tables use N = 3 with a range of 5; kmslog uses N + 2.
* When the range holds at least N real datapoints, the N most recent real ones are
  evaluated and the missing-data setting plays no part.
* Otherwise every real datapoint in the range is evaluated, and just enough gaps
  to make N are filled according to ``TreatMissingData``: ``breaching`` and
  ``notBreaching`` fill them with that outcome; ``missing`` and ``ignore`` leave
  them out of the count (a range with no real data at all gives
  INSUFFICIENT_DATA for ``missing`` and keeps the current state for ``ignore``).
* ALARM when at least ``DatapointsToAlarm`` (M) evaluated datapoints breach, OK
  otherwise, with the guide's "premature alarm" rule for ``missing`` / ``ignore``:
  when every real datapoint in the range breaches, the oldest breaching one
  within the last N periods is at least M periods old, and everything after it is
  missing, ``missing`` goes to ALARM and ``ignore`` keeps the current state.

Periods are aligned to multiples of the period since the Unix epoch, and an
evaluation happens at the end of every period: a transition is dated at the end
of the period whose datapoint caused it, the earliest moment CloudWatch could
have seen that datapoint complete (the live service adds a minute or two of
ingestion and evaluation delay, which an offline replay cannot know). Times
outside year 1 … 9999 are clamped to the calendar's first or last second
(:func:`epoch_time`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from kmslog.kms.dates import EARLIEST, LATEST
from kmslog.metrics.statistics import Statistic, parse_statistic


class AlarmState(StrEnum):
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class Comparison(StrEnum):
    GE = "GreaterThanOrEqualToThreshold"
    GT = "GreaterThanThreshold"
    LT = "LessThanThreshold"
    LE = "LessThanOrEqualToThreshold"

    def breaches(self, value: float, threshold: float) -> bool:
        if self is Comparison.GE:
            return value >= threshold
        if self is Comparison.GT:
            return value > threshold
        if self is Comparison.LT:
            return value < threshold
        return value <= threshold

    @property
    def phrase(self) -> str:
        return _PHRASES[self]


_PHRASES = {
    Comparison.GE: "greater than or equal to",
    Comparison.GT: "greater than",
    Comparison.LT: "less than",
    Comparison.LE: "less than or equal to",
}

ANOMALY_DETECTION_OPERATORS = frozenset(
    {
        "LessThanLowerOrGreaterThanUpperThreshold",
        "LessThanLowerThreshold",
        "GreaterThanUpperThreshold",
    }
)


class TreatMissingData(StrEnum):
    MISSING = "missing"
    IGNORE = "ignore"
    BREACHING = "breaching"
    NOT_BREACHING = "notBreaching"


@dataclass(frozen=True)
class AlarmSpec:
    """One metric alarm, with the settings PutMetricAlarm takes."""

    name: str
    namespace: str
    metric_name: str
    statistic: Statistic
    period: int
    evaluation_periods: int
    threshold: float
    comparison: Comparison
    datapoints_to_alarm: int | None = None
    treat_missing_data: TreatMissingData = TreatMissingData.MISSING
    dimensions: tuple[tuple[str, str], ...] = ()
    actions_enabled: bool = True
    evaluate_low_sample_count_percentile: str = "evaluate"
    # Where the alarm lives, from describe-alarms' AlarmArn: it is replayed on that
    # account's records in that Region only. None (TOML, built-in): every account.
    account: str | None = None
    region: str | None = None

    @property
    def owned(self) -> bool:
        return self.account is not None

    @property
    def m(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    @property
    def evaluation_range(self) -> int:
        return self.evaluation_periods + 2


def spec(
    name: str,
    *,
    statistic: str = "Sum",
    period: int = 60,
    evaluation_periods: int = 1,
    threshold: float = 1.0,
    comparison: str = "GreaterThanOrEqualToThreshold",
    datapoints_to_alarm: int | None = None,
    treat_missing_data: str = "missing",
    namespace: str = "ns",
    metric_name: str = "metric",
) -> AlarmSpec:
    """A convenience constructor (tests, library callers); validation lives in ``rules``."""
    return AlarmSpec(
        name=name,
        namespace=namespace,
        metric_name=metric_name,
        statistic=parse_statistic(statistic),
        period=period,
        evaluation_periods=evaluation_periods,
        threshold=threshold,
        comparison=Comparison(comparison),
        datapoints_to_alarm=datapoints_to_alarm,
        treat_missing_data=TreatMissingData(treat_missing_data),
    )


@dataclass(frozen=True)
class Transition:
    time: datetime
    old: AlarmState
    new: AlarmState
    reason: str
    datapoints: tuple[tuple[datetime, float], ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one evaluation. ``state`` None means "keep the current state"."""

    state: AlarmState | None
    reason: str
    breaching: int
    real: int
    filled: int
    datapoints: tuple[tuple[int, float], ...] = ()


def java_double(value: float) -> str:
    """A double as Java's ``Double.toString`` prints it (CloudWatch reasons use it)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(float(value))
        return text if ("." in text or "e" in text) else text + ".0"
    sign, digits, exponent = Decimal(repr(float(value))).as_tuple()
    assert isinstance(exponent, int)
    head = str(digits[0])
    tail = "".join(str(d) for d in digits[1:]).rstrip("0") or "0"
    power = exponent + len(digits) - 1
    return f"{'-' if sign else ''}{head}.{tail}E{power}"


_FIRST_SECOND = int(EARLIEST.timestamp())
_LAST_SECOND = int(LATEST.timestamp())


def epoch_time(epoch: float) -> datetime:
    """Epoch seconds as an aware UTC datetime, clamped to the calendar Python holds.

    A period boundary can fall outside it (the period holding an event at
    9999-12-31T23:59:59Z ends at 10000-01-01; a 7-minute period holding
    0001-01-01T00:00:00Z starts before it): such a time is shown as the first or last
    second of the calendar instead of ending the replay."""
    return datetime.fromtimestamp(min(max(int(epoch), _FIRST_SECOND), _LAST_SECOND), tz=UTC)


def _stamp(epoch: int) -> str:
    return epoch_time(epoch).strftime("%d/%m/%y %H:%M:%S")


def _listing(points: list[tuple[int, float]]) -> str:
    return ", ".join(f"{java_double(v)} ({_stamp(t)})" for t, v in points)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def evaluate(
    alarm: AlarmSpec,
    window: list[tuple[int, float | None]],
    current: AlarmState,
) -> Evaluation:
    """Evaluate one range of datapoints (oldest first, ``None`` = missing)."""
    n, m = alarm.evaluation_periods, alarm.m
    op, threshold = alarm.comparison, alarm.threshold
    real = [(t, v) for t, v in window if v is not None]
    mode = alarm.treat_missing_data
    tail = f"the threshold ({java_double(threshold)})"

    if len(real) >= n:
        evaluated = real[-n:]
        filled = 0
    else:
        evaluated = real
        filled = n - len(real)
    breaching = [(t, v) for t, v in evaluated if op.breaches(v, threshold)]
    fill_breaches = filled if mode is TreatMissingData.BREACHING else 0
    count = len(breaching) + fill_breaches

    if not real:
        if mode is TreatMissingData.MISSING:
            reason = f"Insufficient Data: {_plural(n, 'datapoint')} {_were(n)} unknown."
            return Evaluation(AlarmState.INSUFFICIENT_DATA, reason, 0, 0, filled)
        if mode is TreatMissingData.IGNORE:
            return Evaluation(None, "missing data ignored", 0, 0, filled)
        kind = "Breaching" if mode is TreatMissingData.BREACHING else "NonBreaching"
        reason = (
            f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and "
            f"{_plural(n, 'missing datapoint')} {_were(n)} treated as [{kind}]."
        )
        state = AlarmState.ALARM if count >= m else AlarmState.OK
        return Evaluation(state, reason, count, 0, filled)

    premature = (
        filled > 0
        and mode in (TreatMissingData.MISSING, TreatMissingData.IGNORE)
        and len(breaching) == len(real)
        and _premature(alarm, window)
    )
    newest_first = sorted(breaching, key=lambda p: -p[0])
    if count >= m or premature:
        if premature and count < m and mode is TreatMissingData.IGNORE:
            return Evaluation(None, "missing data ignored", count, len(real), filled)
        if n == 1:
            t, v = evaluated[-1]
            reason = (
                f"Threshold Crossed: 1 datapoint [{_listing([(t, v)])}] was {op.phrase} {tail}."
            )
        else:
            reason = (
                f"Threshold Crossed: {count} out of the last {n} datapoints "
                f"[{_listing(newest_first)}] {_was(count)} {op.phrase} {tail} "
                f"(minimum {_plural(m, 'datapoint')} for OK -> ALARM transition)."
            )
            if fill_breaches:
                reason = reason[:-1] + (
                    f" ({_plural(fill_breaches, 'missing datapoint')} {_were(fill_breaches)} "
                    "treated as [Breaching])."
                )
        return Evaluation(AlarmState.ALARM, reason, count, len(real), filled, tuple(newest_first))

    calm = sorted(
        [(t, v) for t, v in evaluated if not op.breaches(v, threshold)], key=lambda p: -p[0]
    )
    if n == 1:
        t, v = evaluated[-1]
        reason = (
            f"Threshold Crossed: 1 datapoint [{_listing([(t, v)])}] was not {op.phrase} {tail}."
        )
    else:
        ok_needed = n - m + 1
        reason = (
            f"Threshold Crossed: {len(calm)} out of the last {n} datapoints [{_listing(calm)}] "
            f"{_was(len(calm))} not {op.phrase} {tail} "
            f"(minimum {_plural(ok_needed, 'datapoint')} for ALARM -> OK transition)."
        )
        if filled and mode is TreatMissingData.NOT_BREACHING:
            reason = reason[:-1] + (
                f" ({_plural(filled, 'missing datapoint')} {_were(filled)} "
                "treated as [NonBreaching])."
            )
    return Evaluation(AlarmState.OK, reason, count, len(real), filled, tuple(calm))


def _were(n: int) -> str:
    return "was" if n == 1 else "were"


_was = _were


def _premature(alarm: AlarmSpec, window: list[tuple[int, float | None]]) -> bool:
    # Called only when every real datapoint breaches: alarm early once the oldest
    # breaching one within the last N periods is at least M periods old.
    recent = window[-alarm.evaluation_periods :]
    for index, (_, value) in enumerate(recent):
        if value is not None:
            return len(recent) - index >= alarm.m
    return False


def period_values(
    alarm: AlarmSpec, samples: Mapping[int, list[float]] | Mapping[int, float]
) -> dict[int, float]:
    """Collapse per-period samples to one value per period with the alarm's statistic.

    ``samples`` maps period start (epoch seconds) to either the period's raw values
    or an already computed value.
    """
    out: dict[int, float] = {}
    for start, values in samples.items():
        if isinstance(values, int | float):
            out[start] = float(values)
            continue
        if (
            alarm.evaluate_low_sample_count_percentile == "ignore"
            and alarm.statistic.low_sample_count(len(values))
        ):
            continue
        value = alarm.statistic.of_samples(values)
        if value is not None:
            out[start] = value
    return out


def replay(
    alarm: AlarmSpec,
    datapoints: Mapping[int, float],
    start: int,
    end: int,
    initial: AlarmState = AlarmState.INSUFFICIENT_DATA,
) -> list[Transition]:
    """Replay the alarm over [start, end] (epoch seconds) and return its state changes.

    ``datapoints`` maps period start (a multiple of the alarm's period) to the
    period's statistic value. Evaluations happen at every period end in the
    interval; evaluations where the range holds no data and nothing can change are
    skipped, so the cost follows the number of datapoints, not the length of time.
    """
    p, r = alarm.period, alarm.evaluation_range
    first = (start // p + 1) * p
    last = (end // p + 1) * p  # the end of the period holding the last event
    times = {first}
    for t0 in datapoints:
        for k in range(1, r + 2):
            times.add(t0 + k * p)
    state = initial
    transitions: list[Transition] = []
    for e in sorted(t for t in times if first <= t <= last):
        window = [(s, datapoints.get(s)) for s in range(e - r * p, e, p)]
        result = evaluate(alarm, window, state)
        if result.state is not None and result.state is not state:
            transitions.append(
                Transition(
                    time=epoch_time(e),
                    old=state,
                    new=result.state,
                    reason=result.reason,
                    datapoints=tuple((epoch_time(t), v) for t, v in result.datapoints),
                )
            )
            state = result.state
    return transitions
