"""Detection rules as data: metric filters, the alarms on their metrics, and the
imported-key-material expiry check.

A rule set mirrors CloudWatch's own model: metric *filters* turn matching log
events into metric samples, and *alarms* watch a metric (namespace + name +
dimensions), whichever filters feed it. Every field is validated here, and an
invalid one raises :class:`RuleError` naming the rule and the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kmslog.eventbridge.rules import EventRule
from kmslog.metrics.alarm import (
    ANOMALY_DETECTION_OPERATORS,
    AlarmSpec,
    Comparison,
    TreatMissingData,
)
from kmslog.metrics.statistics import StatisticError, parse_statistic
from kmslog.patterns.metric import STANDARD_UNITS


class RuleError(ValueError):
    """An invalid rule: ``where`` names the file, ``rule`` the rule, ``field`` the field."""

    def __init__(
        self,
        rule: str,
        field_name: str,
        message: str,
        where: str = "",
        source: tuple[str, int] | None = None,
    ) -> None:
        self.rule, self.field, self.where, self.detail = rule, field_name, where, message
        # The text of the field and the 0-based position of the problem in it, when known
        # (a filter pattern's syntax error), to show it with a caret.
        self.source = source
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}rule {rule!r}, field {field_name!r}: {message}")

    def located(self, where: str) -> RuleError:
        return RuleError(self.rule, self.field, self.detail, where, self.source)


SEVERITIES = ("info", "low", "medium", "high", "critical")

COMPARISON_ALIASES = {
    ">=": Comparison.GE,
    ">": Comparison.GT,
    "<": Comparison.LT,
    "<=": Comparison.LE,
}

_METRIC_VALUE = re.compile(r"^(?:-?\d+(?:\.\d+)?|\$\.\S+|\$[A-Za-z_][\w]*|\$\d+)$")


@dataclass(frozen=True)
class MetricFilter:
    """One metric filter with its single metric transformation (PutMetricFilter shape)."""

    name: str
    pattern: str
    namespace: str
    metric_name: str
    metric_value: str = "1"
    default_value: float | None = None
    unit: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    log_group: str | None = None

    @property
    def metric_key(self) -> tuple[str, str]:
        return (self.namespace, self.metric_name)

    @property
    def constant_value(self) -> float | None:
        return None if self.metric_value.startswith("$") else float(self.metric_value)


@dataclass(frozen=True)
class FilterRule:
    """A metric filter plus the catalogue metadata findings carry."""

    id: str
    metric_filter: MetricFilter
    title: str = ""
    severity: str = "medium"
    description: str = ""
    references: tuple[str, ...] = ()
    origin: str = "builtin"


@dataclass(frozen=True)
class KeyMaterialRule:
    """The alarm on ``AWS/KMS SecondsUntilKeyMaterialExpiration`` (per KeyId)."""

    id: str
    alarm: AlarmSpec
    title: str = ""
    severity: str = "medium"
    description: str = ""
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleSet:
    filters: tuple[FilterRule, ...] = ()
    alarms: tuple[AlarmSpec, ...] = ()
    key_material: KeyMaterialRule | None = None
    # Alarms a loaded configuration holds that kmslog cannot replay, with why.
    skipped: tuple[str, ...] = field(default=())
    # EventBridge rules (docs/rules.md, "EventBridge rules").
    event_rules: tuple[EventRule, ...] = ()

    def merged(self, other: RuleSet) -> RuleSet:
        """``other`` added to this set. A filter or alarm with the same name replaces
        ours (a user's real configuration wins over the built-in copy); a replaced
        filter keeps our catalogue metadata (id, title, severity, references)."""
        theirs = {r.metric_filter.name: r for r in other.filters}
        kept: list[FilterRule] = []
        for rule in self.filters:
            replacement = theirs.pop(rule.metric_filter.name, None)
            if replacement is None:
                kept.append(rule)
            else:
                kept.append(
                    replace(
                        rule, metric_filter=replacement.metric_filter, origin=replacement.origin
                    )
                )
        ids = {r.id for r in kept}
        for rule in theirs.values():
            if rule.id in ids:
                raise RuleError(rule.id, "id", "a rule with this id is already loaded", rule.origin)
            ids.add(rule.id)
            kept.append(rule)
        return RuleSet(
            filters=tuple(kept),
            alarms=tuple(a for a in self.alarms if not _replaced(a, other.alarms)) + other.alarms,
            key_material=other.key_material or self.key_material,
            skipped=self.skipped + other.skipped,
            event_rules=_merged_event_rules(self.event_rules, other.event_rules),
        )

    def alarms_for(self, key: tuple[str, str]) -> list[AlarmSpec]:
        return [a for a in self.alarms if (a.namespace, a.metric_name) == key]

    def unwatched_alarms(self) -> list[AlarmSpec]:
        """Alarms on metrics no loaded filter produces (nothing to replay)."""
        produced = {r.metric_filter.metric_key for r in self.filters}
        return [a for a in self.alarms if (a.namespace, a.metric_name) not in produced]


def _merged_event_rules(
    ours: tuple[EventRule, ...], theirs: tuple[EventRule, ...]
) -> tuple[EventRule, ...]:
    """A loaded EventBridge rule with the name of one of ours replaces it and keeps our
    catalogue metadata (id, title, severity, description, references); the same name in
    two known places (account, Region) is two rules."""
    kept: list[EventRule] = []
    incoming = list(theirs)
    for rule in ours:
        same = [
            r
            for r in incoming
            if r.name == rule.name
            and r.event_bus == rule.event_bus
            and (
                not (r.owned and rule.owned) or (r.account, r.region) == (rule.account, rule.region)
            )
        ]
        if not same:
            kept.append(rule)
            continue
        for r in same:
            incoming.remove(r)
            kept.append(
                replace(
                    r,
                    id=rule.id if len(same) == 1 else r.id,
                    title=rule.title,
                    severity=rule.severity,
                    description=rule.description or r.description,
                    references=rule.references,
                )
            )
    ids = {r.id for r in kept}
    for r in incoming:
        if r.id in ids and not any(k.name == r.name for k in kept):
            raise RuleError(
                r.id, "id", "an EventBridge rule with this id is already loaded", r.origin
            )
        ids.add(r.id)
        kept.append(r)
    return tuple(kept)


def _replaced(alarm: AlarmSpec, incoming: Iterable[AlarmSpec]) -> bool:
    """A loaded alarm replaces one of the same name, unless both live in known and
    different places: the same alarm name in two accounts (or Regions) is two alarms."""
    return any(
        new.name == alarm.name
        and (
            not (new.owned and alarm.owned)
            or (new.account, new.region) == (alarm.account, alarm.region)
        )
        for new in incoming
    )


def _text(rule: str, name: str, value: Any, *, required: bool = True, limit: int = 512) -> str:
    if value is None or value == "":
        if required:
            raise RuleError(rule, name, "is required")
        return ""
    if not isinstance(value, str):
        raise RuleError(rule, name, f"must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise RuleError(rule, name, f"is longer than {limit} characters")
    return value


def _number(rule: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RuleError(rule, name, f"must be a number, not {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise RuleError(rule, name, f"must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise RuleError(rule, name, "must be a finite number")
    return number


def _integer(rule: str, name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise RuleError(rule, name, f"must be an integer, not {value!r}")
    if value < minimum:
        raise RuleError(rule, name, f"must be at least {minimum}")
    return value


def make_filter(
    rule: str,
    *,
    name: Any,
    pattern: Any,
    namespace: Any,
    metric_name: Any,
    metric_value: Any = "1",
    default_value: Any = None,
    unit: Any = None,
    dimensions: Mapping[str, Any] | None = None,
    log_group: Any = None,
) -> MetricFilter:
    """Build and validate a metric filter; errors name ``rule`` and the field."""
    name = _text(rule, "filterName", name)
    pattern_text = _text(rule, "filterPattern", pattern, required=False, limit=1024)
    namespace = _text(rule, "metricNamespace", namespace, limit=255)
    metric_name = _text(rule, "metricName", metric_name, limit=255)
    if isinstance(metric_value, int | float) and not isinstance(metric_value, bool):
        metric_value = repr(metric_value)
    value_text = _text(rule, "metricValue", metric_value, limit=100)
    if not _METRIC_VALUE.match(value_text):
        raise RuleError(
            rule,
            "metricValue",
            f"{value_text!r} is neither a number nor a $reference ($.field, $name, $1)",
        )
    default = None if default_value is None else _number(rule, "defaultValue", default_value)
    dims: tuple[tuple[str, str], ...] = ()
    if dimensions is not None and not isinstance(dimensions, Mapping):
        raise RuleError(rule, "dimensions", "must be a table of name = value")
    if dimensions:
        if len(dimensions) > 3:
            raise RuleError(rule, "dimensions", "at most 3 dimensions are allowed")
        if default is not None:
            raise RuleError(rule, "dimensions", "cannot be combined with defaultValue")
        dims = tuple(
            (_text(rule, "dimensions", k, limit=255), _text(rule, "dimensions", v, limit=255))
            for k, v in dimensions.items()
        )
    unit_text = _text(rule, "unit", unit, required=False) or None
    if unit_text is not None and unit_text not in STANDARD_UNITS:
        raise RuleError(rule, "unit", f"{unit_text!r} is not a CloudWatch standard unit")
    metric = MetricFilter(
        name=name,
        pattern=pattern_text,
        namespace=namespace,
        metric_name=metric_name,
        metric_value=value_text,
        default_value=default,
        unit=unit_text,
        dimensions=dims,
        log_group=_text(rule, "logGroupName", log_group, required=False) or None,
    )
    compile_filter(rule, metric)
    return metric


def compile_filter(rule: str, metric: MetricFilter) -> Any:
    """The pattern engine's metric filter for ``metric`` (pattern + transformation checked
    together, as PutMetricFilter does)."""
    from kmslog.patterns import PatternError, TransformationError
    from kmslog.patterns.metric import MetricTransformation, metric_filter

    transformation = MetricTransformation.of(
        metric.metric_value,
        metric.default_value,
        dict(metric.dimensions),
        metric.unit,
        metric.metric_name,
        metric.namespace,
    )
    try:
        return metric_filter(metric.pattern, transformation)
    except PatternError as exc:
        raise RuleError(
            rule, "filterPattern", str(exc), source=(metric.pattern, exc.position)
        ) from None
    except TransformationError as exc:
        raise RuleError(rule, "metricTransformations", str(exc)) from None


def make_alarm(
    rule: str,
    *,
    name: Any,
    namespace: Any,
    metric_name: Any,
    statistic: Any,
    period: Any,
    evaluation_periods: Any,
    threshold: Any,
    comparison: Any,
    datapoints_to_alarm: Any = None,
    treat_missing_data: Any = None,
    dimensions: Iterable[tuple[str, str]] = (),
    actions_enabled: Any = True,
    evaluate_low_sample_count_percentile: Any = None,
    arn: Any = None,
) -> AlarmSpec:
    """Build and validate an alarm; errors name ``rule`` and the field. ``arn`` (the
    AlarmArn of describe-alarms) gives the account and Region the alarm lives in."""
    account, region = _alarm_owner(rule, arn)
    alarm_name = _text(rule, "AlarmName", name, limit=255)
    stat_text = _text(rule, "Statistic", statistic)
    try:
        stat = parse_statistic(stat_text)
    except StatisticError as exc:
        raise RuleError(rule, "Statistic", str(exc)) from None
    seconds = _integer(rule, "Period", period)
    if seconds not in (10, 20, 30) and seconds % 60:
        raise RuleError(rule, "Period", f"{seconds} s: must be 10, 20, 30 or a multiple of 60")
    n = _integer(rule, "EvaluationPeriods", evaluation_periods)
    if n * seconds > 86400:
        raise RuleError(
            rule, "EvaluationPeriods", "EvaluationPeriods x Period must not exceed one day"
        )
    m = None
    if datapoints_to_alarm is not None:
        m = _integer(rule, "DatapointsToAlarm", datapoints_to_alarm)
        if m > n:
            raise RuleError(rule, "DatapointsToAlarm", f"{m} exceeds EvaluationPeriods ({n})")
    op_text = _text(rule, "ComparisonOperator", comparison)
    if op_text in ANOMALY_DETECTION_OPERATORS:
        raise RuleError(
            rule,
            "ComparisonOperator",
            f"{op_text} belongs to anomaly-detection alarms, which kmslog does not replay "
            "(only static thresholds)",
        )
    op = COMPARISON_ALIASES.get(op_text)
    if op is None:
        try:
            op = Comparison(op_text)
        except ValueError:
            allowed = ", ".join(c.value for c in Comparison)
            raise RuleError(
                rule, "ComparisonOperator", f"{op_text!r} is not one of {allowed}"
            ) from None
    missing = TreatMissingData.MISSING
    if treat_missing_data is not None:
        try:
            missing = TreatMissingData(treat_missing_data)
        except ValueError:
            allowed = ", ".join(t.value for t in TreatMissingData)
            raise RuleError(
                rule, "TreatMissingData", f"{treat_missing_data!r} is not one of {allowed}"
            ) from None
    low = evaluate_low_sample_count_percentile or "evaluate"
    if low not in ("evaluate", "ignore"):
        raise RuleError(rule, "EvaluateLowSampleCountPercentile", "must be evaluate or ignore")
    if not isinstance(actions_enabled, bool):
        raise RuleError(rule, "ActionsEnabled", "must be true or false")
    return AlarmSpec(
        name=alarm_name,
        namespace=_text(rule, "Namespace", namespace, limit=255),
        metric_name=_text(rule, "MetricName", metric_name, limit=255),
        statistic=stat,
        period=seconds,
        evaluation_periods=n,
        threshold=_number(rule, "Threshold", threshold),
        comparison=op,
        datapoints_to_alarm=m,
        treat_missing_data=missing,
        dimensions=tuple(sorted(dimensions)),
        actions_enabled=actions_enabled,
        evaluate_low_sample_count_percentile=low,
        account=account,
        region=region,
    )


_ALARM_ARN = re.compile(
    r"^arn:aws[a-z-]*:cloudwatch:(?P<region>[a-z0-9-]+):(?P<acct>\d{12}):alarm:.+$"
)


def _alarm_owner(rule: str, arn: Any) -> tuple[str | None, str | None]:
    if arn is None:
        return None, None
    text = _text(rule, "AlarmArn", arn, limit=2048)
    match = _ALARM_ARN.match(text)
    if match is None:
        raise RuleError(
            rule, "AlarmArn", "must be arn:<partition>:cloudwatch:<region>:<account>:alarm:<name>"
        )
    return match["acct"], match["region"]


def with_origin(rule: FilterRule, origin: str) -> FilterRule:
    return replace(rule, origin=origin)
