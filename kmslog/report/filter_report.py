"""``kmslog filter`` output: a table, NDJSON of the original records, or one
JSON document shaped like FilterLogEvents' response."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson
import polars as pl
from rich.console import Console
from rich.table import Table

from kmslog.analyses.filtering import FilterResult
from kmslog.decode import schema as S
from kmslog.report.safe import text


def _rows(result: FilterResult) -> Iterator[dict[str, Any]]:
    yield from result.matches.iter_rows(named=True)


def ndjson_lines(result: FilterResult) -> Iterator[bytes]:
    """One line per match: the record exactly as read, with its file and index."""
    for row in _rows(result):
        raw: str = row[S.RAW]
        # pretty-printed source files: their line breaks would split the NDJSON line
        multiline = "\n" in raw or "\r" in raw
        record = orjson.dumps(orjson.loads(raw)) if multiline else raw.encode()
        # ensure_ascii: a file name that is not UTF-8 holds surrogates orjson refuses.
        head = json.dumps(
            {"source": row[S.SOURCE], "recordIndex": row[S.RECORD_INDEX]},
            ensure_ascii=True,
            separators=(",", ":"),
        ).encode()
        yield head[:-1] + b',"record":' + record + b"}"


def json_document(result: FilterResult, pattern: str) -> dict[str, Any]:
    events = []
    for row in _rows(result):
        events.append(
            {
                "logStreamName": row[S.SOURCE],
                "recordIndex": row[S.RECORD_INDEX],
                "timestamp": int(row[S.EVENT_TIME].timestamp() * 1000),
                "message": row[S.RAW],
            }
        )
    return {"filterPattern": pattern, "recordsScanned": result.scanned, "events": events}


def print_table(console: Console, result: FilterResult) -> None:
    table = Table()
    for name in ("time", "event source", "event", "principal", "source IP", "error", "record"):
        table.add_column(name, overflow="fold")
    frame: pl.DataFrame = result.matches
    for row in frame.iter_rows(named=True):
        when = row[S.EVENT_TIME].strftime("%Y-%m-%dT%H:%M:%SZ")
        table.add_row(
            text(when),
            text(row[S.EVENT_SOURCE]),
            text(row[S.EVENT_NAME]),
            text(row[S.IDENTITY_ARN]),
            text(row[S.SOURCE_IP]),
            text(row[S.ERROR_CODE]),
            text(f"{row[S.SOURCE]}#{row[S.RECORD_INDEX]}"),
        )
    console.print(table)
    console.print(text(f"{frame.height} of {result.scanned} records matched"))
