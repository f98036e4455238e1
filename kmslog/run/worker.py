"""What a worker does with a group of consecutive files: read and decode each,
assemble their records into batches, select rows, drop duplicates, fold every
analysis. Only partial states, counts and the dedup hashes travel back.

Small files are grouped (CloudTrail writes many files of a few records) so the
per-batch costs — Arrow and polars conversion, analysis updates — are paid per
tens of thousands of rows, not per file.
"""

from __future__ import annotations

import functools
import gc
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from kmslog.analyses.base import Analysis, columns_of
from kmslog.decode import schema as S
from kmslog.decode.records import Assembler, Columns, normalize, read_segments
from kmslog.run.api import EventIdConflict, Rejection, ScanOptions
from kmslog.run.dedup import (
    HASH,
    KEY_COLUMNS,
    MAX_CONFLICT_DETAILS,
    Earlier,
    drop_duplicates,
    key_hash,
)
from kmslog.sources.local import SourceError
from kmslog.sources.names import display_name
from kmslog.store.layout import is_store_file

# Rows of natively decoded files folded as one frame (at most: a group's end
# folds what it has).
FOLD_ROWS = 49_152


@dataclass(frozen=True)
class GroupTask:
    paths: tuple[str, ...]
    analyses: tuple[Analysis[Any, Any], ...]
    options: ScanOptions
    # What earlier groups kept of the keys this group shares with them; empty on
    # the first pass, filled when the parent re-reads a group that overlaps.
    skip: Earlier = field(default_factory=Earlier)
    # Key hashes whose first selected row to find (``GroupOutcome.firsts``)
    # instead of folding the analyses: where the first of a conflict is.
    locate: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))


@dataclass
class GroupOutcome:
    paths: tuple[str, ...]
    states: list[Any]
    files_read: int = 0
    files_failed: int = 0
    # File failures and record rejections, in file order then position.
    problems: list[Rejection] = field(default_factory=list)
    seen: int = 0
    kept: int = 0
    rejected: int = 0
    duplicates: int = 0
    out_of_window: int = 0
    # Key and content hashes of the kept rows that have an eventID, row by row.
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    contents: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    conflicts: int = 0
    conflict_details: list[EventIdConflict] = field(default_factory=list)
    firsts: dict[int, tuple[str, int]] = field(default_factory=dict)
    duplicate_sources: dict[str, int] = field(default_factory=dict)


def selection(options: ScanOptions) -> pl.Expr | None:
    """Row filter for --since/--until/--account/--region, or None when all rows pass."""
    terms: list[pl.Expr] = []
    if options.since is not None:
        terms.append(pl.col(S.EVENT_TIME) >= options.since)
    if options.until is not None:
        terms.append(pl.col(S.EVENT_TIME) <= options.until)
    if options.accounts:
        terms.append(pl.col(S.RECIPIENT_ACCOUNT_ID).is_in(sorted(options.accounts)))
    if options.regions:
        terms.append(pl.col(S.AWS_REGION).is_in(sorted(options.regions)))
    if not terms:
        return None
    return pl.all_horizontal(terms).fill_null(False)


# What the row selection (``selection``) reads.
SELECTION_COLUMNS = frozenset({S.EVENT_TIME, S.RECIPIENT_ACCOUNT_ID, S.AWS_REGION})


def needed_columns(analyses: tuple[Analysis[Any, Any], ...]) -> Columns:
    """The columns to decode: what the analyses declare, plus what selection
    and dedup read; None (all) as soon as one analysis does not say."""
    wanted = set(SELECTION_COLUMNS | KEY_COLUMNS)
    for analysis in analyses:
        columns = columns_of(analysis)
        if columns is None:
            return None
        wanted |= columns
    return normalize(wanted)


@functools.cache
def _polars_types() -> dict[str, pl.DataType]:
    return dict(pl.from_arrow(S.empty_batch()).schema)  # type: ignore[union-attr]


