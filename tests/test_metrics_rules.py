"""Rule catalogue and loaders: built-in TOML, native TOML, AWS CLI JSON shapes."""

from __future__ import annotations

import json

import pytest

from kmslog.metrics.alarm import Comparison, TreatMissingData
from kmslog.metrics.loaders import builtin_rules, load_rules
from kmslog.metrics.rules import RuleError

DESCRIBE_FILTERS = {
    "metricFilters": [
        {
            "filterName": "KMSKeyPendingDeletionErrorCount",
            "filterPattern": '{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}',
            "metricTransformations": [
                {
                    "metricName": "KMSKeyPendingDeletionErrorCount",
                    "metricNamespace": "CloudTrailLogMetrics",
                    "metricValue": "1",
                    "defaultValue": 0.0,
                }
            ],
            "creationTime": 1700000000000,
            "logGroupName": "aws-cloudtrail-logs",
        }
    ]
}

DESCRIBE_ALARMS = {
    "MetricAlarms": [
        {
            "AlarmName": "KMSKeyPendingDeletionErrorAlarm",
            "AlarmArn": "arn:aws:cloudwatch:us-east-1:111122223333:alarm:PendingDeletion",
            "ActionsEnabled": True,
            "OKActions": [],
            "AlarmActions": ["arn:aws:sns:us-east-1:111122223333:sec"],
            "StateValue": "OK",
            "MetricName": "KMSKeyPendingDeletionErrorCount",
            "Namespace": "CloudTrailLogMetrics",
            "Statistic": "Sum",
            "Dimensions": [],
            "Period": 60,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        },
        {
            "AlarmName": "Latency-p99",
            "MetricName": "Latency",
            "Namespace": "App",
            "ExtendedStatistic": "p99",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 500.0,
            "ComparisonOperator": "GreaterThanThreshold",
            "EvaluateLowSampleCountPercentile": "ignore",
        },
        {
            "AlarmName": "Band",
            "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold",
            "ThresholdMetricId": "ad1",
            "EvaluationPeriods": 1,
            "Metrics": [{"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)"}],
        },
    ],
    "CompositeAlarms": [],
}


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_builtin_catalogue_holds_the_seeded_rules():
    rules = builtin_rules()
    ids = [r.id for r in rules.filters]
    assert ids[:2] == ["kms-pending-deletion-usage", "cis-4.7-cmk-disable-or-scheduled-deletion"]
    pending = rules.alarms_for(("CloudTrailLogMetrics", "KMSKeyPendingDeletionErrorCount"))[0]
    assert pending.name == "KMSKeyPendingDeletionErrorAlarm"
    assert pending.treat_missing_data is TreatMissingData.NOT_BREACHING
    assert (pending.evaluation_periods, pending.m, pending.threshold) == (1, 1, 1.0)
    cis = rules.alarms_for(("CISBenchmark", "KMSCustomerKeyDisableOrDeleteEvents"))[0]
    assert (cis.statistic.text, cis.period, cis.evaluation_periods) == ("Sum", 300, 1)
    assert cis.comparison is Comparison.GE
    assert rules.key_material is not None
    km = rules.key_material.alarm
    assert (km.statistic.text, km.period, km.threshold, km.comparison) == (
        "Minimum",
        60,
        864000.0,
        Comparison.LE,
    )
    for rule in rules.filters:
        assert rule.title and rule.severity and rule.references


def test_describe_metric_filters_and_alarms_load(tmp_path):
    filters = load_rules(write(tmp_path, "f.json", DESCRIBE_FILTERS))
    alarms = load_rules(write(tmp_path, "a.json", DESCRIBE_ALARMS))
    merged = builtin_rules().merged(filters).merged(alarms)
    mine = [r for r in merged.filters if r.metric_filter.name == "KMSKeyPendingDeletionErrorCount"]
    assert len(mine) == 1 and mine[0].metric_filter.default_value == 0.0
    # The catalogue metadata stays; the definition is the user's.
    assert mine[0].id == "kms-pending-deletion-usage" and mine[0].severity == "high"
    assert "metricFilters[0]" in mine[0].origin
    assert mine[0].metric_filter.log_group == "aws-cloudtrail-logs"
    alarm = next(a for a in merged.alarms if a.name == "KMSKeyPendingDeletionErrorAlarm")
    # The user's real alarm replaces the built-in one of the same name.
    assert (alarm.period, alarm.evaluation_periods, alarm.m) == (60, 3, 2)
    p99 = next(a for a in merged.alarms if a.name == "Latency-p99")
    assert p99.statistic.text == "p99" and p99.evaluate_low_sample_count_percentile == "ignore"
    assert any("Band" in s and "anomaly-detection" in s for s in merged.skipped)
    assert [a.name for a in merged.unwatched_alarms()] == ["Latency-p99"]


