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


def _found(anomalies: dict[str, Any], kind: str, label: dict[str, Any]) -> list[dict[str, Any]]:
    planted = set(label["event_ids"])
    return [f for f in anomalies["findings"] if f["kind"] == kind and planted & set(f["event_ids"])]


def test_sustained_rate_rise_is_found_and_explained(outcome):
    truth, anomalies, _ = outcome
    label = next(lab for lab in truth["anomalies"] if lab["kind"] == "sustained_rate_rise")
    [f] = _found(anomalies, "sustained_rate_rise", label)
    assert f["key_arn"] == label["key_arn"] and f["principal"] == label["principal_arn"]
    assert f["details"]["hours"] == label["hours"]
    # Every planted call is in the run; the rest are the role's own background calls.
    assert label["hours"] * label["calls_per_hour"] <= f["count"] < 1.5 * len(label["event_ids"])
    assert f"held {label['hours']} h at " in f["explanation"]
    assert "× the usual" in f["explanation"] and "(p95 " in f["explanation"]
    usual = f["details"]["usual_per_hour"]
    assert min(f["details"]["ratios"]) >= 3 and usual * 3 <= label["calls_per_hour"]
    # Quiet: no one-hour spike covers it.
    assert _found(anomalies, "call_rate_spike", label) == []


def test_new_encryption_context_key_is_found_and_explained(outcome):
    truth, anomalies, _ = outcome
    label = next(lab for lab in truth["anomalies"] if lab["kind"] == "new_encryption_context")
    [f] = _found(anomalies, "new_encryption_context", label)
    assert f["key_arn"] == label["key_arn"] and f["principal"] == label["principal_arn"]
    assert f["subject"] == label["context_key"] and f["count"] == len(label["event_ids"])
    assert f["explanation"].startswith(
        f"context key `{label['context_key']}` never used by {label['principal_arn']} "
        f"with key {label['key_arn']} in 33 days of history"
    )
    assert "seen: app, tenant)" in f["explanation"]
