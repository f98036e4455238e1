"""End to end: ``kmslog scan sample_logs`` reports the planted trail tampering
(scenario 12 in docs/sample_logs.md) exactly as its ground truth says, and nothing
else as a window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kmslog.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_logs"
TRUTH = ROOT / "tools" / "ctgen" / "scenarios.json"

pytestmark = pytest.mark.skipif(
    not (SAMPLE.is_dir() and TRUTH.is_file()), reason="sample_logs or its ground truth absent"
)
CAUSES = {"kms-excluded": "blind-spot-kms-excluded"}


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads(TRUTH.read_text())


@pytest.fixture(scope="module", params=["1", "2"])
def blind(request: pytest.FixtureRequest) -> dict:
    result = CliRunner().invoke(
        app,
        ["scan", "--no-progress", "--jobs", request.param, "--format", "json", str(SAMPLE)],
    )
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)["blind_spots"]


def test_the_planted_window_is_reported_as_the_truth_says(blind, truth):
    expected = [
        {
            "account": w["account"],
            "region": None if w["multi_region"] else w["home_region"],
            "trail": w["trail"],
            "from": w["start"],
            "to": w["end"],
            "cause": CAUSES[w["cause"]],
            "opened_by": w["opened_by"],
            "closed_by": w["closed_by"],
        }
        for w in truth["logging_windows"]
    ]
    got = [{k: w[k] for k in expected[0]} for w in blind["windows"]]
    assert got == expected
    (window,) = blind["windows"]
    assert window["certainty"] == "unrecorded"
    assert window["summary"].startswith(
        "KMS management events were excluded from trail shared-services-trail"
    )
    assert window["summary"].endswith("usage in that window is unknown")


def test_the_failed_stop_logging_is_an_attempt(blind, truth):
    (scenario,) = [s for s in truth["scenarios"] if s["id"] == "s12_trail_tampering"]
    (stop,) = [e for e in scenario["events"] if e["event_name"] == "StopLogging"]
    attempts = [f for f in blind["findings"] if f["kind"] == "blind-spot-trail-change-attempt"]
    assert [a["evidence"][0]["event_id"] for a in attempts] == [stop["event_id"]]
    (attempt,) = attempts
    assert attempt["details"]["attempt"] is True
    assert attempt["details"]["error_code"] == stop["error_code"]
    assert attempt["principal"] == stop["principal"]


def test_the_window_is_a_high_finding_with_both_calls_as_evidence(blind, truth):
    (w,) = truth["logging_windows"]
    (finding,) = [f for f in blind["findings"] if f["kind"] == "blind-spot-kms-excluded"]
    assert finding["severity"] == "high"
    assert [e["event_id"] for e in finding["evidence"]] == [w["opened_by"], w["closed_by"]]
    assert (finding["first"], finding["last"]) == (w["start"], w["end"])


def test_alarm_tampering_in_the_sample_is_reported(blind, truth):
    events = [e for s in truth["scenarios"] for e in s["events"]]
    deleted = next(e for e in events if e["event_name"] == "DeleteAlarms")
    found = [f for f in blind["findings"] if f["kind"] == "blind-spot-alarms-deleted"]
    assert [f["evidence"][0]["event_id"] for f in found] == [deleted["event_id"]]


def test_the_html_report_carries_the_window(tmp_path, truth):
    out = tmp_path / "scan.html"
    result = CliRunner().invoke(
        app, ["scan", "--no-progress", "--format", "html", "-o", str(out), str(SAMPLE)]
    )
    assert result.exit_code == 1, result.output
    page = out.read_text(encoding="utf-8")
    (w,) = truth["logging_windows"]
    assert "blind-spot-kms-excluded" in page
    assert f"from {w['start']} to {w['end']}" in page
