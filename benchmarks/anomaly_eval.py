"""Evaluate kmslog anomaly findings on generated traffic with labelled injected scenarios.

Several weeks of background traffic (tools.ctgen) for a generated estate; in the last
weeks, several instances of each scenario type are injected at random times. The same
run scores three detectors on the same events:

* kmslog: ``kmslog baseline`` learned on everything, then ``scan --baseline --since``
  the evaluation window (the profile includes the window; scan excludes it);
* an Insights-style baseline: per account, Region and API, per-minute counts of write
  management calls (ApiCallRateInsight) and of errors per error code
  (ApiErrorRateInsight), against the mean and deviation of the seven days before; its
  sensitivity is tuned for its best F1 in this very run (the most favourable reading,
  since AWS does not publish its thresholds);
* plain first-seen rules: any value never seen before for its entity (principal or
  account for a key, operation for a principal on a key, network for a principal,
  region or service for a key, control-plane operation for a principal, encryption-context
  key for a principal on a key).

A detection is a true positive when its events include a planted event; a scenario is
detected when some detection contains one of its events. Reported: per-scenario-type
recall, time to detect, precision, false positives per 100K background events of the
window, F1 (precision of detections x recall of scenarios).

    python -m benchmarks.anomaly_eval [--seed 7] [--accounts 4] [--regions 3]
        [--baseline-days 28] [--eval-days 14] [--per-type 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from kmslog.analyses.anomalies import AnomalyScan
from kmslog.analyses.baseline import BaselineLearner
from kmslog.baseline import features as F
from kmslog.baseline.thresholds import Thresholds
from kmslog.decode import schema as S
from kmslog.decode.memory import batch_from_records
from tools.ctgen import agents, clock
from tools.ctgen.estate import generic_world
from tools.ctgen.ids import IdSource, seed_of
from tools.ctgen.records import Caller, key_policy, kms_crypto
from tools.ctgen.scenarios import (
    inject_access_denied_probe,
    inject_calls,
    inject_disable_then_delete,
    inject_exfiltration,
    inject_policy_backdoor,
)
from tools.ctgen.traffic import NoiseProfile, background, workload_call, workload_caller
from tools.ctgen.world import Principal, Record, Workload, World, foreign_role, make_key, role

START = clock.epoch("2026-06-01T00:00:00Z")
EXTERNAL = "999988887777"
ATTACKER_IPS = ("185.220.101.47", "45.137.21.9", "194.26.29.113", "91.219.236.174")
CHUNK = 50_000


@dataclass
class Scenario:
    kind: str
    start: int
    events: set[str]


@dataclass
class Detection:
    source: str
    kind: str
    detected_at: int
    events: set[str]


@dataclass
class Scored:
    name: str
    detections: int
    true_positives: int
    false_positives: int
    recall_by_kind: dict[str, tuple[int, int]]
    ttd_by_kind: dict[str, list[float]]
    seconds: float
    settings: str = ""
    fp_examples: list[str] = field(default_factory=list)

    def recall(self) -> float:
        hit = sum(h for h, _ in self.recall_by_kind.values())
        total = sum(n for _, n in self.recall_by_kind.values())
        return hit / total if total else 0.0

    def precision(self) -> float:
        return self.true_positives / self.detections if self.detections else 0.0

    def f1(self) -> float:
        p, r = self.precision(), self.recall()
        return 2 * p * r / (p + r) if p + r else 0.0


# ---------------------------------------------------------------------- scenarios
def _service_roles(world: World, account: str) -> list[Principal]:
    return [
        p
        for key, p in world.principals.items()
        if key.startswith(f"{account}:") and p.kind == "AssumedRole" and p.name.endswith("-service")
    ]


def _direct(world: World, account: str) -> list[Workload]:
    return [
        w
        for w in world.workloads
        if w.key.account_id == account and w.channel == "direct" and w.ips
    ]


def plan_scenarios(
    world: World, rng: random.Random, eval_start: int, eval_end: int, per_type: int
) -> tuple[list[Record], list[Scenario], dict[str, Workload]]:
    """Planted records and scenario labels; also the workloads to silence for dormancy."""
    records: list[Record] = []
    scenarios: list[Scenario] = []
    accounts = [a.account_id for a in world.accounts]
    dormant: dict[str, Workload] = {}

    def when(margin: int = 6 * 3600) -> int:
        return rng.randrange(eval_start + 3600, eval_end - margin)

    def add(kind: str, start: int, recs: list[Record]) -> None:
        records.extend(recs)
        scenarios.append(Scenario(kind, start, {r["eventID"] for r in recs}))

    used_workloads: set[str] = set()
    for i in range(per_type):
        acct = accounts[i % len(accounts)]
        keys = [k for k in world.keys.values() if k.account_id == acct]
        roles = _service_roles(world, acct)
        ids = IdSource("eval-scenario", i, acct)
        # Exfiltration: a never-seen role mass-decrypts from attacker networks.
        t = when()
        key = keys[rng.randrange(len(keys))]
        thief = role(acct, f"tmp-migration-{i}", "migration")
        res = inject_exfiltration(
            ids, key, thief, t, calls=rng.randrange(150, 450), bucket=f"data-{i}"
        )
        add("exfiltration", t, res.records)
        # Key-policy backdoor for an external account, then its use.
        t = when(48 * 3600)
        key = keys[rng.randrange(len(keys))]
        insider = roles[rng.randrange(len(roles))]
        caller = Caller(insider, ip=ATTACKER_IPS[i % len(ATTACKER_IPS)], agent=agents.TERRAFORM)
        res = inject_policy_backdoor(
            ids, key, caller, t, json.loads(key_policy(key)), foreign_role(EXTERNAL, "data-sync")
        )
        add("policy_backdoor", t, res.records)
        # Ransomware-style: data re-encrypted under a key from a foreign account.
        t = when()
        victim = roles[rng.randrange(len(roles))]
        region = key.region
        evil = make_key(f"attacker-{i}", EXTERNAL, region)
        caller = Caller(victim, ip=ATTACKER_IPS[(i + 1) % len(ATTACKER_IPS)], agent=agents.KALI_CLI)
        recs = [
            kms_crypto(ids, t + j * 7, "Encrypt", evil, caller, key_ref=evil.arn)
            for j in range(rng.randrange(40, 120))
        ]
        add("foreign_key_material", t, recs)
        # Disable, then schedule deletion, by a principal who never manages keys.
        t = when()
        key = keys[rng.randrange(len(keys))]
        actor = roles[rng.randrange(len(roles))]
        caller = Caller(actor, ip=ids.private_ip("10.9"), agent=agents.CLI_LINUX)
        res = inject_disable_then_delete(ids, key, caller, t, t + rng.randrange(60, 900))
        add("disable_then_delete", t, res.records)
        # Access-denied probing across keys by a service role.
        t = when()
        prober = roles[rng.randrange(len(roles))]
        caller = Caller(prober, ip=ids.private_ip("10.31"), agent=agents.BOTO3)
        targets = rng.sample(keys, k=min(4, len(keys)))
        res = inject_access_denied_probe(ids, targets, caller, t, calls=rng.randrange(20, 40))
        add("access_denied_probe", t, res.records)
        # A service role used from outside its networks.
        wls = [w for w in _direct(world, acct) if w.name not in used_workloads]
        if wls:
            wl = wls[rng.randrange(len(wls))]
            used_workloads.add(wl.name)
            t = when()
            outside = Caller(
                wl.principal, ip=ATTACKER_IPS[(i + 2) % len(ATTACKER_IPS)], agent=agents.KALI_CLI
            )
            res = inject_calls(
                ids,
                wl,
                t,
                calls=rng.randrange(15, 40),
                seconds=1500,
                kind="off_network",
                caller=outside,
            )
            add("off_network", t, res.records)
        # Use at an hour the principal never works: a weekend night for a payroll-like
        # role that keeps business hours (added to the estate, so it has a baseline).
        key = keys[rng.randrange(len(keys))]
        clerk = role(acct, f"payroll-{i}", "payroll")
        wl = Workload(
            f"payroll-{i}",
            clerk,
            key,
            "direct",
            (("Decrypt", 75.0), ("Encrypt", 25.0)),
            rate=rng.uniform(2.0, 6.0),
            rhythm="business",
            ips=(ids.private_ip("10.4"), ids.private_ip("10.4")),
        )
        world.workloads.append(wl)
        used_workloads.add(wl.name)
        t = when(3 * clock.DAY)
        t = t - t % clock.DAY + rng.randrange(1, 5) * 3600
        while clock.weekday(t) < 5:
            t += clock.DAY
        if t < eval_end:
            res = inject_calls(
                ids, wl, t, calls=rng.randrange(8, 20), seconds=1800, kind="unusual_hour"
            )
            add("unusual_hour", t, res.records)
        # A key used in week one only, revived.
        wls = [
            w for w in world.workloads if w.key.account_id == acct and w.name not in used_workloads
        ]
        wl = wls[rng.randrange(len(wls))]
        used_workloads.add(wl.name)
        # Every workload of that key goes quiet after week one.
        for other in world.workloads:
            if other.key.arn == wl.key.arn:
                dormant[other.name] = other
                used_workloads.add(other.name)
        t = when()
        res = inject_calls(
            ids, wl, t, calls=rng.randrange(20, 40), seconds=1500, kind="dormant_key"
        )
        add("dormant_key", t, res.records)
    return records, scenarios, dormant


# ---------------------------------------------------------------------- quiet scenarios
# Context key names a workload of each channel never sends (encryption_context in traffic.py).
_FOREIGN_CONTEXT: dict[str, str] = {
    "s3": "SecretARN",
    "lambda": "aws:s3:arn",
    "dynamodb": "aws:s3:arn",
    "secretsmanager": "aws:s3:arn",
    "ebs": "aws:s3:arn",
    "direct": "aws:s3:arn",
}


def _foreign_context(ids: IdSource, wl: Workload) -> dict[str, str]:
    acct, region = wl.key.account_id, wl.key.region
    if _FOREIGN_CONTEXT[wl.channel] == "SecretARN":
        return {
            "SecretARN": f"arn:aws:secretsmanager:{region}:{acct}:secret:prod/db-{ids.hex(6)}",
            "SecretVersionId": ids.uuid(),
        }
    return {"aws:s3:arn": f"arn:aws:s3:::backup-{acct}/dump/{ids.hex(8)}.tar"}


def plan_quiet_scenarios(
    world: World,
    seed: int,
    eval_start: int,
    eval_end: int,
    per_type: int,
    busy: set[str],
) -> tuple[list[Record], list[Scenario]]:
    """The quieter attacks, from an RNG stream of their own (the other scenarios do not
    move): a known principal calling its usual key a few times its usual rate for hours
    (below the spike thresholds), and a known principal sending, with its usual key, an
    encryption-context key it never sent. Workloads named in ``busy`` are left alone."""
    rng = random.Random(seed_of("eval-quiet", seed))
    records: list[Record] = []
    scenarios: list[Scenario] = []
    steady = [
        w
        for w in world.workloads
        if w.name not in busy and w.start is None and w.end is None and w.rhythm != "business"
    ]
    risers = sorted((w for w in steady if w.rate >= 2.0), key=lambda w: w.name)
    contexts = sorted(steady, key=lambda w: w.name)
    rng.shuffle(risers)
    rng.shuffle(contexts)
    for i in range(per_type):
        ids = IdSource("eval-quiet", seed, i)
        wl = risers[i % len(risers)]
        hours = rng.randrange(3, 7)
        # Hour-aligned in the window, in the workload's active part of the day.
        day = rng.randrange(eval_start // clock.DAY + 1, eval_end // clock.DAY - 1)
        peak = {"nightly": 1, "flat": rng.randrange(0, 18)}.get(wl.rhythm, 9 + rng.randrange(0, 5))
        t0 = day * clock.DAY + peak * clock.HOUR
        per_hour = int(min(90, max(35, rng.uniform(4.0, 7.0) * wl.rate)))
        recs: list[Record] = []
        for h in range(hours):
            start = t0 + h * clock.HOUR
            times = sorted(start + rng.randrange(clock.HOUR) for _ in range(per_hour))
            recs += [workload_call(ids, t, wl) for t in times]
        records.extend(recs)
        scenarios.append(Scenario("sustained_rise", t0, {r["eventID"] for r in recs}))
        wl = contexts[i % len(contexts)]
        t = rng.randrange(eval_start + 3600, eval_end - 6 * 3600)
        caller = workload_caller(wl, ids)
        ctx = _foreign_context(ids, wl)
        recs = [
            kms_crypto(ids, t + j * rng.randrange(5, 90), "Decrypt", wl.key, caller, context=ctx)
            for j in range(rng.randrange(5, 20))
        ]
        records.extend(recs)
        scenarios.append(Scenario("new_context_key", t, {r["eventID"] for r in recs}))
    return records, scenarios


def benign_drift(world: World, seed: int, start: int, eval_start: int, end: int) -> dict[str, int]:
    """Change that is not an attack, in the background: organic growth (a quarter of the
    workloads grow 1-3 % a day from the first day), autoscaling (a third of the direct
    workloads add hosts in their own subnets at some point, +50 % calls) and SDK upgrades
    (a third of the direct workloads move to a newer SDK version)."""
    rng = random.Random(seed_of("eval-drift", seed))
    counts = {"growing": 0, "scaled_out": 0, "sdk_upgraded": 0}
    plain = [w for w in world.workloads if w.start is None and w.end is None]
    for wl in plain:
        if rng.random() < 0.25:
            wl.growth, wl.growth_from = rng.uniform(0.01, 0.03), start
            counts["growing"] += 1
    ids = IdSource("eval-drift-ips", seed)
    for wl in [w for w in plain if w.channel == "direct" and w.ips]:
        if rng.random() < 1 / 3:
            t = rng.randrange(start + 14 * clock.DAY, end - clock.DAY)
            subnets = sorted({".".join(ip.split(".")[:2]) for ip in wl.ips})
            hosts = tuple(ids.private_ip(subnets[k % len(subnets)]) for k in range(3))
            world.workloads.append(
                replace(wl, name=f"{wl.name}:scaled", start=t, ips=hosts, rate=wl.rate * 0.5)
            )
            counts["scaled_out"] += 1
        if rng.random() < 1 / 3:
            t = rng.randrange(start + 14 * clock.DAY, end - clock.DAY)
            newer = wl.user_agent.replace("aws-sdk-java/2.25.60", "aws-sdk-java/2.26.31")
            world.workloads.append(replace(wl, name=f"{wl.name}:sdk", start=t, user_agent=newer))
            wl.end = t
            counts["sdk_upgraded"] += 1
    return counts


# ---------------------------------------------------------------------- corpus
def build(
    seed: int, accounts: int, regions: int, baseline_days: int, eval_days: int, per_type: int
):
    world = generic_world(seed, accounts, regions)
    end = START + (baseline_days + eval_days) * clock.DAY
    eval_start = START + baseline_days * clock.DAY
    rng = random.Random(seed)
    planted, scenarios, dormant = plan_scenarios(world, rng, eval_start, end, per_type)
    for wl in dormant.values():
        wl.end = START + 7 * clock.DAY
    busy = set(dormant) | {w.name for w in world.workloads if w.name.startswith("payroll-")}
    quiet, quiet_scenarios = plan_quiet_scenarios(world, seed, eval_start, end, per_type, busy)
    planted += quiet
    scenarios += quiet_scenarios
    drift = benign_drift(world, seed, START, eval_start, end)
    print(f"benign drift: {drift}", file=sys.stderr)
    records: list[Record] = []
    for account in world.accounts:
        for region in account.regions:
            ids = IdSource("eval-background", seed, account.account_id, region)
            records.extend(
                background(world, account.account_id, region, START, end, ids, NoiseProfile())
            )
    return records, planted, scenarios, eval_start


def frames(records: list[Record]) -> list[pl.DataFrame]:
    out = []
    for i in range(0, len(records), CHUNK):
        out.append(pl.from_arrow(batch_from_records(records[i : i + CHUNK])))  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------------- detectors
def run_kmslog(
    all_frames: list[pl.DataFrame], eval_start: int, thresholds: Thresholds
) -> list[Detection]:
    learner = BaselineLearner()
    state = learner.start()
    for f in all_frames:
        state = learner.update(state, f)
    profile = learner.finish(state)
    since = datetime.fromtimestamp(eval_start, UTC)
    scan = AnomalyScan(profile, since=since, thresholds=thresholds)
    st = scan.start()
    for f in all_frames:
        st = scan.update(st, f)
    result = scan.finish(st)
    return [
        Detection("kmslog", f.kind, int(f.detected_at.timestamp()), set(f.event_ids))
        for f in result.findings
    ]


def _minute_table(all_frames: list[pl.DataFrame]) -> pl.DataFrame:
    cols = [
        pl.col(S.EVENT_TIME).dt.truncate("1m").alias("minute"),
        pl.concat_str(
            [
                pl.col(S.RECIPIENT_ACCOUNT_ID),
                pl.col(S.AWS_REGION),
                pl.col(S.EVENT_SOURCE),
                pl.col(S.EVENT_NAME),
            ],
            separator=" ",
        ).alias("api"),
        pl.col(S.ERROR_CODE).alias("error"),
        (pl.col(S.READ_ONLY) == False).fill_null(False).alias("write"),  # noqa: E712
        pl.col(S.MANAGEMENT_EVENT).fill_null(True).alias("management"),
        pl.col(S.EVENT_ID).alias("event_id"),
    ]
    return pl.concat([f.select(cols) for f in all_frames]).filter(pl.col("management"))


def insights_candidates(table: pl.DataFrame, eval_start: int) -> pl.DataFrame:
    """Per (scope, minute) in the window: count, and mean/std per minute over the 7 days
    before that minute's day (zero-filled minutes), as CloudTrail Insights describes its
    baseline (average per minute over at least 10080 minutes)."""
    rate = table.filter(pl.col("write")).with_columns(pl.col("api").alias("scope"))
    errors = table.filter(pl.col("error").is_not_null()).with_columns(
        (pl.col("api") + " " + pl.col("error")).alias("scope")
    )
    out = []
    for kind, part in (("ApiCallRateInsight", rate), ("ApiErrorRateInsight", errors)):
        per_min = part.group_by("scope", "minute").agg(pl.len().alias("n"), pl.col("event_id"))
        daily = (
            per_min.with_columns(pl.col("minute").dt.date().alias("day"))
            .group_by("scope", "day")
            .agg(pl.col("n").sum().alias("s"), (pl.col("n") ** 2).sum().alias("s2"))
        )
        window = per_min.filter(pl.col("minute") >= datetime.fromtimestamp(eval_start, UTC))
        window = window.with_columns(pl.col("minute").dt.date().alias("day"))
        # Baseline for day D: days D-7 .. D-1.
        days = window.select("day").unique().get_column("day").to_list()
        rows = []
        for d in days:
            lo = d - timedelta(days=7)
            base = (
                daily.filter((pl.col("day") >= lo) & (pl.col("day") < d))
                .group_by("scope")
                .agg(pl.col("s").sum(), pl.col("s2").sum())
            )
            rows.append(base.with_columns(pl.lit(d).alias("day")))
        base_all = pl.concat(rows) if rows else pl.DataFrame()
        minutes = 7 * 24 * 60
        joined = window.join(base_all, on=["scope", "day"], how="left").with_columns(
            pl.col("s").fill_null(0), pl.col("s2").fill_null(0)
        )
        joined = joined.with_columns(
            (pl.col("s") / minutes).alias("mean"),
        ).with_columns(
            ((pl.col("s2") / minutes - pl.col("mean") ** 2).clip(0, None).sqrt()).alias("std"),
            pl.lit(kind).alias("insight"),
        )
        out.append(joined.select("insight", "scope", "minute", "n", "mean", "std", "event_id"))
    return pl.concat(out)


def run_insights(cands: pl.DataFrame, k: float, min_n: int) -> list[Detection]:
    fired = cands.filter(
        (pl.col("n") > pl.col("mean") + k * pl.col("std")) & (pl.col("n") >= min_n)
    )
    detections: list[Detection] = []
    for (insight, _scope), part in fired.sort("minute").group_by(
        "insight", "scope", maintain_order=True
    ):
        current: Detection | None = None
        last = None
        for minute, ids in part.select("minute", "event_id").iter_rows():
            ts = int(minute.timestamp())
            if current is None or last is None or ts - last > 300:
                current = Detection("insights", str(insight), ts + 60, set())
                detections.append(current)
            current.events.update(ids)
            last = ts
    return detections


def run_first_seen(all_frames: list[pl.DataFrame], eval_start: int) -> list[Detection]:
    dims = [
        F.DIM_BY_NAME[n]
        for n in (
            "key.principal",
            "key.account",
            "key.principal.operation",
            "principal.network",
            "key.region",
            "key.service",
            "principal.control",
            "key.principal.context",
        )
    ]
    cutoff = datetime.fromtimestamp(eval_start, UTC)
    longs = []
    for f in all_frames:
        rows = F.enrich(f).lazy()
        ctx = F._context(rows)  # noqa: SLF001
        parts = [
            F._select(ctx.explode(d.value) if d in F.EC_DIMS else rows, d)  # noqa: SLF001
            for d in dims
        ]
        longs.append(pl.concat(parts).collect())
    long = pl.concat(longs).with_columns(pl.col("e2").fill_null(""))
    keys = ["dim", "e1", "e2", "value"]
    base = long.filter(pl.col("ts") < cutoff).select(keys).unique()
    new = long.filter(pl.col("ts") >= cutoff).join(base, on=keys, how="anti")
    groups = new.group_by(keys).agg(pl.col("ts").min(), pl.col("event_id"))
    return [
        Detection("first_seen", dim, int(ts.timestamp()), set(ids))
        for dim, _e1, _e2, _v, ts, ids in groups.iter_rows()
    ]


# ---------------------------------------------------------------------- scoring
def score(
    name: str,
    detections: list[Detection],
    scenarios: list[Scenario],
    seconds: float,
    settings: str = "",
) -> Scored:
    planted = set().union(*(s.events for s in scenarios))
    tp = sum(1 for d in detections if d.events & planted)
    fps = [d for d in detections if not d.events & planted]
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    ttd: dict[str, list[float]] = defaultdict(list)
    for s in scenarios:
        recall[s.kind][1] += 1
        hits = [d for d in detections if d.events & s.events]
        if hits:
            recall[s.kind][0] += 1
            ttd[s.kind].append(max(0, min(d.detected_at for d in hits) - s.start) / 60)
    return Scored(
        name,
        len(detections),
        tp,
        len(fps),
        {k: (v[0], v[1]) for k, v in recall.items()},
        dict(ttd),
        seconds,
        settings,
        [f"{d.kind}@{clock.iso(d.detected_at)} ({len(d.events)} events)" for d in fps[:10]],
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--accounts", type=int, default=4)
    ap.add_argument("--regions", type=int, default=3)
    ap.add_argument("--baseline-days", type=int, default=28)
    ap.add_argument("--eval-days", type=int, default=14)
    ap.add_argument("--per-type", type=int, default=4)
    ap.add_argument("--threshold", action="append", default=[], help="kmslog threshold name=value")
    ap.add_argument("--json", help="write the figures here as JSON")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    background_records, planted, scenarios, eval_start = build(
        args.seed, args.accounts, args.regions, args.baseline_days, args.eval_days, args.per_type
    )
    all_records = background_records + planted
    all_frames = frames(all_records)
    gen_seconds = time.perf_counter() - t0
    window_background = sum(
        1 for r in background_records if clock.epoch(r["eventTime"].replace("Z", "")) >= eval_start
    )
    print(
        f"corpus: {len(background_records):,} background events ({window_background:,} in the "
        f"{args.eval_days}-day window), {len(planted):,} planted in {len(scenarios)} scenarios; "
        f"built in {gen_seconds:.1f}s",
        file=sys.stderr,
    )

    from kmslog.baseline.thresholds import parse_assignments

    thresholds = Thresholds(sample_cap=10**9).with_overrides(parse_assignments(args.threshold))
    t = time.perf_counter()
    ours = score(
        "kmslog", run_kmslog(all_frames, eval_start, thresholds), scenarios, time.perf_counter() - t
    )

    t = time.perf_counter()
    cands = insights_candidates(_minute_table(all_frames), eval_start)
    best: Scored | None = None
    for k in (2.0, 3.0, 4.0, 6.0, 8.0, 10.0):
        for min_n in (1, 2, 3, 5, 10):
            s = score(
                "insights-style",
                run_insights(cands, k, min_n),
                scenarios,
                0.0,
                f"k={k}, min={min_n}",
            )
            if best is None or s.f1() > best.f1():
                best = s
    assert best is not None
    best.seconds = time.perf_counter() - t

    t = time.perf_counter()
    plain = score(
        "first-seen rules",
        run_first_seen(all_frames, eval_start),
        scenarios,
        time.perf_counter() - t,
    )

    results = [ours, best, plain]
    report(results, window_background, args)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([_as_dict(r, window_background) for r in results], fh, indent=2)
    return 0


def _fp_rate(s: Scored, window_background: int) -> float:
    return s.false_positives / window_background * 100_000 if window_background else math.nan


def _as_dict(s: Scored, window_background: int) -> dict[str, Any]:
    return {
        "detector": s.name,
        "settings": s.settings,
        "detections": s.detections,
        "true_positives": s.true_positives,
        "false_positives": s.false_positives,
        "fp_per_100k_background": round(_fp_rate(s, window_background), 2),
        "precision": round(s.precision(), 4),
        "recall": round(s.recall(), 4),
        "f1": round(s.f1(), 4),
        "recall_by_kind": s.recall_by_kind,
        "median_ttd_minutes": {
            k: round(sorted(v)[len(v) // 2], 1) for k, v in s.ttd_by_kind.items()
        },
        "seconds": round(s.seconds, 2),
        "fp_examples": s.fp_examples,
    }


def report(results: list[Scored], window_background: int, args: argparse.Namespace) -> None:
    print(
        f"seed {args.seed}, {args.accounts} accounts x {args.regions} regions, "
        f"{args.baseline_days}-day baseline + {args.eval_days}-day window, {args.per_type} per type"
    )
    print()
    print("| detector | detections | TP | FP | FP/100K bg | precision | recall | F1 | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in results:
        name = s.name + (f" ({s.settings})" if s.settings else "")
        print(
            f"| {name} | {s.detections} | {s.true_positives} | {s.false_positives} | "
            f"{_fp_rate(s, window_background):.1f} | {s.precision():.3f} | {s.recall():.3f} | "
            f"{s.f1():.3f} | {s.seconds:.1f} |"
        )
    print()
    kinds = sorted({k for s in results for k in s.recall_by_kind})
    print(
        "| scenario | " + " | ".join(f"{s.name} recall | median TTD (min)" for s in results) + " |"
    )
    print("|---|" + "---:|---:|" * len(results))
    for kind in kinds:
        cells = []
        for s in results:
            hit, total = s.recall_by_kind.get(kind, (0, 0))
            ttd = s.ttd_by_kind.get(kind, [])
            cells.append(f"{hit}/{total}")
            cells.append(f"{sorted(ttd)[len(ttd) // 2]:.0f}" if ttd else "-")
        print(f"| {kind} | " + " | ".join(cells) + " |")
    for s in results:
        if s.fp_examples:
            print(
                f"\n{s.name} false positives (first {len(s.fp_examples)}): "
                + "; ".join(s.fp_examples),
                file=sys.stderr,
            )


if __name__ == "__main__":
    raise SystemExit(main())
