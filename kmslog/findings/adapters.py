"""Every producer's result as Findings of registered kinds.

Rule matches are grouped (rule × key × principal): a responder acts on one key used
by one principal, not on each event; the count, first/last and the earliest events
say how much and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from kmslog.findings.model import (
    SEVERITIES as SEVERITY_NAMES,
)
from kmslog.findings.model import (
    Evidence,
    Finding,
    FindingKind,
    Subject,
    kinds,
    register_kind,
)

if TYPE_CHECKING:
    from kmslog.analyses.anomalies import AnomalyResult
    from kmslog.analyses.detections import DetectionsResult
    from kmslog.analyses.eventbridge import EventBridgeResult

EVIDENCE_CAP = 10


def _rule_kind(
    rule_id: str, title: str, severity: str, description: str, refs: Sequence[str]
) -> FindingKind:
    rationale, _, remediation = " ".join(description.split()).partition(" Remediation: ")
    entry = FindingKind(
        id=rule_id,
        title=title or rule_id,
        severity=severity
        if severity in ("critical", "high", "medium", "low", "info")
        else "medium",
        source="rule",
        rationale=rationale,
        remediation=remediation,
        references=tuple(refs),
    )
    known = kinds().get(rule_id)
    # A user's rule file may reuse an id with other text: the first registration wins.
    return known if known is not None else register_kind(entry)


ALARM_KIND = register_kind(
    FindingKind(
        id="alarm-would-notify",
        title="CloudWatch alarm would have gone to ALARM",
        severity="high",
        source="alarm",
        rationale="Replaying the alarm over the logged events reaches ALARM.",
        remediation="Check the events behind the breaching datapoint; if the alarm was "
        "deleted, muted or its filter missing, restore it.",
    )
)
ALARM_SILENT_KIND = register_kind(
    FindingKind(
        id="alarm-silenced",
        title="CloudWatch alarm reached ALARM but would not have notified",
        severity="critical",
        source="alarm",
        rationale="The alarm, its actions or its metric filter did not exist or were "
        "disabled when the breaching data arrived: nobody was told.",
        remediation="Restore the alarm/filter and enable its actions; review who changed them.",
    )
)
ALARM_MISSED_KIND = register_kind(
    FindingKind(
        id="alarm-page-missed",
        title="CloudWatch alarm deleted before it would have paged",
        severity="critical",
        source="alarm",
        rationale="The account's own alarm, as the logs configured it, would have gone to "
        "ALARM on a later record had it not been deleted (and muted) shortly before.",
        remediation="Treat the triggering call as unreviewed: look at it and at who "
        "deleted the alarm; restore the alarm and alert on DeleteAlarms.",
    )
)
MATERIAL_KIND_ID = "kms-key-material-expiry"


def _anomaly_kind(name: str) -> FindingKind:
    known = kinds().get(f"anomaly-{name}")
    if known is not None:
        return known
    return register_kind(
        FindingKind(
            id=f"anomaly-{name}",
            title=f"Usage departs from the baseline: {name.replace('_', ' ')}",
            severity="medium",
            source="anomaly",
            rationale="The scanned window departs from the key's learned usage profile.",
            remediation="Confirm with the key's owner that the new usage is expected; "
            "if not, restrict the key policy and rotate credentials of the principal.",
        )
    )


def rule_findings(result: DetectionsResult) -> list[Finding]:
    meta = {r.id: r for r in result.rules}
    out: list[Finding] = []
    frame = result.findings
    if frame.height == 0:
        return out
    groups: dict[tuple[str, str | None, str | None], list[dict[str, Any]]] = {}
    for row in frame.iter_rows(named=True):
        groups.setdefault((row["rule"], row.get("key_arn"), row.get("principal_arn")), []).append(
            row
        )
    for (rule_id, key_arn, principal), rows in groups.items():
        rule = meta.get(rule_id)
        entry = _rule_kind(
            rule_id,
            rule.title if rule else rule_id,
            rule.severity if rule else "medium",
            rule.description if rule else "",
            rule.references if rule else (),
        )
        times = [r["event_time"] for r in rows if r["event_time"] is not None]
        failed = sum(1 for r in rows if r.get("error_code") is not None)
        ips = sorted({r["source_ip"] for r in rows if r.get("source_ip")})
        agents = sorted({r["user_agent"] for r in rows if r.get("user_agent")})
        names = sorted({r["event_name"] for r in rows if r.get("event_name")})
        first = rows[0]
        out.append(
            Finding(
                kind=entry,
                subject=Subject(
                    key_arn=key_arn,
                    principal=principal,
                    account=first.get("recipient_account_id"),
                    region=first.get("aws_region"),
                ),
                first=min(times) if times else None,
                last=max(times) if times else None,
                count=len(rows),
                summary=f"{len(rows)} event(s) ({', '.join(names)}), {failed} failed",
                evidence=tuple(_evidence(r) for r in rows[:EVIDENCE_CAP]),
                details=MappingProxyType(
                    {
                        "event_names": names,
                        "failed": failed,
                        "source_ips": ips,
                        "user_agents": agents,
                    }
                ),
            )
        )
    return out


def _evidence(row: dict[str, Any]) -> Evidence:
    return Evidence(
        event_id=row.get("event_id"),
        event_time=row.get("event_time"),
        event_name=row.get("event_name"),
        source=row.get("source"),
        record_index=row.get("record_index"),
        source_ip=row.get("source_ip"),
        user_agent=row.get("user_agent"),
        raw=row.get("raw"),
    )


def alarm_findings(result: DetectionsResult) -> list[Finding]:
    out: list[Finding] = []
    for report in result.alarms:
        for t in report.transitions:
            if t.new.value != "ALARM":
                continue
            entry = ALARM_KIND if t.would_notify else ALARM_SILENT_KIND
            out.append(
                Finding(
                    kind=entry,
                    subject=Subject(
                        account=report.account, region=report.region, resource=report.alarm.name
                    ),
                    first=t.time,
                    last=t.time,
                    count=1,
                    summary=t.note or t.reason,
                    details=MappingProxyType({"would_notify": t.would_notify, "reason": t.reason}),
                )
            )
        missed = report.missed
        if missed is not None:
            trigger = missed.trigger or {}
            out.append(
                Finding(
                    kind=ALARM_MISSED_KIND,
                    subject=Subject(
                        key_arn=trigger.get("key_arn"),
                        principal=trigger.get("principal_arn"),
                        account=report.account,
                        region=report.region,
                        resource=report.alarm.name,
                    ),
                    first=missed.deleted_at,
                    last=missed.would_fire_at,
                    count=1,
                    summary=missed.text,
                    evidence=()
                    if not trigger
                    else (
                        Evidence(
                            event_id=trigger.get("event_id"),
                            event_time=trigger.get("event_time"),
                            event_name=trigger.get("event_name"),
                            source=trigger.get("source"),
                            record_index=trigger.get("record_index"),
                        ),
                    ),
                )
            )
    return out


def material_findings(result: DetectionsResult) -> list[Finding]:
    rule = result.key_material_rule
    if rule is None or not result.key_material:
        return []
    entry = _rule_kind(
        rule.id or MATERIAL_KIND_ID, rule.title, rule.severity, rule.description, rule.references
    )
    out = []
    for m in result.key_material:
        days = (
            "unknown"
            if m.seconds_until_expiration is None
            else f"{m.seconds_until_expiration / 86400:.1f} days"
        )
        out.append(
            Finding(
                kind=entry,
                subject=Subject(key_arn=m.key_arn),
                first=m.imported_at,
                last=m.valid_to,
                count=1,
                summary=f"imported key material expires in {days}",
                evidence=(
                    Evidence(
                        event_id=m.import_event_id,
                        event_time=m.imported_at,
                        event_name="ImportKeyMaterial",
                    ),
                ),
                details=MappingProxyType(
                    {
                        "seconds_until_expiration": m.seconds_until_expiration,
                        "alarm_fired": m.alarm_fired,
                    }
                ),
            )
        )
    return out


def detection_findings(result: DetectionsResult) -> list[Finding]:
    return rule_findings(result) + alarm_findings(result) + material_findings(result)


EVENTBRIDGE_SILENT_KIND = register_kind(
    FindingKind(
        id="eventbridge-rule-silent",
        title="EventBridge rule matched but would not have delivered",
        severity="critical",
        source="eventbridge",
        rationale="The rule's pattern matches the event, but at the event's time the logs "
        "show the rule deleted, disabled or without a target: nobody was told.",
        remediation="Enable the rule, restore its targets, and review who changed them.",
    )
)


def _eventbridge_kind(rule: Any) -> FindingKind:
    known = kinds().get(rule.id)
    if known is not None:
        return known
    rationale, _, remediation = " ".join(rule.description.split()).partition(" Remediation: ")
    return register_kind(
        FindingKind(
            id=rule.id,
            title=rule.title or rule.id,
            severity=rule.severity if rule.severity in SEVERITY_NAMES else "medium",
            source="eventbridge",
            rationale=rationale,
            remediation=remediation,
            references=tuple(rule.references),
        )
    )


def _delivery(row: dict[str, Any]) -> str:
    if row.get("rule_existed") is False:
        return "rule deleted or not yet created"
    if row.get("enabled") is False:
        return "rule disabled"
    if row.get("has_target") is False:
        return "rule had no target"
    return "delivered" if row.get("state_from_logs") else "delivered (state assumed)"


def eventbridge_findings(result: EventBridgeResult) -> list[Finding]:
    """Matches grouped by rule x key x principal x delivery: a group the rule would
    not have delivered is an ``eventbridge-rule-silent`` finding about the rule."""
    meta = {r.rule.id: r.rule for r in result.rules}
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in result.matches.iter_rows(named=True):
        mark = (row["rule"], row.get("key_arn"), row.get("principal_arn"), _delivery(row))
        groups.setdefault(mark, []).append(row)
    out: list[Finding] = []
    for (rule_id, key_arn, principal, delivery), rows in groups.items():
        rule = meta[rule_id]
        silent = not rows[0]["would_deliver"]
        times = [r["event_time"] for r in rows if r["event_time"] is not None]
        types = sorted({r["detail_type"] for r in rows if r.get("detail_type")})
        names = sorted({r["event_name"] for r in rows if r.get("event_name")})
        first = rows[0]
        out.append(
            Finding(
                kind=EVENTBRIDGE_SILENT_KIND if silent else _eventbridge_kind(rule),
                subject=Subject(
                    key_arn=key_arn,
                    principal=principal,
                    account=first.get("account"),
                    region=first.get("region"),
                    resource=f"rule/{rule.event_bus}/{rule.name}" if silent else None,
                ),
                first=min(times) if times else None,
                last=max(times) if times else None,
                count=len(rows),
                summary=f"{len(rows)} event(s) ({', '.join(types)}: {', '.join(names)}) "
                f"matched EventBridge rule {rule.name}: {delivery}",
                evidence=tuple(_evidence(r) for r in rows[:EVIDENCE_CAP]),
                details=MappingProxyType(
                    {
                        "rule": rule.name,
                        "event_bus": rule.event_bus,
                        "delivery": delivery,
                        "detail_types": types,
                        "event_names": names,
                        "envelope_ids": [r["envelope_id"] for r in rows[:EVIDENCE_CAP]],
                        "source_ips": sorted({r["source_ip"] for r in rows if r.get("source_ip")}),
                        "user_agents": sorted(
                            {r["user_agent"] for r in rows if r.get("user_agent")}
                        ),
                    }
                ),
            )
        )
    return out


def anomaly_findings(result: AnomalyResult) -> list[Finding]:
    out: list[Finding] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for a in result.findings:
        # Two detectors can flag the same events: report them once.
        mark = (a.kind, tuple(sorted(a.event_ids)))
        if mark in seen:
            continue
        seen.add(mark)
        out.append(
            Finding(
                kind=_anomaly_kind(a.kind),
                subject=Subject(
                    key_arn=a.key_arn, principal=a.principal, resource=a.subject or None
                ),
                first=a.start,
                last=a.end,
                count=a.count,
                summary=a.explanation,
                evidence=tuple(Evidence(event_id=e) for e in a.event_ids[:EVIDENCE_CAP]),
                severity=a.severity if a.severity in ("high", "medium", "low") else None,
                details=MappingProxyType({"score": a.score, **a.details}),
            )
        )
    return out


def iso(moment: datetime | None) -> str | None:
    from kmslog.kms.dates import iso_z

    return None if moment is None else iso_z(moment)
