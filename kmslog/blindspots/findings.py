"""Blind spots as findings of the one finding model (every renderer reads these)."""

from __future__ import annotations

from types import MappingProxyType

from kmslog.blindspots.destination_kinds import DELIVERY_GAP, MISSING_REGION
from kmslog.blindspots.model import Cite, Gap, Incident, Window
from kmslog.findings.model import SEVERITIES, Evidence, Finding, Subject, kind
from kmslog.kms.dates import iso_z


def evidence(cite: Cite) -> Evidence:
    return Evidence(
        event_id=cite.event_id,
        event_time=cite.event_time,
        event_name=cite.event_name,
        source=cite.source,
        record_index=cite.record_index,
        source_ip=cite.source_ip,
    )


def window_finding(w: Window) -> Finding:
    cites = (w.opened_by,) if w.closed_by is None else (w.opened_by, w.closed_by)
    return Finding(
        kind=kind(w.cause),
        subject=Subject(
            principal=w.opened_by.identity_arn,
            account=w.account,
            region=w.region,
            resource=w.trail,
        ),
        first=w.start,
        last=w.end,
        count=len(cites),
        summary=w.summary,
        evidence=tuple(evidence(c) for c in cites),
        details=MappingProxyType(
            {"certainty": w.certainty.value, "coverage": w.coverage.value, "open": w.end is None}
        ),
    )


def incident_finding(i: Incident) -> Finding:
    return Finding(
        kind=kind(i.cause),
        subject=Subject(
            principal=i.cite.identity_arn,
            account=i.account,
            region=i.region,
            resource=i.resource,
        ),
        first=i.cite.event_time,
        last=i.cite.event_time,
        count=1,
        summary=i.summary,
        evidence=(evidence(i.cite),),
        severity=None if i.certain else _lower(kind(i.cause).severity),
        details=MappingProxyType(
            {"attempt": i.attempt, "error_code": i.cite.error_code, "certain": i.certain}
        ),
    )


def _lower(severity: str) -> str:
    """One level less urgent (never below low: a guess is still worth a look)."""
    at = SEVERITIES.index(severity)
    return SEVERITIES[min(at + 1, SEVERITIES.index("low"))] if severity != "info" else severity


def gap_finding(g: Gap) -> Finding:
    hours = (g.end - g.start).total_seconds() / 3600
    return Finding(
        kind=DELIVERY_GAP,
        subject=Subject(account=g.account, region=g.region),
        first=g.start,
        last=g.end,
        count=0,
        summary=(
            f"no records for account {g.account} in {g.region} from {iso_z(g.start)} to "
            f"{iso_z(g.end)} ({hours:.1f} h; deliveries there are usually "
            f"{g.usual / 60:.0f} min apart): events of that stretch are unknown"
        ),
        details=MappingProxyType(
            {"usual_seconds": g.usual, "file_before": g.before, "file_after": g.after}
        ),
    )


def missing_region_finding(account: str, region: str) -> Finding:
    return Finding(
        kind=MISSING_REGION,
        subject=Subject(account=account, region=region),
        first=None,
        last=None,
        count=0,
        summary=(
            f"the logs hold {region} for other accounts but none for account {account}: "
            "its events there, if any, are unknown"
        ),
    )
