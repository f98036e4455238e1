"""The grant ledger and its findings, from records in CloudTrail's shape."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from kmslog.decode.memory import frame_from_records
from kmslog.kms.grant_findings import grant_findings
from kmslog.kms.grants import MAX_TEXT, Ledger, build_ledger, grant_rows, principal_account
from tests.blindspots.records import external
from tests.kms import grant_records as G


def rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return frame_from_records(records).to_dicts()


def ledger(records: list[dict[str, Any]]) -> Ledger:
    return build_ledger(rows(records))


def kinds(led: Ledger) -> list[tuple[str, str | None]]:
    return sorted((f.kind.id, f.subject.resource) for f in grant_findings(led))


SCENARIO = [
    G.put_key_policy(),
    G.user_grant(),
    G.ebs_grant(),
    G.dynamodb_grant(),
    G.external_grant(),
    G.failed_grant(),
    G.decrypt_with_grant_id(G.GRANT_EBS, "2024-03-01T10:06:00Z"),
    G.decrypt_with_token("2024-03-01T10:07:00Z"),
    G.decrypt_with_token("2024-03-01T10:08:00Z", event_id="1a2b3c4d-0000-4000-8000-0000000000d3"),
    G.retire_grant(G.GRANT_EBS, "2024-03-01T12:00:00Z"),
    G.revoke_grant(G.GRANT_USER, "2024-03-05T00:00:00Z"),
]


def test_user_grant_terms_creation_and_revocation():
    grant = ledger(SCENARIO).grant(G.GRANT_USER)
    assert grant is not None and grant.key_arn == G.KEY
    assert grant.created is not None
    assert (grant.created.event_id, grant.created.by) == (SCENARIO[1]["eventID"], G.ALICE)
    assert grant.grantee == f"arn:aws:iam::{G.OWNER}:role/analytics-reader"
    assert grant.operations == ("Encrypt", "RetireGrant")
    assert grant.constraints == (("encryptionContextSubset", (("ContextKey1", "Value1"),)),)
    assert grant.name == "analytics"
    assert not grant.for_aws_resource
    assert grant.ended_how == "revoked" and grant.ended is not None
    assert grant.ended.by == G.ALICE and grant.ended.event_time is not None
    assert grant.ended.event_time.isoformat() == "2024-03-05T00:00:00+00:00"


def test_service_grant_is_in_the_ledger_retired_by_grant_id_and_no_finding():
    led = ledger(SCENARIO)
    ebs = led.grant(G.GRANT_EBS)
    assert ebs is not None and ebs.service == "ec2.amazonaws.com" and ebs.for_aws_resource
    # RetireGrant has null requestParameters: the id comes from additionalEventData.
    assert ebs.ended_how == "retired" and ebs.ended is not None
    assert ebs.ended.event_id == "1a2b3c4d-0000-4000-8000-0000000000r1"
    ddb = led.grant(G.GRANT_DDB)
    assert ddb is not None and ddb.service == "dynamodb.amazonaws.com" and ddb.open
    resources = {r for _, r in kinds(led)}
    assert G.GRANT_EBS not in resources and G.GRANT_DDB not in resources


def test_old_ebs_record_without_invoked_by_is_a_service_grant():
    grant = ledger([G.ebs_grant_2014()]).grant(G.GRANT_EBS)
    assert grant is not None and grant.service == "ec2.amazonaws.com"
    assert kinds(ledger([G.ebs_grant_2014()])) == []


def test_findings_external_grantee_never_retired_and_failed_attempt():
    assert kinds(ledger(SCENARIO)) == [
        ("grant-create-failed", None),
        ("grant-external-grantee", G.GRANT_EXT),
        ("grant-never-retired", G.GRANT_EXT),
    ]
    (failed,) = [f for f in grant_findings(ledger(SCENARIO)) if f.kind.id == "grant-create-failed"]
    assert failed.subject.principal == f"arn:aws:iam::{G.OTHER}:role/ci-runner"
    assert failed.details["error_code"] == "AccessDeniedException"
    assert failed.kind.severity == "medium" and failed.kind.source == "grant"


def test_revoked_external_grant_is_still_external_but_not_open():
    records = [G.external_grant(), G.revoke_grant(G.GRANT_EXT, "2024-03-02T09:00:00Z")]
    assert kinds(ledger(records)) == [("grant-external-grantee", G.GRANT_EXT)]
    (found,) = grant_findings(ledger(records))
    assert [e.event_name for e in found.evidence] == ["CreateGrant", "RevokeGrant"]


def test_never_retired_is_low_and_goes_away_once_retired():
    open_only = ledger([G.user_grant()])
    (found,) = grant_findings(open_only)
    assert (found.kind.id, found.effective_severity) == ("grant-never-retired", "low")
    retired = [G.user_grant(), G.retire_grant(G.GRANT_USER, "2024-03-02T00:00:00Z")]
    assert kinds(ledger(retired)) == []


def test_uses_by_grant_id_and_by_token():
    led = ledger(SCENARIO)
    ebs = led.grant(G.GRANT_EBS)
    # One Decrypt names the grant id. Two carry only a token and come from Admin, whom no
    # grant names as grantee: they stay unattributed on the key rather than guessed.
    assert ebs is not None and ebs.uses == 1
    assert [c.event_id for c in ebs.use_evidence] == ["1a2b3c4d-0000-4000-8000-0000000000d2"]
    assert led.unattributed_token_uses == {G.KEY: 2}


def test_token_use_by_the_grantee_is_attributed():
    caller = {
        "type": "AssumedRole",
        "principalId": f"{G.OWNER}:aws:ec2-infrastructure:i-81e2f56c",
        "arn": f"arn:aws:sts::{G.OWNER}:assumed-role/aws:ec2-infrastructure/i-81e2f56c",
        "accountId": G.OWNER,
        "accessKeyId": "",
    }
    use = G.clone(G.decrypt_with_token("2024-03-01T10:07:00Z"), userIdentity=caller)
    later = G.clone(use, eventID="1a2b3c4d-0000-4000-8000-0000000000d9")
    later["eventTime"] = "2024-03-01T13:00:00Z"  # after the retirement: not the grant's
    led = ledger([G.ebs_grant(), use, later, G.retire_grant(G.GRANT_EBS, "2024-03-01T12:00:00Z")])
    ebs = led.grant(G.GRANT_EBS)
    assert ebs is not None and ebs.uses == 1
    assert [c.event_id for c in ebs.use_evidence] == [use["eventID"]]
    assert led.unattributed_token_uses == {G.KEY: 1}


def test_token_use_with_two_candidate_grants_is_not_guessed():
    twin = G.clone(G.user_grant("00000000-0000-4000-8000-0000000000t2"))
    twin["responseElements"] = {"grantId": "cd" * 32}
    caller = G.admin_via("s3.amazonaws.com")
    caller["arn"] = f"arn:aws:sts::{G.OWNER}:assumed-role/analytics-reader/s"
    caller["sessionContext"]["sessionIssuer"]["arn"] = G.user_grant()["requestParameters"][
        "granteePrincipal"
    ]
    use = G.clone(G.decrypt_with_token("2024-03-01T11:00:00Z"), userIdentity=caller)
    use["eventName"] = "Encrypt"
    led = ledger([G.user_grant(), twin, use])
    assert led.unattributed_token_uses == {G.KEY: 1}
    assert all(g.uses == 0 for g in led.grants[G.KEY])
    led_one = ledger([G.user_grant(), use])
    assert led_one.grant(G.GRANT_USER).uses == 1  # type: ignore[union-attr]


def test_retirement_of_a_grant_older_than_the_logs_is_kept():
    led = ledger([G.retire_grant("ef" * 32, "2024-03-01T12:00:00Z")])
    grant = led.grant("ef" * 32)
    assert grant is not None and grant.created is None and grant.ended_how == "retired"
    assert grant_findings(led) == ()


@pytest.mark.parametrize("seed", range(8))
def test_ledger_does_not_depend_on_record_order(seed):
    # Each row keeps its provenance (source, record index); only the order changes.
    ordered = rows(SCENARIO)
    shuffled = list(ordered)
    random.Random(seed).shuffle(shuffled)
    assert build_ledger(shuffled) == build_ledger(ordered)
    assert grant_findings(build_ledger(shuffled)) == grant_findings(build_ledger(ordered))


def test_retire_before_create_in_the_files_still_ends_the_grant():
    records = [G.retire_grant(G.GRANT_USER, "2024-03-02T00:00:00Z"), G.user_grant()]
    grant = ledger(records).grant(G.GRANT_USER)
    assert grant is not None and grant.created is not None and grant.ended_how == "retired"


def test_hostile_fields_are_capped_and_wrong_types_ignored():
    rec = G.user_grant()
    rec["requestParameters"]["granteePrincipal"] = "x" * 100_000
    rec["requestParameters"]["operations"] = ["Decrypt"] * 10_000 + [{"a": 1}]
    rec["requestParameters"]["constraints"] = {"encryptionContextEquals": {"k": ["not", "text"]}}
    rec["requestParameters"]["name"] = {"nested": "object"}
    grant = ledger([rec]).grant(G.GRANT_USER)
    assert grant is not None and grant.grantee is not None
    assert len(grant.grantee) == MAX_TEXT
    assert len(grant.operations) == 64 and set(grant.operations) == {"Decrypt"}
    assert grant.constraints == (("encryptionContextEquals", ()),)
    assert grant.name is None


def test_unparseable_rows_are_skipped():
    good = rows([G.user_grant()])
    bad = dict(good[0], raw='{"eventName": "CreateGrant", ')
    assert ledger([G.user_grant()]) == build_ledger([bad, *good])


def test_grant_rows_preselects_grant_calls_and_grant_uses():
    picked = grant_rows(rows([*SCENARIO, G.clone(G.put_key_policy(), eventID="p2")]))
    assert {r["event_name"] for r in picked} == {
        "CreateGrant",
        "RetireGrant",
        "RevokeGrant",
        "Decrypt",
    }


@pytest.mark.parametrize(
    ("principal", "account"),
    [
        (f"arn:aws:iam::{G.OTHER}:role/x", G.OTHER),
        (f"arn:aws:iam::{G.OTHER}:root", G.OTHER),
        (G.OTHER, G.OTHER),
        (f"{G.OWNER}:aws:ec2-infrastructure:i-1", G.OWNER),
        ("dynamodb.us-west-2.amazonaws.com", None),
        ("", None),
        (None, None),
    ],
)
def test_principal_account(principal, account):
    assert principal_account(principal) == account


def _published(name: str) -> list[dict[str, Any]]:
    root = external()
    path = (
        None if root is None else root / "awsdocs-kms-developer-guide/doc_source-json-blocks" / name
    )
    if path is None or not path.is_file():
        pytest.skip("../shared/external is not here")
    doc = json.loads(path.read_text())
    records = doc.get("Records", [doc]) if isinstance(doc, dict) else doc
    return [r for r in records if isinstance(r, dict) and "eventName" in r]


def test_published_grant_records():
    records = [
        r
        for name in (
            "ct-creategrant.block00.json",
            "ct-ec2two.block00.json",
            "ct-revoke-grant.block00.json",
            "ct-retire-grant.block00.json",
        )
        for r in _published(name)
        if r["eventName"] in ("CreateGrant", "RevokeGrant", "RetireGrant")
    ]
    led = ledger(records)
    ebs = led.grant(G.GRANT_EBS)
    # The guide revokes and then retires the EBS grant: the first end is the one kept.
    assert ebs is not None and ebs.service == "ec2.amazonaws.com"
    assert ebs.ended_how == "revoked" and ebs.ended is not None
    assert ebs.ended.event_id == "07a23a39-6526-4ae2-b31e-d35fbe9e24ee"
    assert kinds(led) == [("grant-never-retired", G.GRANT_USER)]
