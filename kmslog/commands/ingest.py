"""``kmslog ingest SOURCE… --store DIR``: add new log files to a Parquet store."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from kmslog.commands.options import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    EXIT_STRICT,
    EXIT_USAGE,
    Engine,
    Jobs,
    MaxDecompressedSize,
    NoProgress,
    NoSignRequest,
    S3EndpointUrl,
    S3Profile,
    S3Region,
    Strict,
    configure_s3,
    exit_statuses,
    failed_files,
    progress_bar,
    scan_options,
)
from kmslog.report import safe
from kmslog.run.api import RunResult
from kmslog.run.executor import NoInputError, StrictError
from kmslog.store.manifest import StoreError
from kmslog.store.write import IngestReport, ingest


class IngestFormat(StrEnum):
    table = "table"
    json = "json"


def _document(report: IngestReport) -> dict[str, object]:
    stats = report.stats
    return {
        "store": report.store,
        "sources": {
            "seen": report.sources_seen,
            "unchanged": report.sources_unchanged,
            "ingested": report.sources_ingested,
            "failed": report.sources_failed,
        },
        "records": {
            "seen": stats.records_seen,
            "added": report.rows_added,
            "duplicate": stats.records_duplicate,
            "rejected": stats.records_rejected,
            "event_id_conflict": stats.event_id_conflicts,
        },
        "data_files_added": report.files_added,
    }


def ingest_command(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="SOURCE...", help="CloudTrail files, directories (recursive), globs or s3://."
        ),
    ],
    store: Annotated[
        str, typer.Option("--store", metavar="DIR", help="The store to add to (made if absent).")
    ],
    output_format: Annotated[
        IngestFormat, typer.Option("--format", help="table (a few lines) or json.")
    ] = IngestFormat.table,
    jobs: Jobs = None,
    engine: Engine = None,
    strict: Strict = False,
    max_decompressed_size: MaxDecompressedSize = DEFAULT_MAX_DECOMPRESSED_SIZE,
    no_progress: NoProgress = False,
    profile: S3Profile = None,
    s3_region: S3Region = None,
    endpoint_url: S3EndpointUrl = None,
    no_sign_request: NoSignRequest = False,
) -> None:
    """Add the records of SOURCEs to a Parquet store (hive partitions account/region/date):
    objects the store already holds unchanged are not read again, and duplicates of stored
    records are dropped. Read it with --store DIR on scan, filter, lifecycle, dependents and
    baseline, or with DuckDB, Athena or Spark (docs/sources.md)."""
    configure_s3(profile, s3_region, endpoint_url, no_sign_request)
    options = scan_options(
        None,
        None,
        strict=strict,
        jobs=jobs,
        max_decompressed_size=max_decompressed_size,
        engine=engine,
    )
    err = safe.console(stderr=True)
    bar, update = progress_bar(err) if not no_progress and err.is_terminal else (None, None)
    try:
        if bar is not None:
            bar.start()
        report = ingest(paths, store, options, progress=update)
    except (NoInputError, StoreError) as exc:
        safe.say(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except StrictError as exc:
        safe.say(f"error (--strict): {exc}")
        raise typer.Exit(EXIT_STRICT) from None
    finally:
        if bar is not None:
            bar.stop()
    for line in failed_files(RunResult(report.stats, {})):
        safe.say(line)
    doc = _document(report)
    if output_format is IngestFormat.json:
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=True) + "\n")
        return
    console = safe.console()
    console.print(
        safe.clean(
            f"{report.store}: {report.sources_ingested} objects ingested, "
            f"{report.sources_unchanged} unchanged, {report.sources_failed} failed; "
            f"{report.rows_added} records added ({report.stats.records_duplicate} duplicates, "
            f"{report.stats.records_rejected} rejected), {report.files_added} data files"
        ),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


EPILOG = exit_statuses("success (also when nothing was new)")


def register(app: typer.Typer) -> None:
    app.command("ingest", epilog=EPILOG)(ingest_command)
