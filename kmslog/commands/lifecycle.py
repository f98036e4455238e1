"""``kmslog lifecycle KEY PATH…`` / ``kmslog lifecycle --all PATH…``: each key's life."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.commands.options import (
    EXIT_USAGE,
    Accounts,
    Engine,
    Jobs,
    NoProgress,
    Regions,
    Since,
    Strict,
    Until,
    run_or_exit,
    scan_options,
)
from kmslog.lifecycle.model import LifecycleResult
from kmslog.report.lifecycle_console import print_all, print_result
from kmslog.report.lifecycle_html import render_html
from kmslog.report.lifecycle_json import all_keys_data, result_data

EXIT_NOT_FOUND = 1


class LifecycleFormat(StrEnum):
    table = "table"
    json = "json"
    html = "html"


def lifecycle(
    args: Annotated[
        list[str],
        typer.Argument(
            help="KEY (key id, key ARN, alias/NAME, alias ARN or mrk- id) then CloudTrail "
            "files, directories or globs; with --all only paths.",
            metavar="[KEY] PATH...",
        ),
    ],
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
    engine: Engine = None,
    strict: Strict = False,
    no_progress: NoProgress = False,
) -> None:
    """Reconstruct each KMS key's life (states, control-plane timeline, usage) from its logs."""

    err = Console(stderr=True, highlight=False)
    if all_keys:
        query, paths = None, list(args)
    else:
        if len(args) < 2:
            err.print("error: give a KEY and at least one PATH (or --all PATH…)", markup=False)
            raise typer.Exit(EXIT_USAGE)
        query, paths = args[0], list(args[1:])
    if output_format is LifecycleFormat.html and output is None:
        err.print("error: --format html needs -o FILE", markup=False)
        raise typer.Exit(EXIT_USAGE)
    options = scan_options(
        since, until, accounts=account, regions=region, strict=strict, jobs=jobs, engine=engine
    )
    analysis = LifecycleAnalysis(query)
    run_result = run_or_exit(paths, [analysis], options, show_progress=not no_progress)
    for rejection in run_result.stats.rejections[:20]:
        err.print(
            f"warning: {rejection.source} {rejection.position_kind} {rejection.position}: "
            f"{rejection.reason}",
            markup=False,
        )
    result: LifecycleResult = run_result.results[analysis.name]
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False)
    for unresolved in result.unresolved[:20]:
        err.print(f"note: {unresolved}", markup=False)
    if len(result.unresolved) > 20:
        err.print(f"note: … and {len(result.unresolved) - 20} more unresolved", markup=False)
    for life in result.keys:
        for finding in life.findings:
            if finding.kind == "unreadable_date":
                err.print(f"warning: {life.key.arn}: {finding.detail}", markup=False)
    if query is not None and not result.keys:
        err.print(f"error: no record in these logs names {query!r}", markup=False)
        if output_format is LifecycleFormat.table:
            raise typer.Exit(EXIT_NOT_FOUND)
    _emit(result, all_keys, output_format, output)
    if query is not None and not result.keys:
        raise typer.Exit(EXIT_NOT_FOUND)


def _emit(
    result: LifecycleResult, all_keys: bool, output_format: LifecycleFormat, output: Path | None
) -> None:
    if output_format is LifecycleFormat.html:
        assert output is not None
        output.write_text(render_html(result), encoding="utf-8")
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
            _print(Console(file=handle, highlight=False, width=200), result, all_keys)
        return
    _print(Console(highlight=False), result, all_keys)


def _print(console: Console, result: LifecycleResult, all_keys: bool) -> None:
    if all_keys:
        print_all(console, result)
    else:
        print_result(console, result)


def register(app: typer.Typer) -> None:
    app.command("lifecycle")(lifecycle)
