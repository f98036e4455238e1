"""``kmslog test-event-pattern``: the AWS CLI's output shape, file:// arguments,
positioned errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmslog.cli import app

runner = CliRunner()

# aws/aws-cli awscli/examples/events/test-event-pattern.rst: the documented call,
# "In this example, the output would be true".
DOC_PATTERN = '{"source":["com.mycompany.myapp"]}'
DOC_EVENT = (
    '{"id":"1","source":"com.mycompany.myapp","detail-type":"myDetailType",'
    '"account":"123456789012","region":"us-east-1","time":"2017-04-11T20:11:04Z"}'
)
# The AWS CLI prints a response as JSON indented by four spaces.
AWS_TRUE = '{\n    "Result": true\n}\n'
AWS_FALSE = '{\n    "Result": false\n}\n'


def invoke(args: list[str]):  # noqa: ANN201
    return runner.invoke(app, args, env={"COLUMNS": "300"})


def test_documented_example_prints_true_like_the_aws_cli() -> None:
    result = invoke(["test-event-pattern", "--event-pattern", DOC_PATTERN, "--event", DOC_EVENT])
    assert result.exit_code == 0
    assert result.stdout == AWS_TRUE
    assert json.loads(result.stdout) == {"Result": True}


def test_non_matching_event_prints_false() -> None:
    other = DOC_EVENT.replace("com.mycompany.myapp", "com.mycompany.other")
    result = invoke(["test-event-pattern", "--event-pattern", DOC_PATTERN, "--event", other])
    assert result.exit_code == 0
    assert result.stdout == AWS_FALSE


def test_file_arguments(tmp_path: Path) -> None:
    p = tmp_path / "pattern.json"
    e = tmp_path / "event.json"
    p.write_text(json.dumps({"detail": {"state": [{"exists": True}]}}, indent=2), encoding="utf-8")
    # the exists example of the content-filtering page
    e.write_text(
        json.dumps(
            {
                "version": "0",
                "id": "7bf73129-1428-4cd3-a780-95db273d1602",
                "detail-type": "EC2 Instance State-change Notification",
                "source": "aws.ec2",
                "account": "123456789012",
                "time": "2015-11-11T21:29:54Z",
                "region": "us-east-1",
                "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
                "detail": {"instance-id": "i-abcd1111", "state": "pending"},
            }
        ),
        encoding="utf-8",
    )
    result = invoke(
        ["test-event-pattern", "--event-pattern", f"file://{p}", "--event", f"file://{e}"]
    )
    assert result.exit_code == 0
    assert result.stdout == AWS_TRUE


def test_invalid_pattern_exits_2_with_position() -> None:
    pattern = '{\n  "a": [{"numeric": [">", 5, "<", 1]}]\n}'
    result = invoke(["test-event-pattern", "--event-pattern", pattern, "--event", DOC_EVENT])
    assert result.exit_code == 2
    assert "Bottom must be less than top" in result.output
    assert "line 2, column 35" in result.output
    assert "field a" in result.output
    assert "Result" not in result.output


def test_bad_event_json_exits_2_with_position() -> None:
    result = invoke(["test-event-pattern", "--event-pattern", DOC_PATTERN, "--event", '{"id": }'])
    assert result.exit_code == 2
    assert "Parameter Event is not valid" in result.output
    assert "position 7" in result.output


def test_event_not_an_object_exits_2() -> None:
    result = invoke(["test-event-pattern", "--event-pattern", DOC_PATTERN, "--event", "[1]"])
    assert result.exit_code == 2
    assert "the event is not an object" in result.output


def test_missing_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    result = invoke(
        ["test-event-pattern", "--event-pattern", f"file://{missing}", "--event", DOC_EVENT]
    )
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_hostile_text_in_errors_is_escaped() -> None:
    pattern = '{"a": [{"\\u001b[31mevil": 1}]}'
    result = invoke(["test-event-pattern", "--event-pattern", pattern, "--event", DOC_EVENT])
    assert result.exit_code == 2
    assert "\x1b" not in result.output


CASES_DIR = Path(__file__).parent / "cases"
DOCUMENTED = [
    c for c in json.loads((CASES_DIR / "matching.json").read_text("utf-8"))["cases"] if "doc" in c
]


@pytest.mark.parametrize("case", DOCUMENTED, ids=[c["id"] for c in DOCUMENTED])
def test_every_documented_example_prints_the_aws_cli_response(case: dict[str, Any]) -> None:
    # Each documented example of the conformance table, through the command: the
    # response is exactly what `aws events test-event-pattern` prints for it.
    result = invoke(
        ["test-event-pattern", "--event-pattern", case["pattern"], "--event", case["event"]]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == (AWS_TRUE if case["expect"] else AWS_FALSE)


INVALID = json.loads((CASES_DIR / "invalid.json").read_text("utf-8"))["invalid"]


@pytest.mark.parametrize("case", INVALID, ids=[c["id"] for c in INVALID])
def test_every_invalid_pattern_exits_2_with_the_reason(case: dict[str, Any]) -> None:
    result = invoke(
        ["test-event-pattern", "--event-pattern", case["pattern"], "--event", DOC_EVENT]
    )
    assert result.exit_code == 2
    assert "Event pattern is not valid" in result.output
    assert "Result" not in result.stdout
