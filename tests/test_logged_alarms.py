"""The alarms the account really had: reconstructed from PutMetricFilter /
PutMetricAlarm and replayed version by version on their own records."""

from __future__ import annotations

from typing import Any

from logged_records import (
    METRIC,
    NS,
    A,
    B,
    delete_alarms,
    disable,
    disable_alarm_actions,
    put_alarm,
    put_filter,
)

from kmslog.analyses.base import fold
from kmslog.analyses.detections import DetectionsAnalysis, DetectionsResult
from kmslog.decode.memory import frame_from_records
from kmslog.kms.dates import iso_z
from kmslog.metrics.alarm import AlarmState
from kmslog.metrics.loaders import builtin_rules, parse_aws_json
from kmslog.metrics.rules import RuleSet


def scan(*frames: list[dict[str, Any]], logged: bool = True) -> DetectionsResult:
    # No built-in rules: only what the logs configured can fire.
    analysis = DetectionsAnalysis(RuleSet(), logged_alarms=logged)
    return fold(analysis, [frame_from_records(f) for f in frames])


def logged_reports(result: DetectionsResult, name: str = "Page") -> list[Any]:
    return [r for r in result.alarms if r.version is not None and r.alarm.name == name]


def alarms(report: Any) -> list[Any]:
    return [t for t in report.transitions if t.new is AlarmState.ALARM]


def test_logged_alarm_fires_on_its_own_configuration():
    # The configuration sits in a later frame than the data: the fold order must not matter.
    data = [disable("2024-03-02T10:00:10Z")]
    config = [put_filter("2024-03-02T09:00:00Z"), put_alarm("2024-03-02T09:01:00Z")]
    (report,) = logged_reports(scan(data, config))
    assert report.alarm.statistic.text == "Sum" and report.alarm.period == 300
    assert report.alarm.threshold == 1.0 and (report.account, report.region) == (A, "us-east-1")
    (fired,) = alarms(report)
    assert fired.would_notify and fired.time.isoformat().startswith("2024-03-02T10:05")
    assert report.filters == ("kms-disable-or-delete",)


def test_alarm_deleted_before_the_breaching_datapoint_never_fires():
    result = scan(
        [
            put_filter("2024-03-02T09:00:00Z"),
            put_alarm("2024-03-02T09:01:00Z"),
            delete_alarms("2024-03-02T09:57:10Z", "Page"),
            disable("2024-03-02T10:00:10Z"),
        ]
    )
    (report,) = logged_reports(result)
    assert alarms(report) == []
    assert report.version is not None and report.version.end_event == "DeleteAlarms"
    # Had it stayed, its 10:00 period would have paged at 10:05: that page never went out.
    missed = report.missed
    assert missed is not None
    assert iso_z(missed.deleted_at) == "2024-03-02T09:57:10Z"
    assert iso_z(missed.would_fire_at) == "2024-03-02T10:05:00Z"
    assert missed.muted_at is None
    assert missed.trigger is not None and missed.trigger["event_name"] == "DisableKey"
    assert missed.text == (
        "alarm Page (Sum, 300 s, >= 1) was deleted at 2024-03-02T09:57:10Z, 3 minutes "
        f"before DisableKey on key {missed.trigger['key_arn']}: the page that would have "
        "fired at 2024-03-02T10:05:00Z never went out"
    )


def test_alarm_deleted_with_nothing_after_it_missed_no_page():
    result = scan(
        [
            put_filter("2024-03-02T09:00:00Z"),
            put_alarm("2024-03-02T09:01:00Z"),
            disable("2024-03-02T09:20:10Z"),
            delete_alarms("2024-03-02T09:57:10Z", "Page"),
            put_filter("2024-03-02T10:30:00Z", name="other"),  # the logs go on, quietly
        ]
    )
    (report,) = logged_reports(result)
    assert len(alarms(report)) == 1 and report.missed is None


def test_alarm_muted_then_deleted_names_both():
    result = scan(
        [
            put_filter("2024-03-02T09:00:00Z"),
            put_alarm("2024-03-02T09:01:00Z"),
            disable_alarm_actions("2024-03-02T09:40:00Z", "Page"),
            delete_alarms("2024-03-02T09:57:10Z", "Page"),
            disable("2024-03-02T10:00:10Z"),
        ]
    )
    (report,) = logged_reports(result)
    assert report.missed is not None and report.missed.muted_at is not None
    assert iso_z(report.missed.muted_at) == "2024-03-02T09:40:00Z"
    assert "had its actions disabled at 2024-03-02T09:40:00Z and was deleted" in (
        report.missed.text
    )


