"""``kmslog scan`` with the blind-spot fold vs the same scan without it.

    python -m tools.ctgen corpus --out benchmarks/corpus-1m --events 1000000
    python benchmarks/blind_spots.py benchmarks/corpus-1m [--repeat 5] [--jobs N]

(or the corpus ``benchmarks/ingest.py`` writes: benchmarks/.work/ingest/c1000000-s1/logs).

"Without" is a scan's summary and detections folds (the built-in metric filters,
alarms and key-material check); "with" adds ``BlindSpotAnalysis()`` (trail and
destination rows kept, the delivery cadence's minutes and hours per account-Region).
Runs are interleaved, nothing of an earlier run is kept alive during the next; the
median and the minimum of wall and CPU time are reported. A last, untimed run says
how many rows the fold kept and what it found. Target: with <= 1.10x without.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runs import timed  # noqa: E402
from kmslog.analyses.blind_spots import (  # noqa: E402
    BlindSpotAnalysis,
    BlindSpots,
    BlindSpotState,
)
from kmslog.analyses.detections import DetectionsAnalysis  # noqa: E402
from kmslog.analyses.summary import SummaryAnalysis  # noqa: E402
from kmslog.blindspots import gaps  # noqa: E402
from kmslog.metrics.loaders import builtin_rules  # noqa: E402
from kmslog.run.api import ScanOptions  # noqa: E402

TARGET = 1.10


@dataclass(frozen=True)
class Counted:
    """What the fold held at its end, beside what it found."""

    rows: int
    minutes: int
    hours: int
    found: BlindSpots


@dataclass(frozen=True)
class CountingBlindSpots(BlindSpotAnalysis):
    """The fold itself, its result wrapped with the sizes of its final state."""

    def finish(self, state: BlindSpotState) -> Counted:  # type: ignore[override]
        arrivals = gaps.merge_all(state.arrivals)
        return Counted(
            rows=len(state.rows),
            minutes=arrivals.minutes.height,
            hours=arrivals.hours.height,
            found=super().finish(state),
        )


def _rounded(values: list[float]) -> list[float]:
    return [round(v, 2) for v in values]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    paths, options = [args.corpus], ScanOptions(jobs=args.jobs)
    rules = builtin_rules()

    def without() -> list[Any]:
        return [SummaryAnalysis(), DetectionsAnalysis(rules=rules)]

    bare_runs: list[float] = []
    bs_runs: list[float] = []
    bare_cpu: list[float] = []
    bs_cpu: list[float] = []
    for _ in range(args.repeat):
        # Each run's result is dropped at once: nothing of it alive during the next.
        seconds, cpu, _ = timed(paths, without(), options)
        bare_runs.append(seconds)
        bare_cpu.append(cpu)
        seconds, cpu, _ = timed(paths, [*without(), BlindSpotAnalysis()], options)
        bs_runs.append(seconds)
        bs_cpu.append(cpu)

    _, _, result = timed(paths, [*without(), CountingBlindSpots()], options)
    counted = result.results["blind_spots"]
    assert isinstance(counted, Counted)
    found = counted.found
    records = result.stats.records_kept
    print(f"corpus {args.corpus}: {records:,} records kept, {result.stats.files_read} files")
    print(
        f"blind-spot fold: {counted.rows} rows kept, {counted.minutes:,} occupied minutes, "
        f"{counted.hours:,} occupied hours; {len(found.windows)} windows, "
        f"{len(found.incidents)} incidents, {len(found.gaps)} gaps, "
        f"{len(found.missing_regions)} missing Regions"
    )
    bare, full = statistics.median(bare_runs), statistics.median(bs_runs)
    print(f"without: median {bare:.2f} s  runs {_rounded(bare_runs)}")
    print(f"with:    median {full:.2f} s  runs {_rounded(bs_runs)}")
    print(f"ratio with / without (wall): {full / bare:.2f}x (target <= {TARGET:.2f}x)")
    cpu_bare, cpu_full = statistics.median(bare_cpu), statistics.median(bs_cpu)
    print(f"CPU seconds: without median {cpu_bare:.2f}, with median {cpu_full:.2f}")
    print(f"ratio with / without (CPU): {cpu_full / cpu_bare:.2f}x")
    # On a shared machine the least disturbed run of each is the other honest view.
    print(
        f"min of {args.repeat}: wall {min(bs_runs) / min(bare_runs):.2f}x "
        f"({min(bare_runs):.2f} s / {min(bs_runs):.2f} s), CPU {min(bs_cpu) / min(bare_cpu):.2f}x "
        f"({min(bare_cpu):.2f} s / {min(bs_cpu):.2f} s)"
    )
    print(f"CPU runs: without {_rounded(bare_cpu)}, with {_rounded(bs_cpu)}")
    print(f"throughput: without {records / bare:,.0f} rec/s, with {records / full:,.0f} rec/s")


if __name__ == "__main__":
    main()
