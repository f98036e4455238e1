"""The fold an ingest runs: each frame of kept rows is cut by partition and
spilled to small files in the run's work directory, so no process ever holds
more than one frame. The parent then merges the spills of each partition, in
path order, into the store's data files (``write.py``).

The state is only names, counts and dedup hashes, so it travels between
processes and combines in group order like any other analysis's.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from kmslog.decode import schema as S
from kmslog.run.dedup import content_hash, key_hash
from kmslog.store.layout import partition_dir

_DAY = "__partition_day"
_ROW = "__row"


@dataclass(frozen=True)
class Spilled:
    partition: str
    path: str
    rows: int


@dataclass
class SpillState:
    parts: list[Spilled] = field(default_factory=list)
    # Kept rows per source, as in the ``source`` column.
    stored: dict[str, int] = field(default_factory=dict)
    keys: list[np.ndarray] = field(default_factory=list)
    contents: list[np.ndarray] = field(default_factory=list)


@dataclass(frozen=True)
class SpillAnalysis:
    """Spills kept rows to ``directory`` (reads every column: it stores them)."""

    directory: str
    name: str = "store_spill"

    def start(self) -> SpillState:
        return SpillState()

    def update(self, state: SpillState, frame: pl.DataFrame) -> SpillState:
        if not frame.height:
            return state
        hashed = frame.select(key_hash().alias("k"), content_hash().alias("c")).drop_nulls()
        state.keys.append(hashed["k"].to_numpy().astype(np.uint64, copy=False))
        state.contents.append(hashed["c"].to_numpy().astype(np.uint64, copy=False))
        counts = frame.group_by(S.SOURCE, maintain_order=True).len()
        for source, n in zip(counts[S.SOURCE], counts["len"], strict=True):
            state.stored[source] = state.stored.get(source, 0) + n
        # Row numbers per partition, then one partition's rows at a time: never a
        # second copy of the whole frame (it holds the records' text).
        groups = (
            frame.select(
                S.RECIPIENT_ACCOUNT_ID, S.AWS_REGION, pl.col(S.EVENT_TIME).dt.date().alias(_DAY)
            )
            .with_row_index(_ROW)
            .group_by([S.RECIPIENT_ACCOUNT_ID, S.AWS_REGION, _DAY], maintain_order=True)
            .agg(pl.col(_ROW))
        )
        for account, region, day, rows in groups.iter_rows():
            name = partition_dir(account, region, day)
            path = os.path.join(self.directory, f"{uuid.uuid4().hex}.parquet")
            part = frame[rows] if len(rows) < frame.height else frame
            # Spills are read once, right after: fast compression, one row group,
            # polars' own string types (the merge casts them to the schema's).
            pq.write_table(part.to_arrow(), path, compression="lz4")
            state.parts.append(Spilled(name, path, len(rows)))
        return state

    def combine(self, a: SpillState, b: SpillState) -> SpillState:
        a.parts.extend(b.parts)
        for source, n in b.stored.items():
            a.stored[source] = a.stored.get(source, 0) + n
        a.keys.extend(b.keys)
        a.contents.extend(b.contents)
        return a

    def finish(self, state: SpillState) -> SpillState:
        return state
