"""The detections fold and ``kmslog scan --rules``: the user's describe-metric-filters +
describe-alarms pair replayed with existence windows from the same logs, metric
filter semantics (defaultValue, metric values, dimensions, percentiles), and
results that do not depend on how the input was split."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest
from typer.testing import CliRunner

from kmslog.analyses.base import fold
from kmslog.analyses.detections import DetectionsAnalysis
from kmslog.cli import app
from kmslog.decode.memory import frame_from_records
from kmslog.metrics.loaders import builtin_rules, parse_aws_json, parse_toml
from kmslog.metrics.rules import RuleSet
from tests.ingest_fixtures import ACCOUNT, KEY, layout_path, record, write_trail

runner = CliRunner()


def at(hhmmss: str) -> str:
    return f"2024-05-01T{hhmmss}Z"


def call(i: int, when: str, name: str, source: str = "kms.amazonaws.com", **extra):
    return record(i, eventTime=at(when), eventName=name, eventSource=source, **extra)


def config(i: int, when: str, name: str, params: dict) -> dict:
    source = "logs.amazonaws.com" if "MetricFilter" in name else "monitoring.amazonaws.com"
    return call(i, when, name, source, requestParameters=params, resources=None)


FILTERS = {
    "metricFilters": [
        {
            "filterName": "KeyDisabledOrScheduled",
            "logGroupName": "aws-cloudtrail-logs",
            "filterPattern": "{ ($.eventSource = kms.amazonaws.com) && "
            "(($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
            "metricTransformations": [
                {
                    "metricName": "KeyDisabledOrScheduled",
                    "metricNamespace": "Security",
                    "metricValue": "1",
                }
            ],
            "creationTime": 1714550000000,
        }
    ]
}
ALARMS = {
    "MetricAlarms": [
        {
            "AlarmName": "KeyDisabledOrScheduledAlarm",
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:KeyDisabledOrScheduledAlarm",
            "ActionsEnabled": True,
            "AlarmActions": [f"arn:aws:sns:us-east-1:{ACCOUNT}:security"],
            "StateValue": "OK",
            "MetricName": "KeyDisabledOrScheduled",
            "Namespace": "Security",
            "Statistic": "Sum",
            "Dimensions": [],
            "Period": 60,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
        }
    ],
    "CompositeAlarms": [],
}


def pair_trail(tmp_path):
    records = [
        call(0, "09:00:00", "Decrypt"),
        config(1, "09:00:10", "PutMetricFilter", {"filterName": "KeyDisabledOrScheduled"}),
        config(2, "09:00:20", "PutMetricAlarm", {"alarmName": "KeyDisabledOrScheduledAlarm"}),
        call(3, "09:05:30", "DisableKey"),
        config(
            4, "09:20:00", "DisableAlarmActions", {"alarmNames": ["KeyDisabledOrScheduledAlarm"]}
        ),
        config(5, "09:30:00", "DeleteAlarms", {"alarmNames": ["KeyDisabledOrScheduledAlarm"]}),
        config(6, "09:31:00", "DeleteMetricFilter", {"filterName": "KeyDisabledOrScheduled"}),
        call(7, "09:40:05", "ScheduleKeyDeletion"),
        call(8, "09:41:00", "Decrypt"),
    ]
    write_trail(layout_path(tmp_path), records)
    (tmp_path / "filters.json").write_text(json.dumps(FILTERS, indent=4))
    (tmp_path / "alarms.json").write_text(json.dumps(ALARMS, indent=4))
    return tmp_path


def test_describe_pair_replayed_with_existence_windows(tmp_path):
    trail = pair_trail(tmp_path)
    result = runner.invoke(
        app,
        [
            "scan", "--no-progress", "--format", "json", "--no-builtin-rules",
            "--rules", str(trail / "filters.json"), "--rules", str(trail / "alarms.json"),
            str(trail / "AWSLogs"),
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert [f["event_name"] for f in doc["findings"]] == ["DisableKey", "ScheduleKeyDeletion"]
    (entry,) = doc["alarms"]
    assert entry["name"] == "KeyDisabledOrScheduledAlarm"
    assert entry["existence"] == [
        {
            "from": at("09:00:20"),
            "to": at("09:20:00"),
            "actions_enabled": True,
            "from_event": "PutMetricAlarm",
            "to_event": "DisableAlarmActions",
        },
        {
            "from": at("09:20:00"),
            "to": at("09:30:00"),
            "actions_enabled": False,
            "from_event": "DisableAlarmActions",
            "to_event": "DeleteAlarms",
        },
    ]
    assert entry["filter_existence"]["KeyDisabledOrScheduled"][0]["to"] == at("09:31:00")
    alarms = [t for t in entry["transitions"] if t["to"] == "ALARM"]
    assert [(t["time"], t["would_notify"]) for t in alarms] == [
        (at("09:06:00"), True),
        (at("09:41:00"), False),
    ]
    assert "was deleted at 2024-05-01T09:30:00Z, 10 minutes before" in alarms[1]["note"]
    assert alarms[0]["reason"] == (
        "Threshold Crossed: 1 datapoint [1.0 (01/05/24 09:05:00)] was greater than or equal "
        "to the threshold (1.0)."
    )


def test_fail_on_and_ndjson(tmp_path):
    trail = pair_trail(tmp_path)
    base = ["scan", "--no-progress", str(trail / "AWSLogs")]
    assert runner.invoke(app, [*base, "--fail-on", "none"]).exit_code == 0
    assert runner.invoke(app, [*base, "--fail-on", "alarm"]).exit_code == 1
    quiet = runner.invoke(app, [*base, "--until", "2024-05-01T09:01:00Z", "--fail-on", "alarm"])
    assert quiet.exit_code == 0, quiet.output
    lines = runner.invoke(app, [*base, "--format", "ndjson"]).stdout.splitlines()
    kinds = {json.loads(line)["type"] for line in lines}
    assert {"finding", "alarm", "summary"} <= kinds
    bad = runner.invoke(app, [*base, "--rules", str(trail / "nope.toml")])
    assert bad.exit_code == 2 and "cannot read" in bad.output
    assert runner.invoke(app, [*base, "--fail-on", "sometimes"]).exit_code == 2


def test_scan_without_any_rule_still_summarises(tmp_path):
    trail = pair_trail(tmp_path)
    result = runner.invoke(
        app, ["scan", "--no-progress", "--no-builtin-rules", "--format", "json", str(trail)]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["findings"] == [] and document["alarms"] == []
    assert document["summary"]["records"]["kept"] > 0


def frame(records) -> pl.DataFrame:
    return frame_from_records(records)


def rules_from_toml(text: str) -> RuleSet:
    return parse_toml(text, "test")


def test_default_value_metric_value_and_percentile():
    rules = rules_from_toml(
        """
