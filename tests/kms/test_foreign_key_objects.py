"""S3 objects written under another account's KMS key (the victim side of a ransomware
move): a finding per bucket, key and principal with its volume; same-account keys, keys
named without an account, failed writes and reads are not findings; the bucket owner's
and the writer's copies count once; the real Panther test records agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmslog.analyses.base import fold
from kmslog.analyses.foreign_key_objects import ForeignKeyObjectsAnalysis, ForeignKeyObjectsResult
from kmslog.cli import app
from kmslog.decode.memory import frame_from_records
from kmslog.kms.foreign_key_findings import BURST_PER_HOUR, foreign_key_findings
from tests.blindspots.records import external

VICTIM = "111122223333"
ATTACKER = "999900001111"
THEIRS = f"arn:aws:kms:us-east-1:{ATTACKER}:key/aaaabbbb-0000-1111-2222-333344445555"
OURS = f"arn:aws:kms:us-east-1:{VICTIM}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WRITER = f"arn:aws:sts::{VICTIM}:assumed-role/app/i-0abc"


def write(
    when: str,
    key: str | None,
    obj: str = "reports/q1.csv",
    name: str = "CopyObject",
    n: int = 0,
    **top: Any,
) -> dict[str, Any]:
    """An S3 object-level data event in CloudTrail's shape (AWS S3 user guide's
    CloudTrail examples; the SSE-KMS request headers as CloudTrail records them)."""
    params: dict[str, Any] = {"bucketName": "finance-data", "key": obj, "Host": "s3.amazonaws.com"}
    if name == "CopyObject":
        params["x-amz-copy-source"] = f"finance-data/{obj}"
    if key is not None:
        params["x-amz-server-side-encryption"] = "aws:kms"
        params["x-amz-server-side-encryption-aws-kms-key-id"] = key
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "arn": WRITER, "accountId": VICTIM},
        "eventTime": when,
        "eventSource": "s3.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "[aws-cli/2.15.0]",
        "requestParameters": params,
        "responseElements": None,
        "requestID": f"R{n}",
        "eventID": f"e0000000-0000-4000-8000-{n:012d}",
        "readOnly": False,
        "resources": [
            {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::finance-data/{obj}"},
            {"accountId": VICTIM, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::finance-data"},
        ],
        "eventType": "AwsApiCall",
        "managementEvent": False,
        "recipientAccountId": VICTIM,
        "eventCategory": "Data",
    }
    rec.update(top)
    return rec


def result(records: list[dict[str, Any]]) -> ForeignKeyObjectsResult:
    return fold(ForeignKeyObjectsAnalysis(), [frame_from_records(records)])


def findings(records: list[dict[str, Any]]) -> list[Any]:
    return foreign_key_findings(result(records))


def test_objects_rewritten_under_another_accounts_key_are_a_finding() -> None:
    records = [
        write(f"2024-03-02T10:{m:02d}:00Z", THEIRS, obj=f"reports/{m}.csv", n=m) for m in range(3)
    ]
    records.append(write("2024-03-02T10:05:00Z", THEIRS, obj="reports/0.csv", n=9))
    (finding,) = findings(records)
    assert finding.kind.id == "s3-objects-encrypted-with-external-key"
    assert finding.count == 4 and finding.details["objects"] == 3
    assert finding.subject.key_arn == THEIRS and finding.subject.account == VICTIM
    assert finding.subject.resource == "arn:aws:s3:::finance-data"
    assert finding.effective_severity == "high"
    assert ATTACKER in finding.summary and "finance-data" in finding.summary
    assert [e.event_name for e in finding.evidence] == ["CopyObject"] * 4


def test_put_and_multipart_writes_count_too() -> None:
    records = [
        write("2024-03-02T10:00:00Z", THEIRS, name="PutObject", n=1),
        write("2024-03-02T10:01:00Z", THEIRS, name="CreateMultipartUpload", n=2),
    ]
    (finding,) = findings(records)
    assert finding.count == 2


def test_a_burst_is_critical() -> None:
    records = [
        write(f"2024-03-02T10:{i // 60:02d}:{i % 60:02d}Z", THEIRS, obj=f"o/{i}", n=i)
        for i in range(BURST_PER_HOUR)
    ]
    (finding,) = findings(records)
    assert finding.effective_severity == "critical" and finding.details["burst"] is True


def test_not_findings() -> None:
    assert findings([write("2024-03-02T10:00:00Z", OURS)]) == []
    # a bare key id or an alias is a key of the bucket's account
    assert findings([write("2024-03-02T10:00:00Z", "aaaabbbb-0000-1111-2222-333344445555")]) == []
    assert findings([write("2024-03-02T10:00:00Z", "alias/backup")]) == []
    assert findings([write("2024-03-02T10:00:00Z", None)]) == []
    failed = write("2024-03-02T10:00:00Z", THEIRS, errorCode="AccessDenied")
    assert findings([failed]) == []
    read = write("2024-03-02T10:00:00Z", THEIRS, name="GetObject")
    assert findings([read]) == []


def test_escaped_header_is_still_read(tmp_path: Path) -> None:
    rec = write("2024-03-02T10:00:00Z", THEIRS)
    text = json.dumps({"Records": [rec]}).replace(
        '"x-amz-server-side-encryption-aws-kms-key-id"',
        '"\\u0078-amz-server-side-encryption-aws-kms-key-id"',
    )
    assert "\\u0078-amz" in text
    path = tmp_path / "escaped.json"
    path.write_text(text)
    out = CliRunner().invoke(app, ["scan", str(path), "--no-progress", "--format", "json"])
    assert len(json.loads(out.stdout)["s3_external_key_writes"]["findings"]) == 1


def test_both_copies_of_a_cross_account_write_count_once() -> None:
    # Written by a role of the attacker's account: the bucket owner's and the writer's
    # account each get a copy, one sharedEventID.
    owner_copy = write("2024-03-02T10:00:00Z", THEIRS, sharedEventID="s-1", n=1)
    owner_copy["userIdentity"] = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{ATTACKER}:assumed-role/x/y",
        "accountId": ATTACKER,
    }
    writer_copy = {**owner_copy, "eventID": "other-copy", "recipientAccountId": ATTACKER}
    for records in ([owner_copy, writer_copy], [writer_copy, owner_copy]):
        (finding,) = findings(records)
        assert finding.count == 1
        assert finding.evidence[0].event_id == owner_copy["eventID"]


def test_the_result_says_how_many_object_writes_there_were() -> None:
    assert result([]).object_writes_seen == 0
    records = [write("2024-03-02T10:00:00Z", OURS, n=1), write("2024-03-02T10:00:01Z", None, n=2)]
    assert result(records).object_writes_seen == 2


def test_scan_exits_1_and_reports_it_in_json_and_the_console(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Records": [write("2024-03-02T10:00:00Z", THEIRS)]}))
    out = CliRunner().invoke(app, ["scan", str(path), "--no-progress", "--format", "json"])
    assert out.exit_code == 1, out.output
    section = json.loads(out.stdout)["s3_external_key_writes"]
    assert section["object_writes_seen"] == 1
    (finding,) = section["findings"]
    assert finding["kind"] == "s3-objects-encrypted-with-external-key"
    console = CliRunner().invoke(app, ["scan", str(path), "--no-progress"], env={"COLUMNS": "200"})
    assert console.exit_code == 1
    assert "S3 objects encrypted under another account's KMS key" in console.stdout
    csv = CliRunner().invoke(app, ["scan", str(path), "--no-progress", "--format", "csv"])
    assert "s3-objects-encrypted-with-external-key" in csv.stdout


def test_panther_records() -> None:
    base = external()
    path = base / "panther-analysis/derived/test_events.json" if base is not None else None
    if path is None or not path.is_file():
        pytest.skip("../shared/external/panther-analysis is not present")
    cases = [
        c
        for c in json.loads(path.read_text())
        if c["source_file"].endswith("aws_s3_copy_object_cross_account_kms.yml")
    ]
    assert cases
    for case in cases:
        found = findings([case["record"]])
        assert bool(found) is case["expected_result"], case["test_name"]
