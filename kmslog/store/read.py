"""A store as a source (``--store DIR``, ``store://DIR``).

Discovery lists the data files the committed manifest names, leaving out every
partition the selection excludes by its name alone (``layout.wanted``), and
carries what the manifest says the ingests dropped (duplicates) or rejected, per
source object, so the run's totals are those of reading the logs themselves.
The worker reads a data file row group by row group, only the columns its
analyses need (``kmslog.run.worker``), then selects, deduplicates and folds as
for decoded files.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from kmslog.decode import schema as S
from kmslog.decode.records import Columns
from kmslog.run.api import IngestStats, Rejection
from kmslog.sources.base import NoInputError
from kmslog.sources.discover import Discovery, SourceFile, keep, parse_layout
from kmslog.sources.names import display_name
from kmslog.store import manifest as M
from kmslog.store.layout import data_path, data_url, store_dir, wanted


class StoreReadError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _counted(
    committed: M.Manifest,
    since: datetime | None,
    until: datetime | None,
    accounts: frozenset[str],
    regions: frozenset[str],
) -> IngestStats:
    """The manifest's counts for the source objects a scan of the logs would
    read: an object whose S3 key the selection prunes is counted as pruned, as
    discovery counts it (records are selected by their own fields either way)."""
    counted = IngestStats()
    kinds = list(committed.skipped.values())
    counted.files_skipped_digest = kinds.count("digest")
    counted.files_skipped_insight = kinds.count("insight")
    counted.files_skipped_other = kinds.count("other")
    for source, entry in sorted(committed.sources.items()):
        layout = parse_layout(source)
        if layout is not None and not keep(layout, since, until, accounts, regions):
            counted.files_pruned += 1
            continue
        counted.files_read += 1
        counted.records_seen += entry.duplicates + entry.rejected
        counted.records_duplicate += entry.duplicates
        counted.records_rejected += entry.rejected
        name = display_name(source)
        counted.rejections.extend(Rejection(name, p, k, r) for p, k, r in entry.rejections)
    return counted


def discover(
    urls: Sequence[str],
    since: datetime | None,
    until: datetime | None,
    accounts: frozenset[str],
    regions: frozenset[str],
) -> Discovery:
    found = Discovery()
    for url in urls:
        directory = store_dir(url)
        if not os.path.isdir(directory):
            found.missing.append(url)
            continue
        try:
            committed = M.load(directory, must_exist=True)
        except M.StoreError as exc:
            raise NoInputError(str(exc)) from None
        for f in committed.files:
            partition = os.path.dirname(f.path)
            # Data files left out are not counted: ``pruned`` counts source
            # objects, as a scan of the logs does (``_counted``).
            if not wanted(partition, since, until, accounts, regions):
                continue
            found.files.append(SourceFile(data_url(directory, f.path), f.size))
        counted = _counted(committed, since, until, accounts, regions)
        found.pruned += counted.files_pruned
        counted.files_pruned = 0
        found.precounted.append(counted)
    found.files.sort(key=lambda f: f.path)
    return found


def read_batches(url: str, columns: Columns) -> Iterator[pa.Table]:
    """The rows of one data file, READ_ROWS at a time, with only ``columns``
    (all when None) of the schema, typed as the schema says."""
    path = data_path(url)
    names = [n for n in S.SCHEMA.names if columns is None or n in columns]
    schema = pa.schema([S.SCHEMA.field(n) for n in names])
    try:
        parquet = pq.ParquetFile(path)
        missing = set(names) - set(parquet.schema_arrow.names)
        if missing:
            raise StoreReadError(f"data file lacks columns {sorted(missing)}")
        # A row group at a time (bounded by the writer: ``write.ROW_GROUP_ROWS`` rows
        # or ``ROW_GROUP_BYTES``), its columns decoded on threads: several times
        # faster than ``iter_batches``, which decodes batch by batch on one.
        for index in range(parquet.num_row_groups):
            yield parquet.read_row_group(index, columns=names).cast(schema)
    except (OSError, pa.ArrowException) as exc:
        raise StoreReadError(f"unreadable data file: {exc}") from None