[[rule]]
id = "big"
[rule.filter]
pattern = '{ $.eventName = "Decrypt" && $.requestParameters.size > 0 }'
namespace = "T"
metric = "Size"
value = "$.requestParameters.size"
default = 0
[rule.alarm]
name = "SizeP90"
statistic = "p90"
period = 120
threshold = 50
comparison = "GreaterThanThreshold"
treat_missing_data = "notBreaching"
"""
    )
    records = [
        call(i, f"09:00:{i:02d}", "Decrypt", requestParameters={"size": float(i * 10)})
        for i in range(1, 11)
    ] + [call(20, "09:01:30", "Encrypt")]
    result = fold(DetectionsAnalysis(rules=rules), [frame(records)])
    assert result.findings["metric_value"].to_list() == [float(i * 10) for i in range(1, 11)]
    (report,) = result.alarms
    # One two-minute period: ten samples 10..100 plus the default 0 for the quiet minute.
    assert report.datapoints == ((datetime(2024, 5, 1, 9, 0, tzinfo=UTC), 90.0),)
    assert [t.new.value for t in report.transitions] == ["ALARM"]


def test_dimensions_split_the_metric():
    rules = rules_from_toml(
        """
[[rule]]
id = "by-name"
[rule.filter]
pattern = '{ $.eventSource = "kms.amazonaws.com" }'
namespace = "T"
metric = "Calls"
dimensions = { Operation = "$.eventName" }
[rule.alarm]
name = "EncryptCalls"
statistic = "SampleCount"
period = 60
threshold = 2
comparison = ">="
"""
    )
    alarm = rules.alarms[0]
    rules = RuleSet(
        rules.filters,
        (type(alarm)(**{**alarm.__dict__, "dimensions": (("Operation", "Encrypt"),)}),),
    )
    records = [call(i, f"09:00:{i:02d}", "Decrypt") for i in range(5)] + [
        call(10, "09:00:30", "Encrypt")
    ]
    (report,) = fold(DetectionsAnalysis(rules=rules), [frame(records)]).alarms
    assert [v for _, v in report.datapoints] == [1.0]


def test_results_do_not_depend_on_how_input_was_split():
    records = [call(i, f"09:{i // 6:02d}:{i % 6 * 10:02d}", "Decrypt") for i in range(60)]
    records[7] = call(7, "09:01:10", "DisableKey", errorCode="AccessDeniedException")
    records[30] = call(
        30,
        "09:05:00",
        "Decrypt",
        errorCode="KMSInvalidStateException",
        errorMessage=f"{KEY} is pending deletion.",
        resources=None,
        requestParameters=None,
    )
    records[40] = config(
        40, "09:06:40", "DeleteAlarms", {"alarmNames": ["KMSKeyPendingDeletionErrorAlarm"]}
    )
    analysis = DetectionsAnalysis(rules=builtin_rules())
    parts = [frame_from_records(records[i : i + 7], f"part{i:02d}") for i in range(0, 60, 7)]
    whole = fold(analysis, [pl.concat(parts)])
    states = [analysis.update(analysis.start(), p) for p in parts]
    combined = states[0]
    for s in states[1:]:
        combined = analysis.combine(combined, s)
    split = analysis.finish(combined)
    assert whole.findings.equals(split.findings)
    assert whole.alarms == split.alarms
    assert whole.findings.filter(pl.col("rule") == "kms-pending-deletion-usage")[
        "key_arn"
    ].to_list() == [KEY]


@pytest.mark.parametrize("bad", ["{ $.x = ", "ERROR"])
def test_alarm_document_rejects_bad_pattern_with_rule_name(bad):
    doc = {
        "metricFilters": [
            {
                "filterName": "Mine",
                "filterPattern": bad,
                "metricTransformations": [
                    {"metricName": "m", "metricNamespace": "n", "metricValue": "$.v"}
                ],
            }
        ]
    }
    with pytest.raises(ValueError, match="Mine"):
        parse_aws_json(doc, "doc.json")


def test_alarm_never_mentioned_in_the_logs_is_assumed_present(tmp_path):
    write_trail(layout_path(tmp_path), [call(0, "09:00:00", "DisableKey")])
    result = runner.invoke(app, ["scan", "--no-progress", "--format", "json", str(tmp_path)])
    cis = next(a for a in json.loads(result.stdout)["alarms"] if a["metric"].startswith("KMSCust"))
    assert cis["existence_known"] is False
    assert [(s["from"], s["to"], s["actions_enabled"]) for s in cis["existence"]] == [
        (None, None, True)
    ]
    assert [t["would_notify"] for t in cis["transitions"] if t["to"] == "ALARM"] == [True]


HOSTILE = "\x1b[2J\x1b]0;pwned\x07[bold red]FAKE[/bold red]\u202etxt"


def test_hostile_log_text_in_findings_is_escaped(tmp_path):
    identity = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/{HOSTILE}"}
    write_trail(
        layout_path(tmp_path),
        [
            call(
                0,
                "09:00:00",
                HOSTILE + "Decrypt",
                errorCode=HOSTILE,
                errorMessage=f"{HOSTILE} is pending deletion.",
                userIdentity=identity,
                resources=[{"ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{HOSTILE}"}],
            )
        ],
    )
    result = runner.invoke(app, ["scan", "--no-progress", "--fail-on", "none", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Use of a KMS key that is pending deletion" in out
    for bad in ("\x1b", "\x07", "\u202e"):
        assert bad not in out
    # The markup is shown as text (wrapped across cells), never interpreted.
    assert "red]FAKE[/bol" in out
    assert "\\x1b[2J" in out


def test_as_of_moves_the_key_material_check(tmp_path):
    imported = call(
        0,
        "09:00:00",
        "ImportKeyMaterial",
        requestParameters={
            "keyId": KEY,
            "expirationModel": "KEY_MATERIAL_EXPIRES",
            "validTo": "May 8, 2024, 9:00:00 AM",
        },
    )
    write_trail(layout_path(tmp_path), [imported, call(1, "10:00:00", "Decrypt")])
    base = ["scan", "--no-progress", "--format", "json", "--fail-on", "none", str(tmp_path)]
    (item,) = json.loads(runner.invoke(app, base).stdout)["key_material"]
    assert item["key_arn"] == KEY and item["valid_to"] == "2024-05-08T09:00:00Z"
    assert item["seconds_until_expiration"] == 7 * 86400 - 3600
    assert item["alarm_time"] == "2024-05-01T09:01:00Z"  # within 10 days from the import on
    later = json.loads(runner.invoke(app, [*base, "--as-of", "2024-05-07T09:00:00Z"]).stdout)
    assert later["key_material"][0]["seconds_until_expiration"] == 86400
    before = json.loads(runner.invoke(app, [*base, "--as-of", "2024-04-01"]).stdout)
    assert before["key_material"] == []


def projected(full: pl.DataFrame, columns: frozenset[str]) -> pl.DataFrame:
    """``full`` as a run decoding only ``columns`` hands it over: the rest all null."""
    return full.with_columns(
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in full.schema.items()
        if name not in columns
    )


def test_builtin_rules_declare_only_the_columns_their_masks_read():
    columns = DetectionsAnalysis().columns
    assert columns is not None
    assert {"event_source", "event_name", "error_message"} <= columns
    evidence = {"identity_arn", "identity_type", "source_ip", "user_agent", "key_ids"}
    assert not columns & (evidence | {"error_code", "event_id", "aws_region"})
    # A user rule reading another column declares it: its mask needs it.
    typed = rules_from_toml(
        """
