"""ReEncrypt into another account's key: a finding per source key, destination and
principal with its volume; a burst is critical; same-account re-encryption and failed
calls are not findings; the two copies of a cross-account call count once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from kmslog.analyses.base import fold
from kmslog.analyses.reencrypt import ReEncryptAnalysis
from kmslog.cli import app
from kmslog.decode.memory import frame_from_records
from kmslog.kms.reencrypt_findings import BURST_PER_HOUR, reencrypt_findings
from tests.lifecycle_records import KEY_A, KEY_B, arn, record

ATTACKER = "999900001111"
THEIRS = f"arn:aws:kms:us-east-1:{ATTACKER}:key/aaaabbbb-0000-1111-2222-333344445555"


def reencrypt(time: str, destination: str, **kw: Any) -> dict[str, Any]:
    rec = record(
        "ReEncrypt",
        time,
        None,
        request={
            "destinationKeyId": destination,
            "sourceEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "destinationEncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        },
        resources=[arn(KEY_A), destination if destination.startswith("arn:") else arn(KEY_B)],
        **kw,
    )
    return rec


def findings(records: list[dict[str, Any]]) -> list[Any]:
    return reencrypt_findings(fold(ReEncryptAnalysis(), [frame_from_records(records)]))


def test_reencrypt_into_another_accounts_key_is_a_finding_with_its_volume():
    records = [reencrypt(f"2024-03-02T10:{m:02d}:00Z", THEIRS) for m in range(3)]
    (finding,) = findings(records)
    assert finding.kind.id == "kms-reencrypt-out-of-account"
    assert finding.count == 3 and finding.effective_severity == "high"
    assert finding.subject.key_arn == arn(KEY_A) and finding.subject.resource == THEIRS
    assert ATTACKER in finding.summary and "at most 3 in one hour" in finding.summary


def test_a_burst_is_critical():
    records = [
        reencrypt(f"2024-03-02T10:{i // 60:02d}:{i % 60:02d}Z", THEIRS)
        for i in range(BURST_PER_HOUR)
    ]
    (finding,) = findings(records)
    assert finding.effective_severity == "critical" and finding.details["burst"] is True


def test_same_account_and_failed_calls_are_not_findings():
    assert findings([reencrypt("2024-03-02T10:00:00Z", arn(KEY_B))]) == []
    assert findings([reencrypt("2024-03-02T10:00:00Z", KEY_B)]) == []
    failed = reencrypt("2024-03-02T10:00:00Z", THEIRS, error=("AccessDeniedException", "no"))
    assert findings([failed]) == []


def test_both_copies_of_a_cross_account_call_count_once():
    mine = reencrypt("2024-03-02T10:00:00Z", THEIRS, extra={"sharedEventID": "s-1"})
    theirs = {**mine, "eventID": "other-copy", "recipientAccountId": ATTACKER}
    (finding,) = findings([mine, theirs])
    assert finding.count == 1


def test_scan_exits_1_and_reports_it_in_json(tmp_path: Path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Records": [reencrypt("2024-03-02T10:00:00Z", THEIRS)]}))
    result = CliRunner().invoke(app, ["scan", str(path), "--no-progress", "--format", "json"])
    assert result.exit_code == 1, result.output
    (finding,) = json.loads(result.stdout)["reencrypt_out"]["findings"]
    assert finding["resource"] == THEIRS
