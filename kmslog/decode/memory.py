"""Build event tables straight from in-memory records (tests, library users)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import polars as pl
import pyarrow as pa

from kmslog.decode import schema as S
from kmslog.decode.flatten import flatten


def batch_from_records(
    records: Sequence[Mapping[str, Any]], source: str = "<memory>"
) -> pa.RecordBatch:
    """Flatten records (dicts) into one RecordBatch of the schema.

    ``raw`` is the compact JSON of each record; records without a usable
    ``eventTime`` raise ValueError (file ingest rejects them instead).
    """
    rows: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        cells = flatten(record)
        if cells is None:
            raise ValueError(f"record {index} has no usable eventTime")
        cells[S.RAW] = orjson.dumps(record).decode()
        cells[S.SOURCE] = source
        cells[S.RECORD_INDEX] = index
        rows.append(cells)
    return pa.RecordBatch.from_pylist(rows, schema=S.SCHEMA)


def frame_from_records(
    records: Sequence[Mapping[str, Any]], source: str = "<memory>"
) -> pl.DataFrame:
    """The same as :func:`batch_from_records`, as the polars frame analyses receive."""
    return pl.from_arrow(batch_from_records(records, source))  # type: ignore[return-value]