[[rule]]
id = "root"
[rule.filter]
pattern = '{ $.userIdentity.type = "Root" }'
namespace = "T"
metric = "RootCalls"
dimensions = { Ip = "$.sourceIPAddress" }
"""
    )
    assert {"identity_type", "source_ip"} <= (DetectionsAnalysis(rules=typed).columns or set())


def test_evidence_is_decoded_again_when_the_frame_lacks_it():
    records = [
        call(0, "09:00:00", "Decrypt"),
        call(1, "09:00:10", "DisableKey", sourceIPAddress="198.51.100.9"),
        call(
            2,
            "09:00:20",
            "Decrypt",
            errorCode="KMSInvalidStateException",
            errorMessage=f"{KEY} is pending deletion.",
            requestParameters={"encryptionContext": {"a": "b"}},
            resources=None,
            userIdentity={"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/bob"},
        ),
        call(
            3,
            "09:00:30",
            "ImportKeyMaterial",
            requestParameters={
                "keyId": KEY,
                "expirationModel": "KEY_MATERIAL_EXPIRES",
                "validTo": "May 8, 2024, 9:00:00 AM",
            },
        ),
        config(4, "09:00:40", "PutMetricAlarm", {"alarmName": "A", "actionsEnabled": False}),
    ]
    full = frame(records)
    analysis = DetectionsAnalysis()
    assert analysis.columns is not None
    part = projected(full, analysis.columns)
    assert part["identity_arn"].null_count() == part.height  # the projection bites
    whole, cut = fold(analysis, [full]), fold(analysis, [part])
    assert cut.findings.equals(whole.findings)
    assert cut.key_material == whole.key_material and len(cut.key_material) == 1
    assert cut.alarms == whole.alarms
    by_event = {r["event_id"]: r for r in cut.findings.iter_rows(named=True)}
    disabled = by_event["evt-000001"]
    assert disabled["principal_arn"] == f"arn:aws:iam::{ACCOUNT}:role/app"
    assert disabled["source_ip"] == "198.51.100.9" and disabled["key_arn"] == KEY
    assert disabled["user_agent"] == "aws-cli/2.15" and disabled["aws_region"] == "us-east-1"
    failed = by_event["evt-000002"]
    assert failed["error_code"] == "KMSInvalidStateException" and failed["key_arn"] == KEY
    assert failed["principal_arn"] == f"arn:aws:iam::{ACCOUNT}:user/bob"
    state = analysis.update(analysis.start(), part)
    (change,) = state.config
    assert change.principal == f"arn:aws:sts::{ACCOUNT}:assumed-role/app/session"
    assert change.actions_enabled is False and change.account == ACCOUNT


def test_user_rule_on_other_columns_matches_under_projection():
    rules = rules_from_toml(
        """
