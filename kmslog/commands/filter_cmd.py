"""``kmslog filter PATTERN PATH…``: an offline ``filter-log-events`` over CloudTrail files."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from kmslog.analyses.filtering import FilterAnalysis, FilterResult
from kmslog.commands.options import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    EXIT_USAGE,
    Dask,
    Engine,
    Jobs,
    MaxDecompressedSize,
    NoProgress,
    NoSignRequest,
    S3EndpointUrl,
    S3Profile,
    S3Region,
    Since,
    StoreDirs,
    Strict,
    Until,
    configure_s3,
    exit_statuses,
    failed_files,
    run_or_exit,
    scan_options,
    with_stores,
)
from kmslog.patterns import PatternError, parse
from kmslog.report import safe
from kmslog.report.filter_report import json_document, ndjson_lines, print_table
from kmslog.run.api import RunResult


class FilterFormat(StrEnum):
    table = "table"
    ndjson = "ndjson"
    json = "json"


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    safe.say(message)
    return typer.Exit(code)


def _fail_at(pattern: str, position: int) -> typer.Exit:
    """The usage-error exit after showing where in ``pattern`` the problem is."""
    for line in safe.caret_lines(pattern, position):
        safe.say(line)
    return typer.Exit(EXIT_USAGE)


def filter_command(
    pattern: Annotated[
        str, typer.Argument(help="The CloudWatch Logs filter pattern.", metavar="PATTERN")
    ],
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="CloudTrail files, directories (recursive) or globs.", metavar="PATH..."
        ),
    ] = None,
    store: StoreDirs = None,
    since: Since = None,
    until: Until = None,
    output_format: Annotated[
        FilterFormat,
        typer.Option("--format", help="table, ndjson (original records) or json."),
    ] = FilterFormat.table,
    jobs: Jobs = None,
    dask: Dask = None,
    engine: Engine = None,
    strict: Strict = False,
    max_decompressed_size: MaxDecompressedSize = DEFAULT_MAX_DECOMPRESSED_SIZE,
    no_progress: NoProgress = False,
    profile: S3Profile = None,
    s3_region: S3Region = None,
    endpoint_url: S3EndpointUrl = None,
    no_sign_request: NoSignRequest = False,
) -> None:
    """Print the CloudTrail records a filter pattern matches, in time order."""
    try:
        parsed = parse(pattern)
    except PatternError as exc:
        safe.say(f"error: invalid filter pattern at position {exc.position}: {exc.message}")
        raise _fail_at(pattern, exc.position) from None
    for warning in parsed.warnings:
        safe.say(f"warning: {warning}")
    sources = with_stores(paths, store)
    configure_s3(profile, s3_region, endpoint_url, no_sign_request)
    options = scan_options(
        since,
        until,
        strict=strict,
        jobs=jobs,
        max_decompressed_size=max_decompressed_size,
        engine=engine,
        dask=dask,
    )
    analysis = FilterAnalysis(parsed)

    def unreadable(outcome: RunResult) -> None:
        if output_format is not FilterFormat.table:
            _write(outcome.results[analysis.name], output_format, pattern)

    outcome = run_or_exit(
        sources, [analysis], options, show_progress=not no_progress, unreadable=unreadable
    )
    for warning_line in failed_files(outcome):
        safe.say(warning_line)
    _write(outcome.results[analysis.name], output_format, pattern)


def _write(result: FilterResult, output_format: FilterFormat, pattern: str) -> None:
    if output_format is FilterFormat.ndjson:
        out = sys.stdout.buffer
        for line in ndjson_lines(result):
            # The record as read, with any control or bidi character \u-escaped.
            out.write(safe.json_text(line.decode()).encode() + b"\n")
        out.flush()
        return
    if output_format is FilterFormat.json:
        doc = json_document(result, pattern)
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=True) + "\n")
        return
    print_table(safe.console(), result)


EPILOG = exit_statuses("success, whether or not a record matched")


def register(app: typer.Typer) -> None:
    app.command("filter", epilog=EPILOG)(filter_command)
