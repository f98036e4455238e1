"""``kmslog test-event-pattern``: an offline ``aws events test-event-pattern``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from kmslog.commands.options import EXIT_USAGE, exit_statuses
from kmslog.eventpatterns import EventPatternError, loads_event, matches, parse
from kmslog.report import safe


def _fail(message: str) -> typer.Exit:
    safe.say(message)
    return typer.Exit(EXIT_USAGE)


def read_argument(value: str, option: str) -> str:
    """The option's text, or a file's for ``file://path`` (as the AWS CLI reads it)."""
    if not value.startswith("file://"):
        return value
    path = value[len("file://") :]
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _fail(f"error: {option}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(f"error: {option}: {path}: not UTF-8 text at byte {exc.start}") from None


def _fail_at(text: str, position: int) -> typer.Exit:
    for line in safe.caret_lines(text, position):
        safe.say(line)
    return typer.Exit(EXIT_USAGE)


def _where(exc: EventPatternError, text: str) -> str:
    line, column = exc.line_column(text)
    field = f", field {exc.path}" if exc.path else ""
    return f"line {line}, column {column} (position {exc.position}{field})"


def test_event_pattern(
    event_pattern: Annotated[
        str,
        typer.Option(
            "--event-pattern", metavar="JSON", help="The event pattern (JSON, or file://path)."
        ),
    ],
    event: Annotated[
        str, typer.Option("--event", metavar="JSON", help="The event (JSON, or file://path).")
    ],
) -> None:
    """Test whether an EventBridge event pattern matches an event; prints {"Result": …}."""
    pattern_text = read_argument(event_pattern, "--event-pattern")
    event_text = read_argument(event, "--event")
    try:
        pattern = parse(pattern_text)
    except EventPatternError as exc:
        where = _where(exc, pattern_text)
        safe.say(f"error: Event pattern is not valid. Reason: {exc.message} at {where}")
        raise _fail_at(pattern_text, exc.position) from None
    try:
        decoded = loads_event(event_text)
    except EventPatternError as exc:
        where = _where(exc, event_text)
        safe.say(f"error: Parameter Event is not valid. Reason: {exc.message} at {where}")
        raise _fail_at(event_text, exc.position) from None
    if not isinstance(decoded, dict):
        raise _fail("error: Parameter Event is not valid. Reason: the event is not an object")
    doc = {"Result": matches(pattern, decoded)}
    sys.stdout.write(json.dumps(doc, indent=4) + "\n")


def register(app: typer.Typer) -> None:
    app.command(
        "test-event-pattern",
        epilog=exit_statuses("success, whether or not the event matched", reads_logs=False),
    )(test_event_pattern)
