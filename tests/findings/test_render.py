"""Every registered renderer over findings of every producer; CSV formula safety and
the OCSF Detection Finding (class 2004) required attributes."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kmslog.analyses.detections import DetectionsAnalysis
from kmslog.findings.adapters import detection_findings
from kmslog.findings.context import ReportContext
from kmslog.findings.model import Evidence, Finding, FindingKind, Subject
from kmslog.findings.render import csv_cell, ocsf_finding, renderer, renderer_names
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs"
CONTEXT = ReportContext(
    "test", ("kmslog", "scan"), (), datetime(2026, 1, 1, tzinfo=UTC), None, None
)
KIND = FindingKind("t-kind", "Title", "high", "rule", "why", "fix it")


def _hostile() -> Finding:
    return Finding(
        KIND,
        Subject(key_arn='=HYPERLINK("x")', principal="+cmd", account="@a", region="-r"),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 2, tzinfo=UTC),
        3,
        "\tsummary",
        (Evidence("e1", raw='{"eventID":"e1"}'),),
    )


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cell_neutralises_formula_starts(start: str) -> None:
    assert csv_cell(start + "1+1") == "'" + start + "1+1"
    assert csv_cell("a" + start) == "a" + start


def test_csv_output_has_no_formula_cells() -> None:
    out = io.StringIO()
    renderer("csv")([_hostile()], CONTEXT, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert len(rows) == 2
    for cell in rows[1]:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


# Required attributes of OCSF 1.x Detection Finding (class 2004) and its base event.
OCSF_REQUIRED = (
    "activity_id",
    "category_uid",
    "class_uid",
    "finding_info",
    "metadata",
    "severity_id",
    "time",
    "type_uid",
)


def test_ocsf_required_attributes_and_enums() -> None:
    record = ocsf_finding(_hostile(), CONTEXT)
    for name in OCSF_REQUIRED:
        assert name in record, name
    assert record["class_uid"] == 2004 and record["category_uid"] == 2
    assert record["type_uid"] == 2004 * 100 + record["activity_id"]
    assert record["severity_id"] in range(0, 7) or record["severity_id"] == 99
    assert {"uid", "title"} <= set(record["finding_info"])
    assert {"version", "product"} <= set(record["metadata"])
    assert record["evidences"][0]["data"]["raw"] == '{"eventID":"e1"}'


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")
def test_every_renderer_renders_sample_findings() -> None:
    result = run([str(SAMPLE)], [DetectionsAnalysis()], ScanOptions())
    found = detection_findings(result.results["detections"])
    assert found
    # Grouped: one finding per rule x key x principal, never more than the events.
    assert len(found) < result.results["detections"].findings.height
    assert all(f.count >= 1 for f in found)
    for name in renderer_names():
        out = io.StringIO()
        renderer(name)([*found, _hostile()], CONTEXT, out)
        text = out.getvalue()
        assert text
        if name in ("ndjson", "ocsf"):
            lines = text.splitlines()
            assert len(lines) == len(found) + 1
            assert all(json.loads(line) for line in lines)
