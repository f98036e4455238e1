"""The one model of an anomaly finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kmslog.findings.model import FindingKind, define_kind
from kmslog.kms.dates import iso_z

KINDS: tuple[str, ...] = (
    "new_principal",
    "new_caller_account",
    "new_operation",
    "new_service",
    "new_network",
    "new_region",
    "dormant_key",
    "foreign_key",
    "call_rate_spike",
    "error_rate_spike",
    "odd_hour",
    "control_plane",
    "sustained_rate_rise",
    "new_encryption_context",
)


_GUIDE = "https://docs.aws.amazon.com/kms/latest/developerguide/"

# Catalogue entries of the quieter kinds (the others get the generic anomaly entry).
SUSTAINED_RATE_RISE: FindingKind = define_kind(
    "anomaly",
    "anomaly-sustained_rate_rise",
    "Principal's call rate on a key held at a few times its usual for hours",
    "medium",
    "A principal called a key it uses routinely at several times its usual hourly rate, "
    "hour after hour, yet below the one-hour spike thresholds: the pattern of bulk "
    "decryption paced to stay quiet, or of a workload whose credentials are shared.",
    "Ask the principal's owner what the extra calls were; compare their encryption "
    "contexts and sources with the usual ones; if unexplained, rotate the principal's "
    "credentials and narrow the key policy or its grants.",
    (_GUIDE + "monitoring-overview.html",),
)
NEW_ENCRYPTION_CONTEXT: FindingKind = define_kind(
    "anomaly",
    "anomaly-new_encryption_context",
    "Principal used an encryption-context key it never used with this key",
    "medium",
    "Encryption context names the data a call is about (a bucket, a function, a tenant). "
    "A principal that sends a context key it never sent with this key is working on "
    "data of another kind or owner than its habit.",
    "Check which data the calls concern (the context values in the records) and whether "
    "the principal should reach it; if not, add kms:EncryptionContextKeys or "
    "kms:EncryptionContext: conditions to the key policy.",
    (_GUIDE + "encrypt_context.html", _GUIDE + "conditions-kms.html"),
)


def severity_of(score: float) -> str:
    if score >= 75:
        return "high"
    if score >= 50:
        return "medium"
    return "low"


def _iso(ts: datetime) -> str:
    return iso_z(ts)


@dataclass(frozen=True)
class Finding:
    """An anomaly: what, about which key/principal, how bad, when, and the evidence.

    ``event_ids`` holds the earliest events (capped); ``count`` is the total.
    ``detected_at`` is when the rule's condition was first met by the data (first
    novel event, or the end of the first hour over a rate threshold).
    """

    kind: str
    key_arn: str | None
    principal: str | None
    score: float
    start: datetime
    end: datetime
    count: int
    event_ids: tuple[str, ...]
    explanation: str
    detected_at: datetime
    subject: str = ""  # the new value (network, account, operation …) or the entity
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return severity_of(self.score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "score": round(self.score, 1),
            "key_arn": self.key_arn,
            "principal": self.principal,
            "subject": self.subject,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "detected_at": _iso(self.detected_at),
            "count": self.count,
            "event_ids": list(self.event_ids),
            "event_ids_total": self.count,
            "explanation": self.explanation,
            "details": self.details,
        }