def test_native_toml_rule(tmp_path):
    path = write(
        tmp_path,
        "mine.toml",
        """
[[rule]]
id = "decrypt-burst"
title = "Decrypt burst"
severity = "low"
[rule.filter]
pattern = '{ $.eventName = "Decrypt" }'
namespace = "Mine"
metric = "Decrypts"
[rule.alarm]
name = "DecryptBurst"
statistic = "SampleCount"
period = 60
evaluation_periods = 5
datapoints_to_alarm = 3
threshold = 100
comparison = ">"
""",
    )
    rules = load_rules(path)
    assert rules.filters[0].metric_filter.name == "decrypt-burst"
    assert rules.alarms[0].comparison is Comparison.GT
    assert rules.alarms[0].m == 3


def bad_filter(**over):
    transform = {"metricName": "m", "metricNamespace": "n", "metricValue": "1"}
    transform.update(over.pop("transform", {}))
    item = {"filterName": "F", "filterPattern": "", "metricTransformations": [transform]}
    item.update(over)
    return {"metricFilters": [item]}


def bad_alarm(**over):
    item = {
        "AlarmName": "A",
        "MetricName": "m",
        "Namespace": "n",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    item.update(over)
    return {"MetricAlarms": [item]}


@pytest.mark.parametrize(
    ("content", "rule", "field"),
    [
        (bad_filter(filterPattern="{ $.a = "), "F", "filterPattern"),
        (bad_filter(metricTransformations=[]), "F", "metricTransformations"),
        (bad_filter(filterPattern="ERROR", transform={"metricValue": "$.x"}), "F",
         "metricTransformations"),
        (bad_filter(transform={"metricValue": "one"}), "F", "metricValue"),
        (bad_filter(transform={"unit": "Parsecs"}), "F", "unit"),
        (bad_alarm(Statistic="Median"), "A", "Statistic"),
        (bad_alarm(Period=61), "A", "Period"),
        (bad_alarm(EvaluationPeriods=2, DatapointsToAlarm=3), "A", "DatapointsToAlarm"),
        (bad_alarm(ComparisonOperator="Above"), "A", "ComparisonOperator"),
        (bad_alarm(Threshold="x"), "A", "Threshold"),
        (bad_alarm(TreatMissingData="zero"), "A", "TreatMissingData"),
        (bad_alarm(EvaluationPeriods=1441), "A", "EvaluationPeriods"),
    ],
)  # fmt: skip
def test_invalid_rules_name_rule_and_field(tmp_path, content, rule, field):
    path = write(tmp_path, "bad.json", content)
    with pytest.raises(RuleError) as info:
        load_rules(path)
    assert info.value.rule == rule and info.value.field == field
    assert str(path) in str(info.value)


def test_anomaly_operator_in_toml_is_rejected_clearly(tmp_path):
    path = write(
        tmp_path,
        "bad.toml",
        """
[[rule]]
id = "r"
[rule.filter]
pattern = "ERROR"
namespace = "n"
metric = "m"
[rule.alarm]
name = "a"
threshold = 1
comparison = "LessThanLowerOrGreaterThanUpperThreshold"
""",
    )
    with pytest.raises(RuleError, match="anomaly-detection"):
        load_rules(path)


def test_unknown_toml_field_and_bad_files(tmp_path):
    with pytest.raises(RuleError, match="filter.patern"):
        load_rules(
            write(
                tmp_path,
                "t.toml",
                '[[rule]]\nid = "r"\n[rule.filter]\npatern = "x"\nnamespace = "n"\nmetric = "m"\n',
            )
        )
    with pytest.raises(RuleError, match="describe-metric-filters"):
        load_rules(write(tmp_path, "x.json", {"something": 1}))
    with pytest.raises(RuleError, match="invalid JSON at line 1"):
        load_rules(write(tmp_path, "y.json", "{nope"))
    with pytest.raises(RuleError, match="cannot read"):
        load_rules(tmp_path / "missing.json")
