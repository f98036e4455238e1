"""A grant used by a principal the key policy in force does not allow: a finding naming
the principal and the grant; none when the policy trusts the principal or its account,
when it may cover anyone, when no policy version is in the logs, or for service uses."""

from __future__ import annotations

import json
from typing import Any

from kmslog.analyses.base import fold
from kmslog.analyses.grants import GrantAnalysis
from kmslog.decode.memory import frame_from_records
from kmslog.kms.policy_access import Access, access
from kmslog.kms.policy_allows import policy_may_allow
from kmslog.kms.policy_parse import Policy, parse_policy
from tests.kms import grant_records as G

PARTNER = f"arn:aws:iam::{G.OTHER}:role/partner-batch"


def policy(*principals: Any, condition: dict[str, Any] | None = None) -> str:
    statements = [
        {
            "Sid": f"s{i}",
            "Effect": "Allow",
            "Principal": {"AWS": p},
            "Action": "kms:*",
            "Resource": "*",
        }
        for i, p in enumerate(principals)
    ]
    if condition is not None:
        statements.append(
            {
                "Sid": "anyone",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": condition,
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def acc(text: str) -> Access:
    parsed = parse_policy(text)
    assert isinstance(parsed, Policy)
    return access(parsed, G.OWNER)


def put_policy(text: str) -> dict[str, Any]:
    rec = G.put_key_policy()
    rec["requestParameters"]["policy"] = text
    return rec


def partner_decrypt(when: str = "2024-03-02T09:00:00Z", n: int = 1) -> dict[str, Any]:
    rec = G.decrypt_with_grant_id(
        G.GRANT_EXT, when, event_id=f"1a2b3c4d-0000-4000-8000-00000000{n:04d}"
    )
    rec["userIdentity"] = {
        "type": "AssumedRole",
        "principalId": "AROAPARTNER:batch",
        "arn": f"arn:aws:sts::{G.OTHER}:assumed-role/partner-batch/batch",
        "accountId": G.OTHER,
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": PARTNER, "accountId": G.OTHER}},
    }
    rec["sourceIPAddress"] = "198.51.100.20"
    rec["recipientAccountId"] = G.OWNER
    return rec


def kinds(records: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    result = fold(GrantAnalysis(), [frame_from_records(records)])
    return sorted(
        (f.kind.id, f.subject.principal)
        for f in result.findings
        if f.kind.id == "grant-use-beyond-key-policy"
    )


def test_use_by_a_principal_the_policy_does_not_name_is_a_finding() -> None:
    records = [
        put_policy(policy(f"arn:aws:iam::{G.OWNER}:root")),
        G.external_grant(),
        partner_decrypt(),
        partner_decrypt("2024-03-02T09:05:00Z", n=2),
    ]
    assert kinds(records) == [("grant-use-beyond-key-policy", PARTNER)]
    result = fold(GrantAnalysis(), [frame_from_records(records)])
    (found,) = [f for f in result.findings if f.kind.id == "grant-use-beyond-key-policy"]
    assert found.kind.severity == "high"
    assert G.OTHER in found.summary and "Decrypt" in found.summary
    assert [e.event_name for e in found.evidence] == ["CreateGrant", "Decrypt"]


def test_no_finding_when_the_policy_trusts_the_principal_or_its_account() -> None:
    for trusted in (f"arn:aws:iam::{G.OTHER}:root", G.OTHER, PARTNER):
        records = [
            put_policy(policy(f"arn:aws:iam::{G.OWNER}:root", trusted)),
            G.external_grant(),
            partner_decrypt(),
        ]
        assert kinds(records) == [], trusted


def test_no_finding_when_the_policy_may_cover_anyone() -> None:
    org = {"StringEquals": {"aws:PrincipalOrgID": "o-exampleorgid"}}
    records = [
        put_policy(policy(f"arn:aws:iam::{G.OWNER}:root", condition=org)),
        G.external_grant(),
        partner_decrypt(),
    ]
    assert kinds(records) == []


def test_no_finding_without_a_policy_version_or_before_it() -> None:
    assert kinds([G.external_grant(), partner_decrypt()]) == []
    # the only version in the logs came after the use
    late = put_policy(policy(f"arn:aws:iam::{G.OWNER}:root"))
    late["eventTime"] = "2024-03-05T00:00:00Z"
    assert kinds([late, G.external_grant(), partner_decrypt()]) == []


def test_a_later_policy_decides_later_uses() -> None:
    widened = put_policy(policy(f"arn:aws:iam::{G.OWNER}:root", G.OTHER))
    widened["eventTime"] = "2024-03-02T08:30:00Z"
    widened["eventID"] = "1a2b3c4d-0000-4000-8000-0000000000p2"
    records = [
        put_policy(policy(f"arn:aws:iam::{G.OWNER}:root")),
        widened,
        G.external_grant(),
        partner_decrypt(),
    ]
    assert kinds(records) == []


def test_service_uses_are_not_findings() -> None:
    records = [
        put_policy(policy(f"arn:aws:iam::{G.OWNER}:root")),
        G.ebs_grant(),
        G.decrypt_with_grant_id(G.GRANT_EBS, "2024-03-01T10:06:00Z"),
    ]
    assert kinds(records) == []


def test_policy_may_allow_table() -> None:
    root_only = acc(policy(f"arn:aws:iam::{G.OWNER}:root"))
    assert policy_may_allow(root_only, G.ALICE, G.OWNER, "kms:Decrypt")
    assert not policy_may_allow(root_only, PARTNER, G.OTHER, "kms:Decrypt")
    named = acc(policy(PARTNER))
    assert policy_may_allow(named, PARTNER, G.OTHER, "kms:Decrypt")
    assert not policy_may_allow(named, f"arn:aws:iam::{G.OTHER}:role/other", G.OTHER, "kms:Decrypt")
    public = acc(policy("*"))
    assert policy_may_allow(public, PARTNER, G.OTHER, "kms:Decrypt")
    decrypt_only = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": G.OTHER},
                    "Action": "kms:Encrypt",
                    "Resource": "*",
                }
            ],
        }
    )
    encrypt = acc(decrypt_only)
    assert not policy_may_allow(encrypt, PARTNER, G.OTHER, "kms:Decrypt")
    assert policy_may_allow(encrypt, PARTNER, G.OTHER, "kms:Encrypt")
