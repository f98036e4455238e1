"""``kmslog scan --format html -o FILE``: the evidence report of a scan.

The findings come from the shared adapters (rule matches grouped by rule, key and
principal; alarms; key material; EventBridge rule matches; blind spots); anomalies join when the
scan renders through the renderer registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kmslog.analyses.blind_spots import BlindSpotAnalysis
from kmslog.analyses.detections import DetectionsResult
from kmslog.analyses.eventbridge import EventBridgeResult
from kmslog.findings.adapters import detection_findings, eventbridge_findings
from kmslog.findings.context import build_context, command_line, ingest_figures
from kmslog.report.blind_spots_section import blind_spot_findings
from kmslog.report.html_scan import render_scan_html
from kmslog.run.api import RunResult

EVIDENCE_CAP = 20


def write_scan_html(
    run_result: RunResult,
    detections: DetectionsResult,
    paths: Sequence[str],
    output: Path,
    eventbridge: EventBridgeResult | None = None,
) -> None:
    context = build_context(
        command_line(),
        paths,
        detections.first,
        detections.last,
        ingest_figures(run_result.stats),
    )
    with output.open("w", encoding="utf-8") as handle:
        findings = detection_findings(detections)
        if eventbridge is not None:
            findings += eventbridge_findings(eventbridge)
        spots = run_result.results.get(BlindSpotAnalysis.name)
        if spots is not None:
            findings += blind_spot_findings(spots)
        render_scan_html(findings, context, handle)