def _frame(parts: Sequence[pa.RecordBatch], columns: Columns) -> pl.DataFrame:
    """The batches as one frame of the whole schema. Chunked as decoded (joining
    the parts would copy every cell once more); the columns not decoded are
    typed null constants, not converted all-null arrays (polars would build a
    view per row of each)."""
    table = pa.Table.from_batches(parts, schema=S.SCHEMA)
    if columns is None:
        return pl.from_arrow(table, rechunk=False)  # type: ignore[return-value]
    return projected_frame(table.select([n for n in S.SCHEMA.names if n in columns]), columns)


def projected_frame(table: pa.Table, columns: Columns) -> pl.DataFrame:
    """A table holding the ``columns`` of the schema (all when None) as a frame
    of the whole schema, the others typed null constants."""
    built: pl.DataFrame = pl.from_arrow(table, rechunk=False)  # type: ignore[assignment]
    if columns is None:
        return built.select(S.SCHEMA.names)
    types = _polars_types()
    return built.with_columns(
        pl.lit(None, dtype=types[n]).alias(n) for n in S.SCHEMA.names if n not in columns
    ).select(S.SCHEMA.names)


def process_group(task: GroupTask, decoded: Sequence[Any] | None = None) -> GroupOutcome:
    """Read, decode and fold the group's files. ``decoded``: per path, what the
    native engine made of it (``kmslog.decode.native.FileResult``, decoded for
    ``needed_columns``); files it left to the Python path are read here."""
    # Decoding allocates millions of objects that never form cycles: collector
    # passes over them are pure cost.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _Group(task, decoded).run()
    finally:
        if enabled:
            gc.enable()


