"""Versions of metric filters and alarms reconstructed from their CloudTrail calls."""

from __future__ import annotations

from typing import Any

from lifecycle_records import record
from logged_records import METRIC, NS, A, B, placed, put_alarm, put_filter

from kmslog.decode.memory import frame_from_records
from kmslog.metrics.existence import config_frame_filter
from kmslog.metrics.logged import bind, reconstruct

FILTER = "kms-changes"


def alarm_put(time: str, name: str = "Page", **changes: Any) -> dict[str, Any]:
    return put_alarm(time, name=name, **changes)


def filter_put(time: str, pattern: str = '{ $.eventName = "DisableKey" }') -> dict[str, Any]:
    rec = put_filter(time, name=FILTER, pattern=pattern)
    rec["requestParameters"]["logGroupName"] = "trail"
    return rec


def monitoring(rec: dict[str, Any], account: str = A, region: str = "us-east-1") -> dict:
    rec["eventSource"] = "monitoring.amazonaws.com"
    return placed(rec, account, region)


def logged(records: list[dict[str, Any]]):
    frame = frame_from_records(records).filter(config_frame_filter())
    return reconstruct(frame.iter_rows(named=True))


def test_alarm_versions_change_and_end_with_the_delete():
    result = logged(
        [
            alarm_put("2024-03-02T09:00:00Z"),
            alarm_put("2024-03-02T10:00:00Z", statistic="Maximum", threshold=3),
            monitoring(
                record(
                    "DeleteAlarms", "2024-03-02T11:00:00Z", None, request={"alarmNames": ["Page"]}
                )
            ),
        ]
    )
    first, second = result.alarms
    assert first.alarm is not None and second.alarm is not None
    assert (first.alarm.statistic.text, first.alarm.threshold, first.alarm.period) == (
        "Sum",
        1.0,
        300,
    )
    assert (second.alarm.statistic.text, second.alarm.threshold) == ("Maximum", 3.0)
    assert first.end == second.start and first.end_event == "PutMetricAlarm"
    assert second.end is not None and second.end.hour == 11 and second.end_event == "DeleteAlarms"
    assert not result.problems


def test_pascal_case_parameters_are_accepted_too():
    rec = alarm_put("2024-03-02T09:00:00Z")
    rec["requestParameters"] = {
        k[0].upper() + k[1:]: v for k, v in rec["requestParameters"].items()
    }
    (version,) = logged([rec]).alarms
    assert version.alarm is not None and version.alarm.name == "Page" and version.end is None


def test_same_name_in_another_account_or_region_is_another_alarm():
    other = alarm_put("2024-03-02T10:00:00Z")
    monitoring(other, B)
    elsewhere = monitoring(alarm_put("2024-03-02T10:30:00Z"), A, "eu-west-1")
    result = logged([alarm_put("2024-03-02T09:00:00Z"), other, elsewhere])
    places = sorted((v.account, v.region, v.end) for v in result.alarms)
    assert places == [(A, "eu-west-1", None), (A, "us-east-1", None), (B, "us-east-1", None)]


def test_failed_calls_are_not_versions():
    failed = alarm_put("2024-03-02T09:00:00Z")
    failed["errorCode"] = "AccessDenied"
    failed["errorMessage"] = "denied"
    assert logged([failed]).alarms == ()


def test_filter_versions_and_bad_pattern_is_a_problem_naming_the_event():
    good = filter_put("2024-03-02T09:00:00Z")
    bad = filter_put("2024-03-02T10:00:00Z", pattern='{ $.eventName = "Disable')
    deleted = record(
        "DeleteMetricFilter",
        "2024-03-02T11:00:00Z",
        None,
        request={"logGroupName": "trail", "filterName": "kms-changes"},
    )
    deleted["eventSource"] = "logs.amazonaws.com"
    result = logged([good, bad, deleted])
    (version,) = result.filters
    assert version.rule is not None and version.rule.metric_filter.metric_name == METRIC
    # AWS accepted the call, so the old version ended even if kmslog cannot read the new one
    assert version.end is not None and version.end.hour == 10
    (problem,) = result.problems
    assert problem.event_id == bad["eventID"] and "filterPattern" in problem.reason


def test_unreplayable_alarm_is_a_problem_not_a_crash():
    result = logged(
        [
            alarm_put("2024-03-02T09:00:00Z", period="soon"),
            alarm_put("2024-03-02T09:05:00Z", name="Math", metrics=[{"id": "m1"}]),
        ]
    )
    assert result.alarms == ()
    assert sorted(p.name for p in result.problems) == ["Math", "Page"]


def placed_filter(time: str, account: str = A, region: str = "us-east-1", **kw: Any) -> dict:
    return placed(filter_put(time, **kw), account, region)


def test_alarm_binds_to_the_filters_of_its_place_and_time():
    result = logged(
        [
            placed_filter("2024-03-02T08:00:00Z"),
            placed_filter("2024-03-02T08:00:00Z", B),  # another account
            placed_filter("2024-03-02T08:00:00Z", A, "eu-west-1"),  # another Region
            alarm_put("2024-03-02T09:00:00Z"),
            monitoring(
                record(
                    "DeleteAlarms", "2024-03-02T10:00:00Z", None, request={"alarmNames": ["Page"]}
                )
            ),
            # a filter version created after the alarm was deleted never fed it
            placed_filter(
                "2024-03-02T11:00:00Z", pattern='{ $.eventName = "ScheduleKeyDeletion" }'
            ),
        ]
    )
    (bound,) = bind(result)
    (feed,) = bound.feeds
    assert (feed.account, feed.region, feed.start.hour) == (A, "us-east-1", 8)
    assert (bound.spec.account, bound.spec.region, bound.spec.name) == (A, "us-east-1", "Page")
    (rule,) = bound.rules
    assert rule.id.startswith("kms-changes@") and rule.metric_filter.metric_key == (NS, METRIC)


def test_alarm_on_another_metric_has_no_feed():
    result = logged(
        [
            placed_filter("2024-03-02T08:00:00Z"),
            alarm_put("2024-03-02T09:00:00Z", metricName="Other"),
        ]
    )
    (bound,) = bind(result)
    assert bound.feeds == ()


def test_validity_is_half_open():
    first, second = logged(
        [alarm_put("2024-03-02T09:00:00Z"), alarm_put("2024-03-02T10:00:00Z", threshold=5)]
    ).alarms
    assert first.valid_at(first.start) and not first.valid_at(second.start)
    assert second.valid_at(second.start) and not second.valid_at(first.start)
