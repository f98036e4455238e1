"""``kmslog filter PATTERN PATH…``: an offline ``filter-log-events`` over CloudTrail files."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console

from kmslog.analyses.filtering import FilterAnalysis, FilterResult
from kmslog.commands.options import (
    EXIT_USAGE,
    Engine,
    Jobs,
    NoProgress,
    Since,
    Strict,
    Until,
    run_or_exit,
    scan_options,
)
from kmslog.patterns import PatternError, parse
from kmslog.report.filter_report import json_document, ndjson_lines, print_table
from kmslog.report.safe import clean


class FilterFormat(StrEnum):
    table = "table"
    ndjson = "ndjson"
    json = "json"


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    sys.stderr.write(clean(message) + "\n")
    return typer.Exit(code)


def filter_command(
    pattern: Annotated[str, typer.Argument(help="The CloudWatch Logs filter pattern.")],
    paths: Annotated[
        list[str], typer.Argument(help="CloudTrail files, directories (recursive) or globs.")
    ],
    since: Since = None,
    until: Until = None,
    output_format: Annotated[
        FilterFormat,
        typer.Option("--format", help="table, ndjson (original records) or json."),
    ] = FilterFormat.table,
    jobs: Jobs = None,
    engine: Engine = None,
    strict: Strict = False,
    no_progress: NoProgress = False,
) -> None:
    """Print the CloudTrail records a filter pattern matches, in time order."""
    try:
        parsed = parse(pattern)
    except PatternError as exc:
        raise _fail(f"invalid filter pattern at position {exc.position}: {exc.message}") from None
    for warning in parsed.warnings:
        sys.stderr.write(clean(f"warning: {warning}") + "\n")
    options = scan_options(since, until, strict=strict, jobs=jobs, engine=engine)
    analysis = FilterAnalysis(parsed)
    outcome = run_or_exit(paths, [analysis], options, show_progress=not no_progress)
    result: FilterResult = outcome.results[analysis.name]
    if output_format is FilterFormat.ndjson:
        out = sys.stdout.buffer
        for line in ndjson_lines(result):
            out.write(line + b"\n")
        out.flush()
        return
    if output_format is FilterFormat.json:
        doc = json_document(result, pattern)
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=True) + "\n")
        return
    print_table(Console(highlight=False), result)


def register(app: typer.Typer) -> None:
    app.command("filter")(filter_command)
