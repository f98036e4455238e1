"""Benchmark corpora: N events in the S3 layout, mix as in docs perf-limits (70% KMS data
plane, 2% KMS control plane, 28% other services, ~1% errors). Streams file by file."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from isal import igzip

from tools.ctgen import agents, clock, noise
from tools.ctgen.delivery import LogFile
from tools.ctgen.estate import generic_world
from tools.ctgen.ids import IdSource
from tools.ctgen.records import (
    DATA_PLANE_MIX,
    ERR_INVALID_CIPHERTEXT,
    ERR_THROTTLED,
    Caller,
    alias_op,
    create_grant,
    create_key,
    delete_imported_key_material,
    err_access_denied,
    err_disabled,
    err_pending_deletion,
    get_parameters_for_import,
    import_key_material,
    key_op,
    key_policy,
    kms_control,
    kms_service_event,
    list_aliases,
    put_key_policy,
    retire_grant,
    revoke_grant,
    schedule_key_deletion,
    tag_resource,
    update_key_description,
)
from tools.ctgen.traffic import pick, workload_call
from tools.ctgen.truth import is_cis_4_7, is_pending_deletion_error
from tools.ctgen.world import Key, Principal, Record, Workload, World, make_key, root, service

CONTROL_MIX = (
    ("DescribeKey", 30.0),
    ("ListAliases", 11.0),
    ("CreateGrant", 11.0),
    ("RetireGrant", 5.0),
    ("GetKeyPolicy", 7.0),
    ("PutKeyPolicy", 3.0),
    ("CreateKey", 3.0),
    ("CreateAlias", 2.0),
    ("UpdateAlias", 1.0),
    ("DeleteAlias", 1.0),
    ("TagResource", 3.0),
    ("UpdateKeyDescription", 1.0),
    ("EnableKey", 2.0),
    ("ScheduleKeyDeletion", 3.0),
    ("DisableKey", 3.0),
    ("CancelKeyDeletion", 1.0),
    ("DeleteKey", 1.0),
    ("RotateKey", 1.0),
    ("RotateKeyOnDemand", 0.5),
    ("KeyOpOnPendingKey", 1.5),
    ("EnableKeyRotation", 1.5),
    ("DisableKeyRotation", 0.5),
    ("RevokeGrant", 1.0),
    ("GetParametersForImport", 0.5),
    ("ImportKeyMaterial", 0.5),
    ("DeleteImportedKeyMaterial", 0.3),
    ("DeleteExpiredKeyMaterial", 0.2),
    ("RootDescribeKey", 0.5),
)
OTHER_MIX = (("s3", 9.0), ("sts", 8.0), ("ec2", 8.0), ("iam", 3.0))


def other_mix(region: str, n_regions: int) -> tuple[tuple[str, float], ...]:
    """OTHER_MIX for one region's files. IAM is global and delivered with us-east-1 only, so
    us-east-1 files carry all of it and the other services fill the gap elsewhere; the
    corpus-wide shares stay s3 9 / sts 8 / ec2 8 / iam 3."""
    iam = 3.0 * n_regions if region == "us-east-1" else 0.0
    scale = (28.0 - iam) / 25.0
    return tuple((name, w * scale) for name, w in OTHER_MIX if name != "iam") + (("iam", iam),)


@dataclass
class CorpusStats:
    files: int = 0
    events: int = 0
    raw_bytes: int = 0
    gz_bytes: int = 0
    pending_deletion_errors: int = 0
    cis_4_7_events: int = 0
    error_records: int = 0
    by_source: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "events": self.events,
            "raw_bytes": self.raw_bytes,
            "gz_bytes": self.gz_bytes,
            "mean_record_bytes": round(self.raw_bytes / self.events, 1) if self.events else 0,
            "pending_deletion_errors": self.pending_deletion_errors,
            "cis_4_7_events": self.cis_4_7_events,
            "error_records": self.error_records,
            "by_source": dict(sorted(self.by_source.items())),
        }


def file_sizes(
    events: int, rng: random.Random, mean: float = 2500.0, sigma: float = 0.9
) -> list[int]:
    """Records per file: log-normal with the given mean, summing exactly to ``events``."""
    n = max(1, round(events / mean))
    mu = math.log(mean) - sigma * sigma / 2
    draws = [rng.lognormvariate(mu, sigma) for _ in range(n)]
    scale = events / sum(draws)
    sizes = [max(1, int(d * scale)) for d in draws]
    diff = events - sum(sizes)
    i = 0
    while diff != 0:
        j = i % n
        if diff > 0:
            sizes[j] += 1
            diff -= 1
        elif sizes[j] > 1:
            sizes[j] -= 1
            diff += 1
        i += 1
    return sizes


class _Region:
    """Per account-region generation state."""

    def __init__(self, world: World, account_id: str, region: str, n_regions: int) -> None:
        self.account_id = account_id
        self.region = region
        self.other_mix = other_mix(region, n_regions)
        self.workloads = [
            w for w in world.workloads if w.key.account_id == account_id and w.key.region == region
        ]
        self.keys = world.keys_in(account_id, region)
        # Two keys per account-region are pending deletion and one is disabled (their use fails).
        self.pending = [_failing(w) for w in self.workloads[:2]]
        self.disabled = _failing(self.workloads[2 % len(self.workloads)])
        noisers = world.noise_principals[account_id]
        self.admins = [p for p in noisers if p.kind in ("AssumedRole", "IAMUser")]
        self.roles = [p for p in noisers if p.kind == "AssumedRole"]
        self.new_keys = 0
        self.root = root(account_id)


def _failing(w: Workload) -> Workload:
    return Workload(
        w.name + ":failing",
        w.principal,
        w.key,
        w.channel,
        w.ops,
        w.rate,
        ips=w.ips,
        vpce=w.vpce,
        key_ref=w.key_ref,
        resource_name=w.resource_name,
    )


def _data(ids: IdSource, t: int, st: _Region, rng: random.Random) -> Record:
    wl = st.workloads[rng.randrange(len(st.workloads))]
    op = pick(rng, DATA_PLANE_MIX)
    x = rng.random()
    if x < 0.0065:
        if x < 0.0014:
            fw = st.pending[rng.randrange(len(st.pending))]
            return workload_call(ids, t, fw, op=op, error=err_pending_deletion(fw.key))
        if x < 0.0024:
            return workload_call(ids, t, st.disabled, op=op, error=err_disabled(st.disabled.key))
        if x < 0.0044:
            return workload_call(
                ids,
                t,
                wl,
                op=op,
                error=err_access_denied(wl.principal.session_arn(t), f"kms:{op}", wl.key.arn),
            )
        if x < 0.0054:
            return workload_call(ids, t, wl, op="Decrypt", error=ERR_INVALID_CIPHERTEXT)
        return workload_call(ids, t, wl, op=op, error=ERR_THROTTLED)
    return workload_call(ids, t, wl, op=op)


def _control(ids: IdSource, t: int, st: _Region, rng: random.Random) -> Record:
    name = pick(rng, CONTROL_MIX)
    admin = st.admins[rng.randrange(len(st.admins))]
    caller = Caller(admin, ip=f"198.51.100.{rng.randrange(1, 255)}")
    key = st.keys[rng.randrange(len(st.keys))]
    if name == "DescribeKey":
        return key_op(ids, t, "DescribeKey", key, caller, key_ref=key.arn)
    if name == "ListAliases":
        return list_aliases(ids, t, st.region, caller)
    if name == "CreateGrant":
        ec2 = Caller(st.roles[rng.randrange(len(st.roles))], invoked_by="ec2.amazonaws.com")
        grantee = (
            f"arn:aws:sts::{st.account_id}:assumed-role/aws:ec2-infrastructure/i-0{ids.hex(16)}"
        )
        return create_grant(
            ids,
            t,
            key,
            ec2,
            grantee=grantee,
            operations=["Decrypt"],
            constraints={"encryptionContextSubset": {"aws:ebs:id": f"vol-0{ids.hex(16)}"}},
        )
    if name == "RetireGrant":
        return retire_grant(
            ids, t, key, Caller(admin, invoked_by="ec2.amazonaws.com"), ids.grant_id()
        )
    if name == "GetKeyPolicy":
        return kms_control(
            ids, t, "GetKeyPolicy", key, caller, request={"keyId": key.arn, "policyName": "default"}
        )
    if name == "PutKeyPolicy":
        return put_key_policy(ids, t, key, caller, key_policy(key, users=[admin.arn]))
    if name == "CreateKey":
        st.new_keys += 1
        return create_key(
            ids, t, make_key(f"new-{st.new_keys}-{ids.hex(8)}", st.account_id, st.region), caller
        )
    if name == "CreateAlias":
        return alias_op(ids, t, "CreateAlias", f"alias/app-{ids.hex(6)}", key, caller)
    if name == "TagResource":
        return tag_resource(ids, t, key, caller, {"cost-center": f"cc-{rng.randrange(100, 999)}"})
    if name == "EnableKey":
        return key_op(ids, t, "EnableKey", key, caller)
    if name in (
        "EnableKeyRotation",
        "DisableKeyRotation",
        "RotateKeyOnDemand",
        "CancelKeyDeletion",
    ):
        return key_op(ids, t, name, key, caller, key_ref=key.arn)
    if name in ("UpdateAlias", "DeleteAlias"):
        return alias_op(ids, t, name, f"alias/app-{ids.hex(6)}", key, caller)
    if name == "UpdateKeyDescription":
        return update_key_description(ids, t, key, caller, f"rotated by {admin.name}")
    if name == "RevokeGrant":
        return revoke_grant(ids, t, key, caller, ids.grant_id())
    if name == "GetParametersForImport":
        return get_parameters_for_import(ids, t, key, caller)
    if name == "ImportKeyMaterial":
        return import_key_material(ids, t, key, caller, valid_to=t + 365 * clock.DAY)
    if name == "DeleteImportedKeyMaterial":
        return delete_imported_key_material(ids, t, key, caller)
    if name == "DeleteExpiredKeyMaterial":
        return kms_service_event(ids, t, "DeleteExpiredKeyMaterial", key)
    if name == "RootDescribeKey":
        return key_op(ids, t, "DescribeKey", key, Caller(st.root, console=True), key_ref=key.arn)
    if name == "ScheduleKeyDeletion":
        err = None
        if rng.random() < 0.2:
            err = err_access_denied(admin.session_arn(t), "kms:ScheduleKeyDeletion", key.arn)
        return schedule_key_deletion(ids, t, key, caller, days=rng.choice((7, 30)), error=err)
    if name == "DisableKey":
        err = None
        if rng.random() < 0.2:
            err = err_access_denied(admin.session_arn(t), "kms:DisableKey", key.arn)
        return key_op(ids, t, "DisableKey", key, caller, error=err)
    if name == "DeleteKey":
        return kms_service_event(
            ids, t, "DeleteKey", st.pending[rng.randrange(len(st.pending))].key
        )
    if name == "RotateKey":
        return kms_service_event(ids, t, "RotateKey", key)
    # An admin touching a pending-deletion key: the "is pending deletion." error on a control op.
    pk: Key = st.pending[rng.randrange(len(st.pending))].key
    return key_op(
        ids,
        t,
        rng.choice(("EnableKey", "DisableKey", "TagResource")),
        pk,
        caller,
        error=err_pending_deletion(pk),
    )


def _other(
    ids: IdSource, t: int, st: _Region, rng: random.Random, svc_cache: dict[str, Principal]
) -> Record:
    kind = pick(rng, st.other_mix)
    p = (
        st.admins[rng.randrange(len(st.admins))]
        if rng.random() < 0.4
        else st.roles[rng.randrange(len(st.roles))]
    )
    caller = Caller(
        p,
        ip=f"10.{rng.randrange(0, 32)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
        agent=agents.BOTO3,
    )
    error = rng.random() < 0.02
    if kind == "s3":
        return noise.s3_event(
            ids, t, st.region, caller, f"{p.name}-{st.account_id[-4:]}-{st.region}", error=error
        )
    if kind == "sts":
        target = st.roles[rng.randrange(len(st.roles))]
        host = rng.choice(("lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com"))
        sp = svc_cache.get(host + st.account_id)
        if sp is None:
            sp = svc_cache[host + st.account_id] = service(st.account_id, host)
        return noise.sts_assume_role(ids, t, st.region, Caller(sp, invoked_by=host), target)
    if kind == "ec2" or st.region != "us-east-1":  # IAM is global: delivered with us-east-1 only
        return noise.ec2_event(ids, t, st.region, caller, error=error)
    return noise.iam_event(ids, t, caller, p.name, error=error)


def generate_corpus(
    out: Path,
    *,
    events: int,
    seed: int = 1,
    accounts: int = 4,
    regions: int = 4,
    days: int = 5,
    start: str = "2026-09-01",
    mean_per_file: float = 2500.0,
    level: int = 2,
) -> CorpusStats:
    """Write ``events`` records to ``out`` in the CloudTrail S3 layout; return what was written."""
    rng = random.Random(seed)
    ids = IdSource("corpus", seed)
    world = generic_world(seed, accounts, regions)
    regs = [
        _Region(world, a.account_id, r, len(a.regions)) for a in world.accounts for r in a.regions
    ]
    t0 = clock.epoch(start)
    windows = days * clock.DAY // 300
    stats = CorpusStats()
    svc_cache: dict[str, Principal] = {}
    sizes = file_sizes(events, rng, mean_per_file)
    for i, count in enumerate(sizes):
        st = regs[i % len(regs)] if i < len(regs) else regs[rng.randrange(len(regs))]
        w0 = t0 + rng.randrange(windows) * 300
        recs: list[Record] = []
        for _ in range(count):
            t = w0 + rng.randrange(300)
            x = rng.random()
            if x < 0.70:
                recs.append(_data(ids, t, st, rng))
            elif x < 0.72:
                recs.append(_control(ids, t, st, rng))
            else:
                recs.append(_other(ids, t, st, rng, svc_cache))
        recs.sort(key=lambda r: r["eventTime"])
        stamp = w0 + 300 + 60 + rng.randrange(0, 480)
        lf = LogFile(st.account_id, st.region, stamp - stamp % 60, ids.unique_string(), recs)
        body = orjson.dumps({"Records": recs})
        gz = igzip.compress(body, level, mtime=0)
        path = out / lf.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gz)
        stats.files += 1
        stats.events += count
        stats.raw_bytes += len(body)
        stats.gz_bytes += len(gz)
        for r in recs:
            stats.by_source[r["eventSource"]] += 1
            if "errorCode" in r:
                stats.error_records += 1
                if is_pending_deletion_error(r):
                    stats.pending_deletion_errors += 1
            if is_cis_4_7(r):
                stats.cis_4_7_events += 1
    return stats