class _Group:
    def __init__(self, task: GroupTask, decoded: Sequence[Any] | None = None) -> None:
        self.task = task
        self.out = GroupOutcome(task.paths, [a.start() for a in task.analyses])
        self.select = selection(task.options)
        self.earlier = task.skip
        self.hashes: list[np.ndarray] = []
        self.contents: list[np.ndarray] = []
        self.columns = needed_columns(task.analyses)
        self.assembler = Assembler(self.columns)
        if decoded is None and task.options.engine == "native":
            from kmslog.decode.native import decode_files

            decoded = decode_files(task.paths, task.options.max_decompressed_bytes, self.columns)
        self.decoded = decoded
        # Rows of store data files not folded yet (they are folded FOLD_ROWS at a time).
        self.stored: list[pa.Table] = []
        self.stored_rows = 0

    def run(self) -> GroupOutcome:
        out = self.out
        run: list[Any] = []  # natively decoded files adjacent in one call's batch
        for k, path in enumerate(self.task.paths):
            if is_store_file(path):
                if run:
                    self._add_run(run)
                    run = []
                self._read_store(path)
                continue
            self._fold_stored()
            native = None if self.decoded is None else self.decoded[k]
            if native is not None and native.batch is not None:
                out.files_read += 1
                if run and not (
                    native.parent is run[-1].parent
                    and native.offset == run[-1].offset + run[-1].batch.num_rows
                ):
                    self._add_run(run)
                    run = []
                run.append(native)
                continue
            if run:
                self._add_run(run)
                run = []
            pieces = read_segments(path, self.task.options.max_decompressed_bytes, self.columns)
            try:
                # A file is taken apart completely before its first segment comes
                # out, so a file that fails contributes no rows.
                first = next(pieces, None)
            except SourceError as exc:
                out.files_failed += 1
                kind = "byte" if exc.position is not None else "file"
                out.problems.append(Rejection(display_name(path), exc.position, kind, exc.reason))
                continue
            out.files_read += 1
            for segment in itertools.chain([] if first is None else [first], pieces):
                out.seen += segment.seen
                out.rejected += len(segment.rejections)
                out.problems.extend(segment.rejections)
                self.assembler.add(segment)
                if self.assembler.full():
                    self._flush(last=False)
        if run:
            self._add_run(run)
        self._fold_stored()
        self._flush(last=True)
        # Rejections name files by their display form (see kmslog.sources.names).
        order = {display_name(p): i for i, p in enumerate(self.task.paths)}
        out.problems.sort(key=lambda r: (order.get(r.source, -1), r.position or 0))
        if self.hashes:
            out.hashes = np.concatenate(self.hashes)
            out.contents = np.concatenate(self.contents)
        return out

    def _add_run(self, run: Sequence[Any]) -> None:
        from kmslog.decode.native import run_segment

        segment = run_segment(run)
        self.out.seen += segment.seen
        self.assembler.add(segment)
        # Natively decoded rows cost nothing to hold as they are (chunks, no
        # copy), while every fold pays a fixed cost per frame: fold them in
        # bigger frames than the Python path assembles.
        if self.assembler.full(FOLD_ROWS):
            self._flush(last=False)

    def _read_store(self, path: str) -> None:
        """A data file of a store: its rows were decoded at ingest, so they are
        selected, deduplicated and folded as they are read (row group by row group).
        Rows the assembler holds go first, so the order of the group is kept."""
        from kmslog.store.read import StoreReadError, read_batches

        self._flush(last=False)
        try:
            # Streamed, so memory stays bounded whatever the partition's size: a
            # file that breaks midway (the store's own files: damage on disk) has
            # given the rows before the break.
            for table in read_batches(path, self.columns):
                self.out.seen += table.num_rows
                self.stored.append(table)
                self.stored_rows += table.num_rows
                # Folds pay a fixed cost per frame, and the files of small
                # partitions hold few rows: fold them together.
                if self.stored_rows >= FOLD_ROWS:
                    self._fold_stored()
        except StoreReadError as exc:
            self.out.files_failed += 1
            self.out.problems.append(Rejection(display_name(path), None, "file", exc.reason))

    def _fold_stored(self) -> None:
        if not self.stored:
            return
        table = pa.concat_tables(self.stored)
        self.stored, self.stored_rows = [], 0
        self._fold(projected_frame(table, self.columns), last=False)

    def _flush(self, last: bool) -> None:
        if not self.assembler.rows:
            return
        parts, late = self.assembler.take_parts()
        out = self.out
        out.rejected += len(late)
        out.problems.extend(late)
        if not parts:
            return
        self._fold(_frame(parts, self.columns), last)

    def _fold(self, frame: pl.DataFrame, last: bool) -> None:
        out = self.out
        if self.select is not None:
            before = frame.height
            frame = frame.filter(self.select)
            out.out_of_window += before - frame.height
        if len(self.task.locate):
            self._locate(frame)
            return
        room = MAX_CONFLICT_DETAILS - len(out.conflict_details)
        kept = drop_duplicates(frame, self.earlier, room)
        frame = kept.frame
        out.duplicates += kept.dropped
        out.conflicts += kept.conflicts
        out.conflict_details.extend(kept.details)
        for source, n in kept.dropped_sources.items():
            out.duplicate_sources[source] = out.duplicate_sources.get(source, 0) + n
        if len(kept.keys):
            self.hashes.append(kept.keys)
            self.contents.append(kept.contents)
            if not last:
                self.earlier = self.earlier.extend(kept.keys, kept.contents)
        if not frame.height:
            return
        out.kept += frame.height
        out.states = [
            a.update(s, frame) for a, s in zip(self.task.analyses, out.states, strict=True)
        ]

    def _locate(self, frame: pl.DataFrame) -> None:
        wanted = pl.Series(self.task.locate, dtype=pl.UInt64)
        found = (
            frame.select(key_hash().alias(HASH), S.SOURCE, S.RECORD_INDEX)
            .filter(pl.col(HASH).is_in(wanted.implode()))
            .unique(HASH, keep="first", maintain_order=True)
        )
        for key, source, position in found.iter_rows():
            self.out.firsts.setdefault(key, (source, position))
