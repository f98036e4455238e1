"""Grant records in CloudTrail's shape, modelled on the KMS developer guide's examples
(ct-creategrant, ct-ec2two, ct-retire-grant, ct-revoke-grant, services-dynamodb)."""

from __future__ import annotations

import copy
from typing import Any

OWNER = "111122223333"
OTHER = "444455556666"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:us-west-2:{OWNER}:key/{KEY_ID}"
ALICE = f"arn:aws:iam::{OWNER}:user/Alice"
GRANT_USER = "f020fe75197b93991dc8491d6f19dd3cebb24ee62277a05914386724f3d48758"
GRANT_EBS = "abcde1237f76e4ba7987489ac329fbfba6ad343d6f7075dbd1ef191f0120514a"
GRANT_DDB = "5c5cd4a3d68e65e77795f5ccc2516dff057308172b0cd107c85b5215c6e48bde"
GRANT_EXT = "0ddba11c0ffee0000000000000000000000000000000000000000000000000e1"
GRANT_TOKEN = (
    "AQpAM2RhZTk1MGMyNTk2ZmZmMzEyYWVhOWViN2I1MWM4Mzc0MWFiYjc0ZDE1ODkyNGFlNTIzODZh"
    "MzgyZjBlNGY3NiKIAgEBAgB4Pa6VDCWW__EXAMPLE"
)


def alice() -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "EX_PRINCIPAL_ID",
        "arn": ALICE,
        "accountId": OWNER,
        "accessKeyId": "EXAMPLE_KEY_ID",
        "userName": "Alice",
    }


def admin_via(service: str) -> dict[str, Any]:
    """An assumed-role caller on whose behalf a service made the call."""
    return {
        "type": "AssumedRole",
        "principalId": "AROAIGDTESTANDEXAMPLE:user01",
        "arn": f"arn:aws:sts::{OWNER}:assumed-role/Admin/user01",
        "accountId": OWNER,
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "sessionContext": {
            "attributes": {"mfaAuthenticated": "false", "creationDate": "2018-02-14T00:12:02Z"},
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAIGDTESTANDEXAMPLE",
                "arn": f"arn:aws:iam::{OWNER}:role/Admin",
                "accountId": OWNER,
                "userName": "Admin",
            },
        },
        "invokedBy": service,
    }


