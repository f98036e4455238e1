"""The one finding model: what every analysis reports, and what every renderer reads.

A *kind* is the catalogue entry (id, title, severity, rationale, remediation), kept as
data and registered once by the module that produces it; a *finding* is one occurrence
of a kind about one subject over a time span, with counts and the evidence records.
Renderers see only these two classes, so a new output format never needs to know which
analysis produced a finding, and a new analysis never needs to touch a renderer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

# Ordered from most to least urgent: renderers sort by this order.
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True)
class FindingKind:
    """A catalogue entry. ``source`` names the analysis family (rule, alarm,
    lifecycle, anomaly, blind_spot, policy, eventbridge …)."""

    id: str
    title: str
    severity: str
    source: str
    rationale: str = ""
    remediation: str = ""
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"finding kind {self.id!r}: unknown severity {self.severity!r}")


@dataclass(frozen=True)
class Subject:
    """What the finding is about; every part optional (a blind spot has no key)."""

    key_arn: str | None = None
    aliases: tuple[str, ...] = ()  # the key's alias names at the time of the finding
    principal: str | None = None
    account: str | None = None
    region: str | None = None
    resource: str | None = None  # anything else: a trail, an alarm, a grant id …


@dataclass(frozen=True)
class Evidence:
    """One record cited by a finding: enough to find it again in the logs."""

    event_id: str | None
    event_time: datetime | None = None
    event_name: str | None = None
    source: str | None = None  # the file (display form) or object it came from
    record_index: int | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    raw: str | None = None  # the record's original text, when the renderer needs it


@dataclass(frozen=True)
class Finding:
    """One occurrence of a kind. ``count`` is the total number of events behind it;
    ``evidence`` holds the earliest of them (capped by the producer)."""

    kind: FindingKind
    subject: Subject
    first: datetime | None
    last: datetime | None
    count: int
    summary: str  # one line, plain text, may quote log text (renderers escape it)
    evidence: tuple[Evidence, ...] = ()
    severity: str | None = None  # overrides the kind's (e.g. an anomaly's score)
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def effective_severity(self) -> str:
        return self.severity or self.kind.severity

    def __post_init__(self) -> None:
        if self.severity is not None and self.severity not in SEVERITIES:
            raise ValueError(f"finding {self.kind.id!r}: unknown severity {self.severity!r}")


_KINDS: dict[str, FindingKind] = {}


def register_kind(entry: FindingKind) -> FindingKind:
    """Add a kind to the catalogue; registering the same entry twice is harmless, two
    different entries under one id is a programming error."""
    known = _KINDS.get(entry.id)
    if known is not None and known != entry:
        raise ValueError(f"finding kind {entry.id!r} registered twice with different metadata")
    _KINDS[entry.id] = entry
    return entry


def define_kind(
    source: str,
    kind_id: str,
    title: str,
    severity: str,
    rationale: str,
    remediation: str,
    references: tuple[str, ...] = (),
) -> FindingKind:
    """Register the catalogue entry of a family's kind (the modules that produce
    findings declare their kinds with this, as data)."""
    return register_kind(
        FindingKind(
            id=kind_id,
            title=title,
            severity=severity,
            source=source,
            rationale=rationale,
            remediation=remediation,
            references=references,
        )
    )


def kind(kind_id: str) -> FindingKind:
    return _KINDS[kind_id]


def kinds() -> Mapping[str, FindingKind]:
    return MappingProxyType(_KINDS)
