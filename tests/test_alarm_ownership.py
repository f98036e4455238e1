"""Alarms replay where they live (AlarmArn: account and Region), and alarm replay,
existence windows and key-material expiry survive times at the edges of the calendar."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from lifecycle_records import KEY_A, record
from typer.testing import CliRunner

from kmslog.analyses.base import fold
from kmslog.analyses.detections import DetectionsAnalysis, DetectionsResult
from kmslog.cli import app
from kmslog.decode.memory import frame_from_records
from kmslog.metrics.loaders import builtin_rules, parse_aws_json
from kmslog.metrics.rules import RuleError

A, B = "111122223333", "444455556666"
CIS_METRIC = ("CISBenchmark", "KMSCustomerKeyDisableOrDeleteEvents")


def alarm_json(name: str, arn: str | None, period: int = 300, threshold: float = 2) -> dict:
    alarm: dict[str, Any] = {
        "AlarmName": name,
        "Namespace": CIS_METRIC[0],
        "MetricName": CIS_METRIC[1],
        "Statistic": "Sum",
        "Period": period,
        "EvaluationPeriods": 1,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
    }
    if arn is not None:
        alarm["AlarmArn"] = arn
    return {"MetricAlarms": [alarm]}


def placed(rec: dict[str, Any], account: str, region: str = "us-east-1") -> dict[str, Any]:
    rec["recipientAccountId"] = account
    rec["awsRegion"] = region
    return rec


def detections(records: list[dict[str, Any]], *alarm_docs: dict) -> DetectionsResult:
    rules = builtin_rules()
    for doc in alarm_docs:
        rules = rules.merged(parse_aws_json(doc, "alarms.json"))
    return fold(DetectionsAnalysis(rules), [frame_from_records(records)])


def reports(result: DetectionsResult, name: str) -> list[Any]:
    return [r for r in result.alarms if r.alarm.name == name]


def disables() -> list[dict[str, Any]]:
    return [
        placed(record("DisableKey", "2024-03-02T10:00:10Z"), A),
        # Another Region of A, and two calls in B: none is A's us-east-1 alarm's business.
        placed(record("DisableKey", "2024-03-02T10:00:15Z"), A, "eu-west-1"),
        placed(record("DisableKey", "2024-03-02T10:00:20Z"), B),
        placed(record("DisableKey", "2024-03-02T10:00:30Z"), B),
    ]


def test_alarm_with_an_arn_counts_only_its_own_account_and_region():
    arn = f"arn:aws:cloudwatch:us-east-1:{A}:alarm:Mine"
    result = detections(disables(), alarm_json("Mine", arn))
    mine = reports(result, "Mine")
    assert [(r.account, r.region) for r in mine] == [(A, "us-east-1")]
    assert [v for _, v in mine[0].datapoints] == [1.0]
    assert not any(t.new.value == "ALARM" for t in mine[0].transitions)
    # Alarms without an ARN (the built-in catalogue) still replay once per account.
    cis = reports(result, "KMSCustomerKeyDisableOrDeleteAlarm")
    assert [(r.account, r.region) for r in cis] == [(A, None), (B, None)]
    assert [sum(v for _, v in r.datapoints) for r in cis] == [2.0, 2.0]


def test_same_alarm_name_in_two_accounts_is_two_alarms():
    mine_a = alarm_json("Mine", f"arn:aws:cloudwatch:us-east-1:{A}:alarm:Mine")
    mine_b = alarm_json("Mine", f"arn:aws:cloudwatch:us-east-1:{B}:alarm:Mine")
    result = detections(disables(), mine_a, mine_b)
    mine = reports(result, "Mine")
    assert [(r.account, r.region) for r in mine] == [(A, "us-east-1"), (B, "us-east-1")]
    alarmed = [r.account for r in mine if any(t.new.value == "ALARM" for t in r.transitions)]
    assert alarmed == [B]


def test_alarm_of_a_place_the_logs_do_not_hold_is_a_note_not_a_replay():
    arn = "arn:aws:cloudwatch:ap-south-1:999988887777:alarm:Elsewhere"
    result = detections(disables(), alarm_json("Elsewhere", arn))
    assert reports(result, "Elsewhere") == []
    assert any("Elsewhere" in s and "no record" in s for s in result.skipped)


def test_put_metric_alarm_belongs_to_its_records_account_and_region():
    put = placed(
        record("PutMetricAlarm", "2024-03-02T09:00:00Z", None, request={"alarmName": "Mine"}),
        A,
        "eu-west-1",
    )
    put["eventSource"] = "monitoring.amazonaws.com"
    arn = f"arn:aws:cloudwatch:us-east-1:{A}:alarm:Mine"
    result = detections([put, *disables()], alarm_json("Mine", arn))
    (mine,) = reports(result, "Mine")
    assert mine.existence is None  # the eu-west-1 alarm of that name is another alarm


def test_malformed_alarm_arn_is_a_rule_error_naming_the_field():
    with pytest.raises(RuleError) as err:
        parse_aws_json(alarm_json("Mine", "arn:aws:sns:us-east-1:1:topic"), "alarms.json")
    assert err.value.field == "AlarmArn"


FIRST, LAST = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"
EARLIEST = datetime(1, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def edge_records() -> list[dict[str, Any]]:
    expiring = {"keyId": KEY_A, "expirationModel": "KEY_MATERIAL_EXPIRES"}
    return [
        record("DisableKey", FIRST),
        record("DisableKey", LAST),
        record("ImportKeyMaterial", FIRST, request={**expiring, "validTo": "Jan 1, 0001"}),
        record("ImportKeyMaterial", LAST, request={**expiring, "validTo": "Dec 31, 9999 11:59 PM"}),
    ]


@pytest.mark.parametrize("period", [60, 300, 420])
def test_alarm_replay_at_the_edges_of_the_calendar_clamps_period_times(period):
    result = detections(edge_records(), alarm_json("Edge", None, period=period, threshold=1))
    (edge,) = reports(result, "Edge")
    times = [t.time for t in edge.transitions] + [d for d, _ in edge.datapoints]
    assert all(EARLIEST <= t <= LATEST for t in times)
    # The period holding the last second of the calendar ends after it: shown at it.
    assert edge.transitions[-1].time == LATEST and edge.transitions[-1].new.value == "ALARM"
    assert edge.datapoints[0][0] >= EARLIEST
    material = {m.imported_at: m for m in result.key_material}
    assert all(EARLIEST <= (m.alarm_time or EARLIEST) <= LATEST for m in material.values())


def test_scan_command_at_the_edges_of_the_calendar(tmp_path):
    (tmp_path / "edge.json").write_text(json.dumps({"Records": edge_records()}))
    put = record("PutMetricAlarm", LAST, None, request={"alarmName": "KMSKeyPendingDeletion"})
    put["eventSource"] = "monitoring.amazonaws.com"
    (tmp_path / "config.json").write_text(json.dumps({"Records": [put]}))
    runner = CliRunner()
    for fmt in ("json", "table", "ndjson"):
        done = runner.invoke(app, ["scan", str(tmp_path), "--format", fmt, "--no-progress"])
        assert done.exit_code == 1, done.output  # findings, not a crash
    data = json.loads(
        runner.invoke(app, ["scan", str(tmp_path), "--format", "json", "--no-progress"]).stdout
    )
    assert data["alarms"] and all(a["transitions"] for a in data["alarms"])
