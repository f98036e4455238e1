"""``kmslog dependents KEY PATH…`` / ``kmslog dependents --all PATH…``: what uses a key."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kmslog.analyses.dependents import DependentsAnalysis, DependentsResult
from kmslog.commands.options import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    EXIT_FOUND,
    EXIT_USAGE,
    Accounts,
    Dask,
    Engine,
    Jobs,
    MaxDecompressedSize,
    NoProgress,
    NoSignRequest,
    Regions,
    S3EndpointUrl,
    S3Profile,
    S3Region,
    Since,
    StoreDirs,
    Strict,
    Until,
    configure_s3,
    exit_statuses,
    run_or_exit,
    scan_options,
    with_stores,
)
from kmslog.report import safe
from kmslog.report.dependents_console import print_all, print_result
from kmslog.report.dependents_json import result_data
from kmslog.run.api import RunResult

EXIT_NOT_FOUND = EXIT_FOUND  # as lifecycle: no record names the key


class DependentsFormat(StrEnum):
    table = "table"
    json = "json"


def dependents(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="KEY (key id, key ARN, alias/NAME, alias ARN or mrk- id) then CloudTrail "
            "files, directories or globs; with --all only paths.",
            metavar="[KEY] PATH...",
        ),
    ] = None,
    store: StoreDirs = None,
    all_keys: Annotated[bool, typer.Option("--all", help="Every key the logs name.")] = False,
    output_format: Annotated[
        DependentsFormat, typer.Option("--format", help="table (terminal) or json.")
    ] = DependentsFormat.table,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file.")
    ] = None,
    since: Since = None,
    until: Until = None,
    account: Accounts = None,
    region: Regions = None,
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
    """What depends on each KMS key: the S3 buckets, EBS volumes, RDS databases, secrets,
    Lambda functions, DynamoDB tables, trails and topics its encryption contexts name, else
    the AWS services that called it, with first and last use, calls and principals."""

    args = list(args or ())
    if all_keys:
        query, paths = None, args
    else:
        if not args or (len(args) < 2 and not store):
            safe.say("error: give a KEY and at least one PATH or --store DIR (or --all PATH…)")
            raise typer.Exit(EXIT_USAGE)
        query, paths = args[0], args[1:]
    paths = with_stores(paths, store)
    configure_s3(profile, s3_region, endpoint_url, no_sign_request)
    options = scan_options(
        since,
        until,
        accounts=account,
        regions=region,
        strict=strict,
        jobs=jobs,
        max_decompressed_size=max_decompressed_size,
        engine=engine,
        dask=dask,
    )
    analysis = DependentsAnalysis(query)

    def unreadable(run_result: RunResult) -> None:
        if output_format is DependentsFormat.json:
            _emit(run_result.results[analysis.name], all_keys, output_format, output)

    run_result = run_or_exit(
        paths, [analysis], options, show_progress=not no_progress, unreadable=unreadable
    )
    for rejection in run_result.stats.rejections[:20]:
        safe.say(
            f"warning: {rejection.source} {rejection.position_kind} {rejection.position}: "
            f"{rejection.reason}"
        )
    result: DependentsResult = run_result.results[analysis.name]
    for note in result.unresolved[:20]:
        safe.say(f"note: {note}")
    missing = query is not None and not result.keys
    if missing:
        safe.say(f"error: no record in these logs names {query!r}")
        if output_format is DependentsFormat.table:
            raise typer.Exit(EXIT_NOT_FOUND)
    _emit(result, all_keys, output_format, output)
    if missing:
        raise typer.Exit(EXIT_NOT_FOUND)


def _emit(
    result: DependentsResult,
    all_keys: bool,
    output_format: DependentsFormat,
    output: Path | None,
) -> None:
    if output_format is DependentsFormat.json:
        data = result_data(result) if result.keys or all_keys else []
        text = json.dumps(data, indent=2, ensure_ascii=True) + "\n"
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return
    if output is not None:
        with output.open("w", encoding="utf-8") as handle:
            _print(safe.console(file=handle, width=200), result, all_keys)
        return
    _print(safe.console(), result, all_keys)


def _print(console: Console, result: DependentsResult, all_keys: bool) -> None:
    if all_keys:
        print_all(console, result)
    else:
        print_result(console, result)


EPILOG = exit_statuses("success", "no record names KEY")


def register(app: typer.Typer) -> None:
    app.command("dependents", epilog=EPILOG)(dependents)
