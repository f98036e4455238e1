"""The built-in ``kms-access-control-change`` rule: every PutKeyPolicy, RevokeGrant and
CreateGrant except the routine grants AWS services make for AWS resources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kmslog.analyses.base import fold
from kmslog.analyses.detections import DetectionsAnalysis
from kmslog.decode.memory import frame_from_records
from kmslog.metrics.loaders import builtin_rules
from kmslog.patterns.match import matches
from kmslog.patterns.syntax import parse_text
from tests.blindspots.records import external
from tests.kms import grant_records as G

RULE = "kms-access-control-change"


def _pattern() -> Any:
    (rule,) = [r for r in builtin_rules().filters if r.id == RULE]
    return parse_text(rule.metric_filter.pattern).ast


def _fold_ids(records: list[dict[str, Any]]) -> list[str]:
    result = fold(DetectionsAnalysis(rules=builtin_rules()), [frame_from_records(records)])
    found = result.findings.filter(result.findings["rule"] == RULE)
    return sorted(found["event_id"].to_list())


def _null_invoked_by() -> dict[str, Any]:
    rec = G.user_grant("00000000-0000-4000-8000-00000000n001")
    rec["userIdentity"]["invokedBy"] = None
    return rec


def _null_parameters() -> dict[str, Any]:
    rec = G.failed_grant("00000000-0000-4000-8000-00000000n002")
    rec["requestParameters"] = None
    return rec


def _other_service() -> dict[str, Any]:
    # AWS Internal is not a service principal: nothing says the grant is for a resource.
    rec = G.user_grant("00000000-0000-4000-8000-00000000n003")
    rec["userIdentity"]["invokedBy"] = "AWS Internal"
    return rec


KEPT = [
    G.user_grant(),
    G.external_grant(),
    G.failed_grant(),
    G.put_key_policy(),
    G.revoke_grant(G.GRANT_USER, "2024-03-05T00:00:00Z"),
    _null_invoked_by(),
    _null_parameters(),
    _other_service(),
]
ROUTINE = [G.ebs_grant(), G.ebs_grant_2014(), G.dynamodb_grant()]
NEVER = [
    G.retire_grant(G.GRANT_EBS, "2024-03-04T00:00:00Z"),
    G.decrypt_with_token("2024-03-04T01:00:00Z"),
]


def _name(rec: dict[str, Any]) -> str:
    return f"{rec['eventName']}-{rec['eventID'][-4:]}"


@pytest.mark.parametrize("rec", KEPT, ids=_name)
def test_reference_matcher_keeps_every_other_access_control_change(rec):
    assert matches(_pattern(), json.dumps(rec))


@pytest.mark.parametrize("rec", ROUTINE + NEVER, ids=_name)
def test_reference_matcher_drops_service_grants(rec):
    assert not matches(_pattern(), json.dumps(rec))


def test_scan_fold_agrees_with_the_reference_matcher():
    records = KEPT + ROUTINE + NEVER
    assert _fold_ids(records) == sorted(r["eventID"] for r in KEPT)


def test_service_grant_by_a_user_without_invoked_by_is_kept():
    # Only the service's own trace (invokedBy, or the EC2 infrastructure grantee) takes a
    # grant out: a user granting a service principal directly is still a finding.
    rec = G.create_grant(
        "00000000-0000-4000-8000-00000000n004",
        "2024-03-01T00:00:00Z",
        "ab" * 32,
        "dynamodb.us-west-2.amazonaws.com",
        operations=["Decrypt"],
    )
    assert matches(_pattern(), json.dumps(rec))
    assert _fold_ids([rec]) == [rec["eventID"]]


def _external_records(name: str) -> list[dict[str, Any]]:
    root = external()
    blocks = "awsdocs-kms-developer-guide/doc_source-json-blocks"
    path = None if root is None else root / blocks / name
    if path is None or not path.is_file():
        pytest.skip("../shared/external is not here")
    doc = json.loads(path.read_text())
    records = doc.get("Records", [doc]) if isinstance(doc, dict) else doc
    return [r for r in records if isinstance(r, dict) and r.get("eventName") == "CreateGrant"]


def test_published_ebs_grant_is_routine_and_the_published_user_grant_is_not():
    (ebs,) = _external_records("ct-ec2two.block00.json")
    (user,) = _external_records("ct-creategrant.block00.json")
    assert not matches(_pattern(), json.dumps(ebs))
    assert matches(_pattern(), json.dumps(user))
    assert _fold_ids([ebs, user]) == [user["eventID"]]
