"""``kmslog scan`` with every built-in detection rule vs a scan with none, same run.

    python -m tools.ctgen corpus --out benchmarks/corpus-1m --events 1000000
    python benchmarks/detections.py benchmarks/corpus-1m [--repeat 3] [--jobs N]

"None" is the scan's summary fold alone; "all" adds the detections fold with the
built-in catalogue (five metric filters, two alarms replayed per account, the
configuration history and the key-material check). Runs are interleaved and the
median is kept; wall time and CPU time (this process and its workers) are both
reported, since CPU time is steadier on a shared machine. Target: all rules <=
1.3x no rules.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runs import timed  # noqa: E402
from kmslog.analyses.detections import DetectionsAnalysis  # noqa: E402
from kmslog.analyses.summary import SummaryAnalysis  # noqa: E402
from kmslog.metrics.loaders import builtin_rules  # noqa: E402
from kmslog.run.api import ScanOptions  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    paths, options = [args.corpus], ScanOptions(jobs=args.jobs)
    rules = builtin_rules()

    bare_runs, rule_runs, bare_cpu, rule_cpu = [], [], [], []
    result = None
    for _ in range(args.repeat):
        seconds, cpu, _ = timed(paths, [SummaryAnalysis()], options)
        bare_runs.append(seconds)
        bare_cpu.append(cpu)
        seconds, cpu, result = timed(
            paths, [SummaryAnalysis(), DetectionsAnalysis(rules=rules)], options
        )
        rule_runs.append(seconds)
        rule_cpu.append(cpu)
    assert result is not None
    records = result.stats.records_kept
    found = result.results["detections"]
    print(f"corpus {args.corpus}: {records:,} records kept, {result.stats.files_read} files")
    print(
        f"rules: {len(rules.filters)} metric filters, {len(rules.alarms)} alarms; "
        f"{found.findings.height} findings, {len(found.alarms)} alarm replays, "
        f"{sum(len(a.transitions) for a in found.alarms)} transitions, "
        f"{len(found.key_material)} expiring key materials"
    )
    bare, full = statistics.median(bare_runs), statistics.median(rule_runs)
    print(f"no rules:  median {bare:.2f} s  runs {[round(s, 2) for s in bare_runs]}")
    print(f"all rules: median {full:.2f} s  runs {[round(s, 2) for s in rule_runs]}")
    print(f"ratio all / none (wall): {full / bare:.2f}x (target <= 1.3x)")
    cpu_bare, cpu_full = statistics.median(bare_cpu), statistics.median(rule_cpu)
    print(f"CPU seconds: none median {cpu_bare:.2f}, all rules median {cpu_full:.2f}")
    # CPU time is what the rules add; wall time also moves with other load on the machine.
    print(f"ratio all / none (CPU): {cpu_full / cpu_bare:.2f}x")
    print(f"throughput: none {records / bare:,.0f} rec/s, all rules {records / full:,.0f} rec/s")


if __name__ == "__main__":
    main()
