"""``kmslog scan`` and ``kmslog filter`` from a Parquet store vs from the gzip files.

    python -m tools.ctgen corpus --out benchmarks/.work/store/c200000 --events 200000 --seed 1
    python benchmarks/store.py benchmarks/.work/store/c200000 [--repeat 3] [--jobs N]

The store is made once (``kmslog ingest CORPUS --store CORPUS.store``, timed) unless it
already exists. Each command then runs as a user runs it, a fresh ``kmslog`` process
(its wall time, CPU time and peak RSS measured with ``wait4``), from the gzip files and
from the store, interleaved: the full ``scan`` (every built-in section, JSON out), and
``filter`` with a pattern whose selector has no typed column (so every record's text is
parsed). The outputs of each pair are compared: they must be identical. Sizes on disk
of the corpus (log files only) and of the store are reported. Target: >= 5x faster.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# requestParameters.keyId has no typed column: the pattern engine parses ``raw``.
FILTER = '{ $.requestParameters.keyId = "alias/search" }'


def kmslog(*args: str) -> tuple[float, float, int, str]:
    """Wall s, CPU s, peak RSS (MiB) and a digest of stdout of one ``kmslog`` run."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kmslog", *args, "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    digest = hashlib.sha256(proc.stdout.read()).hexdigest()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    assert proc.returncode in (0, 1), (args, proc.returncode)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, digest


def size_of(root: Path, suffixes: tuple[str, ...]) -> int:
    return sum(
        (Path(d) / n).stat().st_size
        for d, _, names in os.walk(root)
        for n in names
        if n.endswith(suffixes)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    corpus = Path(args.corpus)
    store = corpus.with_name(corpus.name + ".store")
    jobs = [] if args.jobs is None else ["--jobs", str(args.jobs)]
    if not store.exists():
        wall, cpu, rss, _ = kmslog("ingest", str(corpus), "--store", str(store), *jobs)
        print(f"ingest: {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {rss} MiB")
    gz = size_of(corpus, (".json.gz",))
    parquet = size_of(store / "data", (".parquet",))
    print(
        f"size: gzip {gz / 2**20:.1f} MiB, store {parquet / 2**20:.1f} MiB "
        f"({parquet / gz:.2f}x the gzip)"
    )
    commands = {
        "scan": ["scan", "--format", "json", "--fail-on", "none", *jobs],
        "filter": ["filter", FILTER, "--format", "json", *jobs],
    }
    for name, command in commands.items():
        runs: dict[str, list[tuple[float, float, int]]] = {"gzip": [], "store": []}
        digests: dict[str, set[str]] = {"gzip": set(), "store": set()}
        for _ in range(args.repeat):
            for source, where in (("gzip", [str(corpus)]), ("store", ["--store", str(store)])):
                wall, cpu, rss, digest = kmslog(*command, *where)
                runs[source].append((wall, cpu, rss))
                digests[source].add(digest)
        same = digests["gzip"] == digests["store"] and len(digests["gzip"]) == 1
        print(f"{name}: outputs identical: {same}")
        for source, measured in runs.items():
            walls = [m[0] for m in measured]
            print(
                f"  {source:5}: wall median {statistics.median(walls):.2f} s "
                f"(min {min(walls):.2f}), CPU median "
                f"{statistics.median(m[1] for m in measured):.2f} s, "
                f"peak RSS {max(m[2] for m in measured)} MiB"
            )
        gzip_wall = statistics.median(m[0] for m in runs["gzip"])
        store_wall = statistics.median(m[0] for m in runs["store"])
        print(f"  speed-up (median wall): {gzip_wall / store_wall:.1f}x (target >= 5x)")
    read_only(corpus, store, args.repeat, args.jobs)
    duckdb_query(corpus, store, args.repeat)


def read_only(corpus: Path, store: Path, repeat: int, jobs: int | None) -> None:
    """The part of a run the store replaces, in this process (no start-up): read,
    select, dedup and one light fold (the scan summary)."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.runs import timed
    from kmslog.analyses.summary import SummaryAnalysis
    from kmslog.run.api import ScanOptions

    options = ScanOptions(jobs=jobs)
    walls: dict[str, list[float]] = {"gzip": [], "store": []}
    for _ in range(repeat):
        for source, path in (("gzip", str(corpus)), ("store", f"store://{store}")):
            seconds, _, result = timed([path], [SummaryAnalysis()], options)
            walls[source].append(seconds)
    g, st = statistics.median(walls["gzip"]), statistics.median(walls["store"])
    print(
        f"read + dedup + summary fold, in process: gzip {g:.2f} s, store {st:.2f} s "
        f"({g / st:.1f}x); {result.stats.records_kept:,} records"
    )


def duckdb_query(corpus: Path, store: Path, repeat: int) -> None:
    """KMS calls by event name: DuckDB on the store vs the kmslog scan that reports it."""
    try:
        import duckdb
    except ImportError:
        print("duckdb: not installed (pip install 'kmslog[bench]')")
        return
    query = (
        "SELECT event_name, count(*), count(error_code) FROM read_parquet(?, "
        "hive_partitioning = true) WHERE event_source = 'kms.amazonaws.com' GROUP BY 1"
    )
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        duckdb.connect().execute(query, [f"{store}/data/**/*.parquet"]).fetchall()
        walls.append(time.perf_counter() - start)
    print(
        f"duckdb, KMS calls by event name from the store: median {statistics.median(walls):.3f} s"
    )


if __name__ == "__main__":
    main()
