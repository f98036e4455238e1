"""Run analyses over files: discover → read/decode/fold per group of consecutive
files (in workers) → combine in a fixed file order → finish.

Executors are ``concurrent.futures``-shaped (``submit`` → Future), so a process
pool, the in-process serial executor, or a distributed one (Dask's client
offers the same interface) can run the per-group work unchanged. Results never
depend on the executor: the parent combines per-group partials in sorted path
order and settles duplicates across groups in that order (see ``dedup``).
"""

from __future__ import annotations

import dataclasses
import gc
import inspect
import multiprocessing
import os
import pickle
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import replace
from typing import Any, Protocol

import numpy as np

from kmslog.analyses.base import Analysis
from kmslog.decode.native import resolve_engine
from kmslog.run.api import IngestStats, Rejection, RunResult, ScanOptions
from kmslog.run.dedup import MAX_CONFLICT_DETAILS, Earlier, HashSet, key_hashes
from kmslog.run.worker import GroupOutcome, GroupTask, needed_columns, process_group
from kmslog.sources.base import NoInputError
from kmslog.sources.discover import Discovery, SourceFile
from kmslog.sources.names import display_name
from kmslog.sources.registry import discover

# With the default --jobs, inputs smaller than this are read in-process: starting
# worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
# Consecutive files are read as one task until they reach this many compressed
# bytes (or files): small files then share batches, big ones go alone.
GROUP_BYTES = 8 * 1024 * 1024
GROUP_FILES = 1024
# With the native engine a group is decoded whole on threads before the main thread
# folds it. Smaller groups hold less at once but cost more per record (on the 1M-record
# benchmark corpus, 2 MiB groups: 17 % less peak RSS, 24 % more wall time), so the
# threaded path keeps the same size for now; its own constant keeps the choice apart.
NATIVE_GROUP_BYTES = GROUP_BYTES
# Rejection details kept per run; the counts stay exact beyond it.
MAX_REJECTION_DETAILS = 10_000
MAX_SPECIAL_DETAILS = 1_000
__all__ = ["NoInputError", "StrictError", "run"]


class StrictError(Exception):
    """--strict: the first problem, in file order."""

    def __init__(self, rejection: Rejection) -> None:
        where = ""
        if rejection.position is not None:
            where = f" ({rejection.position_kind} {rejection.position})"
        super().__init__(f"{rejection.source}{where}: {rejection.reason}")
        self.rejection = rejection


class Progress(Protocol):
    """Called as files are read. A callback that also takes a ``records`` keyword is
    given the records decoded so far (it is called again as they are counted); one
    without it is called with the four counts only, as before."""

    def __call__(
        self, files_done: int, files_total: int, bytes_done: int, bytes_total: int
    ) -> None: ...


def _takes_records(progress: Callable[..., None]) -> bool:
    try:
        parameters = inspect.signature(progress).parameters
    except (TypeError, ValueError):  # a builtin or C callable: the four counts only
        return False
    return "records" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


