"""``kmslog ingest SOURCE… --store DIR``: add what is new to a store.

Under the store's lock: read the manifest, leave out every source object it
already lists unchanged (same size and mtime, or same ETag), decode the rest
through the ordinary run (so duplicates are dropped exactly as a scan drops
them, and against every record earlier ingests stored: the run is given their
dedup hashes), spill the kept rows by partition, merge each partition's spills
into data files of big row groups, then commit: data files and hashes renamed
into place, the manifest replaced. A run that dies leaves only its work
directory and unlisted files, which the next ingest removes.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from kmslog.decode import schema as S
from kmslog.run.api import IngestStats, ScanOptions
from kmslog.run.dedup import Earlier, content_hash, key_hash, sorted_unique
from kmslog.run.executor import Progress, run
from kmslog.sources.base import NoInputError
from kmslog.sources.discover import Discovery, SourceFile
from kmslog.sources.names import display_name
from kmslog.sources.registry import discover, scheme_of
from kmslog.store import manifest as M
from kmslog.store.layout import DATA, HASHES, STORE_SCHEME, TMP
from kmslog.store.spill import SpillAnalysis, SpillState

# Rows per row group of a data file (what DuckDB, Athena and Spark read well),
# and the Arrow bytes buffered before a row group is written whatever its rows.
ROW_GROUP_ROWS = 100_000
ROW_GROUP_BYTES = 96 * 1024 * 1024
COMPRESSION = "zstd"
# Compressed bytes read per group: an eighth of a scan's, since an ingest decodes
# every column and spills as it goes (peak RSS about 480 MiB instead of 650 on the
# 200K-record benchmark corpus, no slower; results do not depend on it).
GROUP_BYTES = 1024 * 1024
# The dedup hashes are polars' (fixed seeds): stable for one polars version.
HASH_ENGINE = f"polars {pl.__version__}"


@dataclass
class IngestReport:
    store: str
    sources_seen: int = 0
    sources_unchanged: int = 0
    sources_ingested: int = 0
    sources_failed: int = 0
    rows_added: int = 0
    files_added: int = 0
    stats: IngestStats = field(default_factory=IngestStats)


def _identity(f: SourceFile) -> tuple[int, int | None, str | None]:
    if scheme_of(f.path) is None:
        try:
            return f.size, os.stat(f.path).st_mtime_ns, None
        except OSError:
            return f.size, None, None
    return f.size, None, f.etag


def _unchanged(entry: M.SourceEntry | None, identity: tuple[int, int | None, str | None]) -> bool:
    return entry is not None and (entry.size, entry.mtime_ns, entry.etag) == identity


def _clean(directory: str, committed: M.Manifest) -> None:
    """Remove what an interrupted ingest left: its work directory, data files and
    hashes the manifest does not list."""
    shutil.rmtree(os.path.join(directory, TMP), ignore_errors=True)
    listed = {f.path for f in committed.files}
    data = os.path.join(directory, DATA)
    for root, _dirs, names in os.walk(data):
        for name in names:
            path = os.path.join(root, name)
            if os.path.relpath(path, data) not in listed:
                os.unlink(path)
    kept = set(committed.hashes)
    hashes = os.path.join(directory, HASHES)
    if os.path.isdir(hashes):
        for name in os.listdir(hashes):
            if os.path.join(HASHES, name) not in kept:
                os.unlink(os.path.join(hashes, name))


def _rehash(directory: str, committed: M.Manifest) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The dedup hashes of every stored row, made from the data files."""
    keys: list[np.ndarray] = []
    contents: list[np.ndarray] = []
    columns = [S.RECIPIENT_ACCOUNT_ID, S.EVENT_ID, S.RAW]
    for f in committed.files:
        parquet = pq.ParquetFile(os.path.join(directory, DATA, f.path))
        for index in range(parquet.num_row_groups):
            frame = pl.from_arrow(parquet.read_row_group(index, columns=columns))
            assert isinstance(frame, pl.DataFrame)
            hashed = frame.select(key_hash().alias("k"), content_hash().alias("c")).drop_nulls()
            keys.append(hashed["k"].to_numpy().astype(np.uint64, copy=False))
            contents.append(hashed["c"].to_numpy().astype(np.uint64, copy=False))
    return keys, contents


