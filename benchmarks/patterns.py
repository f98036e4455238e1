"""Filter patterns: the vectorized (polars) evaluator vs the reference evaluator.

    python -m tools.ctgen corpus --out benchmarks/corpus-1m --events 1000000
    python benchmarks/patterns.py benchmarks/corpus-1m [--sample 100000] [--write]

The corpus is ingested once (not timed) into one event frame. For each pattern
the vectorized path runs over every event (best of 3); the reference evaluator
(``p.matches(raw)`` in a Python loop) runs over the first ``--sample`` events and
its time is extrapolated linearly to the whole corpus. Both must find the same
matches on the sample. Target: vectorized >= 20x faster. ``--write`` replaces
the "Filter patterns" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kmslog.decode import schema as S  # noqa: E402
from kmslog.patterns import parse  # noqa: E402
from kmslog.run.api import ScanOptions  # noqa: E402
from kmslog.run.executor import run  # noqa: E402

PATTERNS = {
    "pending deletion (KMS guide)": (
        '{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}'
    ),
    "CIS 4.7": (
        "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey) || "
        "($.eventName=ScheduleKeyDeletion))}"
    ),
    "deep selector, no typed column, frequent value": (
        '{ $.requestParameters.keySpec = "AES_256" }'
    ),
    "deep selector, no typed column, rare value": '{ $.tlsDetails.tlsVersion = "TLSv1.2" }',
    "deep selector, no typed column, frequent value (2)": (
        '{ $.tlsDetails.tlsVersion = "TLSv1.3" }'
    ),
    "CIS 1.x root usage": (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }'
    ),
    "numeric, deep": "{ $.requestParameters.pendingWindowInDays < 30 }",
    "terms": "?DisableKey ?ScheduleKeyDeletion",
}
RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Filter patterns"


@dataclass
class Collect:
    """A fold that keeps every frame (benchmark only)."""

    name: str = "collect"
    columns: tuple[str, ...] = field(default=())

    def start(self) -> list[pl.DataFrame]:
        return []

    def update(self, state: list[pl.DataFrame], frame: pl.DataFrame) -> list[pl.DataFrame]:
        return state + [frame]

    def combine(self, a: list[pl.DataFrame], b: list[pl.DataFrame]) -> list[pl.DataFrame]:
        return a + b

    def finish(self, state: list[pl.DataFrame]) -> pl.DataFrame:
        return pl.concat(state, how="vertical", rechunk=True)


def best_of(n: int, fn) -> float:  # noqa: ANN001
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--sample", type=int, default=100_000)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    frame: pl.DataFrame = run([str(args.corpus)], [Collect()], ScanOptions(jobs=1)).results[
        "collect"
    ]
    ingest = time.perf_counter() - t0
    n = frame.height
    sample = frame.head(args.sample)
    raws = sample[S.RAW].to_list()
    print(
        f"{n:,} events ingested in {ingest:.1f} s; reference sample {len(raws):,} events",
        flush=True,
    )

    rows = []
    for label, text in PATTERNS.items():
        p = parse(text)
        expr = p.to_polars()
        vector_hits = frame.select(expr.sum()).item()
        sample_vector = sample.select(expr.alias("m"))["m"].to_list()
        sample_reference = [p.matches(r) for r in raws]
        assert sample_vector == sample_reference, f"{label}: evaluators disagree"
        vec = best_of(3, lambda e=expr: frame.select(e.sum()).item())
        ref_sample = best_of(1, lambda p=p: [p.matches(r) for r in raws])
        ref = ref_sample * n / len(raws)
        rows.append((label, text, vector_hits, vec, ref, ref / vec))
        print(
            f"{label:40s} hits={vector_hits:>8,} vectorized={vec:7.3f}s "
            f"reference≈{ref:7.1f}s speedup={ref / vec:6.1f}x"
        )

    table = [
        "| pattern | matches | vectorized (all events) | reference loop (extrapolated) | speedup |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, text, hits, vec, ref, ratio in rows:
        shown = text.replace("|", "\\|")
        table.append(
            f"| {label}: `{shown}` | {hits:,} | {vec:.3f} s | {ref:.1f} s | {ratio:.0f}x |"
        )
    section = "\n".join(
        [
            HEADING,
            "",
            f"`python benchmarks/patterns.py {args.corpus}` — {n:,} events from "
            "`python -m tools.ctgen corpus --events 1000000`, ingested once into one frame "
            f"(not timed; {ingest:.0f} s). Vectorized: `frame.select(p.to_polars().sum())`, "
            f"best of 3, over every event. Reference: `p.matches(raw)` in a Python loop over the "
            f"first {len(raws):,} events, extrapolated linearly to {n:,} (measured in the same "
            "run; both evaluators give identical results on that sample). "
            f"Machine: {platform.machine()}, Python {platform.python_version()}, "
            f"polars {pl.__version__}. Target: >= 20x.",
            "",
            *table,
            "",
            "Reading: conditions on typed columns (the two seed patterns) never touch `raw`. "
            "A deep selector without a typed column reads the JSON path only on candidate "
            "rows — records whose text names the property and, for `=`, contains the value's "
            "literal text. `str.json_path_match` costs more per row than `orjson.loads`, so "
            "the speedup falls roughly in proportion to the share of candidate rows: the "
            "target holds when few records carry the property/value (rare value, numeric "
            "deep, root usage) and is missed, at about 2-5x, when a quarter to a half "
            'of all records carry it (`keySpec = "AES_256"` on every GenerateDataKey, '
            '`tlsVersion = "TLSv1.3"`).',
            "",
        ]
    )
    print()
    print(section)
    if args.write:
        existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
        pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
        if pattern.search(existing):
            updated = pattern.sub(lambda _m: section + "\n", existing)
        else:
            updated = existing.rstrip("\n") + "\n\n" + section
        RESULTS.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
