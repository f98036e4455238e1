"""End-to-end tests of ``kmslog test-pattern`` and ``kmslog filter``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from tests.patterns.records import (
    DECRYPT_PENDING,
    DISABLE_KEY,
    DISABLE_KEY_DENIED,
    DISABLE_ROTATION,
    ENCRYPT_OK,
    SCHEDULE_DELETION,
    kms,
)

runner = CliRunner()
CIS = (
    "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey) || "
    "($.eventName=ScheduleKeyDeletion))}"
)
APACHE = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /index.html HTTP/1.0" 404 5324',
]


def invoke(args: list[str], stdin: str | None = None):  # noqa: ANN201
    return runner.invoke(app, args, input=stdin, env={"COLUMNS": "300"})


# --- test-pattern ------------------------------------------------------------------------------


def test_json_output_has_the_test_metric_filter_shape() -> None:
    stdin = "\n".join(["[ERROR] 400 BAD REQUEST", "[ERROR] 400 BAD REQUEST", "[INFO] 200 OK"])
    result = invoke(["test-pattern", "ERROR", "-", "--format", "json"], stdin + "\n")
    assert result.exit_code == 0, result.output
    # numbered from 1, as the AWS CLI's test-metric-filter example shows
    assert json.loads(result.stdout) == {
        "matches": [
            {"eventNumber": 1, "eventMessage": "[ERROR] 400 BAD REQUEST", "extractedValues": {}},
            {"eventNumber": 2, "eventMessage": "[ERROR] 400 BAD REQUEST", "extractedValues": {}},
        ]
    }


def test_delimited_extraction_and_metric_values(tmp_path: Path) -> None:
    messages = tmp_path / "apache.log"
    messages.write_text("\r\n".join(APACHE) + "\r\n")
    result = invoke(
        [
            "test-pattern",
            "[..., status_code, size]",
            str(messages),
            "--format",
            "json",
            "--metric-value",
            "$size",
            "--dimension",
            "status=$status_code",
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [m["eventNumber"] for m in doc["matches"]] == [1, 2]
    assert doc["matches"][0]["extractedValues"]["$size"] == "1534"
    assert doc["matches"][1]["extractedValues"]["$5"] == "GET /index.html HTTP/1.0"
    assert doc["metricValues"] == [
        {"eventNumber": 1, "value": 1534, "dimensions": {"status": "200"}},
        {"eventNumber": 2, "value": 5324, "dimensions": {"status": "404"}},
    ]


def test_default_value_for_non_matching_events() -> None:
    stdin = "\n".join(orjson.dumps(r).decode() for r in (DISABLE_KEY, ENCRYPT_OK)) + "\n"
    result = invoke(
        ["test-pattern", CIS, "--format", "json", "--metric-value", "1", "--default-value", "0"],
        stdin,
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [m["eventNumber"] for m in doc["matches"]] == [1]
    assert doc["matches"][0]["extractedValues"] == {}
    assert doc["metricValues"] == [
        {"eventNumber": 1, "value": 1, "dimensions": {}},
        {"eventNumber": 2, "value": 0, "dimensions": {}},
    ]


@pytest.mark.parametrize(
    ("pattern", "position"),
    [("{ $.eventName = DisableKey", 25), ("{ eventName = x }", 2), ("%a(b%", 2)],
)
def test_invalid_pattern_exits_2_with_position(pattern: str, position: int) -> None:
    result = invoke(["test-pattern", pattern, "-"], "x\n")
    assert result.exit_code == 2
    assert f"invalid filter pattern at position {position}: " in result.stderr
    assert result.stdout == ""


def test_invalid_transformation_exits_2() -> None:
    result = invoke(
        ["test-pattern", "ERROR", "--metric-value", "1", "--dimension", "d=$.a"], "ERROR\n"
    )
    assert result.exit_code == 2
    assert "does not support dimensions" in result.stderr


def test_table_escapes_hostile_text() -> None:
    result = invoke(["test-pattern", "evil"], "evil \x1b[31mred\x1b[0m [bold]x[/bold]\n")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout
    assert "\\x1b[31mred" in result.stdout
    assert "[bold]x[/bold]" in result.stdout
    assert "1 of 1 event messages matched" in result.stdout


def test_unreadable_input_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.log"
    bad.write_bytes(b"ok\n\xff\xfe")
    result = invoke(["test-pattern", "ok", str(bad)])
    assert result.exit_code == 2
    assert "bad.log" in result.stderr and "byte 3" in result.stderr


# --- filter --------------------------------------------------------------------------------


def _trail(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    return path


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    _trail(
        root / "a.json.gz",
        [
            {**DISABLE_KEY, "eventTime": "2024-05-01T10:00:00Z", "eventID": "e1"},
            {**ENCRYPT_OK, "eventTime": "2024-05-01T10:01:00Z", "eventID": "e2"},
            {**DISABLE_ROTATION, "eventTime": "2024-05-01T10:02:00Z", "eventID": "e3"},
        ],
    )
    _trail(
        root / "b.json.gz",
        [
            {**SCHEDULE_DELETION, "eventTime": "2024-05-02T09:00:00Z", "eventID": "e4"},
            {**DISABLE_KEY_DENIED, "eventTime": "2024-04-30T23:00:00Z", "eventID": "e5"},
            {**DECRYPT_PENDING, "eventTime": "2024-05-02T10:00:00Z", "eventID": "e6"},
            kms("DisableKey", eventSource="s3.amazonaws.com", eventID="e7"),
        ],
    )
    return root


def test_filter_ndjson_returns_original_records_in_time_order(trail: Path) -> None:
    result = invoke(["filter", CIS, str(trail), "--format", "ndjson", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["record"]["eventID"] for line in lines] == ["e5", "e1", "e4"]
    assert lines[0]["source"].endswith("b.json.gz") and lines[0]["recordIndex"] == 1
    assert lines[1]["record"] == {
        **DISABLE_KEY,
        "eventTime": "2024-05-01T10:00:00Z",
        "eventID": "e1",
    }


def test_filter_json_and_time_window(trail: Path) -> None:
    result = invoke(
        [
            "filter",
            '{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}',
            str(trail),
            "--format",
            "json",
            "--since",
            "2024-05-02",
            "--jobs",
            "1",
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [json.loads(e["message"])["eventID"] for e in doc["events"]] == ["e6"]
    assert doc["recordsScanned"] == 2


def test_filter_table_and_terms(trail: Path) -> None:
    result = invoke(["filter", "?DisableKey ?ScheduleKeyDeletion", str(trail), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert "DisableKeyRotation" in result.stdout  # terms are substrings
    assert "5 of 7 records matched" in result.stdout


def test_filter_invalid_pattern_exits_2(trail: Path) -> None:
    result = invoke(["filter", "{ $.a IS NOT NULL }", str(trail)])
    assert result.exit_code == 2
    assert "invalid filter pattern at position 6: 'IS NOT' is not supported" in result.stderr


def test_filter_missing_path_exits_2(tmp_path: Path) -> None:
    result = invoke(["filter", "ERROR", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "nope" in result.stderr
