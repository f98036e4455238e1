"""Lifecycle of one key vs a bare ingest of the same corpus, in the same run.

    python -m tools.ctgen corpus --out benchmarks/corpus-1m --events 1000000
    python benchmarks/lifecycle.py benchmarks/corpus-1m [--repeat 3] [--jobs N]

The bare ingest is a scan with only the summary fold; the lifecycle run is what
``kmslog lifecycle KEY`` does (the lifecycle fold alone, the full result built).
The key is the busiest one in the corpus (most records), found by an ``--all``
lifecycle run that is timed too. Runs are interleaved and the median is kept.
Target: lifecycle of one key < 2x the bare ingest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runs import cpu_seconds, timed  # noqa: E402
from kmslog.analyses.lifecycle import LifecycleAnalysis  # noqa: E402
from kmslog.analyses.summary import SummaryAnalysis  # noqa: E402
from kmslog.run.api import ScanOptions  # noqa: E402
from kmslog.run.executor import run  # noqa: E402


@dataclass(frozen=True)
class Collect:
    """Keeps the frames a run decodes, to time a fold apart from decoding."""

    name: str = "collect"

    def start(self) -> list:
        return []

    def update(self, state: list, frame: object) -> list:
        state.append(frame)
        return state

    def combine(self, a: list, b: list) -> list:
        return a + b

    def finish(self, state: list) -> list:
        return state


def fold_cost(corpus: str, files: int, key: str) -> None:
    """Decode the first files once, then time the lifecycle fold alone over the frames:
    the share of the lifecycle run that is the analysis, insensitive to machine load."""
    paths = sorted(str(p) for p in Path(corpus).rglob("*.json.gz"))[:files]
    start, cpu = time.perf_counter(), cpu_seconds()
    frames = run(paths, [Collect()], ScanOptions(jobs=1)).results["collect"]
    decode_wall, decode_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    rows = sum(f.height for f in frames)
    for query in (key, None):
        analysis = LifecycleAnalysis(query)
        start, cpu = time.perf_counter(), cpu_seconds()
        state = analysis.start()
        for frame in frames:
            state = analysis.update(state, frame)
        analysis.finish(state)
        wall, used = time.perf_counter() - start, cpu_seconds() - cpu
        label = "one key" if query else "--all"
        print(
            f"fold only, {label}, {rows} rows of {len(paths)} files: {wall:.2f} s wall, "
            f"{used:.2f} s cpu; decoding them: {decode_wall:.2f} s wall, {decode_cpu:.2f} s cpu"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--fold-files", type=int, default=60)
    args = parser.parse_args()
    paths, options = [args.corpus], ScanOptions(jobs=args.jobs)

    all_time, _, all_result = timed(paths, [SummaryAnalysis(), LifecycleAnalysis(None)], options)
    records = all_result.stats.records_kept
    keys = all_result.results["lifecycle"].keys
    busiest = max(keys, key=lambda k: sum(u.count for u in k.usage) + len(k.events))
    key_calls = sum(u.count for u in busiest.usage)
    print(f"corpus {args.corpus}: {records} records kept, {len(keys)} keys")
    print(f"busiest key {busiest.key.arn}: {key_calls} calls, {len(busiest.events)} control events")
    print(f"lifecycle --all (with summary): {all_time:.2f} s")

    fold_cost(args.corpus, args.fold_files, busiest.key.arn)

    ingest, single, ingest_cpu, single_cpu = [], [], [], []
    for _ in range(args.repeat):
        seconds, cpu, _ = timed(paths, [SummaryAnalysis()], options)
        ingest.append(seconds)
        ingest_cpu.append(cpu)
        seconds, cpu, result = timed(paths, [LifecycleAnalysis(busiest.key.arn)], options)
        single.append(seconds)
        single_cpu.append(cpu)
        assert result.results["lifecycle"].keys[0].key.arn == busiest.key.arn
    show = lambda xs: [round(x, 2) for x in xs]  # noqa: E731
    bare, life = statistics.median(ingest), statistics.median(single)
    print(
        f"bare ingest (summary only): wall median {bare:.2f} s min {min(ingest):.2f} s "
        f"runs {show(ingest)}; cpu runs {show(ingest_cpu)}"
    )
    print(
        f"lifecycle of one key:       wall median {life:.2f} s min {min(single):.2f} s "
        f"runs {show(single)}; cpu runs {show(single_cpu)}"
    )
    print(
        f"ratio lifecycle / ingest: wall median {life / bare:.2f}x, wall min "
        f"{min(single) / min(ingest):.2f}x, cpu median "
        f"{statistics.median(single_cpu) / statistics.median(ingest_cpu):.2f}x (target < 2x)"
    )
    print(
        f"throughput (wall min): ingest {records / min(ingest):,.0f} rec/s, "
        f"lifecycle {records / min(single):,.0f} rec/s"
    )


if __name__ == "__main__":
    main()
