"""The events EventBridge would have seen, rebuilt from CloudTrail records: the
documented shapes (KMS Developer Guide "Monitoring with Amazon EventBridge"; EventBridge
User Guide "AWS service events delivered via AWS CloudTrail" and "Receiving read-only
management events")."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from kmslog.eventbridge.envelope import (
    ID_NAMESPACE,
    cloudtrail_envelope,
    envelope_id,
    envelopes,
    event_source_name,
    kms_envelope,
)

KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
ARN = f"arn:aws:kms:us-west-2:111122223333:key/{KEY}"
# ../shared/external beside the checkout (or beside the worktrees' directory).
_ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = next(
    (
        p
        for p in (_ROOT.parent / "shared" / "external", _ROOT.parents[1] / "shared" / "external")
        if p.is_dir()
    ),
    _ROOT.parent / "shared" / "external",
)


def service_event(name: str) -> dict:
    """The CloudTrail record of a KMS service event, as the CloudTrail guide shows it."""
    return {
        "eventVersion": "1.08",
        "userIdentity": {"accountId": "111122223333", "invokedBy": "AWS Internal"},
        "eventTime": "2022-08-10T16:37:50Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-west-2",
        "sourceIPAddress": "AWS Internal",
        "userAgent": "AWS Internal",
        "requestParameters": None,
        "responseElements": None,
        "eventID": "a24b3967-ddad-417f-9b22-2332b918db06",
        "readOnly": False,
        "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": ARN}],
        "eventType": "AwsServiceEvent",
        "recipientAccountId": "111122223333",
        "serviceEventDetails": {"keyId": KEY},
        "eventCategory": "Management",
    }


def api_call(name: str, read_only: bool = False, **extra: object) -> dict:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": "111122223333"},
        "eventTime": "2021-03-23T18:58:30Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "requestParameters": {"keyId": KEY},
        "eventID": "3c4226b0-1e81-48a8-a333-7fa5f3cbd118",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
        **extra,
    }


@pytest.mark.parametrize(
    ("name", "detail_type"),
    [
        ("RotateKey", "KMS CMK Rotation"),
        ("DeleteExpiredKeyMaterial", "KMS Imported Key Material Expiration"),
        ("DeleteKey", "KMS CMK Deletion"),
    ],
)
def test_kms_service_events_have_the_documented_shape(name: str, detail_type: str) -> None:
    env = kms_envelope(service_event(name))
    assert env is not None and env.kind == "kms"
    event = env.event
    # The KMS guide's example, field for field (the id is kmslog's stable one).
    assert event == {
        "version": "0",
        "id": envelope_id(detail_type, "a24b3967-ddad-417f-9b22-2332b918db06"),
        "detail-type": detail_type,
        "source": "aws.kms",
        "account": "111122223333",
        "time": "2022-08-10T16:37:50Z",
        "region": "us-west-2",
        "resources": [ARN],
        "detail": {"key-id": KEY},
    }
    assert list(event) == [
        "version", "id", "detail-type", "source", "account", "time", "region", "resources",
        "detail",
    ]  # fmt: skip


def test_a_service_event_is_also_delivered_via_cloudtrail() -> None:
    kinds = {e.kind: e.event["detail-type"] for e in envelopes(service_event("RotateKey"))}
    assert kinds == {"cloudtrail": "AWS Service Event via CloudTrail", "kms": "KMS CMK Rotation"}


def test_other_kms_service_events_have_no_kms_event() -> None:
    assert kms_envelope(service_event("RotateKeyOnDemand")) is None
    assert kms_envelope({**service_event("RotateKey"), "eventType": "AwsApiCall"}) is None
    assert kms_envelope({**service_event("RotateKey"), "eventSource": "x.amazonaws.com"}) is None


def test_an_api_call_is_an_aws_api_call_via_cloudtrail_with_the_record_as_detail() -> None:
    record = api_call("ScheduleKeyDeletion")
    env = cloudtrail_envelope(record)
    assert env is not None and not env.read_only
    assert env.event["detail-type"] == "AWS API Call via CloudTrail"
    assert env.event["source"] == "aws.kms"
    assert env.event["resources"] == []
    assert env.event["detail"] is record
    assert (env.event["account"], env.event["region"]) == ("111122223333", "us-east-1")
    assert env.event["time"] == record["eventTime"]


@pytest.mark.parametrize(
    ("event_type", "detail_type"),
    [
        ("AwsConsoleSignIn", "AWS Console Signin via CloudTrail"),
        ("AwsConsoleAction", "AWS Console Action via CloudTrail"),
        ("AwsServiceEvent", "AWS Service Event via CloudTrail"),
    ],
)
def test_detail_type_follows_the_event_type(event_type: str, detail_type: str) -> None:
    env = cloudtrail_envelope(api_call("X", eventType=event_type))
    assert env is not None and env.event["detail-type"] == detail_type


def test_records_cloudtrail_would_not_deliver() -> None:
    assert cloudtrail_envelope(api_call("X", eventType="AwsCloudTrailInsight")) is None
    assert cloudtrail_envelope({k: v for k, v in api_call("X").items() if k != "eventType"}) is None
    assert cloudtrail_envelope(api_call("X", eventSource=5)) is None
    assert envelopes([1, 2]) == [] and envelopes("x") == []


def test_source_is_aws_dot_service() -> None:
    assert event_source_name("kms.amazonaws.com") == "aws.kms"
    assert event_source_name("monitoring.amazonaws.com") == "aws.monitoring"
    assert event_source_name("logs.amazonaws.com") == "aws.logs"


@pytest.mark.parametrize(
    ("record", "read_only"),
    [
        (api_call("DescribeKey", read_only=True), True),
        (api_call("GetKeyPolicy", read_only=True), True),
        (api_call("ListAliases", read_only=True), True),
        # read-only, but not named Describe/Get/List: already delivered to ENABLED rules
        (api_call("TestEventPattern", read_only=True), False),
        (api_call("GetKeyPolicy", read_only=False), False),
        # data events the trail logged are delivered
        (api_call("GetObject", read_only=True, eventCategory="Data", managementEvent=False), False),
        (api_call("GetObject", read_only=True, managementEvent=False), False),
        (api_call("Decrypt", read_only=True), False),
    ],
)
def test_read_only_management_events(record: dict, read_only: bool) -> None:
    env = cloudtrail_envelope(record)
    assert env is not None and env.read_only is read_only


def test_account_falls_back_to_the_identity_and_ids_are_stable() -> None:
    record = api_call("DisableKey")
    del record["recipientAccountId"]
    record["userIdentity"]["accountId"] = "444455556666"
    env = cloudtrail_envelope(record)
    assert env is not None and env.event["account"] == "444455556666"
    assert envelope_id("a", "e") == envelope_id("a", "e") != envelope_id("b", "e")


@pytest.mark.parametrize(
    ("detail_type", "event_id"),
    [("a", "e"), ("AWS API Call via CloudTrail", "x" * 80), ("é", "ß\u0000"), ("", "")],
)
def test_envelope_ids_are_uuid5_in_the_kmslog_namespace(detail_type: str, event_id: str) -> None:
    want = uuid.uuid5(ID_NAMESPACE, f"{detail_type}\n{event_id}")
    assert envelope_id(detail_type, event_id) == str(want)
    assert uuid.UUID(envelope_id(detail_type, event_id)).version == 5


@pytest.mark.skipif(
    not (EXTERNAL / "awsdocs-kms-developer-guide").is_dir(), reason="external examples absent"
)
def test_every_documented_kms_record_reaches_eventbridge_as_aws_kms() -> None:
    blocks = sorted((EXTERNAL / "awsdocs-kms-developer-guide").rglob("*.json"))
    seen = 0
    for path in blocks:
        doc = json.loads(path.read_text())
        for record in doc.get("Records", [doc]) if isinstance(doc, dict) else []:
            if record.get("eventSource") != "kms.amazonaws.com":
                continue
            envs = envelopes(record)
            if record.get("eventType") in ("AwsApiCall", "AwsServiceEvent"):
                assert envs and all(e.event["source"] == "aws.kms" for e in envs), path
                seen += 1
    assert seen > 50
