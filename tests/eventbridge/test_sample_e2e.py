"""End to end on sample_logs: the built-in EventBridge rules report the rotation, key
material expiration and deletion events and the CIS 4.7 calls; the list-rules fixture
replays with the enable/disable window of scenario 11; findings reach every renderer."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.findings.adapters import eventbridge_findings
from kmslog.findings.context import ReportContext
from kmslog.findings.render import renderer, renderer_names
from kmslog.metrics.loaders import builtin_rules, load_rules
from kmslog.report.detections_section import load_rule_set
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_logs"
TRUTH = json.loads((ROOT / "tools" / "ctgen" / "scenarios.json").read_text())
LIST_RULES = Path(__file__).parent / "list-rules.json"

pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")


def scenario(sid: str) -> dict[str, Any]:
    return next(s for s in TRUTH["scenarios"] if s["id"] == sid)


def event_id(sid: str, name: str) -> str:
    return next(e["event_id"] for e in scenario(sid)["events"] if e["event_name"] == name)


def scan(*args: str) -> tuple[int, dict[str, Any]]:
    out = CliRunner().invoke(
        app, ["scan", "--no-progress", "--jobs", "1", "--format", "json", *args, str(SAMPLE)]
    )
    assert out.exit_code in (0, 1), out.output
    return out.exit_code, json.loads(out.stdout)


@pytest.fixture(scope="module")
def builtin() -> dict[str, Any]:
    return scan()[1]


def by_rule(doc: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [m for m in doc["eventbridge"]["matches"] if m["rule"] == rule]


@pytest.mark.parametrize(
    ("rule", "sid", "name", "detail_type"),
    [
        ("eventbridge-kms-cmk-rotation", "s6_rotation", "RotateKey", "KMS CMK Rotation"),
        (
            "eventbridge-kms-key-material-expiration",
            "s5_imported_material",
            "DeleteExpiredKeyMaterial",
            "KMS Imported Key Material Expiration",
        ),
        (
            "eventbridge-kms-cmk-deletion",
            "s1_pending_deletion_in_use",
            "DeleteKey",
            "KMS CMK Deletion",
        ),
    ],
)
def test_the_kms_guide_events(
    builtin: dict[str, Any], rule: str, sid: str, name: str, detail_type: str
) -> None:
    (match,) = by_rule(builtin, rule)
    assert match["event_id"] == event_id(sid, name)
    assert match["detail_type"] == detail_type
    assert match["key_arn"] == next(
        e["resources"][0] for e in scenario(sid)["events"] if e["event_name"] == name
    )
    assert match["would_deliver"] is True and match["state_from_logs"] is False


def test_cis_4_7_as_an_eventbridge_rule_finds_what_the_metric_filter_finds(
    builtin: dict[str, Any],
) -> None:
    matches = by_rule(builtin, "eventbridge-cis-4.7-cmk-disable-or-scheduled-deletion")
    filtered = [
        f for f in builtin["findings"] if f["rule"] == "cis-4.7-cmk-disable-or-scheduled-deletion"
    ]
    assert len(matches) == 7
    assert sorted(m["event_id"] for m in matches) == sorted(f["event_id"] for f in filtered)
    assert {m["detail_type"] for m in matches} == {"AWS API Call via CloudTrail"}
    # the denied attempts of scenario 4 are there too
    assert event_id("s4_cis_failed_attempt", "DisableKey") in {m["event_id"] for m in matches}


def test_list_rules_replays_with_the_window_from_the_logs() -> None:
    status, doc = scan("--no-builtin-rules", "--rules", str(LIST_RULES))
    assert status == 1
    eb = doc["eventbridge"]
    (rule,) = eb["rules"]
    assert rule["name"] == "kms-disable-or-delete-alert" and rule["matched"] == 3
    (place,) = rule["windows"]
    assert (place["account"], place["region"]) == ("111122223333", "us-east-1")
    disabled = [w for w in place["windows"] if w["enabled"] is False]
    assert [(w["from"], w["to"]) for w in disabled] == [
        tuple(scenario("s11_eventbridge_rule")["notes"]["disabled"])
    ]
    assert disabled[0]["targets"] == ["security-alerts"]
    got = [
        (m["event_id"], m["enabled"], m["has_target"], m["would_deliver"]) for m in eb["matches"]
    ]
    assert got == [
        (event_id("s1_pending_deletion_in_use", "ScheduleKeyDeletion"), True, True, True),
        (event_id("s10_anomalies", "DisableKey"), False, True, False),
        (event_id("s10_anomalies", "ScheduleKeyDeletion"), False, True, False),
    ]
    assert eb["would_not_deliver"] == 2
    assert any("app-orders" in s for s in eb["skipped"])
    assert any("nightly-report" in s for s in doc["summary"]["detections"]["skipped"])


def test_findings_reach_every_renderer() -> None:
    rules = load_rule_set([str(LIST_RULES)])
    from kmslog.analyses.eventbridge import EventBridgeAnalysis

    out = run([str(SAMPLE)], [EventBridgeAnalysis(rules.event_rules)], ScanOptions(jobs=1))
    findings = eventbridge_findings(out.results["eventbridge"])
    kinds = {f.kind.id for f in findings}
    assert "eventbridge-rule-silent" in kinds
    assert {
        "eventbridge-kms-cmk-rotation",
        "eventbridge-cis-4.7-cmk-disable-or-scheduled-deletion",
    } <= kinds
    (silent,) = [f for f in findings if f.kind.id == "eventbridge-rule-silent"]
    assert silent.count == 2 and silent.details["delivery"] == "rule disabled"
    assert silent.subject.resource == "rule/default/kms-disable-or-delete-alert"
    assert all(f.kind.source == "eventbridge" for f in findings)
    context = ReportContext(
        "t", ("kmslog", "scan"), (), datetime(2026, 1, 1, tzinfo=UTC), None, None
    )
    for name in renderer_names():
        buffer = io.StringIO()
        renderer(name)(findings, context, buffer)
        assert "eventbridge" in buffer.getvalue() or name == "csv", name
        assert "kms-disable-or-delete-alert" in buffer.getvalue(), name


def test_the_console_shows_the_replay() -> None:
    out = CliRunner().invoke(
        app,
        ["scan", "--no-progress", "--no-builtin-rules", "--rules", str(LIST_RULES), str(SAMPLE)],
        terminal_width=200,
    )
    assert out.exit_code == 1, out.output
    assert "EventBridge rule kms-disable-or-delete-alert" in out.output
    assert "3 events" in out.output


def test_builtin_catalogue_loads_alongside() -> None:
    assert len(builtin_rules().event_rules) == 4
    assert len(load_rules(LIST_RULES).event_rules) == 2


def test_the_html_report_carries_the_eventbridge_findings(tmp_path: Path) -> None:
    page = tmp_path / "scan.html"
    out = CliRunner().invoke(
        app,
        ["scan", "--no-progress", "--no-builtin-rules", "--rules", str(LIST_RULES)]
        + ["--format", "html", "-o", str(page), str(SAMPLE)],
    )
    assert out.exit_code == 1, out.output
    html = page.read_text()
    assert "EventBridge rule matched but would not have delivered" in html