class SerialExecutor(Executor):
    """Runs each task at submit time, in the calling process."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            future.set_exception(exc)
        return future


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def make_executor(jobs: int) -> Executor:
    if jobs <= 1:
        return SerialExecutor()
    # spawn, not fork: forking a process that already runs polars' thread pool can deadlock.
    return ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))


def _jobs_for(options: ScanOptions, files: Sequence[SourceFile], tasks: int) -> int:
    if options.jobs is not None:
        return max(1, min(options.jobs, tasks))
    if sum(f.size for f in files) < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(default_jobs(), tasks))


def _stats_from(found: Discovery) -> IngestStats:
    stats = IngestStats(
        files_skipped_digest=len(found.skipped_digest),
        files_skipped_insight=len(found.skipped_insight),
        files_skipped_other=len(found.skipped_other),
        files_skipped_special=len(found.skipped_special),
        files_pruned=found.pruned,
    )
    for path, kind in found.skipped_special:
        stats.skipped_special_reasons[kind] = stats.skipped_special_reasons.get(kind, 0) + 1
        if len(stats.skipped_special) < MAX_SPECIAL_DETAILS:
            stats.skipped_special.append(Rejection(display_name(path), None, "file", kind))
    return stats


def reason_kind(reason: str) -> str:
    return reason.split(":", 1)[0]


def _record(stats: IngestStats, rejections: Sequence[Rejection]) -> None:
    by_source = stats.rejected_by_source
    for rejection in rejections:
        kind = reason_kind(rejection.reason)
        stats.rejection_reasons[kind] = stats.rejection_reasons.get(kind, 0) + 1
        by_source[rejection.source] = by_source.get(rejection.source, 0) + 1
    room = MAX_REJECTION_DETAILS - len(stats.rejections)
    if room > 0:
        stats.rejections.extend(rejections[:room])


def groups(
    files: Sequence[SourceFile], group_bytes: int = GROUP_BYTES
) -> list[tuple[SourceFile, ...]]:
    """Consecutive runs of ``files`` (kept in order) of bounded size."""
    out: list[tuple[SourceFile, ...]] = []
    current: list[SourceFile] = []
    size = 0
    for f in files:
        if current and (size + f.size > group_bytes or len(current) >= GROUP_FILES):
            out.append(tuple(current))
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        out.append(tuple(current))
    return out


def _advancing(
    advance: Callable[[tuple[SourceFile, ...]], None], group: tuple[SourceFile, ...]
) -> Callable[[Future[GroupOutcome]], None]:
    """A done-callback bound to its own group (a lambda in the loop would see the last)."""

    def done(_future: Future[GroupOutcome]) -> None:
        advance(group)

    return done


# The tag of hashes known before the run (``prior``): in no group of it.
PRIOR = 2**32 - 1


def _add_precounted(stats: IngestStats, counted: IngestStats, strict: bool) -> None:
    """Counts a source established before the run (a store's manifest: what its
    ingest dropped or rejected) added to the run's."""
    if strict and counted.rejections:
        raise StrictError(counted.rejections[0])
    stats.files_read += counted.files_read
    stats.files_pruned += counted.files_pruned
    stats.files_skipped_digest += counted.files_skipped_digest
    stats.files_skipped_insight += counted.files_skipped_insight
    stats.files_skipped_other += counted.files_skipped_other
    stats.records_seen += counted.records_seen
    stats.records_duplicate += counted.records_duplicate
    stats.records_rejected += counted.records_rejected
    _record(stats, counted.rejections)


