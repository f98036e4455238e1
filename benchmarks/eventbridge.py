"""``kmslog scan`` replaying 10 EventBridge rules vs the same scan without them.

    python -m tools.ctgen corpus --out benchmarks/corpus-1m --events 1000000
    python benchmarks/eventbridge.py benchmarks/corpus-1m [--repeat 3] [--jobs N]

(or the corpus ``benchmarks/ingest.py`` writes: benchmarks/.work/ingest/c1000000-s1/logs).

"Without" is a scan's summary and detections folds (the built-in metric filters,
alarms and key-material check); "with" adds the EventBridge fold with the four
built-in EventBridge rules and six more patterns of the kinds teams deploy for KMS
(every one compiled to polars: the run reports how many rows the reference matcher
had to decide). Runs are interleaved; the median and the minimum of wall and CPU
time are reported. Target: with <= 1.2x without.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.runs import timed  # noqa: E402
from kmslog.analyses.detections import DetectionsAnalysis  # noqa: E402
from kmslog.analyses.eventbridge import EventBridgeAnalysis  # noqa: E402
from kmslog.analyses.summary import SummaryAnalysis  # noqa: E402
from kmslog.eventbridge.rules import EventRule, make_event_rule  # noqa: E402
from kmslog.metrics.loaders import builtin_rules  # noqa: E402
from kmslog.run.api import ScanOptions  # noqa: E402

EXTRA = (
    '{"source": ["aws.kms"], "detail-type": ["AWS API Call via CloudTrail"], '
    '"detail": {"eventName": ["PutKeyPolicy", "CreateGrant", "RevokeGrant"]}}',
    '{"source": ["aws.kms"], "detail": {"errorCode": [{"exists": true}]}}',
    '{"source": ["aws.events"], "detail": {"eventName": ["DisableRule", "DeleteRule", '
    '"RemoveTargets"]}}',
    '{"source": ["aws.monitoring"], "detail": {"eventName": ["DeleteAlarms", '
    '"DisableAlarmActions"]}}',
    '{"source": ["aws.kms"], "detail": {"eventName": [{"prefix": "Schedule"}, '
    '"CancelKeyDeletion"]}}',
    '{"detail-type": ["AWS API Call via CloudTrail"], "detail": {"userIdentity": {"type": '
    '["Root"]}}}',
)


def ten_rules() -> tuple[EventRule, ...]:
    extra = tuple(
        make_event_rule(f"bench-{i}", name=f"bench-{i}", pattern=p) for i, p in enumerate(EXTRA)
    )
    return builtin_rules().event_rules + extra


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    paths, options = [args.corpus], ScanOptions(jobs=args.jobs)
    rules = builtin_rules()
    event_rules = ten_rules()
    assert len(event_rules) == 10

    def without() -> list:
        return [SummaryAnalysis(), DetectionsAnalysis(rules=rules)]

    bare_runs, eb_runs, bare_cpu, eb_cpu = [], [], [], []
    result = None
    for _ in range(args.repeat):
        # Both configurations run with nothing of an earlier run alive.
        result = None
        seconds, cpu, _ = timed(paths, without(), options)
        bare_runs.append(seconds)
        bare_cpu.append(cpu)
        seconds, cpu, result = timed(paths, [*without(), EventBridgeAnalysis(event_rules)], options)
        eb_runs.append(seconds)
        eb_cpu.append(cpu)
    assert result is not None
    records = result.stats.records_kept
    found = result.results["eventbridge"]
    print(f"corpus {args.corpus}: {records:,} records kept, {result.stats.files_read} files")
    print(
        f"EventBridge rules: {len(event_rules)}; {found.matches.height} matches, "
        f"{found.silent.height} not delivered, {found.decided_by_reference} rows decided "
        "by the reference matcher"
    )
    bare, full = statistics.median(bare_runs), statistics.median(eb_runs)
    print(f"without: median {bare:.2f} s  runs {[round(s, 2) for s in bare_runs]}")
    print(f"with:    median {full:.2f} s  runs {[round(s, 2) for s in eb_runs]}")
    print(f"ratio with / without (wall): {full / bare:.2f}x (target <= 1.2x)")
    cpu_bare, cpu_full = statistics.median(bare_cpu), statistics.median(eb_cpu)
    print(f"CPU seconds: without median {cpu_bare:.2f}, with median {cpu_full:.2f}")
    print(f"ratio with / without (CPU): {cpu_full / cpu_bare:.2f}x")
    # On a shared machine the least disturbed run of each is the other honest view.
    print(
        f"min of {args.repeat}: wall {min(eb_runs) / min(bare_runs):.2f}x "
        f"({min(bare_runs):.2f} s / {min(eb_runs):.2f} s), CPU {min(eb_cpu) / min(bare_cpu):.2f}x "
        f"({min(bare_cpu):.2f} s / {min(eb_cpu):.2f} s)"
    )
    print(
        f"CPU runs: without {[round(s, 2) for s in bare_cpu]}, with {[round(s, 2) for s in eb_cpu]}"
    )
    print(f"throughput: without {records / bare:,.0f} rec/s, with {records / full:,.0f} rec/s")


if __name__ == "__main__":
    main()
