"""``kmslog events PATH…``: who did what with KMS keys, as a list of the matching records."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer

from kmslog.analyses.events import EventQuery, EventsAnalysis, EventsResult, QueryError
from kmslog.commands.options import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
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
    failed_files,
    run_or_exit,
    scan_options,
    with_stores,
)
from kmslog.report import events_report, safe
from kmslog.run.api import RunResult


class EventsFormat(StrEnum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"


_WRITERS: dict[EventsFormat, Callable[[EventsResult, TextIO], None]] = {
    EventsFormat.table: events_report.write_table,
    EventsFormat.json: events_report.write_json,
    EventsFormat.ndjson: events_report.write_ndjson,
    EventsFormat.csv: events_report.write_csv,
}


def events(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="CloudTrail files, directories (recursive) or globs.", metavar="PATH..."
        ),
    ] = None,
    store: StoreDirs = None,
    key: Annotated[
        str | None,
        typer.Option(
            help="Only records about this key: key id, key ARN, mrk- id, alias/NAME or alias "
            "ARN (an alias means the key it pointed to at each record's time).",
            metavar="KEY",
        ),
    ] = None,
    principal: Annotated[
        list[str] | None,
        typer.Option(
            help="Only calls by this principal: a role or user ARN or name, an assumed-role "
            "session (folded to its role) or an account id (repeatable).",
            metavar="PRINCIPAL",
        ),
    ] = None,
    event_name: Annotated[
        list[str] | None,
        typer.Option(help="Only this eventName (repeatable).", metavar="NAME"),
    ] = None,
    source_ip: Annotated[
        list[str] | None,
        typer.Option(help="Only calls from this IP address or CIDR (repeatable).", metavar="CIDR"),
    ] = None,
    errors_only: Annotated[
        bool, typer.Option("--errors-only", help="Only calls that failed (an errorCode).")
    ] = False,
    output_format: Annotated[
        EventsFormat, typer.Option("--format", help="table (terminal), json, ndjson or csv.")
    ] = EventsFormat.table,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file.", metavar="FILE")
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
    """The KMS records that match: time, event, key (and its alias then), caller, source
    address, user agent, error, event id and where each record was read."""
    try:
        query = EventQuery(
            key=key,
            principals=tuple(principal or ()),
            event_names=tuple(event_name or ()),
            source_ips=tuple(source_ip or ()),
            errors_only=errors_only,
        )
    except QueryError as exc:
        raise typer.BadParameter(exc.message, param_hint=f"'{exc.option}'") from None
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
    analysis = EventsAnalysis(query)

    def unreadable(run_result: RunResult) -> None:
        if output_format is not EventsFormat.table:
            _emit(run_result.results[analysis.name], output_format, output)

    run_result = run_or_exit(
        with_stores(paths, store),
        [analysis],
        options,
        show_progress=not no_progress,
        unreadable=unreadable,
    )
    for warning_line in failed_files(run_result):
        safe.say(warning_line)
    _emit(run_result.results[analysis.name], output_format, output)


def _emit(result: EventsResult, output_format: EventsFormat, output: Path | None) -> None:
    buffer = io.StringIO()
    _WRITERS[output_format](result, buffer)
    text = buffer.getvalue()
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


EPILOG = exit_statuses("success, whether or not a record matched")


def register(app: typer.Typer) -> None:
    app.command("events", epilog=EPILOG)(events)
