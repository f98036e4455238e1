from datetime import UTC, datetime

import orjson

from kmslog.kms.dates import parse_kms_date
from kmslog.lifecycle.policy_diff import diff_policies
from kmslog.lifecycle.timeline import KeyMemory, describe, read_date


def test_java_style_dates_from_kms_records_parse():
    assert parse_kms_date("Apr 12, 2021 18:58:30 PM") == datetime(
        2021, 4, 12, 18, 58, 30, tzinfo=UTC
    )
    assert parse_kms_date("Oct 21, 2024, 2:25:29 PM") == datetime(
        2024, 10, 21, 14, 25, 29, tzinfo=UTC
    )
    assert parse_kms_date("Nov 19, 2020 12:00:00 AM") == datetime(2020, 11, 19, 0, 0, tzinfo=UTC)


def test_unreadable_deletion_date_is_kept_verbatim_with_a_warning():
    rec = {
        "eventName": "ScheduleKeyDeletion",
        "requestParameters": {"keyId": "k", "pendingWindowInDays": 7},
        "responseElements": {"deletionDate": "someday soon", "keyState": "PendingDeletion"},
    }
    out = describe(rec)
    assert out.deletion_date is not None and out.deletion_date.raw == "someday soon"
    assert out.deletion_date.value is None
    assert "'someday soon'" in out.detail
    assert out.warnings and "someday soon" in out.warnings[0]
    assert read_date("Oct 21, 2024, 2:25:29 PM").value is not None


def _policy(*statements: dict) -> str:
    return orjson.dumps({"Version": "2012-10-17", "Statement": list(statements)}).decode()


ROOT = {
    "Sid": "root",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::1:root"},
    "Action": "kms:*",
}
APP = {
    "Sid": "app",
    "Effect": "Allow",
    "Principal": {"AWS": ["arn:aws:iam::1:role/app"]},
    "Action": "kms:Decrypt",
}
ANY = {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt"}


def test_policy_diff_names_statements_and_principals():
    diff = diff_policies(_policy(ROOT, APP), _policy(ROOT, ANY))
    assert [s.key for s in diff.added] == ["#2"]
    assert [s.key for s in diff.removed] == ["app"]
    assert diff.principals_added == ["*"]
    assert diff.principals_removed == ["AWS:arn:aws:iam::1:role/app"]
    text = diff.summary()
    assert "+ statement #2" in text and "- statement app" in text


def test_policy_diff_without_previous_and_unreadable():
    first = diff_policies(None, _policy(ROOT))
    assert not first.previous_known and first.principals_added == ["AWS:arn:aws:iam::1:root"]
    assert diff_policies(_policy(ROOT), "{not json").unreadable
    same = diff_policies(_policy(ROOT), _policy(ROOT))
    assert same.empty and same.summary() == "no change"
    changed = diff_policies(_policy(ROOT), _policy({**ROOT, "Action": "kms:Encrypt"}))
    assert [old.key for old, _ in changed.changed] == ["root"]


def test_grant_and_import_details():
    grant = describe(
        {
            "eventName": "CreateGrant",
            "requestParameters": {
                "granteePrincipal": "arn:aws:iam::1:role/ebs",
                "retiringPrincipal": "arn:aws:iam::1:role/ops",
                "operations": ["Decrypt", "RetireGrant"],
            },
            "responseElements": {"grantId": "abcdef0123456789abcdef"},
        }
    )
    assert "grantee arn:aws:iam::1:role/ebs" in grant.detail
    assert "operations [Decrypt, RetireGrant]" in grant.detail
    assert "retiring principal arn:aws:iam::1:role/ops" in grant.detail
    imported = describe(
        {
            "eventName": "ImportKeyMaterial",
            "requestParameters": {
                "validTo": "Jan 1, 2021 8:00:00 PM",
                "expirationModel": "KEY_MATERIAL_EXPIRES",
            },
        }
    )
    assert imported.valid_to.value == datetime(2021, 1, 1, 20, 0, tzinfo=UTC)
    assert "valid to 2021-01-01 20:00:00Z" in imported.detail
    failed = describe(
        {"eventName": "DisableKey", "errorCode": "AccessDeniedException", "errorMessage": "no"}
    )
    assert failed.detail == "FAILED AccessDeniedException: no"


def test_grant_retirement_names_the_grant_it_ends():
    memory = KeyMemory()
    describe(
        {
            "eventName": "CreateGrant",
            "eventTime": "2024-03-01T00:00:00Z",
            "eventID": "c1",
            "requestParameters": {"granteePrincipal": "role/a", "operations": ["Decrypt"]},
            "responseElements": {"grantId": "g" * 64},
        },
        memory,
    )
    retired = describe(
        {
            "eventName": "RetireGrant",
            "eventTime": "2024-03-02T00:00:00Z",
            "eventID": "r1",
            "requestParameters": None,
            "additionalEventData": {"grantId": "g" * 64},
        },
        memory,
    )
    assert retired.detail == f"grant retired: {'g' * 16}… of grantee role/a [Decrypt]"
    grant = memory.grants["g" * 64]
    assert grant.ended_by == "retired" and grant.ended_event_id == "r1"
    unknown = describe({"eventName": "RevokeGrant", "requestParameters": {"grantId": "x"}}, memory)
    assert unknown.detail == "grant revoked: x"
