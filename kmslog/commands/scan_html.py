"""``kmslog scan --format html -o FILE``: the evidence report of a scan.

The findings here are the metric-filter rule matches only, grouped by rule, key and
principal; the shared finding adapters (alarms, key material, anomalies) replace
:func:`rule_findings` when the scan renders through the renderer registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kmslog.analyses.detections import DetectionsResult
from kmslog.findings.context import build_context, command_line, ingest_figures
from kmslog.findings.model import SEVERITIES, Evidence, Finding, FindingKind, Subject
from kmslog.report.html_scan import render_scan_html
from kmslog.run.api import RunResult

EVIDENCE_CAP = 20


def rule_findings(result: DetectionsResult) -> list[Finding]:
    rules = {r.id: r for r in result.rules}
    groups: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = {}
    for row in result.findings.sort("event_time", nulls_last=True).iter_rows(named=True):
        groups.setdefault((row["rule"], row.get("key_arn"), row.get("principal_arn")), []).append(
            row
        )
    out = []
    for (rule_id, key_arn, principal), rows in groups.items():
        rule = rules.get(rule_id)
        severity = rule.severity if rule and rule.severity in SEVERITIES else "medium"
        kind = FindingKind(
            id=str(rule_id),
            title=rule.title if rule else str(rule_id),
            severity=severity,
            source="rule",
            rationale=rule.description if rule else "",
            references=rule.references if rule else (),
        )
        times = [r["event_time"] for r in rows if r["event_time"] is not None]
        evidence = tuple(
            Evidence(
                event_id=r.get("event_id"),
                event_time=r.get("event_time"),
                event_name=r.get("event_name"),
                source=r.get("source"),
                record_index=r.get("record_index"),
                source_ip=r.get("source_ip"),
                user_agent=r.get("user_agent"),
            )
            for r in rows[:EVIDENCE_CAP]
        )
        out.append(
            Finding(
                kind=kind,
                subject=Subject(
                    key_arn=key_arn,
                    principal=principal,
                    account=rows[0].get("recipient_account_id"),
                    region=rows[0].get("aws_region"),
                ),
                first=min(times) if times else None,
                last=max(times) if times else None,
                count=len(rows),
                summary=f"{len(rows)} events matched rule {rule_id}",
                evidence=evidence,
            )
        )
    return out


def write_scan_html(
    run_result: RunResult, detections: DetectionsResult, paths: Sequence[str], output: Path
) -> None:
    context = build_context(
        command_line(),
        paths,
        detections.first,
        detections.last,
        ingest_figures(run_result.stats),
    )
    with output.open("w", encoding="utf-8") as handle:
        render_scan_html(rule_findings(detections), context, handle)
