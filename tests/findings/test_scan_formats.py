"""``kmslog scan --format csv|ocsf``: every finding of every analysis of the run,
through the one finding model and the renderer registry."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.findings.render import CSV_COLUMNS
from tests.findings.test_render import OCSF_REQUIRED

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs"
pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")
# One kind of each producer the sample exercises: rules, alarms (fired, silenced,
# missed page), key material, EventBridge, blind spots.
EXPECTED = {
    "kms-pending-deletion-usage",
    "cis-4.7-cmk-disable-or-scheduled-deletion",
    "alarm-would-notify",
    "alarm-silenced",
    "alarm-page-missed",
    "kms-imported-key-material-expiry",
    "eventbridge-kms-cmk-rotation",
    "blind-spot-kms-excluded",
    "blind-spot-trail-change-attempt",
    "blind-spot-alarms-deleted",
}


def scan(*options: str) -> str:
    result = CliRunner().invoke(app, ["scan", "--no-progress", *options, str(SAMPLE)])
    assert result.exit_code == 1, result.output
    return result.stdout


@pytest.fixture(scope="module")
def document() -> dict:
    return json.loads(scan("--format", "json"))


def test_csv_holds_every_producer_and_no_formula(document):
    rows = list(csv.reader(io.StringIO(scan("--format", "csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    kinds = {r[1] for r in rows[1:]}
    assert kinds >= EXPECTED
    blind = {f["kind"] for f in document["blind_spots"]["findings"]}
    assert blind <= kinds
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


def test_ocsf_lines_are_detection_findings_of_the_same_findings(tmp_path):
    out = tmp_path / "f.ocsf.jsonl"
    scan("--format", "ocsf", "-o", str(out))
    records = [json.loads(line) for line in out.read_text().splitlines()]
    csv_rows = list(csv.reader(io.StringIO(scan("--format", "csv"))))[1:]
    assert len(records) == len(csv_rows)
    for record in records:
        for name in OCSF_REQUIRED:
            assert name in record, name
        assert record["class_uid"] == 2004 and record["type_uid"] == 200401
    titles = {r["finding_info"]["title"] for r in records}
    assert {row[2] for row in csv_rows} == titles