def run(
    paths: Sequence[str],
    analyses: Sequence[Analysis[Any, Any]],
    options: ScanOptions,
    progress: Progress | None = None,
    executor: Executor | None = None,
    prior: Earlier | None = None,
    found: Discovery | None = None,
    group_bytes: int | None = None,
) -> RunResult:
    """Read every file under ``paths`` once and fold every analysis over it.

    Raises :class:`NoInputError` when a path does not exist or nothing is left
    to read, :class:`StrictError` on the first problem when ``options.strict``.
    ``executor`` overrides the one ``options.jobs`` selects. With the native
    engine and no ``executor``, files are decoded on ``options.jobs`` threads of
    this process (see ``kmslog.run.prefetch``) and folded here, in path order.
    ``prior``: what earlier runs kept (a store's ingest), so their records count
    as earlier copies: a second copy is dropped, another record under a known key
    is a conflict. ``found``: what to read, already discovered (``paths`` then
    only names the inputs in messages). ``group_bytes``: compressed bytes per group
    (smaller groups hold less in memory at once; results do not depend on it);
    default GROUP_BYTES, NATIVE_GROUP_BYTES for the native engine's threads.
    """
    # Resolved once, so every worker of the run decodes with the same engine.
    options = dataclasses.replace(options, engine=resolve_engine(options.engine))
    if found is None:
        found = discover(paths, options.since, options.until, options.accounts, options.regions)
    if found.missing:
        missing = ", ".join(display_name(p) for p in found.missing)
        raise NoInputError("no such file, directory or match: " + missing)
    # A store's selection may leave no data file to read: an empty answer.
    if not found.files and not found.pruned and not found.precounted:
        skipped = len(found.skipped_digest) + len(found.skipped_insight) + len(found.skipped_other)
        detail = f"{skipped} skipped: digests, insights or not log files" if skipped else ""
        if found.skipped_special:
            kinds = sorted({kind for _, kind in found.skipped_special})
            special = f"{len(found.skipped_special)} not regular files: {', '.join(kinds)}"
            detail = f"{detail}; {special}" if detail else special
        detail = f" ({detail})" if detail else ""
        roots = ", ".join(display_name(p) for p in paths)
        raise NoInputError("no input files under: " + roots + detail)
    stats = _stats_from(found)
    for precount in found.precounted:
        _add_precounted(stats, precount, options.strict)
    files = found.files
    threaded = executor is None and options.dask is None and options.engine == "native"
    if group_bytes is None:
        group_bytes = NATIVE_GROUP_BYTES if threaded else GROUP_BYTES
    batches = groups(files, group_bytes)
    total_bytes = sum(f.size for f in files)
    done = {"files": 0, "bytes": 0, "records": 0}
    lock = threading.Lock()
    with_records = progress is not None and _takes_records(progress)

    def report() -> None:
        assert progress is not None
        counts = (done["files"], len(files), done["bytes"], total_bytes)
        if with_records:
            progress(*counts, records=done["records"])  # type: ignore[call-arg]
        else:
            progress(*counts)

    def task(group: tuple[SourceFile, ...], skip: Earlier | None = None) -> GroupTask:
        paths_ = tuple(f.path for f in group)
        if skip is None:
            return GroupTask(paths_, tuple(analyses), options)
        return GroupTask(paths_, tuple(analyses), options, skip=skip)

    def advance(group: tuple[SourceFile, ...]) -> None:
        if progress is None:
            return
        with lock:
            done["files"] += len(group)
            done["bytes"] += sum(f.size for f in group)
            report()

    def counted() -> None:
        if not with_records:
            return
        with lock:
            done["records"] = stats.records_seen
            report()

    if progress is not None:
        report()
    own = executor is None
    if executor is None and options.dask is not None:
        from kmslog.run.dask_executor import dask_executor

        executor = dask_executor(options.dask)
    prefetch = None
    if executor is None and options.engine == "native":
        from kmslog.run.prefetch import ITEM_BYTES, Prefetch

        threads = options.jobs or default_jobs()
        columns = needed_columns(tuple(analyses))
        prefetch = Prefetch(
            batches,
            columns,
            options.max_decompressed_bytes,
            threads,
            item_bytes=min(ITEM_BYTES, group_bytes // 2),
        )
        executor = SerialExecutor()
    if executor is None:
        executor = make_executor(_jobs_for(options, files, len(batches)))
    pool = executor
    states = [a.start() for a in analyses]
    # The fold loop unpickles and combines states made of many small objects
    # that never form cycles: collector passes over them are pure cost (as in
    # ``process_group``).
    collecting = gc.isenabled()
    gc.disable()
    # Group index per key: where to look for the first record of a conflict.
    seen_keys = HashSet(tagged=True)
    seen_contents = HashSet()
    if prior is not None:
        seen_keys.add(prior.keys, tag=PRIOR)
        seen_contents.add(prior.contents)
    futures: dict[int, Future[GroupOutcome]] = {}
    try:
        if not isinstance(pool, SerialExecutor):
            # Largest first so no worker is left with one big group at the end.
            order = sorted(range(len(batches)), key=lambda i: -sum(f.size for f in batches[i]))
            for i in order:
                futures[i] = pool.submit(process_group, task(batches[i]))
                futures[i].add_done_callback(_advancing(advance, batches[i]))
        for i, group in enumerate(batches):
            future = futures.pop(i, None)
            decoded = None if prefetch is None else prefetch.group(i)
            if future is None:
                future = pool.submit(process_group, task(group), decoded)
                advance(group)
            outcome = future.result()
            overlap = seen_keys.intersect(outcome.hashes)
            if len(overlap):
                # Keys these files share with earlier ones: re-read them knowing what
                # the earlier groups kept, so an earlier copy of the same record wins
                # and a different record under the same key is kept and counted as a
                # conflict, exactly as a serial run in this order would.
                skip = Earlier(overlap, seen_contents.intersect(outcome.contents))
                outcome = process_group(task(group, skip), decoded)
            if prefetch is not None:
                outcome.states = _detached(outcome.states)
            states = _absorb(stats, outcome, analyses, states, options.strict)
            counted()
            seen_keys.add(outcome.hashes, tag=i)
            seen_contents.add(outcome.contents)
        _locate_firsts(pool, stats, seen_keys, batches, analyses, options)
    finally:
        for future in futures.values():
            future.cancel()
        if prefetch is not None:
            prefetch.close()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)
        if collecting:
            gc.enable()
    return RunResult(stats, {a.name: a.finish(s) for a, s in zip(analyses, states, strict=True)})


