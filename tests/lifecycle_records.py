"""Hand-written CloudTrail records for lifecycle tests."""

from __future__ import annotations

import itertools
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
KEY_A = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_B = "0987dcba-09fe-87dc-65ba-ab0987654321"
_counter = itertools.count()


def arn(key_id: str, region: str = REGION) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:key/{key_id}"


def alias_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT}:{name}"


def record(
    name: str,
    time: str,
    key_id: str | None = KEY_A,
    *,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error: tuple[str, str] | None = None,
    resources: list[str] | None = None,
    actor: str = "arn:aws:iam::111122223333:user/Alice",
    assumed: str | None = None,
    service: bool = False,
    ip: str = "192.0.2.1",
    invoked_by: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    identity: dict[str, Any]
    if service:
        identity = {"accountId": ACCOUNT, "invokedBy": "AWS Internal"}
    elif assumed:
        role, session = assumed.split("/")
        identity = {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}",
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}"}
            },
        }
    else:
        identity = {"type": "IAMUser", "arn": actor, "accountId": ACCOUNT}
    if invoked_by:
        identity["invokedBy"] = invoked_by
    rec: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": time,
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": "AWS Internal" if service else ip,
        "requestParameters": request
        if request is not None
        else ({"keyId": key_id} if key_id else None),
        "responseElements": response,
        "eventID": f"ev-{next(_counter):06d}",
        "eventType": "AwsServiceEvent" if service else "AwsApiCall",
        "recipientAccountId": ACCOUNT,
    }
    if resources is not None:
        rec["resources"] = [{"ARN": r, "type": "AWS::KMS::Key"} for r in resources]
    elif key_id:
        rec["resources"] = [{"ARN": arn(key_id), "type": "AWS::KMS::Key", "accountId": ACCOUNT}]
    if error:
        rec["errorCode"], rec["errorMessage"] = error
    if extra:
        rec.update(extra)
    return rec


def create_key(
    time: str, key_id: str = KEY_A, origin: str = "AWS_KMS", policy: str | None = None
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "origin": origin,
        "keySpec": "SYMMETRIC_DEFAULT",
        "keyUsage": "ENCRYPT_DECRYPT",
    }
    if policy is not None:
        request["policy"] = policy
    state = "PendingImport" if origin == "EXTERNAL" else "Enabled"
    return record(
        "CreateKey",
        time,
        key_id,
        request=request,
        response={
            "keyMetadata": {
                "keyId": key_id,
                "arn": arn(key_id),
                "creationDate": "Mar 1, 2024, 9:00:00 AM",
                "keyState": state,
                "enabled": state == "Enabled",
                "origin": origin,
            }
        },
    )
