"""``kmslog scan --format html``: the findings as one self-contained evidence report.

Order is what a responder reads first: the evidence header (what made the report,
from which bytes), a legend, the index of findings ordered by risk (severity, then
number of events), then each finding in that order with its subject, span, counts,
the kind's rationale and remediation, and the records it cites. No script; inline
CSS only; every log-derived string through :func:`kmslog.report.html_parts.esc`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from kmslog.findings.context import ReportContext
from kmslog.findings.model import SEVERITIES, Finding
from kmslog.report.html_parts import esc, evidence_header, inputs_section, legend, page, table, when
from kmslog.report.html_parts import severity_badge as badge

CSS = """
.finding{border-top:2px solid #ccc;margin-top:22px;padding-top:4px}
.index td:first-child{white-space:nowrap}
"""


def risk_order(findings: Sequence[Finding]) -> list[Finding]:
    """Most urgent first: severity, then more events, then earlier first seen."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(
        findings,
        key=lambda f: (
            rank.get(f.effective_severity, len(rank)),
            -f.count,
            f.first.timestamp() if f.first else float("inf"),
            f.kind.id,
        ),
    )


def _key_cell(f: Finding) -> str:
    s = f.subject
    parts = [f"<code>{esc(s.key_arn)}</code>" if s.key_arn else ""]
    if s.aliases:
        parts.append(esc(", ".join(s.aliases)))
    if not s.key_arn and s.resource:
        parts.append(f"<code>{esc(s.resource)}</code>")
    return "<br>".join(p for p in parts if p) or '<span class="muted">none</span>'


def _index(ordered: Sequence[Finding]) -> str:
    rows = [
        [
            f'<a href="#f{i}">#{i}</a>',
            badge(f.effective_severity),
            f"{esc(f.kind.title or f.kind.id)}<br><code>{esc(f.kind.id)}</code>",
            _key_cell(f),
            esc(f.subject.principal or ""),
            f"{f.count:,}",
            when(f.first),
            when(f.last),
        ]
        for i, f in enumerate(ordered, 1)
    ]
    headers = ["#", "severity", "finding", "key", "principal", "events", "first", "last"]
    return table(headers, rows, css="index wide")


def _details(details: Mapping[str, Any]) -> str:
    if not details:
        return ""
    rows = [[esc(k), esc(v)] for k, v in details.items()]
    return "<h4>Details</h4>" + table(["field", "value"], rows)


def _evidence(f: Finding) -> str:
    if not f.evidence:
        return '<p class="muted">No record cited.</p>'
    rows = [
        [
            when(e.event_time, "not logged"),
            f"<code>{esc(e.event_id or 'not logged')}</code>",
            esc(e.event_name or ""),
            esc(e.source_ip or ""),
            esc(e.user_agent or ""),
            f"<code>{esc(e.source or '')}</code>"
            + (f" #{e.record_index}" if e.record_index is not None else ""),
        ]
        for e in f.evidence
    ]
    shown = len(f.evidence)
    note = (
        f'<p class="muted">The first {shown:,} of {f.count:,} events (…: more events '
        "than cited).</p>"
        if f.count > shown
        else ""
    )
    headers = ["time", "event id", "event", "source IP", "user agent", "file #record"]
    return table(headers, rows, css="wide") + note


def _finding(i: int, f: Finding) -> str:
    s = f.subject
    subject = [
        ["key ARN", f"<code>{esc(s.key_arn)}</code>" if s.key_arn else "not applicable"],
        ["aliases", esc(", ".join(s.aliases)) if s.aliases else "none known"],
        ["principal", f"<code>{esc(s.principal)}</code>" if s.principal else "not applicable"],
        ["account", esc(s.account or "not logged")],
        ["Region", esc(s.region or "not logged")],
    ]
    if s.resource:
        subject.append(["resource", f"<code>{esc(s.resource)}</code>"])
    subject += [
        ["first seen", when(f.first)],
        ["last seen", when(f.last)],
        ["events", f"{f.count:,}"],
    ]
    out = [
        f'<section class="finding" id="f{i}">',
        f"<h3>#{i} {badge(f.effective_severity)} {esc(f.kind.title or f.kind.id)} "
        f"<code>{esc(f.kind.id)}</code></h3>",
        f"<p>{esc(f.summary)}</p>",
        table(["subject", ""], subject),
    ]
    if f.kind.rationale:
        out.append(f"<p><b>Why it matters:</b> {esc(f.kind.rationale)}</p>")
    if f.kind.remediation:
        out.append(f"<p><b>What to do:</b> {esc(f.kind.remediation)}</p>")
    if f.kind.references:
        refs = "".join(f"<li><code>{esc(r)}</code></li>" for r in f.kind.references)
        out.append(f"<p><b>References</b></p><ul>{refs}</ul>")
    out.append(_details(f.details))
    out.append("<h4>Evidence</h4>")
    out.append(_evidence(f))
    out.append("</section>")
    return "".join(out)


LEGEND = {
    **{badge(s): f"severity {s}" for s in SEVERITIES},
    "#N": "the finding's rank by risk: severity, then number of events",
    "events": "all events behind the finding; the evidence table cites the first of them",
    "…": "open end: no event, or more events than listed",
    "file #record": "the file the record came from and its position in that file",
    "not hashed": "a directory's total, or a file that could not be opened",
}


def render_scan_html(findings: Sequence[Finding], context: ReportContext, out: TextIO) -> None:
    """Write the report for ``findings`` (any order) to ``out``."""
    ordered = risk_order(findings)
    counts = {s: 0 for s in SEVERITIES}
    for f in ordered:
        counts[f.effective_severity] += 1
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"
    body = [
        "<h1>kmslog scan: evidence report</h1>",
        evidence_header(context, "scan findings"),
        legend(LEGEND),
        f"<h2>Findings ({len(ordered):,}: {esc(tally)})</h2>",
    ]
    if ordered:
        body.append(_index(ordered))
        body.extend(_finding(i, f) for i, f in enumerate(ordered, 1))
    else:
        body.append("<p>No finding.</p>")
    body.append(inputs_section(context))
    out.write(page("kmslog scan report", "".join(body), CSS))
