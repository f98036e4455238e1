"""Hand-made KMS records for baseline and anomaly tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from kmslog.decode.memory import frame_from_records

OWNER = "111122223333"
FOREIGN = "999988887777"
K1 = f"arn:aws:kms:us-east-1:{OWNER}:key/11111111-1111-4111-8111-111111111111"
K2 = f"arn:aws:kms:us-east-1:{OWNER}:key/22222222-2222-4222-8222-222222222222"
START = datetime(2026, 10, 1, tzinfo=UTC)
WINDOW = START + timedelta(days=21)

S3_CONTEXT = {"aws:s3:arn": "arn:aws:s3:::data/x"}

_counter = [0]


def ev(
    t: datetime,
    op: str = "Decrypt",
    role: str = "app",
    ip: str = "10.0.1.5",
    key: str = K1,
    *,
    account: str = OWNER,
    error: str | None = None,
    region: str = "us-east-1",
    ua: str = "aws-sdk-java/1.12.500 Linux/5.10",
    invoked_by: str | None = None,
    read_only: bool | None = None,
    context: dict[str, str] | None = S3_CONTEXT,
) -> dict[str, Any]:
    _counter[0] += 1
    ident: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLE:{role}-session",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{role}-session-{_counter[0] % 7}",
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{account}:role/{role}"}
        },
    }
    if invoked_by:
        ident["invokedBy"] = invoked_by
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": ident,
        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "kms.amazonaws.com",
        "eventName": op,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": ua,
        "requestParameters": {"keyId": key, "encryptionContext": context},
        "responseElements": None,
        "eventID": f"ev-{_counter[0]:07d}",
        "readOnly": read_only
        if read_only is not None
        else op in ("Decrypt", "Encrypt", "GenerateDataKey"),
        "resources": [{"accountId": OWNER, "type": "AWS::KMS::Key", "ARN": key}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": OWNER,
        "eventCategory": "Management",
    }
    if error:
        record["errorCode"] = error
        record["errorMessage"] = "denied"
    return record


def background(days: int = 21) -> list[dict[str, Any]]:
    """Office-hours Decrypt by ``app`` on K1, a weekly ScheduleKeyDeletion/ CreateGrant
    habit for ``admin``, and K2 used on the first three days only."""
    records = []
    for d in range(days):
        day = START + timedelta(days=d)
        for hour in range(9, 18):
            for i in range(5):
                records.append(ev(day + timedelta(hours=hour, minutes=i * 7), ip=f"10.0.1.{i + 2}"))
        if d % 7 == 0:
            records.append(
                ev(day + timedelta(hours=10), "CreateGrant", "admin", "10.0.9.9", read_only=False)
            )
            records.append(
                ev(
                    day + timedelta(hours=11),
                    "ScheduleKeyDeletion",
                    "admin",
                    "10.0.9.9",
                    K1,
                    read_only=False,
                )
            )
        if d < 3:
            records.append(ev(day + timedelta(hours=12), "Encrypt", "app", "10.0.1.2", K2))
    return records


def frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    return frame_from_records(records)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return WINDOW + timedelta(days=day, hours=hour, minutes=minute)
