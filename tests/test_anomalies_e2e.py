"""End to end: ``kmslog baseline sample_logs`` then ``kmslog scan --baseline --since``
flags every anomaly planted in sample_logs/ (ground truth: tools/ctgen/scenarios.json),
with explanations, and nothing outside the planted scenarios at medium severity or above.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmslog.cli import app

ROOT = Path(__file__).parents[1]
SAMPLE = ROOT / "sample_logs"
TRUTH = ROOT / "tools" / "ctgen" / "scenarios.json"


@pytest.fixture(scope="module")
def outcome(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, Any], dict[str, Any], Path]:
    truth = json.loads(TRUTH.read_text())
    profile = tmp_path_factory.mktemp("baseline") / "p.json"
    runner = CliRunner()
    learned = runner.invoke(app, ["baseline", str(SAMPLE), "-o", str(profile), "--no-progress"])
    assert learned.exit_code == 0, learned.output
    since = truth["baseline_end"]
    scanned = runner.invoke(
        app,
        [
            "scan",
            str(SAMPLE),
            "--baseline",
            str(profile),
            "--since",
            since,
            "--format",
            "json",
            "--no-progress",
            "--fail-on",
            "none",
        ],
    )
    assert scanned.exit_code == 0, scanned.output
    return truth, json.loads(scanned.stdout)["anomalies"], profile


def test_profile_is_versioned_json_with_window_and_corpus(outcome):
    truth, _, profile = outcome
    data = json.loads(profile.read_text())
    assert data["format"] == "kmslog-baseline-profile" and data["version"] == 1
    assert data["window"]["start"].startswith(truth["log_start"][:10])
    assert data["corpus"]["events"] == truth["counts"]["distinct_event_ids"]
    assert data["corpus"]["sources"] == [str(SAMPLE)]


def test_every_planted_anomaly_is_flagged(outcome):
    truth, anomalies, _ = outcome
    assert anomalies["baseline_cutoff"] == truth["baseline_end"][:10]
    findings = anomalies["findings"]
    missed = []
    for label in truth["anomalies"]:
        planted = set(label["event_ids"])
        if not any(planted & set(f["event_ids"]) for f in findings):
            missed.append(label["kind"])
    assert missed == []


def test_findings_explain_with_numbers(outcome):
    truth, anomalies, _ = outcome
    by_kind = {lab["kind"]: lab for lab in truth["anomalies"]}
    exfil = by_kind["exfiltration"]
    found = [
        f
        for f in anomalies["findings"]
        if f["kind"] == "new_principal" and set(f["event_ids"]) & set(exfil["event_ids"])
    ]
    assert len(found) == 1
    f = found[0]
    assert f["principal"] == exfil["principal_arn"] and f["key_arn"] == exfil["key_arn"]
    assert f["count"] == len(exfil["event_ids"]) and f["severity"] == "high"
    assert f"{len(exfil['event_ids'])} calls" in f["explanation"]
    assert "0 times in" in f["explanation"] and "3 new to this principal" in f["explanation"]
    backdoor = by_kind["cross_account_use"]
    accounts = [f for f in anomalies["findings"] if f["kind"] == "new_caller_account"]
    assert [f["subject"] for f in accounts] == [backdoor["external_account"]]


def test_no_unplanted_findings_at_medium_or_above(outcome):
    truth, anomalies, _ = outcome
    planted = {e["event_id"] for s in truth["scenarios"] for e in s["events"]}
    stray = [
        (f["kind"], f["explanation"])
        for f in anomalies["findings"]
        if f["severity"] != "low" and not set(f["event_ids"]) & planted
    ]
    assert stray == []
