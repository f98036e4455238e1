"""Small CloudTrail inputs written in every shape the ingest accepts (tests only)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SHAPES = ("records", "records_gz", "array", "ndjson", "single", "eventbridge", "history")

ACCOUNT = "111122223333"
KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def record(i: int, **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:session",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/app"}},
        },
        "eventTime": f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15",
        "requestParameters": {"encryptionContext": {"a": "b"}, "keyId": KEY},
        "responseElements": None,
        "requestID": f"req-{i}",
        "eventID": f"evt-{i:06d}",
        "readOnly": True,
        "resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": KEY}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    rec.update(overrides)
    return rec


def encode(records: Sequence[Any], shape: str) -> bytes:
    """The bytes of one file holding ``records`` in ``shape``."""
    if shape == "records":
        return json.dumps({"Records": list(records)}).encode()
    if shape == "records_gz":
        return gzip.compress(json.dumps({"Records": list(records)}).encode())
    if shape == "array":
        return json.dumps(list(records), indent=1).encode()
    if shape == "ndjson":
        return b"".join(json.dumps(r).encode() + b"\n" for r in records)
    if shape == "single":
        assert len(records) == 1
        return json.dumps(records[0], indent=2).encode()
    if shape == "eventbridge":
        return json.dumps(
            [
                {"version": "0", "detail-type": "AWS API Call via CloudTrail", "detail": r}
                for r in records
            ]
        ).encode()
    if shape == "history":
        return json.dumps(
            {"Events": [{"EventId": "x", "CloudTrailEvent": json.dumps(r)} for r in records]}
        ).encode()
    raise ValueError(shape)


def layout_path(
    root: Path,
    account: str = ACCOUNT,
    region: str = "us-east-1",
    stamp: str = "20240501T1005Z",
    unique: str = "AbCdEfGh12345678",
    org: str | None = None,
) -> Path:
    day = f"{stamp[:4]}/{stamp[4:6]}/{stamp[6:8]}"
    parts = ["AWSLogs"] + ([org] if org else []) + [account, "CloudTrail", region, day]
    name = f"{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz"
    return root.joinpath(*parts, name)


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_trail(path: Path, records: Sequence[Any]) -> Path:
    return write(path, encode(records, "records_gz"))
