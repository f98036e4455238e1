"""``kmslog lifecycle KEY PATH…`` / ``kmslog lifecycle --all PATH…``: each key's life."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kmslog.analyses.blind_spots import BlindSpotAnalysis
from kmslog.analyses.key_policies import KeyPolicyAnalysis, attach_policy_access
from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.blindspots.caveats import attach_caveats
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
from kmslog.findings.context import build_context, command_line, ingest_figures
from kmslog.lifecycle.model import LifecycleResult
from kmslog.report import safe
from kmslog.report.lifecycle_console import print_all, print_result
from kmslog.report.lifecycle_html import render_html
from kmslog.report.lifecycle_json import all_keys_data, result_data
from kmslog.run.api import RunResult

EXIT_NOT_FOUND = EXIT_FOUND  # lifecycle's status 1: no record names the key


class LifecycleFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


def lifecycle(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="KEY (key id, key ARN, alias/NAME, alias ARN or mrk- id) then CloudTrail "
            "files, directories or globs; with --all only paths.",
            metavar="[KEY] PATH...",
        ),
    ] = None,
    store: StoreDirs = None,
    all_keys: Annotated[bool, typer.Option("--all", help="One row per key.")] = False,
    output_format: Annotated[
        LifecycleFormat, typer.Option("--format", help="table (terminal), json or html.")
    ] = LifecycleFormat.table,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file (html needs it).")
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
    """Reconstruct each KMS key's life (states, control-plane timeline, usage) from its logs."""

    args = list(args or ())
    if all_keys:
        query, paths = None, args
    else:
        if not args or (len(args) < 2 and not store):
            safe.say("error: give a KEY and at least one PATH or --store DIR (or --all PATH…)")
            raise typer.Exit(EXIT_USAGE)
        query, paths = args[0], args[1:]
    paths = with_stores(paths, store)
    if output_format is LifecycleFormat.html and output is None:
        safe.say("error: --format html needs -o FILE")
        raise typer.Exit(EXIT_USAGE)
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
    analysis = LifecycleAnalysis(query)
    spots = BlindSpotAnalysis()
    policies = KeyPolicyAnalysis()

    def unreadable(run_result: RunResult) -> None:
        if output_format is not LifecycleFormat.table:
            _emit(run_result, analysis.name, paths, all_keys, output_format, output)

    run_result = run_or_exit(
        paths,
        [analysis, spots, policies],
        options,
        show_progress=not no_progress,
        unreadable=unreadable,
    )
    for rejection in run_result.stats.rejections[:20]:
        safe.say(
            f"warning: {rejection.source} {rejection.position_kind} {rejection.position}: "
            f"{rejection.reason}"
        )
    result: LifecycleResult = run_result.results[analysis.name]
    attach_caveats(result, run_result.results[spots.name])
    attach_policy_access(result, run_result.results[policies.name])
    for warning in result.warnings:
        safe.say(f"warning: {warning}")
    for unresolved in result.unresolved[:20]:
        safe.say(f"note: {unresolved}")
    if len(result.unresolved) > 20:
        safe.say(f"note: … and {len(result.unresolved) - 20} more unresolved")
    for life in result.keys:
        for finding in life.findings:
            if finding.kind == "unreadable_date":
                safe.say(f"warning: {life.key.arn}: {finding.detail}")
    if query is not None and not result.keys:
        safe.say(f"error: no record in these logs names {query!r}")
        if output_format is LifecycleFormat.table:
            raise typer.Exit(EXIT_NOT_FOUND)
    _emit(run_result, analysis.name, paths, all_keys, output_format, output)
    if query is not None and not result.keys:
        raise typer.Exit(EXIT_NOT_FOUND)


def _emit(
    run_result: RunResult,
    name: str,
    paths: list[str],
    all_keys: bool,
    output_format: LifecycleFormat,
    output: Path | None,
) -> None:
    result: LifecycleResult = run_result.results[name]
    if output_format is LifecycleFormat.html:
        assert output is not None
        _write_html(run_result, result, paths, output)
        return
    if output_format is LifecycleFormat.json:
        data = all_keys_data(result) if all_keys else result_data(result)
        if not all_keys and not result.keys:
            data = []
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


def _write_html(
    run_result: RunResult, result: LifecycleResult, paths: list[str], output: Path
) -> None:
    context = build_context(
        command_line(),
        paths,
        result.logs_start,
        result.logs_end,
        ingest_figures(run_result.stats),
    )
    output.write_text(render_html(result, context), encoding="utf-8")


def _print(console: Console, result: LifecycleResult, all_keys: bool) -> None:
    if all_keys:
        print_all(console, result)
    else:
        print_result(console, result)


EPILOG = exit_statuses(
    "success (findings about the key do not change the status)", "no record names KEY"
)


def register(app: typer.Typer) -> None:
    app.command("lifecycle", epilog=EPILOG)(lifecycle)
