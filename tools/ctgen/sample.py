"""The shipped ``sample_logs/`` corpus: a fixed estate, five weeks of ordinary traffic and the
planted scenarios of docs/sample_logs.md. ``build_sample()`` is pure and deterministic."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from tools.ctgen import clock
from tools.ctgen.delivery import Digest, LogFile, batch_into_files, digest_chain, gzip_bytes
from tools.ctgen.ids import IdSource
from tools.ctgen.sample_estate import (
    BASELINE_END,
    CIS_ALARM,
    CIS_FILTER,
    CIS_PATTERN,
    EXTERNAL,
    LOG_END,
    LOG_START,
    PENDING_ALARM,
    PENDING_FILTER,
    PENDING_PATTERN,
    SEED,
    TRAILS,
    A,
    B,
    C,
    SampleWorld,
    T,
    build_world,
    scenario_times,
)
from tools.ctgen.sample_plan import (
    Plan,
    plant,
    tag_labels_with_scenario,
)
from tools.ctgen.traffic import NoiseProfile, background
from tools.ctgen.truth import (
    active_matches,
    alarm_timelines,
    alias_histories,
    dropped_by_region,
    filter_windows,
    is_cis_4_7,
    is_pending_deletion_error,
    key_histories,
    key_usage,
    logging_windows,
    metric_points,
    trail_calls,
    unlogged,
)
from tools.ctgen.world import (
    Record,
    World,
)

# Scenarios whose labels the baseline's anomaly findings must cover.
ANOMALY_PLANS = ("s10_anomalies", "s16_quiet_anomalies")
# Scenarios added after the corpus was first shipped arrive in files of their own (CloudTrail
# may deliver several files for one five-minute window), so every earlier file stays the
# same byte for byte.
SEPARATE_DELIVERY = ("s16_quiet_anomalies",)


@dataclass
class SampleCorpus:
    files: list[LogFile]
    digests: list[tuple[str, bytes]]
    truth: dict
    bodies: dict[str, bytes]  # key → uncompressed JSON


def build_sample(seed: int = SEED) -> SampleCorpus:
    sw = build_world()
    w = sw.world
    plans = plant(sw)
    tag_labels_with_scenario(plans)
    planted_by_ar: dict[tuple[str, str], list[Record]] = {}
    added_by_ar: dict[tuple[str, str], list[Record]] = {}
    for pl in plans:
        into = added_by_ar if pl.sid in SEPARATE_DELIVERY else planted_by_ar
        for r in pl.records:
            into.setdefault((r["recipientAccountId"], r["awsRegion"]), []).append(r)
    windows = logging_windows([r for pl in plans for r in pl.records], list(TRAILS))
    hidden = [r["eventID"] for pl in plans for r in pl.records if unlogged(r, windows)]
    if hidden:
        # A window may hide background traffic only: planted events are named by ground truth.
        raise ValueError(f"a logging window hides planted events: {hidden[:5]}")

    profiles = {
        A: NoiseProfile(
            noise_rate=1.1,
            control_rate=0.25,
            noise_burst=4.0,
            buckets=("example-orders-exports", "example-app-assets"),
        ),
        B: NoiseProfile(
            noise_rate=0.9,
            control_rate=0.2,
            noise_burst=4.0,
            buckets=("example-warehouse-staging", "example-data-lake-raw"),
        ),
        C: NoiseProfile(
            noise_rate=0.7,
            control_rate=0.2,
            noise_burst=4.0,
            buckets=("example-partner-drop", "example-cloudtrail-logs"),
        ),
    }
    files: list[LogFile] = []
    all_records: list[Record] = []
    left_out: list[Record] = []
    for acct, region in [(a.account_id, r) for a in w.accounts for r in a.regions]:
        prof = profiles[acct]
        prof.version_1_09_from = T("2026-09-24T00:00:00Z") if acct == B else None
        if region != "us-east-1":
            prof = NoiseProfile(
                noise_rate=prof.noise_rate / 2,
                control_rate=prof.control_rate / 2,
                buckets=prof.buckets,
                noise_burst=prof.noise_burst,
                version_1_09_from=prof.version_1_09_from,
            )
        bg = background(
            w,
            acct,
            region,
            LOG_START,
            LOG_END - 900,
            IdSource("background", seed, acct, region),
            prof,
        )
        generated = bg + planted_by_ar.get((acct, region), [])
        recs = [r for r in generated if not unlogged(r, windows)]
        left_out.extend(r for r in generated if unlogged(r, windows))
        all_records.extend(recs)
        files.extend(batch_into_files(recs, acct, region, IdSource("delivery", seed, acct, region)))
        added = [r for r in added_by_ar.get((acct, region), []) if not unlogged(r, windows)]
        if added:
            all_records.extend(added)
            ids = IdSource("delivery", seed, acct, region, "added")
            files.extend(batch_into_files(added, acct, region, ids))

    dup_id = next(
        pl.notes["duplicate_event_id"] for pl in plans if "duplicate_event_id" in pl.notes
    )
    dup_files = _deliver_twice(files, dup_id)
    files.sort(key=lambda f: f.key)
    bodies = {f.key: f.body() for f in files}
    digests = _digests(files, bodies, w, seed)
    truth = _truth(sw, plans, all_records, files, dup_id, dup_files, digests)
    truth["trails"] = {
        t.arn: {
            "name": t.name,
            "account": t.account_id,
            "home_region": t.home_region,
            "multi_region": t.multi_region,
            "bucket": t.bucket,
            "calls": trail_calls(all_records, t),
        }
        for t in TRAILS
    }
    truth["logging_windows"] = [
        {
            **w,
            "dropped_kms_records": dropped_by_region(
                left_out, w, sw.world.account(w["account"]).regions
            ),
        }
        for w in windows
    ]
    return SampleCorpus(files, digests, truth, bodies)


def _deliver_twice(files: list[LogFile], event_id: str) -> list[str]:
    """Put one record into the next file of the same account-region as well (CloudTrail's
    rare duplicate delivery: same eventID in two files)."""
    ordered = sorted(files, key=lambda f: (f.account_id, f.region, f.stamp, f.unique))
    for i, f in enumerate(ordered):
        for rec in f.records:
            if rec["eventID"] == event_id:
                nxt = ordered[i + 1]
                nxt.records.insert(len(nxt.records) // 2, rec)
                return [f.key, nxt.key]
    raise LookupError(event_id)


def _digests(
    files: list[LogFile], bodies: dict[str, bytes], w: World, seed: int
) -> list[tuple[str, bytes]]:
    start = scenario_times["s1_schedule"] - 24 * 60 + 2  # 14:01:31, the hour of scenario 1
    chain = []
    for i in range(2):
        s, e = start + i * 3600, start + (i + 1) * 3600
        members = [
            (f, bodies[f.key])
            for f in files
            if f.account_id == A and f.region == "us-east-1" and s <= f.stamp < e
        ]
        chain.append(Digest(A, "us-east-1", "us-east-1", w.trail_name, w.bucket, s, e, members))
    return digest_chain(chain, IdSource("digest", seed))


def _truth(
    sw: SampleWorld,
    plans: list[Plan],
    records: list[Record],
    files: list[LogFile],
    dup_id: str,
    dup_files: list[str],
    digests: list[tuple[str, bytes]],
) -> dict:
    keys = [k for k in sw.keys.values() if not k.aws_managed]
    histories = key_histories(records, keys, LOG_START)
    usage = key_usage(records, [*keys, sw.keys["aws-ebs"]])
    created = {
        r["responseElements"]["keyMetadata"]["arn"]
        for r in records
        if r["eventName"] == "CreateKey"
    }
    key_info = {
        k.name: {
            "arn": k.arn,
            "key_id": k.key_id,
            "account": k.account_id,
            "region": k.region,
            "origin": k.origin,
            "created_in_logs": k.arn in created,
            "states": histories[k.name],
            "final_state": histories[k.name][-1]["state"],
            "usage": usage[k.name],
        }
        for k in keys
    }
    aws_ebs = sw.keys["aws-ebs"]
    key_info["aws-ebs"] = {
        "arn": aws_ebs.arn,
        "key_id": aws_ebs.key_id,
        "account": A,
        "region": "us-east-1",
        "origin": "AWS_KMS",
        "aws_managed": True,
        "created_in_logs": False,
        "states": [
            {"state": "Unknown", "from": clock.iso(LOG_START), "event_name": None, "event_id": None}
        ],
        "final_state": "Unknown",
        "usage": usage["aws-ebs"],
    }
    by_eid = {r["eventID"]: r for r in records}
    scenarios = []
    for pl in plans:
        evs = sorted(pl.records, key=lambda r: (r["eventTime"], r["eventID"]))
        scenarios.append(
            {
                "id": pl.sid,
                "title": pl.title,
                "keys": pl.keys,
                "events": [_summary(r) for r in evs],
                "labels": pl.labels,
                **({"notes": pl.notes} if pl.notes else {}),
            }
        )
    pending = [r for r in sorted(records, key=_order) if is_pending_deletion_error(r)]
    cis = [r for r in sorted(records, key=_order) if is_cis_4_7(r)]
    windows = filter_windows(records)
    anomalies = [lab for pl in plans if pl.sid in ANOMALY_PLANS for lab in pl.labels]
    total_records = sum(len(f.records) for f in files)
    return {
        "generator": "python -m tools.ctgen sample",
        "seed": SEED,
        "zlib_runtime_version": zlib.ZLIB_RUNTIME_VERSION,
        "log_start": clock.iso(LOG_START),
        "log_end": clock.iso(LOG_END),
        "baseline_end": clock.iso(BASELINE_END),
        "accounts": {
            a.account_id: {"name": a.name, "regions": list(a.regions)} for a in sw.world.accounts
        },
        "external_account": EXTERNAL,
        "bucket": sw.world.bucket,
        "trail": sw.world.trail_name,
        "counts": {
            "files": len(files),
            "records_in_files": total_records,
            "distinct_event_ids": len(by_eid),
            "kms_records": sum(1 for r in records if r["eventSource"] == "kms.amazonaws.com"),
            "error_records": sum(1 for r in records if r.get("errorCode")),
        },
        "keys": key_info,
        "aliases": alias_histories(records),
        "metric_filters": {
            name: {
                "pattern": pattern,
                "namespace": namespace,
                "metric": name,
                "alarm": alarm,
                "matches": [_summary(r) for r in matches],
                "points": metric_points(records, match),
                "windows": {a: w[name] for a, w in windows.items() if name in w},
                "matches_while_active": [
                    r["eventID"] for r in active_matches(records, match, _for(windows, name))
                ],
                "points_while_active": metric_points(
                    active_matches(records, match, _for(windows, name)), match
                ),
            }
            for name, pattern, namespace, alarm, match, matches in (
                (
                    PENDING_FILTER,
                    PENDING_PATTERN,
                    "CloudTrailLogMetrics",
                    PENDING_ALARM,
                    is_pending_deletion_error,
                    pending,
                ),
                (CIS_FILTER, CIS_PATTERN, "CISBenchmark", CIS_ALARM, is_cis_4_7, cis),
            )
        },
        "alarms": alarm_timelines(records),
        "duplicate_delivery": {"event_id": dup_id, "files": dup_files},
        "digests": [k for k, _ in digests],
        "anomalies": anomalies,
        "scenarios": scenarios,
    }


def _for(windows: dict[str, dict[str, list[dict]]], name: str) -> dict[str, list[dict]]:
    return {a: w[name] for a, w in windows.items() if name in w}


def _order(r: Record) -> tuple[str, str]:
    return (r["eventTime"], r["eventID"])


def _summary(r: Record) -> dict:
    ident = r["userIdentity"]
    out = {
        "event_id": r["eventID"],
        "event_time": r["eventTime"],
        "event_name": r["eventName"],
        "event_source": r["eventSource"],
        "account": r["recipientAccountId"],
        "region": r["awsRegion"],
        "principal": ident.get("arn") or ident.get("principalId") or ident.get("invokedBy"),
    }
    if r.get("errorCode"):
        out["error_code"] = r["errorCode"]
    keys = [x["ARN"] for x in r.get("resources") or [] if ":kms:" in x.get("ARN", "")]
    if keys:
        out["resources"] = keys
    return out


def write_sample(out: Path, corpus: SampleCorpus | None = None) -> SampleCorpus:
    corpus = corpus or build_sample()
    for f in corpus.files:
        path = out / f.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip_bytes(corpus.bodies[f.key]))
    for key, raw in corpus.digests:
        path = out / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip_bytes(raw))
    return corpus


def truth_json(corpus: SampleCorpus) -> str:
    return json.dumps(corpus.truth, indent=1, sort_keys=False) + "\n"


__all__ = [
    "LOG_END",
    "LOG_START",
    "SampleCorpus",
    "build_sample",
    "build_world",
    "scenario_times",
    "truth_json",
    "write_sample",
]
