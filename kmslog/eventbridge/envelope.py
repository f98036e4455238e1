"""The events EventBridge would have seen, rebuilt from CloudTrail records.

Every CloudTrail record of a known ``eventType`` becomes one event on the default
bus of its account and Region, with ``detail`` = the record (the EventBridge User
Guide, "AWS service events delivered via AWS CloudTrail"):

=====================  =====================================
``eventType``          ``detail-type``
=====================  =====================================
``AwsApiCall``         ``AWS API Call via CloudTrail``
``AwsServiceEvent``    ``AWS Service Event via CloudTrail``
``AwsConsoleSignIn``   ``AWS Console Signin via CloudTrail``
``AwsConsoleAction``   ``AWS Console Action via CloudTrail``
=====================  =====================================

``source`` is ``aws.`` + the ``eventSource`` without ``.amazonaws.com`` (the
EventBridge events reference gives ``aws.kms`` for ``kms.amazonaws.com``,
``aws.monitoring`` for ``monitoring.amazonaws.com``, ``aws.logs`` for
``logs.amazonaws.com``). Read-only management events whose name starts with
``Describe``, ``Get`` or ``List`` reach only rules in the state
``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`` ("Receiving read-only management
events from AWS services"); data events the trail logged are delivered (CloudTrail
User Guide, "Logging data events": "The events that are logged by your trails are
available in Amazon EventBridge").

KMS also sends its own three events (KMS Developer Guide, "Monitoring with Amazon
EventBridge"), rebuilt here from the matching CloudTrail service events:
``RotateKey`` → ``KMS CMK Rotation``, ``DeleteExpiredKeyMaterial`` → ``KMS Imported
Key Material Expiration``, ``DeleteKey`` → ``KMS CMK Deletion``; ``resources`` is
the key ARN and ``detail`` is ``{"key-id": <key id>}``.

EventBridge gives every event a fresh random ``id``; kmslog derives a stable one
from the record's ``eventID`` and the ``detail-type`` so a report can be
reproduced (decision E17 in docs/event-patterns.md).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

CLOUDTRAIL_DETAIL_TYPES: dict[str, str] = {
    "AwsApiCall": "AWS API Call via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
    "AwsConsoleSignIn": "AWS Console Signin via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
}
KMS_SOURCE = "kms.amazonaws.com"
KMS_DETAIL_TYPES: dict[str, str] = {
    "RotateKey": "KMS CMK Rotation",
    "DeleteExpiredKeyMaterial": "KMS Imported Key Material Expiration",
    "DeleteKey": "KMS CMK Deletion",
}
READ_ONLY_PREFIXES = ("Describe", "Get", "List")
SUFFIX = ".amazonaws.com"
# uuid5 namespace of the envelope ids kmslog derives (decision E17).
ID_NAMESPACE = uuid.UUID("6f0e1c8a-2b7d-5e43-9a61-0d3c4b5a6e7f")
_NAMESPACE = ID_NAMESPACE.bytes


@dataclass(frozen=True)
class Envelope:
    """One event EventBridge would have seen; ``read_only`` marks the read-only
    management events only ``ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS`` rules get."""

    event: dict[str, Any]
    kind: str  # "cloudtrail" | "kms"
    read_only: bool = False


def event_source_name(event_source: str) -> str:
    """``kms.amazonaws.com`` → ``aws.kms``."""
    return "aws." + event_source.removesuffix(SUFFIX)


def envelope_id(detail_type: str, event_id: str) -> str:
    """``uuid5(ID_NAMESPACE, detail_type + "\\n" + event_id)``, spelled out (RFC 9562
    section 5.5): it runs once per match."""
    digest = bytearray(hashlib.sha1(_NAMESPACE + f"{detail_type}\n{event_id}".encode()).digest())
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest[:16].hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def account_of(record: dict[str, Any]) -> str:
    """The account whose default bus receives the event: ``recipientAccountId``, else
    ``userIdentity.accountId``, else empty."""
    recipient = _text(record.get("recipientAccountId"))
    if recipient is not None:
        return recipient
    identity = record.get("userIdentity")
    fallback = _text(identity.get("accountId")) if isinstance(identity, dict) else None
    return fallback if fallback is not None else ""


def is_read_only_management(record: dict[str, Any]) -> bool:
    """A read-only management event named Describe*/Get*/List*: not a data event."""
    name = _text(record.get("eventName")) or ""
    data = record.get("eventCategory") == "Data" or record.get("managementEvent") is False
    return record.get("readOnly") is True and not data and name.startswith(READ_ONLY_PREFIXES)


def cloudtrail_envelope(record: dict[str, Any]) -> Envelope | None:
    """The ``… via CloudTrail`` event of ``record``; None when CloudTrail would not
    deliver it (unknown eventType, no eventSource)."""
    detail_type = CLOUDTRAIL_DETAIL_TYPES.get(_text(record.get("eventType")) or "")
    source = _text(record.get("eventSource"))
    if detail_type is None or source is None:
        return None
    event = {
        "version": "0",
        "id": envelope_id(detail_type, _text(record.get("eventID")) or ""),
        "detail-type": detail_type,
        "source": event_source_name(source),
        "account": account_of(record),
        "time": _text(record.get("eventTime")) or "",
        "region": _text(record.get("awsRegion")) or "",
        "resources": [],
        "detail": record,
    }
    return Envelope(event, "cloudtrail", is_read_only_management(record))


def kms_key_arn(record: dict[str, Any]) -> str | None:
    resources = record.get("resources")
    if isinstance(resources, list):
        for r in resources:
            arn = _text(r.get("ARN")) if isinstance(r, dict) else None
            if arn and ":kms:" in arn and ":key/" in arn:
                return arn
    return None


def kms_envelope(record: dict[str, Any]) -> Envelope | None:
    """The KMS service event (rotation, key-material expiration, deletion) of a
    ``RotateKey`` / ``DeleteExpiredKeyMaterial`` / ``DeleteKey`` service event."""
    if record.get("eventSource") != KMS_SOURCE or record.get("eventType") != "AwsServiceEvent":
        return None
    detail_type = KMS_DETAIL_TYPES.get(_text(record.get("eventName")) or "")
    if detail_type is None:
        return None
    details = record.get("serviceEventDetails")
    key_id = _text(details.get("keyId")) if isinstance(details, dict) else None
    arn = kms_key_arn(record)
    if key_id is None and arn is not None:
        key_id = arn.rsplit("/", 1)[-1]
    event = {
        "version": "0",
        "id": envelope_id(detail_type, _text(record.get("eventID")) or ""),
        "detail-type": detail_type,
        "source": "aws.kms",
        "account": account_of(record),
        "time": _text(record.get("eventTime")) or "",
        "region": _text(record.get("awsRegion")) or "",
        "resources": [arn] if arn else [],
        "detail": {"key-id": key_id} if key_id is not None else {},
    }
    return Envelope(event, "kms")


def envelopes(record: Any) -> list[Envelope]:
    """Every event EventBridge would have seen for one CloudTrail record."""
    if not isinstance(record, dict):
        return []
    out = [e for e in (cloudtrail_envelope(record), kms_envelope(record)) if e is not None]
    return out
