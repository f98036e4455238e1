"""End to end: ``kmslog scan sample_logs`` against the generator's ground truth
(``tools/ctgen/scenarios.json``): pending-deletion use, CIS 4.7 events with the
failed attempt marked, expiring imported key material, alarm transitions and the
alarm deleted shortly before the key was disabled."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kmslog.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
TRUTH = ROOT / "tools" / "ctgen" / "scenarios.json"

pytestmark = pytest.mark.skipif(
    not (SAMPLE.is_dir() and TRUTH.is_file()), reason="sample_logs or its ground truth absent"
)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads(TRUTH.read_text())


def _scan(*options: str) -> dict:
    result = CliRunner().invoke(
        app, ["scan", "--no-progress", "--jobs", "1", "--format", "json", *options, str(SAMPLE)]
    )
    assert result.exit_code == 1, result.output  # rules matched
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def report() -> dict:
    """The default scan: the alarms the logs configured are replayed as logged."""
    return _scan()


@pytest.fixture(scope="module")
def builtin_report() -> dict:
    """Only the built-in catalogue's alarms, account-wide, throughout the logs."""
    return _scan("--no-logged-alarms")


# The built-in catalogue's rule for each filter the generator plants.
RULE_OF_FILTER = {
    "KMSKeyPendingDeletionErrorCount": "kms-pending-deletion-usage",
    "KMSCustomerKeyDisableOrDeleteEvents": "cis-4.7-cmk-disable-or-scheduled-deletion",
}


def rule_for_filter(report: dict, filter_name: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == RULE_OF_FILTER[filter_name]]


@pytest.mark.parametrize(
    "filter_name", ["KMSKeyPendingDeletionErrorCount", "KMSCustomerKeyDisableOrDeleteEvents"]
)
def test_filter_matches_are_the_ground_truth(report, truth, filter_name):
    expected = truth["metric_filters"][filter_name]["matches"]
    found = rule_for_filter(report, filter_name)
    assert sorted(f["event_id"] for f in found) == sorted(m["event_id"] for m in expected)
    by_id = {f["event_id"]: f for f in found}
    for m in expected:
        f = by_id[m["event_id"]]
        assert f["event_time"] == m["event_time"]
        assert f["event_name"] == m["event_name"]
        assert f["error_code"] == m.get("error_code")
        assert f["succeeded"] is (m.get("error_code") is None)
        if m.get("resources"):
            assert f["key_arn"] in m["resources"]


def test_cis_failed_attempts_are_marked_failed(report, truth):
    failed = next(s for s in truth["scenarios"] if s["id"] == "s4_cis_failed_attempt")
    found = {
        f["event_id"]: f for f in rule_for_filter(report, "KMSCustomerKeyDisableOrDeleteEvents")
    }
    for event in failed["events"]:
        assert found[event["event_id"]]["succeeded"] is False
        assert found[event["event_id"]]["error_code"] == event["error_code"]


def alarm(report: dict, name: str, account: str) -> dict:
    return next(a for a in report["alarms"] if a["name"] == name and a["account"] == account)


def state_at(entry: dict, moment: datetime) -> str:
    state = "INSUFFICIENT_DATA"
    for t in entry["transitions"]:
        if ts(t["time"]) <= moment:
            state = t["to"]
    return state


@pytest.mark.parametrize(
    "filter_name", ["KMSKeyPendingDeletionErrorCount", "KMSCustomerKeyDisableOrDeleteEvents"]
)
def test_builtin_alarm_datapoints_and_states_follow_the_ground_truth(
    builtin_report, truth, filter_name
):
    spec = truth["metric_filters"][filter_name]
    for account, points in spec["points"].items():
        entry = alarm(builtin_report, spec["alarm"], account)
        assert entry["logged"] is None
        assert entry["period"] == 300
        got = {d["time"] for d in entry["datapoints"]}
        assert got == set(points), account
        if entry["statistic"] == "Sum":
            assert {d["time"]: d["value"] for d in entry["datapoints"]} == {
                k: float(v) for k, v in points.items()
            }
        for start in points:
            # Evaluated at the end of the period that holds the breaching datapoint.
            assert state_at(entry, ts(start) + timedelta(seconds=300)) == "ALARM", (account, start)
        alarms = [t for t in entry["transitions"] if t["to"] == "ALARM"]
        assert all(t["reason"].startswith("Threshold Crossed: 1 datapoint [") for t in alarms)


@pytest.mark.parametrize(
    "filter_name", ["KMSKeyPendingDeletionErrorCount", "KMSCustomerKeyDisableOrDeleteEvents"]
)
def test_logged_alarm_datapoints_follow_the_ground_truth(report, truth, filter_name):
    """The logged alarm counts only what its filter published while the filter existed
    (``points_while_active``), and only while the alarm itself existed."""
    spec = truth["metric_filters"][filter_name]
    for account, points in spec["points_while_active"].items():
        entry = alarm(report, spec["alarm"], account)
        logged = entry["logged"]
        assert logged is not None and entry["statistic"] == "Sum"
        until = None if logged["until"] is None else ts(logged["until"])
        expected = {
            start: float(value)
            for start, value in points.items()
            if until is None or ts(start) < until
        }
        got = {d["time"]: d["value"] for d in entry["datapoints"] if d["value"]}
        assert got == expected, account
        for start in expected:
            assert state_at(entry, ts(start) + timedelta(seconds=300)) == "ALARM", (account, start)
        # One alarm per name and account: the built-in of that name yields to it.
        assert [a["name"] for a in report["alarms"] if a["account"] == account].count(
            spec["alarm"]
        ) == 1


