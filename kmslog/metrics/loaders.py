"""Reading rule sets: the built-in catalogue, native TOML files, and the JSON the AWS
CLI prints for ``aws logs describe-metric-filters`` and ``aws cloudwatch describe-alarms``.

A file is recognised by its content: a JSON object with ``metricFilters`` and/or
``MetricAlarms`` (both may sit in one file), or TOML with ``[[rule]]`` tables.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from kmslog.eventbridge.rules import (
    EventRule,
    EventRuleError,
    is_aws_rules_json,
    make_event_rule,
    parse_aws_rules,
)
from kmslog.metrics.alarm import ANOMALY_DETECTION_OPERATORS, Comparison
from kmslog.metrics.rules import (
    SEVERITIES,
    FilterRule,
    KeyMaterialRule,
    RuleError,
    RuleSet,
    make_alarm,
    make_filter,
)

BUILTIN = "builtin_rules.toml"
# tomllib recurses once per nesting level and has no limit of its own; a rule file
# needs three levels, so anything deeper is refused before parsing. (JSON goes through
# orjson, whose own depth limit is 1024.)
MAX_TOML_NESTING = 64


def builtin_rules() -> RuleSet:
    """The catalogue shipped with kmslog (``kmslog/metrics/builtin_rules.toml``)."""
    text = resources.files("kmslog.metrics").joinpath(BUILTIN).read_text(encoding="utf-8")
    return parse_toml(text, "builtin")


def load_rules(path: str | Path) -> RuleSet:
    """Load one user rule file (TOML or AWS CLI JSON); RuleError names file, rule and field."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError("-", "-", f"cannot read: {exc.strerror or exc}", str(p)) from None
    except UnicodeDecodeError:
        raise RuleError("-", "-", "not UTF-8 text", str(p)) from None
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")) and not stripped.startswith("[["):
        try:
            document = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            # "[rule]"-style TOML also starts with "["; fall back to TOML before failing.
            if stripped.startswith("{"):
                raise RuleError(
                    "-",
                    "-",
                    f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                    str(p),
                ) from None
        else:
            return parse_aws_json(document, str(p))
    return parse_toml(text, str(p))


def _toml_nesting(text: str) -> int:
    """The deepest nesting of arrays and inline tables, outside strings and comments."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            triple = text.startswith(ch * 3, i)
            close = ch * 3 if triple else ch
            j = i + len(close)
            while j < n and not text.startswith(close, j):
                if ch == '"' and text[j] == "\\":
                    j += 1
                elif not triple and text[j] == "\n":
                    break
                j += 1
            i = j + len(close)
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return deepest


def parse_toml(text: str, where: str) -> RuleSet:
    if _toml_nesting(text) > MAX_TOML_NESTING:
        raise RuleError(
            "-", "-", f"invalid TOML: nested more than {MAX_TOML_NESTING} levels deep", where
        )
    try:
        doc = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
        raise RuleError("-", "-", f"invalid TOML: {exc}", where) from None
    unknown = set(doc) - {"rule", "key_material", "event_rule"}
    if unknown:
        raise RuleError(
            "-", sorted(unknown)[0] or "'' (an empty key)", "unknown top-level table", where
        )
    filters: list[FilterRule] = []
    alarms = []
    seen: set[str] = set()
    entries = doc.get("rule", [])
    if not isinstance(entries, list):
        raise RuleError("-", "rule", "must be an array of tables ([[rule]])", where)
    for index, entry in enumerate(entries):
        try:
            rule, alarm = _toml_rule(entry, index, where)
        except RuleError as exc:
            raise exc.located(f"{where}: rule[{index}]") from None
        if rule.id in seen:
            raise RuleError(rule.id, "id", "duplicate rule id", f"{where}: rule[{index}]")
        seen.add(rule.id)
        filters.append(rule)
        if alarm is not None:
            alarms.append(alarm)
    key_material = None
    if "key_material" in doc:
        try:
            key_material = _toml_key_material(doc["key_material"])
        except RuleError as exc:
            raise exc.located(f"{where}: key_material") from None
    event_rules = _toml_event_rules(doc.get("event_rule", []), where)
    return RuleSet(tuple(filters), tuple(alarms), key_material, event_rules=event_rules)


_EVENT_RULE_FIELDS = {
    "id",
    "title",
    "severity",
    "description",
    "references",
    "name",
    "pattern",
    "state",
    "event_bus",
}


def _toml_event_rules(entries: Any, where: str) -> tuple[EventRule, ...]:
    """``[[event_rule]]`` tables: an EventBridge rule with catalogue metadata."""
    if not isinstance(entries, list):
        raise RuleError("-", "event_rule", "must be an array of tables ([[event_rule]])", where)
    out: list[EventRule] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        position = f"{where}: event_rule[{index}]"
        entry = _table(f"event_rule[{index}]", "event_rule", entry)
        rule_id = entry.get("id")
        if not isinstance(rule_id, str) or not rule_id:
            raise RuleError(f"event_rule[{index}]", "id", "is required", position)
        try:
            _check_keys(rule_id, entry, _EVENT_RULE_FIELDS, "")
            meta = _metadata(rule_id, entry)
            rule = make_event_rule(
                rule_id,
                name=entry.get("name", rule_id),
                pattern=entry.get("pattern"),
                state=entry.get("state", "ENABLED"),
                event_bus=entry.get("event_bus"),
                origin="builtin" if where == "builtin" else where,
                **meta,
            )
        except RuleError as exc:
            raise exc.located(position) from None
        except EventRuleError as exc:
            raise RuleError(rule_id, exc.field, exc.detail, position, exc.source) from None
        if rule_id in seen:
            raise RuleError(rule_id, "id", "duplicate event rule id", position)
        seen.add(rule_id)
        out.append(rule)
    return tuple(out)


def _table(rule: str, name: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RuleError(rule, name, "must be a table")
    return value


def _check_keys(rule: str, table: Mapping[str, Any], allowed: set[str], prefix: str) -> None:
    extra = set(table) - allowed
    if extra:
        raise RuleError(rule, f"{prefix}{sorted(extra)[0]}", "unknown field")


def _metadata(rule: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    severity = entry.get("severity", "medium")
    if severity not in SEVERITIES:
        raise RuleError(rule, "severity", f"must be one of {', '.join(SEVERITIES)}")
    refs = entry.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise RuleError(rule, "references", "must be a list of strings")
    for name in ("title", "description"):
        if not isinstance(entry.get(name, ""), str):
            raise RuleError(rule, name, "must be a string")
    return {
        "title": entry.get("title", ""),
        "severity": severity,
        "description": entry.get("description", ""),
        "references": tuple(refs),
    }


_ALARM_FIELDS = {
    "name",
    "statistic",
    "period",
    "evaluation_periods",
    "datapoints_to_alarm",
    "threshold",
    "comparison",
    "treat_missing_data",
    "actions_enabled",
    "evaluate_low_sample_count_percentile",
}


def _toml_alarm(rule: str, table: Mapping[str, Any], namespace: str, metric: str) -> Any:
    _check_keys(rule, table, _ALARM_FIELDS, "alarm.")
    return make_alarm(
        rule,
        name=table.get("name"),
        namespace=namespace,
        metric_name=metric,
        statistic=table.get("statistic", "Sum"),
        period=table.get("period", 300),
        evaluation_periods=table.get("evaluation_periods", 1),
        threshold=table.get("threshold"),
        comparison=table.get("comparison"),
        datapoints_to_alarm=table.get("datapoints_to_alarm"),
        treat_missing_data=table.get("treat_missing_data"),
        actions_enabled=table.get("actions_enabled", True),
        evaluate_low_sample_count_percentile=table.get("evaluate_low_sample_count_percentile"),
    )


def _toml_rule(entry: Any, index: int, where: str) -> tuple[FilterRule, Any]:
    entry = _table(f"rule[{index}]", "rule", entry)
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise RuleError(f"rule[{index}]", "id", "is required")
    _check_keys(
        rule_id,
        entry,
        {"id", "title", "severity", "description", "references", "filter", "alarm"},
        "",
    )
    meta = _metadata(rule_id, entry)
    flt = _table(rule_id, "filter", entry.get("filter"))
    _check_keys(
        rule_id,
        flt,
        {"name", "pattern", "namespace", "metric", "value", "default", "unit", "dimensions"},
        "filter.",
    )
    metric_filter = make_filter(
        rule_id,
        name=flt.get("name", rule_id),
        pattern=flt.get("pattern"),
        namespace=flt.get("namespace"),
        metric_name=flt.get("metric"),
        metric_value=flt.get("value", "1"),
        default_value=flt.get("default"),
        unit=flt.get("unit"),
        dimensions=flt.get("dimensions"),
    )
    alarm = None
    if "alarm" in entry:
        alarm = _toml_alarm(
            rule_id,
            _table(rule_id, "alarm", entry["alarm"]),
            metric_filter.namespace,
            metric_filter.metric_name,
        )
    origin = "builtin" if where == "builtin" else where
    return FilterRule(id=rule_id, metric_filter=metric_filter, origin=origin, **meta), alarm


def _toml_key_material(entry: Any) -> KeyMaterialRule:
    entry = _table("key_material", "key_material", entry)
    rule_id = entry.get("id", "key-material-expiry")
    if not isinstance(rule_id, str) or not rule_id:
        raise RuleError("key_material", "id", "must be a non-empty string")
    allowed = {"id", "title", "severity", "description", "references", "alarm"}
    _check_keys(rule_id, entry, allowed, "")
    alarm = _toml_alarm(
        rule_id,
        _table(rule_id, "alarm", entry.get("alarm")),
        "AWS/KMS",
        "SecondsUntilKeyMaterialExpiration",
    )
    if alarm.comparison not in (Comparison.LE, Comparison.LT):
        raise RuleError(
            rule_id,
            "alarm.comparison",
            "the seconds until expiration only shrink: use LessThanOrEqualToThreshold "
            "or LessThanThreshold",
        )
    return KeyMaterialRule(id=rule_id, alarm=alarm, **_metadata(rule_id, entry))


def parse_aws_json(document: Any, where: str) -> RuleSet:
    """Rules from ``describe-metric-filters`` and/or ``describe-alarms`` output, or the
    EventBridge rules of ``aws events list-rules`` / ``describe-rule``."""
    if is_aws_rules_json(document):
        try:
            event_rules, notes = parse_aws_rules(document, where)
        except EventRuleError as exc:
            raise RuleError(exc.rule, exc.field, exc.detail, source=exc.source) from None
        return RuleSet(skipped=tuple(notes), event_rules=tuple(event_rules))
    if not isinstance(document, Mapping) or not (
        "metricFilters" in document or "MetricAlarms" in document
    ):
        raise RuleError(
            "-",
            "-",
            "expected the JSON of `aws logs describe-metric-filters` (metricFilters), "
            "`aws cloudwatch describe-alarms` (MetricAlarms) or `aws events list-rules` / "
            "`describe-rule` (Rules, or Name + State + EventPattern)",
            where,
        )
    for section in ("metricFilters", "MetricAlarms", "CompositeAlarms"):
        if not isinstance(document.get(section) or [], list):
            raise RuleError("-", section, "must be a list", where)
    filters: list[FilterRule] = []
    for index, item in enumerate(document.get("metricFilters") or []):
        position = f"{where}: metricFilters[{index}]"
        try:
            filters.append(_aws_filter(item, position))
        except RuleError as exc:
            raise exc.located(position) from None
    alarms = []
    skipped: list[str] = []
    for index, item in enumerate(document.get("MetricAlarms") or []):
        position = f"{where}: MetricAlarms[{index}]"
        try:
            alarm, why = _aws_alarm(item)
        except RuleError as exc:
            raise exc.located(position) from None
        if alarm is None:
            skipped.append(f"{position}: {why}")
        else:
            alarms.append(alarm)
    for index, item in enumerate(document.get("CompositeAlarms") or []):
        name = item.get("AlarmName", "?") if isinstance(item, Mapping) else "?"
        skipped.append(
            f"{where}: CompositeAlarms[{index}]: composite alarm {name!r} is not replayed"
        )
    return RuleSet(tuple(filters), tuple(alarms), None, tuple(skipped))


def _label(name: Any) -> str:
    """How errors name a filter or alarm whose name may be missing or not a string."""
    return name if isinstance(name, str) and name else "?"


def _aws_filter(item: Any, position: str) -> FilterRule:
    item = _table("?", "metricFilters[]", item)
    name = _label(item.get("filterName"))
    transforms = item.get("metricTransformations")
    if not isinstance(transforms, list) or len(transforms) != 1:
        raise RuleError(name, "metricTransformations", "must hold exactly one transformation")
    t = _table(name, "metricTransformations[0]", transforms[0])
    metric_filter = make_filter(
        name,
        name=item.get("filterName"),
        pattern=item.get("filterPattern", ""),
        namespace=t.get("metricNamespace"),
        metric_name=t.get("metricName"),
        metric_value=t.get("metricValue"),
        default_value=t.get("defaultValue"),
        unit=t.get("unit"),
        dimensions=t.get("dimensions"),
        log_group=item.get("logGroupName"),
    )
    return FilterRule(
        id=metric_filter.name,
        metric_filter=metric_filter,
        title=f"Metric filter {metric_filter.name}",
        severity="medium",
        origin=position,
    )


def _aws_alarm(item: Any) -> tuple[Any, str]:
    item = _table("?", "MetricAlarms[]", item)
    name = _label(item.get("AlarmName"))
    operator = item.get("ComparisonOperator")
    if (isinstance(operator, str) and operator in ANOMALY_DETECTION_OPERATORS) or item.get(
        "ThresholdMetricId"
    ):
        return None, (
            f"alarm {name!r} uses the anomaly-detection operator {operator}; "
            "kmslog replays static thresholds only"
        )
    if item.get("Metrics"):
        return None, f"alarm {name!r} uses metric math, which kmslog does not replay"
    statistic = item.get("Statistic") or item.get("ExtendedStatistic")
    if item.get("Statistic") and item.get("ExtendedStatistic"):
        raise RuleError(name, "Statistic", "give Statistic or ExtendedStatistic, not both")
    dims = item.get("Dimensions") or []
    if not isinstance(dims, list):
        raise RuleError(name, "Dimensions", "must be a list of {Name, Value}")
    pairs = []
    for d in dims:
        if not isinstance(d, Mapping) or "Name" not in d or "Value" not in d:
            raise RuleError(name, "Dimensions", "each entry needs Name and Value")
        pairs.append((str(d["Name"]), str(d["Value"])))
    alarm = make_alarm(
        name,
        name=item.get("AlarmName"),
        namespace=item.get("Namespace"),
        metric_name=item.get("MetricName"),
        statistic=statistic,
        period=item.get("Period"),
        evaluation_periods=item.get("EvaluationPeriods"),
        threshold=item.get("Threshold"),
        comparison=operator,
        datapoints_to_alarm=item.get("DatapointsToAlarm"),
        treat_missing_data=item.get("TreatMissingData"),
        dimensions=pairs,
        actions_enabled=item.get("ActionsEnabled", True),
        evaluate_low_sample_count_percentile=item.get("EvaluateLowSampleCountPercentile"),
        arn=item.get("AlarmArn"),
    )
    return alarm, ""