[[rule]]
id = "root"
[rule.filter]
pattern = '{ $.userIdentity.type = "Root" }'
namespace = "T"
metric = "RootCalls"
dimensions = { Ip = "$.sourceIPAddress" }
"""
    )
    records = [
        call(0, "09:00:00", "Decrypt"),
        call(1, "09:00:10", "Encrypt", userIdentity={"type": "Root", "accountId": ACCOUNT}),
    ]
    analysis = DetectionsAnalysis(rules=rules)
    assert analysis.columns is not None
    cut = fold(analysis, [projected(frame(records), analysis.columns)])
    (row,) = cut.findings.iter_rows(named=True)
    assert row["event_id"] == "evt-000001" and row["principal_arn"] == f"account:{ACCOUNT}"
    assert row["source_ip"] == "203.0.113.7"


def test_row_whose_text_does_not_decode_alone_keeps_the_frames_cells():
    records = [call(i, f"09:00:{i:02d}", "DisableKey") for i in range(3)]
    full = frame(records)
    broken = full.with_columns(
        pl.when(pl.col("event_id") == "evt-000001")
        .then(pl.lit("not json"))
        .otherwise(pl.col("raw"))
        .alias("raw")
    )
    whole, cut = fold(DetectionsAnalysis(), [full]), fold(DetectionsAnalysis(), [broken])
    assert cut.findings.equals(whole.findings)
    assert cut.findings["event_id"].to_list() == ["evt-000000", "evt-000001", "evt-000002"] * 2