def test_statistic_and_threshold_change_mid_way():
    result = scan(
        [
            put_filter("2024-03-02T09:00:00Z"),
            put_alarm("2024-03-02T09:01:00Z", threshold=2.0),
            # One event: below the first version's 2, and older than the second version's
            # evaluation range (3 periods) when it takes over.
            disable("2024-03-02T09:05:10Z"),
            put_alarm("2024-03-02T09:30:00Z", statistic="SampleCount", threshold=1.0),
            disable("2024-03-02T10:00:10Z"),  # one event: the second version's 1 is met
        ]
    )
    first, second = logged_reports(result)
    assert (first.alarm.statistic.text, first.alarm.threshold) == ("Sum", 2.0)
    assert (second.alarm.statistic.text, second.alarm.threshold) == ("SampleCount", 1.0)
    assert alarms(first) == [] and [t.new for t in first.transitions] == [AlarmState.OK]
    (fired,) = alarms(second)
    assert fired.time.isoformat().startswith("2024-03-02T10:05")
    # The update keeps the alarm's state: the second version starts OK, not anew.
    assert all(t.old is not AlarmState.INSUFFICIENT_DATA for t in second.transitions)


def test_each_alarm_hears_only_its_own_account_in_every_region():
    result = scan(
        [
            put_filter("2024-03-02T09:00:00Z"),
            put_alarm("2024-03-02T09:01:00Z"),
            put_filter("2024-03-02T09:00:00Z", B),
            put_alarm("2024-03-02T09:01:00Z", B),
            # Only account B, and A's other Region, disable keys.
            disable("2024-03-02T10:00:10Z", B),
            disable("2024-03-02T10:00:20Z", A, "eu-west-1"),
        ]
    )
    by_place = {(r.account, r.region): r for r in logged_reports(result)}
    assert set(by_place) == {(A, "us-east-1"), (B, "us-east-1")}
    # A multi-Region trail delivers A's eu-west-1 event to A's log group: one ALARM
    # each, at the period of its own account's event (B's came 10 s earlier).
    # A does not hear B's event, nor B A's: each period holds one event.
    for place in by_place.values():
        assert len(alarms(place)) == 1
        assert [value for _, value in place.datapoints if value] == [1.0]
    assert any("every Region" in note and A in note for note in result.skipped)


def test_filter_created_after_the_event_does_not_count():
    result = scan(
        [
            put_alarm("2024-03-02T09:01:00Z"),
            disable("2024-03-02T10:00:10Z"),
            put_filter("2024-03-02T10:01:00Z"),
            disable("2024-03-02T10:20:10Z"),
        ]
    )
    (report,) = logged_reports(result)
    (fired,) = alarms(report)
    assert fired.time.isoformat().startswith("2024-03-02T10:25")


def test_logged_alarms_off_replays_nothing_of_them():
    result = scan(
        [put_filter("2024-03-02T09:00:00Z"), put_alarm("2024-03-02T09:01:00Z")],
        [disable("2024-03-02T10:00:10Z")],
        logged=False,
    )
    assert logged_reports(result) == [] and result.alarms == ()


def with_rules(records: list[dict[str, Any]], rules: RuleSet) -> DetectionsResult:
    return fold(DetectionsAnalysis(rules, logged_alarms=True), [frame_from_records(records)])


def cis_records() -> list[dict[str, Any]]:
    return [
        put_filter("2024-03-02T09:00:00Z"),
        put_alarm("2024-03-02T09:01:00Z"),
        disable("2024-03-02T10:00:10Z"),
    ]


def test_loaded_rule_of_the_same_name_overrides_the_logged_alarm():
    loaded = parse_aws_json(
        {
            "MetricAlarms": [
                {
                    "AlarmName": "Page",
                    "Namespace": NS,
                    "MetricName": METRIC,
                    "Statistic": "Sum",
                    "Period": 300,
                    "EvaluationPeriods": 1,
                    "Threshold": 5,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                }
            ]
        },
        "alarms.json",
    )
    result = with_rules(cis_records(), builtin_rules().merged(loaded))
    assert logged_reports(result) == []
    (page,) = [r for r in result.alarms if r.alarm.name == "Page"]
    assert page.alarm.threshold == 5 and alarms(page) == []  # the loaded threshold rules
    assert any("'Page'" in s and "overridden" in s for s in result.skipped)


def test_builtin_identical_to_a_logged_alarm_is_reported_once():
    result = with_rules(cis_records(), builtin_rules())
    builtin_name = "KMSCustomerKeyDisableOrDeleteAlarm"
    assert [r for r in result.alarms if r.alarm.name == builtin_name] == []
    (page,) = logged_reports(result)
    assert len(alarms(page)) == 1
    assert any(builtin_name in s and "reported once" in s for s in result.skipped)


def test_builtin_that_differs_from_the_logged_alarm_is_kept():
    records = cis_records()
    records[1] = put_alarm("2024-03-02T09:01:00Z", threshold=3.0)
    result = with_rules(records, builtin_rules())
    names = {r.alarm.name for r in result.alarms if r.account == A}
    assert {"KMSCustomerKeyDisableOrDeleteAlarm", "Page"} <= names
