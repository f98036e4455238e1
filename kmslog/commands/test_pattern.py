"""``kmslog test-pattern PATTERN [FILE|-]``: an offline ``aws logs test-metric-filter``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kmslog.commands.options import EXIT_USAGE, exit_statuses
from kmslog.patterns import PatternError, TransformationError, parse
from kmslog.patterns.metric import MetricFilter, MetricTransformation, metric_filter
from kmslog.report import safe
from kmslog.report.patterns_report import TestedEvent, print_table, response


class TestFormat(StrEnum):
    table = "table"
    json = "json"


def _fail(message: str) -> typer.Exit:
    safe.say(message)
    return typer.Exit(EXIT_USAGE)


def read_messages(source: str) -> list[str]:
    """Log event messages, one per line; a trailing newline (and CR) is not part
    of the message, and empty lines are not messages (TestMetricFilter requires
    at least one character)."""
    name = "<stdin>" if source == "-" else source
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise _fail(f"error: cannot read {name}: {exc.strerror or exc}") from None
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(f"error: {name}: not UTF-8 text at byte {exc.start}") from None
    messages = []
    for line in content.split("\n"):
        line = line[:-1] if line.endswith("\r") else line
        if line:
            messages.append(line)
    return messages


def _dimensions(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise _fail(f"error: --dimension {item!r} must look like NAME=$.field or NAME=$field")
        out[name] = value
    return out


def evaluate(messages: list[str], pattern: str, mf: MetricFilter | None) -> list[TestedEvent]:
    p = mf.pattern if mf is not None else parse(pattern)
    events = []
    for number, message in enumerate(messages, start=1):
        matched = p.matches(message)
        value: float | None = None
        dims: dict[str, str] = {}
        if mf is not None:
            point = mf.evaluate(message)
            if point is not None:
                value, dims = point.value, point.dimensions
            elif not matched:
                value = mf.transformation.default_value
        events.append(
            TestedEvent(
                number, message, matched, p.extract(message) if matched else {}, value, dims
            )
        )
    return events


def test_pattern(
    pattern: Annotated[
        str, typer.Argument(help="The CloudWatch Logs filter pattern.", metavar="PATTERN")
    ],
    file: Annotated[
        str,
        typer.Argument(
            help="Log event messages, one per line ('-': standard input).", metavar="FILE"
        ),
    ] = "-",
    output_format: Annotated[
        TestFormat, typer.Option("--format", help="table, or json (TestMetricFilter's response).")
    ] = TestFormat.table,
    metric_value: Annotated[
        str | None,
        typer.Option(metavar="VALUE", help="metricValue: a number, $.selector, $name or $N."),
    ] = None,
    default_value: Annotated[float | None, typer.Option(help="defaultValue.")] = None,
    dimension: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=FIELD", help="NAME=$.field or NAME=$field (repeatable, up to 3)."
        ),
    ] = None,
    unit: Annotated[
        str | None, typer.Option(metavar="UNIT", help="A CloudWatch standard unit.")
    ] = None,
) -> None:
    """Test a filter pattern (and optionally a metric transformation) on log event messages."""
    try:
        parsed = parse(pattern)
    except PatternError as exc:
        safe.say(f"error: invalid filter pattern at position {exc.position}: {exc.message}")
        for line in safe.caret_lines(pattern, exc.position):
            safe.say(line)
        raise typer.Exit(EXIT_USAGE) from None
    for warning in parsed.warnings:
        safe.say(f"warning: {warning}")
    mf = None
    if metric_value is None:
        if default_value is not None or dimension or unit:
            raise _fail("error: --default-value, --dimension and --unit need --metric-value")
    else:
        transformation = MetricTransformation.of(
            metric_value, default_value, _dimensions(dimension or []), unit
        )
        try:
            mf = metric_filter(parsed, transformation)
        except TransformationError as exc:
            raise _fail(f"invalid metric transformation: {exc}") from None
    events = evaluate(read_messages(file), pattern, mf)
    if output_format is TestFormat.json:
        doc = response(events, with_metric=mf is not None)
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=True) + "\n")
        return
    print_table(safe.console(), events, with_metric=mf is not None)


def register(app: typer.Typer) -> None:
    app.command(
        "test-pattern",
        epilog=exit_statuses("success, whether or not a message matched", reads_logs=False),
    )(test_pattern)
