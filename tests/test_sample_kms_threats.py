"""Scenarios 13–15 of sample_logs/ found end to end by ``kmslog scan --format json``:
the cross-account ReEncrypt burst, the grant to another account (and the routine EBS
grants nobody may report), and the key policy opened to everyone (and the one narrowed by
kms:CallerAccount, which is not a widening)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
TRUTH = ROOT / "tools" / "ctgen" / "scenarios.json"

pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")


@pytest.fixture(scope="module")
def scan() -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kmslog",
            "scan",
            "sample_logs",
            "--no-progress",
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.stdout, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    return json.loads(TRUTH.read_text())


def _label(truth: dict[str, Any], sid: str, kind: str) -> dict[str, Any]:
    sc = next(s for s in truth["scenarios"] if s["id"] == sid)
    (lab,) = [lab for lab in sc["labels"] if lab["kind"] == kind]
    return lab


def _matching(scan: dict[str, Any], lab: dict[str, Any]) -> list[dict[str, Any]]:
    exp = lab["expected"]
    return [
        f
        for f in scan[exp["section"]]["findings"]
        if f["kind"] == exp["kind"] and f["key_arn"] == lab["key_arn"]
    ]


def _evidence_ids(finding: dict[str, Any]) -> set[str]:
    return {e["event_id"] for e in finding["evidence"]}


def _every_event_id(node: object) -> set[str]:
    """Every string under an ``event_id`` key anywhere in the scan output."""
    found: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "event_id" and isinstance(v, str):
                found.add(v)
            else:
                found |= _every_event_id(v)
    elif isinstance(node, list):
        for v in node:
            found |= _every_event_id(v)
    return found


def test_reencrypt_burst_into_a_foreign_key_is_critical(
    scan: dict[str, Any], truth: dict[str, Any]
) -> None:
    lab = _label(truth, "s13_reencrypt_out", "reencrypt_out_of_account")
    (f,) = _matching(scan, lab)
    assert f["severity"] == lab["expected"]["severity"] == "critical"
    assert f["count"] == lab["calls"] == len(lab["event_ids"])
    assert f["first"] == lab["start"] and f["last"] == lab["end"]
    role = lab["principal_arn"].rsplit("/", 1)[1]
    assert f["principal"].split("/")[1] == role
    assert f["resource"] == lab["destination_key_arn"]
    assert f["details"]["destination_account"] == lab["destination_account"]
    assert f["details"]["burst"] is True and f["details"]["busiest_hour"] >= 50
    ev = _evidence_ids(f)
    assert ev and ev <= set(lab["event_ids"])


def test_reencrypt_records_have_cloudtrail_shape(truth: dict[str, Any]) -> None:
    from kmslog.decode import records as R
    from kmslog.sources.discover import discover

    lab = _label(truth, "s13_reencrypt_out", "reencrypt_out_of_account")
    wanted = set(lab["event_ids"])
    seen: dict[str, dict[str, Any]] = {}
    acct_dir = SAMPLE / "AWSLogs" / lab["key_arn"].split(":")[4]
    for f in discover([str(acct_dir)]).files:
        for chunk in R.read_file(f.path, 1 << 30):
            for raw in chunk.batch.column("raw").to_pylist():
                rec = json.loads(raw)
                if rec["eventID"] in wanted:
                    seen[rec["eventID"]] = rec
    assert set(seen) == wanted
    for rec in seen.values():
        assert rec["eventName"] == "ReEncrypt" and "errorCode" not in rec
        req = rec["requestParameters"]
        assert req["destinationKeyId"] == lab["destination_key_arn"]
        assert [r["ARN"] for r in rec["resources"]] == [lab["key_arn"], lab["destination_key_arn"]]
        assert rec["recipientAccountId"] == lab["key_arn"].split(":")[4]


def test_grant_to_another_account_is_reported(scan: dict[str, Any], truth: dict[str, Any]) -> None:
    lab = _label(truth, "s14_grants", "external_grant")
    (f,) = _matching(scan, lab)
    assert f["severity"] == lab["expected"]["severity"]
    assert _evidence_ids(f) == set(lab["event_ids"])
    assert f["details"]["grantee"] == lab["grantee"]
    assert lab["grantee_account"] in f["summary"]


def test_routine_service_grants_produce_no_finding_anywhere(
    scan: dict[str, Any], truth: dict[str, Any]
) -> None:
    lab = _label(truth, "s14_grants", "service_grants")
    assert lab["expected"] is None and len(lab["event_ids"]) == 3
    assert not set(lab["event_ids"]) & _every_event_id(scan)
    # ...while the external grant of the same key, same afternoon, is cited.
    assert set(_label(truth, "s14_grants", "external_grant")["event_ids"]) <= _every_event_id(scan)


def test_public_key_policy_is_critical(scan: dict[str, Any], truth: dict[str, Any]) -> None:
    lab = _label(truth, "s15_public_policy", "public_key_policy")
    (f,) = _matching(scan, lab)
    assert f["severity"] == lab["expected"]["severity"] == "critical"
    assert _evidence_ids(f) == set(lab["event_ids"])
    assert lab["statement"]["Principal"] == "*" and "Condition" not in lab["statement"]


def test_caller_account_condition_is_not_a_widening(
    scan: dict[str, Any], truth: dict[str, Any]
) -> None:
    lab = _label(truth, "s15_public_policy", "caller_account_policy")
    assert lab["expected"] is None
    cited = set().union(*(_evidence_ids(f) for f in scan["key_policies"]["findings"]))
    assert not set(lab["event_ids"]) & cited
    assert not [f for f in scan["key_policies"]["findings"] if f["key_arn"] == lab["key_arn"]]


def test_policy_widened_to_another_account_is_reported(
    scan: dict[str, Any], truth: dict[str, Any]
) -> None:
    # The key-policy backdoor of the anomaly scenario: PutKeyPolicy adding another
    # account's root, found by the key-policy analysis with the account named.
    lab = _label(truth, "s10_anomalies", "key_policy_backdoor")
    found = [
        f
        for f in scan["key_policies"]["findings"]
        if f["key_arn"] == lab["key_arn"] and set(lab["event_ids"]) <= _evidence_ids(f)
    ]
    (f,) = found
    assert f["kind"] == "key-policy-widened" and f["severity"] == "high"
    assert lab["external_account"] in f["summary"]


def _sample_records() -> list[dict[str, Any]]:
    import gzip  # noqa: PLC0415

    out: list[dict[str, Any]] = []
    for path in sorted(Path("sample_logs").rglob("*.json.gz")):
        if "CloudTrail-Digest" in path.parts:
            continue
        doc = json.loads(gzip.decompress(path.read_bytes()))
        out += doc.get("Records", []) if isinstance(doc, dict) else []
    return out


def test_every_non_routine_access_control_change_is_still_reported(
    scan: dict[str, Any],
) -> None:
    # The rule's noise is gone (routine service grants, above), and nothing else is:
    # every successful PutKeyPolicy, RevokeGrant and CreateGrant that no AWS service made
    # for an AWS resource is a finding of the rule.
    wanted = set()
    routine = set()
    for rec in _sample_records():
        if rec.get("eventSource") != "kms.amazonaws.com" or rec.get("errorCode"):
            continue
        name = rec.get("eventName")
        if name not in ("PutKeyPolicy", "RevokeGrant", "CreateGrant"):
            continue
        grantee = str((rec.get("requestParameters") or {}).get("granteePrincipal", ""))
        by_service = rec["userIdentity"].get("invokedBy") or ":aws:ec2-infrastructure:" in grantee
        (routine if name == "CreateGrant" and by_service else wanted).add(rec["eventID"])
    assert wanted and routine
    reported = {f["event_id"] for f in scan["findings"] if f["rule"] == "kms-access-control-change"}
    assert wanted <= reported
    assert not routine & reported
