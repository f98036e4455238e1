"""Calls on the trail's bucket, log group and alarms, in the shapes CloudTrail logs
them: successful and failed, on a known trail target, on an unknown one, and on one
only a name suggests."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kmslog.blindspots import destination as D
from kmslog.blindspots import destination_kinds as K
from kmslog.blindspots.destination import TrailTargets, incident, targets
from kmslog.decode.memory import frame_from_records
from kmslog.findings.model import kinds

A, B = "111122223333", "444455556666"
REGION = "us-east-1"
CALLER = f"arn:aws:iam::{A}:user/Mallory"
TRAIL_BUCKET = "org-audit-logs-7f3a"
TRAIL_GROUP_ARN = f"arn:aws:logs:{REGION}:{A}:log-group:audit/management:*"


def _shared() -> Path:
    root = os.environ.get("KMSLOG_SHARED")
    if root:
        return Path(root)
    return Path(__file__).resolve().parents[2] / ".." / "shared"


EXTERNAL = _shared() / "external"


def call(
    source: str,
    name: str,
    request: dict[str, Any] | None,
    *,
    time: str = "2024-08-18T13:47:50Z",
    error: tuple[str, str] | None = None,
    account: str = A,
    region: str = REGION,
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": CALLER.replace(A, account),
            "accountId": account,
            "userName": "Mallory",
        },
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.17.32",
        "requestParameters": request,
        "responseElements": response,
        "requestID": "REQ",
        "eventID": f"{name}-{time}-{account}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error is not None:
        rec["errorCode"], rec["errorMessage"] = error
    return rec


def s3(name: str, bucket: str, extra: dict[str, Any] | None = None, **kw: Any) -> dict:
    params = {"bucketName": bucket, "Host": f"{bucket}.s3.{REGION}.amazonaws.com"}
    params.update(extra or {})
    return call(D.S3, name, params, **kw)


def logs(name: str, group: str, extra: dict[str, Any] | None = None, **kw: Any) -> dict:
    return call(D.LOGS, name, {"logGroupName": group, **(extra or {})}, **kw)


def create_trail(
    bucket: str = TRAIL_BUCKET,
    group_arn: str | None = TRAIL_GROUP_ARN,
    *,
    account: str = A,
    error: tuple[str, str] | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "name": "management-events",
        "s3BucketName": bucket,
        "isMultiRegionTrail": True,
    }
    if group_arn is not None:
        request["cloudWatchLogsLogGroupArn"] = group_arn
        request["cloudWatchLogsRoleArn"] = f"arn:aws:iam::{account}:role/CloudTrail_CWL"
    response = None
    if error is None:
        response = {
            **request,
            "trailARN": f"arn:aws:cloudtrail:{REGION}:{account}:trail/management-events",
        }
    return call(
        D.CLOUDTRAIL,
        "CreateTrail",
        request,
        time="2024-01-01T00:00:00Z",
        account=account,
        error=error,
        response=response,
    )


def rows(*records: dict[str, Any]) -> list[dict[str, Any]]:
    return frame_from_records(list(records), source="AWSLogs/x.json.gz").to_dicts()


def one(record: dict[str, Any], trails: TrailTargets) -> Any:
    (row,) = rows(record)
    return incident(row, trails)


KNOWN = targets(rows(create_trail()))


# --- targets ------------------------------------------------------------------------


def test_targets_read_bucket_and_log_group_from_create_and_update_trail() -> None:
    update = call(
        D.CLOUDTRAIL,
        "UpdateTrail",
        {"name": f"arn:aws:cloudtrail:{REGION}:{A}:trail/management-events", "s3BucketName": "new"},
        time="2024-02-01T00:00:00Z",
    )
    found = targets(rows(create_trail(), update))
    assert found.bucket_trails(TRAIL_BUCKET) == ("management-events",)
    assert found.bucket_trails("new") == ("management-events",)  # ARN folded to the name
    assert found.log_group_trails(A, REGION, "audit/management") == ("management-events",)
    assert found.log_group_trails(A, "eu-west-1", "audit/management") == ()
    assert found.knows_log_groups(A) and not found.knows_log_groups(B)


def test_failed_trail_calls_point_nowhere() -> None:
    found = targets(rows(create_trail(error=("AccessDenied", "denied"))))
    assert found == TrailTargets()
    assert not found.knows_buckets()


def test_targets_merge_is_a_union() -> None:
    left = targets(rows(create_trail()))
    right = targets(rows(create_trail("other-bucket", None, account=B)))
    both = targets(rows(create_trail(), create_trail("other-bucket", None, account=B)))
    assert left.merge(right) == both == right.merge(left)


def test_candidates_keep_only_the_calls_read_here() -> None:
    frame = frame_from_records(
        [
            create_trail(),
            s3("DeleteBucket", TRAIL_BUCKET),
            s3("CreateBucket", TRAIL_BUCKET),
            call(D.MONITORING, "DeleteAlarms", {"alarmNames": ["a"]}),
            call(D.LOGS, "DeleteAlarms", {"alarmNames": ["a"]}),
        ]
    )
    kept = frame.filter(D.candidates())["event_name"].to_list()
    assert kept == ["CreateTrail", "DeleteBucket", "DeleteAlarms"]


# --- S3 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("DeleteBucket", K.BUCKET_DELETED),
        ("DeleteBucketPolicy", K.BUCKET_POLICY_DELETED),
        ("PutBucketLifecycle", K.BUCKET_LIFECYCLE),
    ],
)
def test_call_on_the_trail_bucket_is_an_incident(name: str, kind: Any) -> None:
    found = one(s3(name, TRAIL_BUCKET), KNOWN)
    assert found is not None
    assert (found.cause, found.attempt, found.resource) == (kind.id, False, TRAIL_BUCKET)
    assert (found.account, found.region) == (A, REGION)
    assert found.cite.event_name == name and found.cite.error_code is None
    assert found.cite.event_time == datetime(2024, 8, 18, 13, 47, 50, tzinfo=UTC)
    assert found.cite.source == "AWSLogs/x.json.gz" and found.cite.record_index == 0
    for part in (name, TRAIL_BUCKET, "management-events", CALLER, "2024-08-18 13:47:50Z"):
        assert part in found.summary
    assert "possibly" not in found.summary and "\n" not in found.summary
    assert kinds()[found.cause].source == "blind_spot"


def test_bucket_no_trail_writes_to_is_left_alone() -> None:
    assert one(s3("DeleteBucket", "scratch-data"), KNOWN) is None
    # A known trail bucket means the name rule does not apply to others.
    assert one(s3("DeleteBucket", "old-cloudtrail-logs"), KNOWN) is None


def test_bucket_of_a_trail_in_another_account_counts() -> None:
    # An organization trail of A writes to B's log-archive bucket: names are global.
    found = one(s3("DeleteBucket", TRAIL_BUCKET, account=B), KNOWN)
    assert found is not None and found.account == B


def test_without_known_targets_a_trail_like_bucket_is_possibly_the_trails() -> None:
    found = one(s3("DeleteBucket", "Acme-CloudTrail-Logs"), TrailTargets())
    assert found is not None and found.cause == K.BUCKET_DELETED.id
    assert "possibly the trail's" in found.summary
    assert one(s3("DeleteBucket", "scratch-data"), TrailTargets()) is None


def test_failed_call_is_an_attempt() -> None:
    record = s3(
        "DeleteBucket",
        TRAIL_BUCKET,
        error=("AccessDenied", "User is not authorized to perform: s3:DeleteBucket"),
    )
    found = one(record, KNOWN)
    assert found is not None
    assert found.attempt and found.cause == K.DESTINATION_ATTEMPT.id
    assert found.cite.error_code == "AccessDenied"
    assert found.summary.startswith("Failed DeleteBucket (AccessDenied)")


def test_lifecycle_summary_names_the_shortest_expiration() -> None:
    config = {
        "LifecycleConfiguration": {
            "Rule": {
                "Expiration": {"Days": 1},
                "Filter": {"Prefix": "*"},
                "ID": "expire-fast",
                "Status": "Enabled",
            },
            "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
        },
        "lifecycle": "",
    }
    found = one(s3("PutBucketLifecycle", TRAIL_BUCKET, config), KNOWN)
    assert found is not None and "expiring objects after 1 day" in found.summary
    config["LifecycleConfiguration"]["Rule"] = [
        {"Expiration": {"Days": 30}, "Status": "Enabled"},
        {"Expiration": {"Days": 2}, "Status": "Disabled"},
        {"Transition": {"Days": 5, "StorageClass": "GLACIER"}, "Status": "Enabled"},
    ]
    found = one(s3("PutBucketLifecycle", TRAIL_BUCKET, config), KNOWN)
    assert found is not None and "after 30 days" in found.summary
    # Rules that only move objects to colder storage keep the logs: routine.
    config["LifecycleConfiguration"]["Rule"] = [
        {"Transition": {"Days": 5, "StorageClass": "GLACIER"}, "Status": "Enabled"},
        {"Expiration": {"Days": 2}, "Status": "Disabled"},
    ]
    assert one(s3("PutBucketLifecycle", TRAIL_BUCKET, config), KNOWN) is None
    # Rules the record does not hold: reported, saying so.
    found = one(s3("PutBucketLifecycle", TRAIL_BUCKET, {"lifecycle": ""}), KNOWN)
    assert found is not None and "rules not in the record" in found.summary


def test_a_destination_only_its_name_ties_to_the_trail_is_one_severity_lower():
    from kmslog.blindspots.findings import incident_finding

    guessed = one(s3("DeleteBucket", "acme-cloudtrail-archive"), targets([]))
    known = one(s3("DeleteBucket", TRAIL_BUCKET), KNOWN)
    assert guessed is not None and known is not None
    assert (guessed.certain, known.certain) == (False, True)
    assert incident_finding(known).effective_severity == K.BUCKET_DELETED.severity
    assert incident_finding(guessed).effective_severity != K.BUCKET_DELETED.severity


CLOUDTRAIL_WRITES = {
    "Sid": "AWSCloudTrailWrite",
    "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"},
    "Action": "s3:PutObject",
    "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}/AWSLogs/{A}/*",
    "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
}
ACL_CHECK = {
    "Sid": "AWSCloudTrailAclCheck",
    "Effect": "Allow",
    "Principal": {"Service": ["cloudtrail.amazonaws.com"]},
    "Action": ["s3:GetBucketAcl"],
    "Resource": f"arn:aws:s3:::{TRAIL_BUCKET}",
}
TLS_ONLY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": "*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


@pytest.mark.parametrize(
    ("statements", "blocked"),
    [
        ([ACL_CHECK, CLOUDTRAIL_WRITES], False),
        ([ACL_CHECK, CLOUDTRAIL_WRITES, TLS_ONLY], False),  # conditional deny: not judged
        ([ACL_CHECK], True),
        ([ACL_CHECK, {**CLOUDTRAIL_WRITES, "Action": "s3:Put*"}], False),
        ([CLOUDTRAIL_WRITES, {**TLS_ONLY, "Condition": None}], True),  # deny of everything
        ([{**CLOUDTRAIL_WRITES, "Principal": {"AWS": f"arn:aws:iam::{A}:root"}}], True),
    ],
)
def test_put_bucket_policy_counts_only_when_cloudtrail_is_cut_off(
    statements: list[dict[str, Any]], blocked: bool
) -> None:
    policy = {"Version": "2012-10-17", "Statement": statements}
    assert D.blocks_cloudtrail(policy) is blocked
    assert D.blocks_cloudtrail(json.dumps(policy)) is blocked  # given as text
    found = one(s3("PutBucketPolicy", TRAIL_BUCKET, {"bucketPolicy": policy}), KNOWN)
    assert (found is not None) is blocked
    if found is not None:
        assert found.cause == K.BUCKET_POLICY_BLOCKS.id
        assert "no longer lets CloudTrail write" in found.summary


def test_unreadable_bucket_policy_is_no_finding() -> None:
    assert D.blocks_cloudtrail("invalid-json-policy") is None
    assert D.blocks_cloudtrail({"Version": "2012-10-17"}) is None
    assert one(s3("PutBucketPolicy", TRAIL_BUCKET, {"bucketPolicy": "{"}), KNOWN) is None


def test_hostile_bucket_name_is_capped() -> None:
    huge = "trail-" + "x" * 10_000
    found = one(s3("DeleteBucket", huge), TrailTargets())
    assert found is not None
    assert len(found.resource) <= D.MAX_NAME and len(found.summary) < 2 * D.MAX_NAME + 300


# --- CloudWatch Logs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "extra", "kind", "detail"),
    [
        ("DeleteLogGroup", {}, K.LOG_GROUP_DELETED, ""),
        ("PutRetentionPolicy", {"retentionInDays": 1}, K.LOG_RETENTION, "keeping events 1 day"),
        ("DeleteMetricFilter", {"filterName": "kms-off"}, K.METRIC_FILTER_DELETED, "'kms-off'"),
        (
            "DeleteSubscriptionFilter",
            {"filterName": "to-siem"},
            K.SUBSCRIPTION_FILTER_DELETED,
            "'to-siem'",
        ),
    ],
)
def test_call_on_the_trail_log_group_is_an_incident(
    name: str, extra: dict[str, Any], kind: Any, detail: str
) -> None:
    found = one(logs(name, "audit/management", extra), KNOWN)
    assert found is not None
    assert (found.cause, found.resource, found.attempt) == (kind.id, "audit/management", False)
    assert detail in found.summary and "management-events" in found.summary


def test_log_group_of_the_same_name_elsewhere_is_not_the_trails() -> None:
    assert one(logs("DeleteLogGroup", "audit/management", region="eu-west-1"), KNOWN) is None
    assert one(logs("DeleteLogGroup", "audit/management", account=B), KNOWN) is None
    assert one(logs("DeleteLogGroup", "app/web"), KNOWN) is None


def test_without_known_log_group_a_cloudtrail_named_one_is_possibly_the_trails() -> None:
    found = one(logs("DeleteLogGroup", "aws-cloudtrail-logs-123-abc"), TrailTargets())
    assert found is not None and "possibly the trail's" in found.summary
    # B has no trail log group known: the name rule applies there.
    found = one(logs("DeleteLogGroup", "CloudTrail/DefaultLogGroup", account=B), KNOWN)
    assert found is not None and "possibly" in found.summary
    assert one(logs("DeleteLogGroup", "CloudTrail/DefaultLogGroup"), KNOWN) is None


def test_denied_log_call_without_parameters_names_the_group_from_the_message() -> None:
    message = (
        f"User: {CALLER} is not authorized to perform: logs:DeleteLogGroup on resource: "
        f"arn:aws:logs:{REGION}:{A}:log-group:audit/management:log-stream: because no "
        "identity-based policy allows the logs:DeleteLogGroup action"
    )
    record = call(D.LOGS, "DeleteLogGroup", None, error=("AccessDenied", message))
    found = one(record, KNOWN)
    assert found is not None and found.attempt and found.resource == "audit/management"
    assert one(call(D.LOGS, "DeleteLogGroup", None, error=("AccessDenied", "no")), KNOWN) is None


# --- CloudWatch alarms ----------------------------------------------------------------


def test_deleting_any_alarm_is_an_incident_without_any_trail() -> None:
    names = [f"alarm-{i}" for i in range(7)]
    found = one(call(D.MONITORING, "DeleteAlarms", {"alarmNames": names}), TrailTargets())
    assert found is not None and found.cause == K.ALARMS_DELETED.id
    assert found.resource == ", ".join(names[:5])
    assert "'alarm-4'" in found.summary and "'alarm-5'" not in found.summary
    assert "(+2 more)" in found.summary


def test_disabling_alarm_actions_is_an_incident() -> None:
    found = one(call(D.MONITORING, "DisableAlarmActions", {"alarmNames": ["kms"]}), KNOWN)
    assert found is not None and found.cause == K.ALARM_ACTIONS_DISABLED.id
    assert found.resource == "kms" and "alarm 'kms'" in found.summary
    enabled = call(D.MONITORING, "EnableAlarmActions", {"alarmNames": ["kms"]})
    assert one(enabled, KNOWN) is None


# --- real records -------------------------------------------------------------------


def _external(relative: str) -> list[dict[str, Any]]:
    path = EXTERNAL / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not in shared/external")
    data = json.loads(path.read_text())
    return data if isinstance(data, list) else data.get("Records", [data])


@pytest.mark.parametrize(
    ("file", "resource"),
    [
        ("S3-DeleteBucket.json.cloudtrail", "my-traildiscover-bucket"),
        ("S3-DeleteBucketPolicy.json.cloudtrail", "TrailDiscoverBucketName"),
        ("CloudWatch-DeleteAlarms.json.cloudtrail", "TrailDiscoverAlarm"),
        ("CloudWatch-DeleteLogGroup.json.cloudtrail", "TrailDiscoverLogGroup"),
    ],
)
def test_real_failed_calls_are_attempts(file: str, resource: str) -> None:
    records = _external(f"traildiscover/docs/logExamples/{file}")
    (row,) = frame_from_records(records, source=file).to_dicts()
    account, region = row["recipient_account_id"], row["aws_region"]
    trails = TrailTargets(
        frozenset({(resource, account, "t")}), frozenset({(account, region, resource, "t")})
    )
    found = incident(row, trails)
    assert found is not None
    assert found.attempt and found.cause == K.DESTINATION_ATTEMPT.id
    assert found.resource == resource
    assert found.cite.event_id == records[0]["eventID"]
    assert found.cite.error_code == records[0]["errorCode"]
    # Unrelated to any known target, only the alarm call stays an incident.
    other = TrailTargets(frozenset({("x", account, "t")}), frozenset({(account, region, "x", "t")}))
    assert (incident(row, other) is not None) is file.startswith("CloudWatch-DeleteAlarms")


def test_real_bucket_policies() -> None:
    data = _external("panther-analysis/derived/test_events.json")
    policies = [
        e["record"]
        for e in data
        if e["record"].get("eventName") == "PutBucketPolicy"
        and isinstance((e["record"].get("requestParameters") or {}).get("bucketName"), str)
    ]
    if not policies:
        pytest.skip("no PutBucketPolicy records with a bucket name")
    bucket = policies[0]["requestParameters"]["bucketName"]
    trails = TrailTargets(frozenset({(bucket, A, "t")}))
    for rec in policies:
        (row,) = frame_from_records([rec]).to_dicts()
        found = incident(row, trails)
        policy = rec["requestParameters"].get("bucketPolicy")
        assert (found is not None) is (D.blocks_cloudtrail(policy) is True)
        # None of these policies grants CloudTrail s3:PutObject.
        assert D.blocks_cloudtrail(policy) is True
        assert found is not None and found.attempt is (rec.get("errorCode") is not None)
