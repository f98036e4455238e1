"""``kmslog scan``'s folds on a Dask LocalCluster (2 worker processes, one thread each)
beside the same run with ``--jobs 2`` on this machine, in one process, interleaved.

    python -m tools.ctgen corpus --out benchmarks/corpus-1m --events 1000000
    python benchmarks/dask_cluster.py benchmarks/corpus-1m [--repeat 3] [--workers 2]

(or the corpus ``benchmarks/ingest.py`` writes: benchmarks/.work/ingest/c1000000-s1/logs).

Both runs use the same analyses (summary + detections: every built-in metric filter and
alarm) and give identical results (checked). The cluster is started once, before the
timed runs, as it would be in use; the figures are wall seconds and events per second.
CPU time is not comparable: the cluster's worker processes are not children of this one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kmslog.analyses.detections import DetectionsAnalysis  # noqa: E402
from kmslog.analyses.summary import SummaryAnalysis  # noqa: E402
from kmslog.findings.collect import findings_of  # noqa: E402
from kmslog.run.api import ScanOptions  # noqa: E402
from kmslog.run.dask_executor import DaskExecutor  # noqa: E402
from kmslog.run.executor import run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", default=None)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    analyses = [SummaryAnalysis(), DetectionsAnalysis()]
    jobs = ScanOptions(jobs=args.workers, engine=args.engine)
    on_cluster = ScanOptions(engine=args.engine)
    times: dict[str, list[float]] = {"jobs": [], "dask": []}
    records = 0
    try:
        for _ in range(args.repeat):
            start = time.perf_counter()
            local = run([args.corpus], analyses, jobs)
            times["jobs"].append(time.perf_counter() - start)
            executor = DaskExecutor(Client(cluster.scheduler_address))
            start = time.perf_counter()
            try:
                remote = run([args.corpus], analyses, on_cluster, executor=executor)
            finally:
                executor.shutdown()
            times["dask"].append(time.perf_counter() - start)
            if (
                remote.stats != local.stats
                or remote.results["summary"] != local.results["summary"]
                or findings_of(remote.results.values()) != findings_of(local.results.values())
            ):
                raise SystemExit("the cluster's result differs from --jobs")
            records = local.stats.records_kept
    finally:
        cluster.close()
    print(f"corpus {args.corpus}: {records:,} records kept, {args.repeat} runs each")
    print("| run | wall median | wall min | events/s (median) |")
    print("|---|---|---|---|")
    for name, label in (
        ("jobs", f"--jobs {args.workers}"),
        ("dask", f"--dask local:{args.workers}"),
    ):
        median = statistics.median(times[name])
        print(f"| {label} | {median:.2f} s | {min(times[name]):.2f} s | {records / median:,.0f} |")


if __name__ == "__main__":
    main()
