"""Peak memory of baseline learning on a 1x and a 4x corpus (same days, 4x the events).

Streaming learning keeps daily aggregates only, so its peak RSS should stay flat as
the corpus grows. The peer in the same run is the same feature extraction done the
usual way: gather every event, then aggregate once (memory grows with the corpus).
Each measurement runs in a fresh process (``--child``) and reports its own peak RSS.

    python -m benchmarks.baseline_memory [--events 250000] [--factor 4] [--days 28]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from kmslog.analyses.baseline import BaselineLearner
from kmslog.baseline import features as F
from kmslog.baseline.profile import Profile
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run

HERE = Path(__file__).parent


@dataclass
class _All:
    frames: list[pl.DataFrame] = field(default_factory=list)


@dataclass(frozen=True)
class GatherThenAggregate:
    """The peer: keep every (slimmed) event, aggregate at the end."""

    name: str = "gather"

    def start(self) -> _All:
        return _All()

    def update(self, state: _All, frame: pl.DataFrame) -> _All:
        state.frames.append(F.slim(frame))
        return state

    def combine(self, a: _All, b: _All) -> _All:
        return _All([*a.frames, *b.frames])

    def finish(self, state: _All) -> Profile:
        everything = pl.concat(state.frames, how="vertical_relaxed")
        obs, ser = F.extract(everything)
        return Profile(
            F.compact_observations(obs),
            F.compact_series(ser),
            everything.get_column("event_time").min(),  # type: ignore[arg-type]
            everything.get_column("event_time").max(),  # type: ignore[arg-type]
            everything.height,
        )


def child(kind: str, corpus: str) -> None:
    analysis = BaselineLearner() if kind == "streaming" else GatherThenAggregate()
    t = time.perf_counter()
    result = run([corpus], [analysis], ScanOptions(jobs=1))
    seconds = time.perf_counter() - t
    profile: Profile = result.results[analysis.name]
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "kind": kind,
                "corpus": corpus,
                "events": profile.events,
                "seconds": round(seconds, 1),
                "peak_rss_mb": round(rss_kb / 1024, 1),
                "profile_rows": profile.obs.height + profile.series.height,
            }
        )
    )


def ensure_corpus(out: Path, events: int, days: int, seed: int) -> None:
    if out.is_dir() and any(out.rglob("*.json.gz")):
        return
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.ctgen",
            "corpus",
            "--out",
            str(out),
            "--events",
            str(events),
            "--days",
            str(days),
            "--seed",
            str(seed),
        ],
        check=True,
    )


def measure(kind: str, corpus: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.baseline_memory", "--child", kind, str(corpus)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=250_000)
    ap.add_argument("--factor", type=int, default=4)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("KIND", "CORPUS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    small = HERE / f"corpus-baseline-{args.events}"
    big = HERE / f"corpus-baseline-{args.events * args.factor}"
    ensure_corpus(small, args.events, args.days, args.seed)
    ensure_corpus(big, args.events * args.factor, args.days, args.seed)
    rows = [measure(kind, c) for kind in ("streaming", "gather") for c in (small, big)]
    big_events = args.events * args.factor
    print(f"{args.days} days; 1x = {args.events:,} events, {args.factor}x = {big_events:,}")
    print()
    print("| learner | corpus | events | seconds | peak RSS (MB) | profile rows |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['kind']} | {Path(str(r['corpus'])).name} | {r['events']:,} | {r['seconds']} | "
            f"{r['peak_rss_mb']} | {r['profile_rows']:,} |"
        )
    for kind in ("streaming", "gather"):
        a, b = (r for r in rows if r["kind"] == kind)
        change = (float(b["peak_rss_mb"]) / float(a["peak_rss_mb"]) - 1) * 100  # type: ignore[arg-type]
        print(f"\n{kind}: peak RSS {args.factor}x vs 1x: {change:+.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