def _base(event_id: str, when: str, name: str, identity: dict[str, Any]) -> dict[str, Any]:
    via = identity.get("invokedBy")
    return {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": when,
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-west-2",
        "sourceIPAddress": via or "192.0.2.0",
        "userAgent": via or "aws-cli/2.17.20",
        "requestParameters": None,
        "responseElements": None,
        "requestID": f"req-{event_id}",
        "eventID": event_id,
        "readOnly": False,
        "resources": [{"accountId": OWNER, "type": "AWS::KMS::Key", "ARN": KEY}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": OWNER,
        "eventCategory": "Management",
    }


def create_grant(
    event_id: str,
    when: str,
    grant_id: str | None,
    grantee: str,
    identity: dict[str, Any] | None = None,
    **params: Any,
) -> dict[str, Any]:
    rec = _base(event_id, when, "CreateGrant", identity or alice())
    rec["requestParameters"] = {"keyId": KEY, "granteePrincipal": grantee, **params}
    if grant_id is not None:
        rec["responseElements"] = {"grantId": grant_id, "keyId": KEY}
    return rec


def user_grant(event_id: str = "5d529779-2d27-42b5-92da-91aaea1fc4b5") -> dict[str, Any]:
    """Alice grants a role of her own account Encrypt/RetireGrant with a constraint."""
    return create_grant(
        event_id,
        "2024-03-01T10:00:00Z",
        GRANT_USER,
        f"arn:aws:iam::{OWNER}:role/analytics-reader",
        constraints={"encryptionContextSubset": {"ContextKey1": "Value1"}},
        operations=["Encrypt", "RetireGrant"],
        name="analytics",
    )


def ebs_grant(event_id: str = "c1ad79e3-0d3f-402a-b119-d5c31d7c6a6c") -> dict[str, Any]:
    """EC2 attaching an encrypted volume: the grantee is the instance's infrastructure
    principal (the guide's ct-ec2two record, with today's invokedBy)."""
    return create_grant(
        event_id,
        "2024-03-01T10:05:00Z",
        GRANT_EBS,
        f"{OWNER}:aws:ec2-infrastructure:i-81e2f56c",
        identity=admin_via("ec2.amazonaws.com"),
        constraints={"encryptionContextSubset": {"aws:ebs:id": "vol-f67bafb2"}},
        operations=["Decrypt"],
    )


def ebs_grant_2014(event_id: str = "c1ad79e3-0d3f-402a-b119-d5c31d7c6a6d") -> dict[str, Any]:
    """The same grant as the guide's 2014 record shows it: no invokedBy at all."""
    rec = ebs_grant(event_id)
    rec["userIdentity"] = alice()
    rec["userAgent"] = "AWS Internal"
    del rec["requestParameters"]["operations"]
    return rec


def dynamodb_grant(event_id: str = "a03d65c3-9fee-4111-9816-8bf96b73df01") -> dict[str, Any]:
    return create_grant(
        event_id,
        "2024-03-01T10:10:00Z",
        GRANT_DDB,
        "dynamodb.us-west-2.amazonaws.com",
        identity=admin_via("dynamodb.amazonaws.com"),
        retiringPrincipal="dynamodb.us-west-2.amazonaws.com",
        constraints={
            "encryptionContextSubset": {
                "aws:dynamodb:tableName": "Books",
                "aws:dynamodb:subscriberId": OWNER,
            }
        },
        operations=["DescribeKey", "GenerateDataKey", "Decrypt", "Encrypt", "RetireGrant"],
    )


def external_grant(event_id: str = "9e1a5c1e-0000-4000-8000-00000000e001") -> dict[str, Any]:
    return create_grant(
        event_id,
        "2024-03-02T08:00:00Z",
        GRANT_EXT,
        f"arn:aws:iam::{OTHER}:role/partner-batch",
        operations=["Decrypt", "GenerateDataKey"],
    )


def failed_grant(event_id: str = "9e1a5c1e-0000-4000-8000-00000000f001") -> dict[str, Any]:
    rec = create_grant(
        event_id,
        "2024-03-03T08:00:00Z",
        None,
        f"arn:aws:iam::{OTHER}:role/ci-runner",
        identity={
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEOTHER:ci",
            "arn": f"arn:aws:sts::{OTHER}:assumed-role/ci-runner/ci",
            "accountId": OTHER,
            "accessKeyId": "ASIAEXAMPLEOTHER",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": f"arn:aws:iam::{OTHER}:role/ci-runner",
                    "accountId": OTHER,
                }
            },
        },
        operations=["Decrypt"],
    )
    rec["errorCode"] = "AccessDeniedException"
    rec["errorMessage"] = "User is not authorized to perform: kms:CreateGrant"
    return rec


def retire_grant(
    grant_id: str, when: str, event_id: str = "1a2b3c4d-0000-4000-8000-0000000000r1"
) -> dict[str, Any]:
    """RetireGrant as the guide shows it: null requestParameters, the id in
    additionalEventData."""
    rec = _base(event_id, when, "RetireGrant", admin_via("ec2.amazonaws.com"))
    rec["additionalEventData"] = {"grantId": grant_id}
    return rec


def revoke_grant(
    grant_id: str, when: str, event_id: str = "1a2b3c4d-0000-4000-8000-0000000000v1"
) -> dict[str, Any]:
    rec = _base(event_id, when, "RevokeGrant", alice())
    rec["requestParameters"] = {"keyId": KEY, "grantId": grant_id}
    return rec


def put_key_policy(event_id: str = "1a2b3c4d-0000-4000-8000-0000000000p1") -> dict[str, Any]:
    rec = _base(event_id, "2024-03-01T09:00:00Z", "PutKeyPolicy", alice())
    rec["requestParameters"] = {
        "keyId": KEY,
        "policyName": "default",
        "policy": '{"Version":"2012-10-17","Statement":[]}',
        "bypassPolicyLockoutSafetyCheck": False,
    }
    return rec


def decrypt_with_token(
    when: str, token: str = GRANT_TOKEN, event_id: str = "1a2b3c4d-0000-4000-8000-0000000000d1"
) -> dict[str, Any]:
    rec = _base(event_id, when, "Decrypt", admin_via("ec2.amazonaws.com"))
    rec["readOnly"] = True
    rec["requestParameters"] = {
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        "encryptionContext": {"aws:ebs:id": "vol-f67bafb2"},
        "grantTokens": [token],
    }
    return rec


def decrypt_with_grant_id(
    grant_id: str, when: str, event_id: str = "1a2b3c4d-0000-4000-8000-0000000000d2"
) -> dict[str, Any]:
    rec = _base(event_id, when, "Decrypt", admin_via("ec2.amazonaws.com"))
    rec["readOnly"] = True
    rec["requestParameters"] = {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    rec["additionalEventData"] = {"grantId": grant_id}
    return rec


def clone(rec: dict[str, Any], **top: Any) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    out.update(top)
    return out
