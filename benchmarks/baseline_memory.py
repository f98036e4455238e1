"""Peak memory of baseline learning on a 1x and a 4x corpus over the same 28 days.

Streaming learning keeps daily aggregates only, so its peak RSS should stay flat as
the number of events grows. The peer in the same run is the same feature extraction
done the usual way: gather every event, then aggregate once.

Corpora (``python -m tools.ctgen corpus``; each file is one random 5-minute window of
one account-region):

* ``1x``: N events in files of ~2,500 records (the generator's default);
* ``4x``: 4N events, same file sizes, four times as many files (four times as many
  sampled windows, so also more distinct (entity, value, day, hour) combinations,
  which the profile keeps: it grows, the learner's memory should not);
* ``4x big files``: 4N events in the same number of files of ~10,000 records: the
  reader then holds four times bigger files, which the "read only" floor shows.

A "read only" fold (count events) gives the reader's own floor in the same run.

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


@dataclass(frozen=True)
class CountOnly:
    """Reading alone: the floor every learner stands on."""

    name: str = "count"

    def start(self) -> int:
        return 0

    def update(self, state: int, frame: pl.DataFrame) -> int:
        return state + frame.height

    def combine(self, a: int, b: int) -> int:
        return a + b

    def finish(self, state: int) -> Profile:
        return Profile(events=state)


def child(kind: str, corpus: str) -> None:
    analysis = {
        "streaming": BaselineLearner,
        "gather": GatherThenAggregate,
        "read only": CountOnly,
    }[kind]()
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


def ensure_corpus(out: Path, events: int, days: int, seed: int, per_file: int) -> None:
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
            "--mean-per-file",
            str(per_file),
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
    big_events = args.events * args.factor
    corpora = {
        "1x": (HERE / f"corpus-baseline-{args.events}", args.events, 2500),
        f"{args.factor}x": (HERE / f"corpus-baseline-{big_events}", big_events, 2500),
        f"{args.factor}x big files": (
            HERE / f"corpus-baseline-{big_events}-dense",
            big_events,
            2500 * args.factor,
        ),
    }
    for path, events, per_file in corpora.values():
        ensure_corpus(path, events, args.days, args.seed, per_file)
    plan = [("read only", name) for name in corpora] + [("streaming", name) for name in corpora]
    plan += [
        ("gather", "1x"),
        ("gather", f"{args.factor}x"),
    ]
    rows = [(kind, name, measure(kind, corpora[name][0])) for kind, name in plan]
    print(f"{args.days} days; 1x = {args.events:,} events, {args.factor}x = {big_events:,}")
    print()
    print("| learner | corpus | files | events | seconds | peak RSS (MB) | vs 1x | profile rows |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    base = {kind: float(r["peak_rss_mb"]) for kind, name, r in rows if name == "1x"}  # type: ignore[arg-type]
    for kind, name, r in rows:
        files = sum(1 for _ in corpora[name][0].rglob("*.json.gz"))
        change = (float(r["peak_rss_mb"]) / base[kind] - 1) * 100  # type: ignore[arg-type]
        print(
            f"| {kind} | {name} | {files} | {r['events']:,} | {r['seconds']} | "
            f"{r['peak_rss_mb']} | {change:+.1f}% | {r['profile_rows']:,} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
