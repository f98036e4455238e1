"""What a worker does with one file: read it, decode it, select rows, drop
duplicates, fold every analysis over it. Only the partial states, counts and the
dedup hashes travel back to the parent."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from kmslog.analyses.base import Analysis
from kmslog.decode import schema as S
from kmslog.decode.records import read_file
from kmslog.run.api import Rejection, ScanOptions
from kmslog.run.dedup import drop_duplicates, sorted_unique
from kmslog.sources.local import SourceError


@dataclass(frozen=True)
class FileTask:
    path: str
    analyses: tuple[Analysis[Any, Any], ...]
    options: ScanOptions
    # Hashes of dedup keys that earlier files already kept (sorted); empty on
    # the first pass, filled when the parent re-reads a file that overlaps.
    skip: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))


@dataclass
class FileOutcome:
    path: str
    states: list[Any] | None = None
    failure: Rejection | None = None
    rejections: list[Rejection] = field(default_factory=list)
    seen: int = 0
    kept: int = 0
    duplicates: int = 0
    out_of_window: int = 0
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))


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


def process_file(task: FileTask) -> FileOutcome:
    # Decoding allocates millions of objects that never form cycles: collector
    # passes over them are pure cost.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _process_file(task)
    finally:
        if enabled:
            gc.enable()


def _process_file(task: FileTask) -> FileOutcome:
    outcome = FileOutcome(task.path)
    states = [a.start() for a in task.analyses]
    select = selection(task.options)
    earlier = np.sort(task.skip)
    kept_hashes: list[np.ndarray] = []
    try:
        for chunk in read_file(task.path, task.options.max_decompressed_bytes):
            outcome.seen += chunk.seen
            outcome.rejections.extend(chunk.rejections)
            if not chunk.batch.num_rows:
                continue
            frame: pl.DataFrame = pl.from_arrow(chunk.batch)  # type: ignore[assignment]
            if select is not None:
                before = frame.height
                frame = frame.filter(select)
                outcome.out_of_window += before - frame.height
            frame, hashes, dropped = drop_duplicates(frame, earlier)
            outcome.duplicates += dropped
            if len(hashes):
                kept_hashes.append(hashes)
                if not chunk.last:
                    earlier = sorted_unique(np.concatenate([earlier, hashes]))
            if not frame.height:
                continue
            outcome.kept += frame.height
            states = [a.update(s, frame) for a, s in zip(task.analyses, states, strict=True)]
    except SourceError as exc:
        return FileOutcome(
            task.path,
            failure=Rejection(
                task.path,
                exc.position,
                "byte" if exc.position is not None else "file",
                exc.reason,
            ),
        )
    outcome.states = states
    if kept_hashes:
        outcome.hashes = np.concatenate(kept_hashes)
    return outcome