@dataclass
class Prior:
    """What earlier runs stored, as dedup hashes; ``carried``: hashes made again
    (the saved ones came from another polars), saved with this run's."""

    earlier: Earlier
    carried: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])


def _prior(directory: str, committed: M.Manifest) -> Prior:
    if committed.files and committed.hash_engine != HASH_ENGINE:
        # Hashes made by another polars may differ: made again here, saved with
        # this run's, and the old ones dropped at the commit.
        keys, contents = _rehash(directory, committed)
        committed.hashes = []
        return Prior(_earlier(keys, contents), (keys, contents))
    keys, contents = [], []
    for name in committed.hashes:
        with np.load(os.path.join(directory, name)) as saved:
            keys.append(saved["keys"])
            contents.append(saved["contents"])
    return Prior(_earlier(keys, contents))


def _earlier(keys: list[np.ndarray], contents: list[np.ndarray]) -> Earlier:
    if not keys:
        return Earlier()
    return Earlier(sorted_unique(np.concatenate(keys)), sorted_unique(np.concatenate(contents)))


def _merge(spilled: SpillState, work: str, run_id: int) -> list[tuple[str, str, int]]:
    """Each partition's spills, in order, into one data file (under ``work``):
    (partition, file written, rows). One writer open at a time; row groups are
    buffered up to ROW_GROUP_ROWS rows or ROW_GROUP_BYTES."""
    by_partition: dict[str, list[str]] = defaultdict(list)
    for part in spilled.parts:
        by_partition[part.partition].append(part.path)
    written: list[tuple[str, str, int]] = []
    for partition in sorted(by_partition):
        target_dir = os.path.join(work, DATA, partition)
        os.makedirs(target_dir, exist_ok=True)
        target = os.path.join(target_dir, f"part-{run_id:06d}-0.parquet")
        rows = 0
        buffer: list[pa.Table] = []
        buffered = buffered_rows = 0
        with pq.ParquetWriter(
            target, schema=S.SCHEMA, compression=COMPRESSION, write_statistics=True
        ) as writer:

            def flush() -> None:
                nonlocal buffer, buffered, buffered_rows
                if buffer:
                    table = pa.concat_tables(buffer)
                    writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                buffer, buffered, buffered_rows = [], 0, 0

            for path in by_partition[partition]:
                table = pq.read_table(path).select(S.SCHEMA.names).cast(S.SCHEMA)
                os.unlink(path)
                buffer.append(table)
                buffered += table.nbytes
                buffered_rows += table.num_rows
                rows += table.num_rows
                if buffered_rows >= ROW_GROUP_ROWS or buffered >= ROW_GROUP_BYTES:
                    flush()
            flush()
        with open(target, "rb") as done:
            os.fsync(done.fileno())
        written.append((partition, target, rows))
    return written


def _rename_into(src: str, dst: str) -> None:
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    os.replace(src, dst)


