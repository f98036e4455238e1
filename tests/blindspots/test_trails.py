"""Trail configuration calls read from records as trail changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kmslog.blindspots.model import Coverage
from kmslog.blindspots.trails import CAP, trail_change, trail_name

from . import records as R
from .records import at, external


def one(rec: dict[str, Any]) -> Any:
    (row,) = R.rows([rec])
    return trail_change(row)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("org-trail", "org-trail"),
        ("arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail", "org-trail"),
        ("arn:aws-cn:cloudtrail:cn-north-1:111122223333:trail/t.1_x", "t.1_x"),
        ("", None),
        (None, None),
        (42, None),
        ("x" * 1000, "x" * CAP),
    ],
)
def test_trail_name(value: Any, name: str | None) -> None:
    assert trail_name(value) == name


@pytest.mark.parametrize(
    ("rec", "action", "logging"),
    [
        (R.stop(at(1)), "stop", False),
        (R.start(at(1)), "start", True),
        (R.delete(at(1)), "delete", False),
        (R.create(at(1)), "create", None),
        (R.update(at(1), isMultiRegionTrail=False), "update", None),
        (R.basic_selectors(at(1), R.ALL_MANAGEMENT), "selectors", None),
    ],
)
def test_each_call(rec: dict[str, Any], action: str, logging: bool | None) -> None:
    c = one(rec)
    assert c is not None
    assert (c.action, c.logging, c.attempt) == (action, logging, False)
    assert (c.trail, c.account, c.region) == ("org-trail", R.A, R.HOME)
    assert c.cite is not None
    assert c.cite.event_id == rec["eventID"]
    assert c.cite.identity_arn == R.USER
    assert c.cite.source == "trail-calls.json" and c.cite.record_index == 0
    assert c.time == at(1)


def test_other_records_are_not_changes() -> None:
    kms = R.call("Decrypt", at(1), {"keyId": "k"})
    kms["eventSource"] = "kms.amazonaws.com"
    described = R.call("DescribeTrails", at(1), {"trailNameList": ["org-trail"]})
    assert one(kms) is None and one(described) is None


def test_trail_given_as_arn_is_folded() -> None:
    c = one(R.stop(at(1), R.trail_arn("org-trail")))
    assert c.trail == "org-trail"


def test_create_reads_the_response() -> None:
    c = one(R.create(at(1), "t", multi=True, bucket="audit-logs"))
    assert (c.multi_region, c.organization, c.bucket) == (True, False, "audit-logs")
    assert "multi-Region on" in c.detail and "bucket audit-logs" in c.detail


def test_create_defaults_to_single_region() -> None:
    rec = R.call("CreateTrail", at(1), {"name": "t", "s3BucketName": "b"})
    assert one(rec).multi_region is False


def test_update_reads_only_what_it_sets() -> None:
    c = one(R.update(at(1), isMultiRegionTrail=False))
    assert (c.multi_region, c.bucket) == (False, None)
    c = one(R.update(at(1), s3BucketName="elsewhere"))
    assert (c.multi_region, c.bucket) == (None, "elsewhere")
    group = "arn:aws:logs:us-east-1:111122223333:log-group:CloudTrail/Default:*"
    c = one(R.update(at(1), cloudWatchLogsLogGroupArn=group, isOrganizationTrail=True))
    assert (c.log_group, c.organization) == (group, True)


@pytest.mark.parametrize(
    ("rec", "kms", "management", "uncertain"),
    [
        (R.basic_selectors(at(1), R.ALL_MANAGEMENT), Coverage.ALL, True, False),
        (
            R.basic_selectors(at(1), [{**R.ALL_MANAGEMENT[0], "readWriteType": "WriteOnly"}]),
            Coverage.WRITE_ONLY,
            True,
            False,
        ),
        (
            R.basic_selectors(at(1), [{**R.ALL_MANAGEMENT[0], "includeManagementEvents": False}]),
            Coverage.NONE,
            False,
            False,
        ),
        (
            R.advanced_selectors(
                at(1), [R.management(R.field("eventSource", notEquals=["kms.amazonaws.com"]))]
            ),
            Coverage.NONE,
            True,
            False,
        ),
        (
            R.advanced_selectors(at(1), [R.management(R.field("eventName", equals=["CreateKey"]))]),
            Coverage.NONE,
            False,
            True,
        ),
    ],
)
def test_selectors(rec: dict[str, Any], kms: Coverage, management: bool, uncertain: bool) -> None:
    c = one(rec)
    assert (c.kms, c.management, c.kms_uncertain) == (kms, management, uncertain)
    assert "selectors record" in c.detail


def test_selectors_from_the_response_when_the_request_lacks_them() -> None:
    rec = R.basic_selectors(at(1), [{**R.ALL_MANAGEMENT[0], "readWriteType": "ReadOnly"}])
    rec["requestParameters"] = {"trailName": "org-trail"}
    assert one(rec).kms is Coverage.READ_ONLY


def test_failed_stop_is_an_attempt_named_by_its_message() -> None:
    rec = R.call("StopLogging", at(1), None, error=R.denied("StopLogging", "secret-trail"))
    c = one(rec)
    assert (c.attempt, c.trail, c.action) == (True, "secret-trail", "stop")
    assert c.cite.error_code == "AccessDenied"


def test_failed_call_names_the_trail_from_unknown_trail_message() -> None:
    rec = R.call(
        "UpdateTrail",
        at(1),
        None,
        error=("TrailNotFoundException", "Unknown trail: myTrail2 for the user: 111122223333"),
    )
    assert one(rec).trail == "myTrail2"


def test_message_sentence_end_is_not_part_of_the_name() -> None:
    rec = R.call(
        "DeleteTrail", at(1), None, error=("AccessDenied", f"denied on {R.trail_arn('t-1')}.")
    )
    assert one(rec).trail == "t-1"


def test_unnamed_call_has_an_empty_trail() -> None:
    assert one(R.call("StartLogging", at(1), {"encryptionContext": {}})).trail == ""


def test_strings_are_capped() -> None:
    rec = R.stop(at(1), "t" * 5000)
    rec["sourceIPAddress"] = "1" * 5000
    c = one(rec)
    assert len(c.trail) == CAP and len(c.cite.source_ip or "") == CAP


def test_unreadable_text_names_nothing() -> None:
    (row,) = R.rows([R.stop(at(1))])
    row["raw"] = "{not json"
    c = trail_change(row)
    assert c is not None and c.trail == "" and c.logging is False


# Real records of these calls (traildiscover, stratus-red-team, the AWS guide, panther).


def corpus_records(relative: str) -> list[dict[str, Any]]:
    base = external()
    path = base / relative if base is not None else None
    if path is None or not path.is_file():
        pytest.skip(f"../shared/external/{relative} is not present")
    data = json.loads(path.read_text())
    return data["Records"] if isinstance(data, dict) else data


@pytest.mark.parametrize(
    ("relative", "action", "trail"),
    [
        (
            "traildiscover/docs/logExamples/CloudTrail-StopLogging.json.cloudtrail",
            "stop",
            "TrailDiscover",
        ),
        (
            "traildiscover/docs/logExamples/CloudTrail-DeleteTrail.json.cloudtrail",
            "delete",
            "TrailDiscoverTrailName",
        ),
        (
            "traildiscover/docs/logExamples/CloudTrail-UpdateTrail.json.cloudtrail",
            "update",
            "TrailDiscoverName",
        ),
        (
            "awsdocs-cloudtrail-user-guide/doc_source-json-blocks/"
            "cloudtrail-log-file-examples.block08.json",
            "update",
            "myTrail2",
        ),
    ],
)
def test_real_failed_calls(relative: str, action: str, trail: str) -> None:
    (c,) = R.changes(corpus_records(relative))
    assert (c.action, c.trail, c.attempt) == (action, trail, True)


STRATUS = "stratus-red-team-detonation-logs/docs/detonation-logs/aws.defense-evasion."


@pytest.mark.parametrize(
    ("name", "action"),
    [
        ("cloudtrail-stop", "stop"),
        ("cloudtrail-delete", "delete"),
        ("cloudtrail-event-selectors", "selectors"),
    ],
)
def test_real_successful_calls(name: str, action: str) -> None:
    recs = corpus_records(f"{STRATUS}{name}.json")
    (c,) = R.changes(recs)
    assert (c.action, c.attempt) == (action, False)
    assert c.trail.startswith("stratus-red-team-")
    assert (c.account, c.region) == (recs[0]["recipientAccountId"], recs[0]["awsRegion"])
    if action == "selectors":
        # Data events only, management events off: no KMS event is recorded.
        assert (c.kms, c.management, c.kms_uncertain) == (Coverage.NONE, False, False)


def test_panther_samples() -> None:
    base = external()
    path = base / "panther-analysis/derived/test_events.json" if base is not None else None
    if path is None or not path.is_file():
        pytest.skip("../shared/external/panther-analysis is not present")
    samples = [
        s["record"] for s in json.loads(path.read_text()) if isinstance(s.get("record"), dict)
    ]
    calls = [
        r
        for r in samples
        if r.get("eventSource") == "cloudtrail.amazonaws.com"
        and r.get("eventName")
        in (
            "CreateTrail",
            "DeleteTrail",
            "StartLogging",
            "StopLogging",
            "UpdateTrail",
            "PutEventSelectors",
        )
    ]
    assert calls
    for rec in calls:
        rec = {k: v for k, v in rec.items() if not k.startswith("p_")}
        rec["eventTime"] = str(rec["eventTime"]).replace(" ", "T")[:19] + "Z"
        c = one(rec)
        assert c is not None and c.attempt == ("errorCode" in rec and rec["errorCode"] is not None)
        if (
            rec["eventName"] == "UpdateTrail"
            and (rec.get("requestParameters") or {}).get("isMultiRegionTrail") is False
        ):
            assert c.multi_region is False and c.trail == "management-events"
