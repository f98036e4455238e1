"""Renderers registered by name: a new output format is one function registered here
(or from its own module with :func:`register_renderer`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from kmslog.findings.context import ReportContext
from kmslog.findings.model import SEVERITIES, Finding
from kmslog.kms.dates import iso_z

Renderer = Callable[[Sequence[Finding], ReportContext, TextIO], None]
_RENDERERS: dict[str, Renderer] = {}


def register_renderer(name: str) -> Callable[[Renderer], Renderer]:
    def add(fn: Renderer) -> Renderer:
        _RENDERERS[name] = fn
        return fn

    return add


def renderer(name: str) -> Renderer:
    return _RENDERERS[name]


def renderer_names() -> tuple[str, ...]:
    return tuple(_RENDERERS)


def _iso(moment: Any) -> str | None:
    return None if moment is None else iso_z(moment)


def finding_dict(f: Finding) -> dict[str, Any]:
    s = f.subject
    return {
        "kind": f.kind.id,
        "title": f.kind.title,
        "severity": f.effective_severity,
        "source": f.kind.source,
        "key_arn": s.key_arn,
        "aliases": list(s.aliases),
        "principal": s.principal,
        "account": s.account,
        "region": s.region,
        "resource": s.resource,
        "first": _iso(f.first),
        "last": _iso(f.last),
        "count": f.count,
        "summary": f.summary,
        "remediation": f.kind.remediation,
        "evidence": [
            {
                "event_id": e.event_id,
                "event_time": _iso(e.event_time),
                "event_name": e.event_name,
                "source": e.source,
                "record_index": e.record_index,
            }
            for e in f.evidence
        ],
        "details": dict(f.details),
    }


def ordered(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: SEVERITIES.index(f.effective_severity))


@register_renderer("json")
def render_json(findings: Sequence[Finding], context: ReportContext, out: TextIO) -> None:
    doc = {"findings": [finding_dict(f) for f in ordered(findings)]}
    out.write(json.dumps(doc, indent=2, ensure_ascii=True, default=str) + "\n")


@register_renderer("ndjson")
def render_ndjson(findings: Sequence[Finding], context: ReportContext, out: TextIO) -> None:
    for f in ordered(findings):
        out.write(
            json.dumps({"type": "finding", **finding_dict(f)}, ensure_ascii=True, default=str)
            + "\n"
        )


# A spreadsheet treats a cell starting with one of these as a formula (OWASP CSV
# injection); a leading apostrophe makes it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "severity",
    "kind",
    "title",
    "key_arn",
    "aliases",
    "principal",
    "account",
    "region",
    "resource",
    "first",
    "last",
    "count",
    "summary",
    "source_ips",
    "user_agents",
    "event_ids",
    "remediation",
)


def csv_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


@register_renderer("csv")
def render_csv(findings: Sequence[Finding], context: ReportContext, out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in ordered(findings):
        d = finding_dict(f)
        row = {
            **d,
            "aliases": " ".join(f.subject.aliases),
            "source_ips": " ".join(f.details.get("source_ips", ())),
            "user_agents": " | ".join(f.details.get("user_agents", ())),
            "event_ids": " ".join(e.event_id or "" for e in f.evidence),
        }
        writer.writerow([csv_cell(row.get(c)) for c in CSV_COLUMNS])


# OCSF 1.x Detection Finding (class 2004, category Findings 2).
_OCSF_SEVERITY = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
OCSF_VERSION = "1.3.0"


def _ms(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def ocsf_finding(f: Finding, context: ReportContext) -> dict[str, Any]:
    activity_id = 1  # Create
    when = f.last or f.first or context.generated
    resources = []
    if f.subject.key_arn:
        resources.append(
            {
                "uid": f.subject.key_arn,
                "type": "AWS::KMS::Key",
                "cloud_partition": None,
                "region": f.subject.region,
            }
        )
    evidence = [
        {
            "data": {
                "event_id": e.event_id,
                "source": e.source,
                "record_index": e.record_index,
                "raw": e.raw,
            }
        }
        for e in f.evidence
    ]
    record: dict[str, Any] = {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": "Create",
        "type_uid": 2004 * 100 + activity_id,
        "severity_id": _OCSF_SEVERITY[f.effective_severity],
        "severity": f.effective_severity.capitalize()
        if f.effective_severity != "info"
        else "Informational",
        "status_id": 1,
        "status": "New",
        "time": _ms(when),
        "metadata": {
            "version": OCSF_VERSION,
            "product": {"name": "kmslog", "vendor_name": "kmslog", "version": context.version},
        },
        "finding_info": {
            "uid": f"{f.kind.id}:{f.subject.key_arn or f.subject.resource or ''}:"
            f"{f.subject.principal or ''}:{_ms(f.first)}",
            "title": f.kind.title,
            "desc": f.summary,
            "types": [f.kind.source],
            "first_seen_time": _ms(f.first),
            "last_seen_time": _ms(f.last),
            "analytic": {"uid": f.kind.id, "name": f.kind.title, "type_id": 1, "type": "Rule"},
        },
        "count": f.count,
        "cloud": {
            "provider": "AWS",
            "account": {"uid": f.subject.account},
            "region": f.subject.region,
        },
        "evidences": evidence or None,
        "resources": resources or None,
        "remediation": {"desc": f.kind.remediation} if f.kind.remediation else None,
    }
    if f.subject.principal:
        record["actor"] = {"user": {"uid": f.subject.principal}}
    return {k: v for k, v in record.items() if v is not None}


@register_renderer("ocsf")
def render_ocsf(findings: Sequence[Finding], context: ReportContext, out: TextIO) -> None:
    for f in ordered(findings):
        out.write(json.dumps(ocsf_finding(f, context), ensure_ascii=True, default=str) + "\n")