def ingest(
    paths: Sequence[str],
    directory: str,
    options: ScanOptions,
    progress: Progress | None = None,
) -> IngestReport:
    """Add the records of ``paths`` that the store at ``directory`` lacks."""
    if any(scheme_of(p) == STORE_SCHEME for p in paths):
        raise M.StoreError("a store cannot be ingested into a store (give log files or s3://)")
    report = IngestReport(directory)
    with M.locked(directory):
        committed = M.load(directory, must_exist=False)
        _clean(directory, committed)
        found = discover(paths)
        # The store may live under a directory it is fed from: its own files
        # (manifest.json among them) are not logs.
        inside = os.path.realpath(directory) + os.sep

        def outside(path: str) -> bool:
            return scheme_of(path) is not None or not os.path.realpath(path).startswith(inside)

        found.files = [f for f in found.files if outside(f.path)]
        found.skipped_other = [p for p in found.skipped_other if outside(p)]
        if found.missing:
            raise_missing(found)
        if not found.files:
            roots = ", ".join(display_name(p) for p in paths)
            raise NoInputError("no input files under: " + roots)
        report.sources_seen = len(found.files)
        todo: list[SourceFile] = []
        identities: dict[str, tuple[int, int | None, str | None]] = {}
        for f in found.files:
            identity = _identity(f)
            if _unchanged(committed.sources.get(f.path), identity):
                report.sources_unchanged += 1
                continue
            identities[f.path] = identity
            todo.append(f)
        if not todo:
            return report
        run_id = committed.runs + 1
        work = os.path.join(directory, TMP, f"{run_id:06d}")
        spill_dir = os.path.join(work, "spill")
        os.makedirs(spill_dir)
        todo_found = Discovery(files=todo)
        analysis = SpillAnalysis(spill_dir)
        prior = _prior(directory, committed)
        result = run(
            [f.path for f in todo],
            [analysis],
            options,
            progress=progress,
            prior=prior.earlier,
            found=todo_found,
            group_bytes=GROUP_BYTES,
        )
        report.stats = result.stats
        spilled: SpillState = result.results[analysis.name]
        written = _merge(spilled, work, run_id)
        hashes_name = os.path.join(HASHES, f"{run_id:06d}.npz")
        old_keys, old_contents = prior.carried
        keys = np.concatenate([*old_keys, *spilled.keys, np.empty(0, np.uint64)])
        contents = np.concatenate([*old_contents, *spilled.contents, np.empty(0, np.uint64)])
        temp_hashes = os.path.join(work, "hashes.npz")
        with open(temp_hashes, "wb") as out:
            np.savez(out, keys=keys, contents=contents)
            out.flush()
            os.fsync(out.fileno())
        for kind, skipped in (
            ("digest", found.skipped_digest),
            ("insight", found.skipped_insight),
            ("other", found.skipped_other),
        ):
            committed.skipped.update(dict.fromkeys(skipped, kind))
        _commit(
            directory,
            committed,
            todo,
            identities,
            result.stats,
            spilled,
            written,
            run_id,
            hashes_name,
            temp_hashes,
            report,
        )
        shutil.rmtree(os.path.join(directory, TMP), ignore_errors=True)
    return report


def raise_missing(found: Discovery) -> None:
    missing = ", ".join(display_name(p) for p in found.missing)
    raise NoInputError("no such file, directory or match: " + missing)


def _failed_sources(stats: IngestStats) -> set[str]:
    return {r.source for r in stats.rejections if r.position_kind in ("byte", "file")}


def _commit(
    directory: str,
    committed: M.Manifest,
    todo: Sequence[SourceFile],
    identities: dict[str, tuple[int, int | None, str | None]],
    stats: IngestStats,
    spilled: SpillState,
    written: Sequence[tuple[str, str, int]],
    run_id: int,
    hashes_name: str,
    temp_hashes: str,
    report: IngestReport,
) -> None:
    failed = _failed_sources(stats)
    details: dict[str, list[tuple[int | None, str, str]]] = defaultdict(list)
    for r in stats.rejections:
        if len(details[r.source]) < M.MAX_SOURCE_REJECTIONS:
            details[r.source].append((r.position, r.position_kind, r.reason))
    for f in todo:
        name = display_name(f.path)
        if name in failed:
            # Not recorded: the next ingest tries it again.
            report.sources_failed += 1
            continue
        size, mtime_ns, etag = identities[f.path]
        committed.sources[f.path] = M.SourceEntry(
            size=size,
            mtime_ns=mtime_ns,
            etag=etag,
            stored=spilled.stored.get(name, 0),
            duplicates=stats.duplicates_by_source.get(name, 0),
            rejected=stats.rejected_by_source.get(name, 0),
            rejections=details.get(name, []),
            run=run_id,
        )
        report.sources_ingested += 1
    for partition, temp, rows in written:
        relative = os.path.join(partition, os.path.basename(temp))
        _rename_into(temp, os.path.join(directory, DATA, relative))
        size = os.path.getsize(os.path.join(directory, DATA, relative))
        committed.files.append(M.DataFile(relative, rows, size, run_id))
        report.rows_added += rows
        report.files_added += 1
    _rename_into(temp_hashes, os.path.join(directory, hashes_name))
    committed.hashes.append(hashes_name)
    committed.hash_engine = HASH_ENGINE
    committed.runs = run_id
    M.commit(directory, committed)
