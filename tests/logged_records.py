"""CloudTrail records of metric-filter and alarm configuration, in the shapes
CloudTrail logs them (camelCase requestParameters)."""

from __future__ import annotations

from typing import Any

from lifecycle_records import record

A, B = "111122223333", "444455556666"
NS, METRIC = "CISBenchmark", "KMSCustomerKeyDisableOrDeleteEvents"
CIS_PATTERN = (
    "{($.eventSource = kms.amazonaws.com) && "
    "(($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}"
)


def placed(rec: dict[str, Any], account: str = A, region: str = "us-east-1") -> dict[str, Any]:
    rec["recipientAccountId"] = account
    rec["awsRegion"] = region
    return rec


def put_filter(
    time: str,
    account: str = A,
    region: str = "us-east-1",
    *,
    name: str = "kms-disable-or-delete",
    pattern: str = CIS_PATTERN,
) -> dict[str, Any]:
    rec = record(
        "PutMetricFilter",
        time,
        None,
        request={
            "logGroupName": "CloudTrail/DefaultLogGroup",
            "filterName": name,
            "filterPattern": pattern,
            "metricTransformations": [
                {"metricName": METRIC, "metricNamespace": NS, "metricValue": "1"}
            ],
        },
    )
    rec["eventSource"] = "logs.amazonaws.com"
    return placed(rec, account, region)


def put_alarm(
    time: str, account: str = A, region: str = "us-east-1", *, name: str = "Page", **changes: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "alarmName": name,
        "namespace": NS,
        "metricName": METRIC,
        "statistic": "Sum",
        "period": 300,
        "evaluationPeriods": 1,
        "threshold": 1.0,
        "comparisonOperator": "GreaterThanOrEqualToThreshold",
        "treatMissingData": "notBreaching",
        "actionsEnabled": True,
        "alarmActions": [f"arn:aws:sns:{region}:{account}:pager"],
    }
    params.update(changes)
    rec = record("PutMetricAlarm", time, None, request=params)
    rec["eventSource"] = "monitoring.amazonaws.com"
    return placed(rec, account, region)


def delete_alarms(time: str, *names: str, account: str = A, region: str = "us-east-1") -> dict:
    rec = record("DeleteAlarms", time, None, request={"alarmNames": list(names)})
    rec["eventSource"] = "monitoring.amazonaws.com"
    return placed(rec, account, region)


def disable(time: str, account: str = A, region: str = "us-east-1") -> dict[str, Any]:
    return placed(record("DisableKey", time), account, region)


def disable_alarm_actions(
    time: str, *names: str, account: str = A, region: str = "us-east-1"
) -> dict[str, Any]:
    rec = record("DisableAlarmActions", time, None, request={"alarmNames": list(names)})
    rec["eventSource"] = "monitoring.amazonaws.com"
    return placed(rec, account, region)