def alarm_tampering(truth: dict) -> tuple[list[dict], dict, dict]:
    """The planted events, the DeleteAlarms, and the DisableAlarmActions before it."""
    events = [e for s in truth["scenarios"] for e in s["events"]]
    deleted = next(e for e in events if e["event_name"] == "DeleteAlarms")
    muted = max(
        (
            e
            for e in events
            if e["event_name"] == "DisableAlarmActions"
            and e["account"] == deleted["account"]
            and e["event_time"] < deleted["event_time"]
        ),
        key=lambda e: e["event_time"],
    )
    return events, deleted, muted


def test_logged_alarm_deleted_before_the_key_was_disabled_missed_its_page(report, truth):
    events, deleted, muted = alarm_tampering(truth)
    account = deleted["account"]
    disabled = min(
        (
            e
            for e in events
            if e["event_name"] == "DisableKey"
            and e["account"] == account
            and e["event_time"] > deleted["event_time"]
            and e.get("error_code") is None
        ),
        key=lambda e: e["event_time"],
    )
    entry = alarm(report, "KMSCustomerKeyDisableOrDeleteAlarm", account)
    assert entry["logged"]["until"] == deleted["event_time"]
    assert entry["logged"]["ended_by"] == "DeleteAlarms"
    assert all(ts(t["time"]) < ts(deleted["event_time"]) for t in entry["transitions"])
    missed = entry["missed_page"]
    assert missed["deleted_at"] == deleted["event_time"]
    assert missed["actions_disabled_at"] == muted["event_time"]
    assert missed["trigger"]["event_id"] == disabled["event_id"]
    period = ts(disabled["event_time"]).replace(second=0)
    period -= timedelta(minutes=period.minute % 5)
    assert ts(missed["would_fire_at"]) == period + timedelta(minutes=5)
    assert "never went out" in missed["text"]


def test_alarm_deleted_before_the_key_was_disabled(builtin_report, truth):
    report = builtin_report
    events, deleted, muted = alarm_tampering(truth)
    account = deleted["account"]
    entry = alarm(report, "KMSCustomerKeyDisableOrDeleteAlarm", account)
    existence = entry["existence"]
    assert existence[-1]["to"] == deleted["event_time"]
    assert existence[-1]["from"] == muted["event_time"]
    assert existence[-1]["actions_enabled"] is False
    assert existence[0]["actions_enabled"] is True
    after = [
        t
        for t in entry["transitions"]
        if t["to"] == "ALARM" and ts(t["time"]) > ts(deleted["event_time"])
    ]
    before = [
        t
        for t in entry["transitions"]
        if t["to"] == "ALARM" and ts(t["time"]) < ts(muted["event_time"])
    ]
    assert after and before
    assert all(not t["would_notify"] and "was deleted at" in t["note"] for t in after)
    assert all(t["would_notify"] for t in before)


def test_expiring_key_material(report, truth):
    scenario = next(s for s in truth["scenarios"] if s["id"] == "s5_imported_material")
    key = truth["keys"][scenario["keys"][0]]
    valid_to = ts(scenario["notes"]["valid_to"][-1])
    as_of = ts(report["summary"]["detections"]["as_of"])
    (item,) = [m for m in report["key_material"] if m["key_arn"] == key["arn"]]
    assert ts(item["valid_to"]) == valid_to
    assert item["seconds_until_expiration"] == int((valid_to - as_of).total_seconds())
    crossing = valid_to - timedelta(days=10)
    period_end = datetime.fromtimestamp((int(crossing.timestamp()) // 60 + 1) * 60, tz=UTC)
    assert ts(item["alarm_time"]) == period_end
    assert item["alarm_fired"] is True


def within(moment: datetime, segment: dict) -> bool:
    start = segment["from"] and ts(segment["from"])
    end = segment["to"] and ts(segment["to"])
    return (start is None or start <= moment) and (end is None or moment < end)


def test_muted_alarms_and_deleted_filters_do_not_notify(report, truth):
    events = [e for s in truth["scenarios"] for e in s["events"]]
    muted = [e for e in events if e["event_name"] == "DisableAlarmActions"]
    dropped = [e for e in events if e["event_name"] == "DeleteMetricFilter"]
    assert muted and dropped
    for event in muted:
        entries = [
            (a, seg)
            for a in report["alarms"]
            if a["account"] == event["account"]
            for seg in a["existence"] or []
            if seg["from"] == event["event_time"] and seg["actions_enabled"] is False
        ]
        assert len(entries) == 1, event
        entry, segment = entries[0]
        for t in entry["transitions"]:
            if t["to"] == "ALARM" and within(ts(t["time"]), segment):
                assert not t["would_notify"] and "actions disabled" in t["note"]
    for event in dropped:
        entries = [
            a
            for a in report["alarms"]
            if a["account"] == event["account"]
            and any(
                seg["to"] == event["event_time"]
                for segs in a["filter_existence"].values()
                for seg in segs or []
            )
        ]
        assert entries, event
        for entry in entries:
            segments = [s for segs in entry["filter_existence"].values() for s in segs or []]
            for t in entry["transitions"]:
                if t["to"] != "ALARM" or ts(t["time"]) <= ts(event["event_time"]):
                    continue
                # The breaching datapoint's period: the events were in it.
                moment = ts(t["time"]) - timedelta(seconds=entry["period"])
                if not any(within(moment, s) for s in segments):
                    assert not t["would_notify"] and t["filter_existed"] is False