def _detached(states: list[Any]) -> list[Any]:
    """The states as a worker process would send them: copies. A state that keeps
    a few rows of a frame (evidence) otherwise keeps the whole decoded batch
    those rows point into alive, and memory would grow with the input."""
    return pickle.loads(pickle.dumps(states, protocol=pickle.HIGHEST_PROTOCOL))


def _absorb(
    stats: IngestStats,
    outcome: GroupOutcome,
    analyses: Sequence[Analysis[Any, Any]],
    states: list[Any],
    strict: bool,
) -> list[Any]:
    if strict and outcome.problems:
        raise StrictError(outcome.problems[0])
    stats.files_read += outcome.files_read
    stats.files_failed += outcome.files_failed
    stats.records_seen += outcome.seen
    stats.records_kept += outcome.kept
    stats.records_duplicate += outcome.duplicates
    stats.records_out_of_window += outcome.out_of_window
    stats.records_rejected += outcome.rejected
    stats.event_id_conflicts += outcome.conflicts
    room = MAX_CONFLICT_DETAILS - len(stats.conflicts)
    stats.conflicts.extend(outcome.conflict_details[: max(room, 0)])
    for source, n in outcome.duplicate_sources.items():
        stats.duplicates_by_source[source] = stats.duplicates_by_source.get(source, 0) + n
    _record(stats, outcome.problems)
    return [a.combine(s, o) for a, s, o in zip(analyses, states, outcome.states, strict=True)]


def _locate_firsts(
    pool: Executor,
    stats: IngestStats,
    seen_keys: HashSet,
    batches: Sequence[tuple[SourceFile, ...]],
    analyses: Sequence[Analysis[Any, Any]],
    options: ScanOptions,
) -> None:
    """Fill in where the first record of each kept conflict detail is, when it is
    in another group than the conflict (or an earlier batch of it): the group
    that first kept the key is re-read (at most one read per such group, in the
    pool: the details are capped, so this is bounded whatever the input)."""
    missing = [i for i, c in enumerate(stats.conflicts) if c.first_source is None]
    if not missing:
        return
    keys = key_hashes([(stats.conflicts[i].account, stats.conflicts[i].event_id) for i in missing])
    key_of = {i: int(key) for i, key in zip(missing, keys, strict=True)}
    wanted: dict[int, list[int]] = defaultdict(list)
    for i, group in zip(missing, seen_keys.tags(keys), strict=True):
        if 0 <= group < len(batches):
            wanted[int(group)].append(i)
    reads: dict[int, Future[GroupOutcome]] = {}
    for group, indexes in sorted(wanted.items()):
        paths = tuple(f.path for f in batches[group])
        locate = np.array([key_of[i] for i in indexes], dtype=np.uint64)
        reads[group] = pool.submit(
            process_group, GroupTask(paths, tuple(analyses), options, locate=locate)
        )
    for group, indexes in wanted.items():
        found = reads[group].result().firsts
        for i in indexes:
            where = found.get(key_of[i])
            if where is not None:
                stats.conflicts[i] = replace(
                    stats.conflicts[i], first_source=where[0], first_position=where[1]
                )
