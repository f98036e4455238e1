"""The one model of an anomaly finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
