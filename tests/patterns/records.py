"""Hand-written CloudTrail KMS records and documentation sample events (tests only)."""

from __future__ import annotations

from typing import Any

import orjson

ACCOUNT = "111122223333"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/{KEY_ID}"


def compact(record: Any) -> str:
    return orjson.dumps(record).decode()


def kms(event_name: str, **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "EX_PRINCIPAL_ID",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/Alice",
            "accountId": ACCOUNT,
            "accessKeyId": "EXAMPLE_KEY_ID",
            "userName": "Alice",
            "sessionContext": {"attributes": {"mfaAuthenticated": "true"}},
        },
        "eventTime": "2024-05-01T10:00:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": event_name,
        "awsRegion": "us-west-2",
        "sourceIPAddress": "192.0.2.10",
        "userAgent": "AWS Internal",
        "requestParameters": {"keyId": KEY_ID},
        "responseElements": None,
        "requestID": "req-1",
        "eventID": "evt-1",
        "readOnly": False,
        "resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": KEY_ARN}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    rec.update(overrides)
    return rec


DECRYPT_PENDING = kms(
    "Decrypt",
    readOnly=True,
    errorCode="KMSInvalidStateException",
    errorMessage=f"{KEY_ARN} is pending deletion.",
    requestParameters={"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": KEY_ID},
)
ENCRYPT_DISABLED = kms(
    "Encrypt",
    readOnly=True,
    errorCode="DisabledException",
    errorMessage=f"{KEY_ARN} is disabled.",
)
ENCRYPT_OK = kms(
    "Encrypt",
    readOnly=True,
    requestParameters={
        "keyId": KEY_ID,
        "encryptionContext": {"Department": "Engineering"},
        "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
    },
)
CANCEL_NOT_PENDING = kms(
    "CancelKeyDeletion",
    errorCode="KMSInvalidStateException",
    errorMessage=f"{KEY_ARN} is not pending deletion.",
)
DISABLE_KEY = kms("DisableKey")
DISABLE_KEY_DENIED = kms(
    "DisableKey",
    errorCode="AccessDenied",
    errorMessage="User is not authorized to perform: kms:DisableKey",
)
DISABLE_ROTATION = kms("DisableKeyRotation")
SCHEDULE_DELETION = kms(
    "ScheduleKeyDeletion",
    requestParameters={"keyId": KEY_ID, "pendingWindowInDays": 20},
    responseElements={
        "keyId": KEY_ARN,
        "deletionDate": "2024-05-21T00:00:00Z",
        "keyState": "PendingDeletion",
        "pendingWindowInDays": 20,
    },
)
SCHEDULE_BY_ROOT = kms(
    "ScheduleKeyDeletion",
    userIdentity={
        "type": "Root",
        "principalId": ACCOUNT,
        "arn": f"arn:aws:iam::{ACCOUNT}:root",
        "accountId": ACCOUNT,
        "accessKeyId": "EXAMPLE_ROOT_KEY",
    },
    requestParameters={"keyId": KEY_ID, "pendingWindowInDays": 7},
)
GENERATE_DATA_KEY = kms(
    "GenerateDataKey",
    readOnly=True,
    userIdentity={
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEID:app-session",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/AppRole/app-session",
        "accountId": ACCOUNT,
        "invokedBy": "s3.amazonaws.com",
    },
    requestParameters={"keyId": KEY_ARN, "keySpec": "AES_256", "numberOfBytes": 32},
    tlsDetails={"tlsVersion": "TLSv1.2", "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256"},
    sourceIPAddress="s3.amazonaws.com",
    userAgent="s3.amazonaws.com",
)
DELETE_KEY_SERVICE = {
    "eventVersion": "1.05",
    "userIdentity": {"accountId": ACCOUNT, "invokedBy": "AWS Internal"},
    "eventTime": "2020-07-31T00:07:00Z",
    "eventSource": "kms.amazonaws.com",
    "eventName": "DeleteKey",
    "awsRegion": "us-west-2",
    "sourceIPAddress": "AWS Internal",
    "userAgent": "AWS Internal",
    "requestParameters": None,
    "responseElements": None,
    "eventID": "evt-2",
    "readOnly": False,
    "resources": [{"ARN": KEY_ARN, "accountId": ACCOUNT}],
    "eventType": "AwsServiceEvent",
    "recipientAccountId": ACCOUNT,
    "serviceEventDetails": {"keyId": KEY_ID},
    "managementEvent": True,
    "eventCategory": "Management",
}
S3_PUT = kms(
    "PutObject",
    eventSource="s3.amazonaws.com",
    requestParameters={"bucketName": "b", "key": "DisableKey.txt"},
    resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/DisableKey.txt"}],
)

# the CloudWatch Logs guide's sample events
GUIDE = compact(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "cluster.name": "c",
        "ThisFlag": True,
    }
)
USERS = compact(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [
            {"id": 2, "email": "John.Doe@example.com"},
            {"id": 3, "email": "Jane.Doe@example.com"},
        ],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1], [2, 3]],
    }
)
APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534'
APACHE_404 = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
ERROR_LINE = "ERROR 09/25/2014 12:00:02 Failed to process request"
