"""Background traffic: workloads and noise turned into record streams for a time range."""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass

from tools.ctgen import agents, clock, noise
from tools.ctgen.ids import IdSource
from tools.ctgen.records import (
    ERR_INVALID_CIPHERTEXT,
    ERR_THROTTLED,
    Caller,
    err_access_denied,
    key_op,
    kms_control,
    kms_crypto,
    list_aliases,
)
from tools.ctgen.world import RHYTHMS, SERVICE_HOSTS, Key, Principal, Record, Workload, World


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def rhythm_weight(rhythm: str, t: int) -> float:
    hours, weekend = RHYTHMS[rhythm]
    w = hours[clock.hour_of_day(t)]
    if clock.weekday(t) >= 5:
        w *= weekend
    return w


def encryption_context(ids: IdSource, wl: Workload, t: int) -> dict | None:
    key = wl.key
    acct, region, name = key.account_id, key.region, wl.resource_name or wl.name
    ch = wl.channel
    rng = ids.rng
    if ch == "s3":
        if rng.random() < 0.3:  # S3 Bucket Keys use the bucket ARN as context
            return {"aws:s3:arn": f"arn:aws:s3:::{name}"}
        day = clock.day_path(t - rng.randrange(0, 30) * clock.DAY)
        part = rng.randrange(100000)
        return {"aws:s3:arn": f"arn:aws:s3:::{name}/exports/{day}/part-{part:05d}.snappy.parquet"}
    if ch == "ebs":
        return {"aws:ebs:id": f"vol-0{ids.hex(16)}"}
    if ch == "lambda":
        return {"aws:lambda:FunctionArn": f"arn:aws:lambda:{region}:{acct}:function:{name}"}
    if ch == "secretsmanager":
        return {
            "SecretARN": f"arn:aws:secretsmanager:{region}:{acct}:secret:{name}-{_suffix(name)}",
            "SecretVersionId": ids.uuid(),
        }
    if ch == "dynamodb":
        return {"aws:dynamodb:tableName": name, "aws:dynamodb:subscriberId": acct}
    if ch == "cloudtrail":
        obj = (
            f"AWSLogs/{acct}/CloudTrail/{region}/{clock.day_path(t)}/"
            f"{acct}_CloudTrail_{region}_{clock.file_stamp(t)}_{ids.unique_string()}.json.gz"
        )
        return {
            "aws:cloudtrail:arn": f"arn:aws:cloudtrail:{region}:{acct}:trail/{name}",
            "aws:s3:arn": f"arn:aws:s3:::{wl.resource_name or 'trail-logs'}/{obj}",
        }
    if rng.random() < 0.5:
        return {"app": name, "tenant": f"t-{rng.randrange(1, 400):04d}"}
    return None


@functools.lru_cache(maxsize=4096)
def _suffix(name: str) -> str:
    rng = random.Random(name)
    return "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") for _ in range(6)
    )


def workload_caller(wl: Workload, ids: IdSource) -> Caller:
    if wl.channel in SERVICE_HOSTS:
        return Caller(wl.principal, invoked_by=SERVICE_HOSTS[wl.channel])
    if wl.channel == "cloudtrail":
        return Caller(wl.principal, invoked_by="cloudtrail.amazonaws.com")
    ip = wl.ips[ids.rng.randrange(len(wl.ips))] if wl.ips else ids.private_ip()
    return Caller(wl.principal, ip=ip, agent=wl.user_agent, vpce=wl.vpce)


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for name, w in weighted:
        x -= w
        if x < 0:
            return name
    return weighted[-1][0]


def workload_call(
    ids: IdSource,
    t: int,
    wl: Workload,
    *,
    op: str | None = None,
    error: tuple[str, str | None] | None = None,
    caller: Caller | None = None,
    event_id: str | None = None,
    version: str = "1.08",
) -> Record:
    """One data-plane call of workload ``wl`` at ``t`` (optionally forced op/error/caller)."""
    op = op or pick(ids.rng, wl.ops)
    caller = caller or workload_caller(wl, ids)
    key_ref: str | None
    if op == "Decrypt":
        # Callers usually let KMS read the key from the ciphertext blob.
        key_ref = None if wl.key_ref == "arn" or ids.rng.random() < 0.7 else _ref(wl)
    else:
        key_ref = _ref(wl)
    return kms_crypto(
        ids,
        t,
        op,
        wl.key,
        caller,
        key_ref=key_ref,
        context=encryption_context(ids, wl, t),
        error=error,
        dest_key=wl.reencrypt_to,
        event_id=event_id,
        version=version,
    )


def _ref(wl: Workload) -> str:
    if wl.key_ref == "arn":
        return wl.key.arn
    if wl.key_ref == "id":
        return wl.key.key_id
    return wl.key_ref


@dataclass
class NoiseProfile:
    """Per account-region rates (events/hour at daytime peak) of the background."""

    noise_rate: float = 6.0
    control_rate: float = 0.3
    error_rate: float = 0.01
    noise_burst: float = 1.0  # mean events per noise burst (a script or console page load)
    buckets: tuple[str, ...] = ("app-data",)
    version_1_09_from: int | None = None  # KMS records switch to eventVersion 1.09 at this time


def background(
    world: World,
    account_id: str,
    region: str,
    start: int,
    end: int,
    ids: IdSource,
    profile: NoiseProfile | None = None,
) -> list[Record]:
    """Ordinary activity of one account-region in ``[start, end)``: its workloads' KMS calls,
    read-only KMS control plane (DescribeKey/ListAliases/…) and non-KMS noise. Never plants
    state changes or key-state errors: those belong to scenarios."""
    prof = profile or NoiseProfile()
    rng = ids.rng
    out: list[Record] = []
    wls = [w for w in world.workloads if w.key.account_id == account_id and w.key.region == region]
    noisers = world.noise_principals.get(account_id, [])
    keys = [k for k in world.keys_in(account_id, region) if not k.aws_managed]
    admins = world.kms_readers.get(account_id) or [
        p for p in noisers if p.kind in ("AssumedRole", "IAMUser")
    ]
    hour = start - start % clock.HOUR
    while hour < end:
        for wl in wls:
            lam = wl.rate_at(hour) * rhythm_weight(wl.rhythm, hour)
            if lam <= 0:
                continue
            for _ in range(poisson(rng, lam / wl.burst)):
                t0 = hour + rng.randrange(clock.HOUR)
                size = 1 + poisson(rng, wl.burst - 1)
                caller = workload_caller(wl, ids)
                for _ in range(size):
                    t = t0 + rng.randrange(0, 90)
                    if not (start <= t < end) or not wl.active(t):
                        continue
                    err = None
                    if rng.random() < prof.error_rate:
                        err = _random_kms_error(rng, wl, t)
                    version = (
                        "1.09"
                        if prof.version_1_09_from is not None and t >= prof.version_1_09_from
                        else "1.08"
                    )
                    out.append(workload_call(ids, t, wl, error=err, caller=caller, version=version))
        daylight = rhythm_weight("daytime", hour)
        for _ in range(poisson(rng, prof.noise_rate * daylight / prof.noise_burst)):
            t0 = hour + rng.randrange(clock.HOUR)
            who = noisers[rng.randrange(len(noisers))] if noisers else None
            for _ in range(1 + poisson(rng, prof.noise_burst - 1)):
                t = t0 + rng.randrange(0, 60)
                if start <= t < end and who is not None:
                    out.append(_noise(ids, t, region, rng, who, noisers, prof))
        # Humans read key metadata in office hours only.
        for _ in range(poisson(rng, prof.control_rate * rhythm_weight("office", hour))):
            t = hour + rng.randrange(clock.HOUR)
            alive = [k for k in keys if world.alive(k, t)]
            if start <= t < end and admins and alive:
                out.append(_control_read(ids, t, region, rng, admins, alive))
        hour += clock.HOUR
    return out


def _random_kms_error(rng: random.Random, wl: Workload, t: int) -> tuple[str, str | None]:
    x = rng.random()
    if x < 0.45:
        return ERR_THROTTLED
    if x < 0.8:
        return ERR_INVALID_CIPHERTEXT
    actor = wl.principal.session_arn(t)
    return err_access_denied(actor, "kms:Decrypt", wl.key.arn, policy="resource-based")


def _noise(
    ids: IdSource,
    t: int,
    region: str,
    rng: random.Random,
    p: Principal,
    noisers: list[Principal],
    prof: NoiseProfile,
) -> Record:
    error = rng.random() < prof.error_rate * 2
    # Only people (IAM users, SSO roles with MFA, root) work from office/VPN addresses;
    # service roles stay inside their VPCs.
    human = p.kind in ("IAMUser", "Root") or p.mfa
    office = human and rng.random() < 0.4
    caller = Caller(
        p,
        ip=OFFICE_IPS[rng.randrange(len(OFFICE_IPS))] if office else ids.private_ip("10.20"),
        agent=_agent(rng),
    )
    x = rng.random() * 28
    if x < 9:
        return noise.s3_event(
            ids, t, region, caller, prof.buckets[rng.randrange(len(prof.buckets))], error=error
        )
    if x < 17:
        roles = [q for q in noisers if q.kind == "AssumedRole"] or [p]
        target = roles[rng.randrange(len(roles))]
        if target.name.startswith("ci-"):  # CI roles are assumed by GitHub Actions via OIDC
            return noise.sts_assume_role_with_web_identity(ids, t, region, target)
        svc = rng.choice(("lambda.amazonaws.com", "ec2.amazonaws.com", "ecs-tasks.amazonaws.com"))
        from tools.ctgen.world import service as svc_principal

        svc_caller = Caller(svc_principal(target.account_id, svc), invoked_by=svc)
        use = caller if rng.random() < 0.3 else svc_caller
        return noise.sts_assume_role(ids, t, region, use, target, error=error and use is caller)
    if x < 25 or region != "us-east-1":
        return noise.ec2_event(ids, t, region, caller, error=error)
    return noise.iam_event(ids, t, caller, p.name, error=error)


# Office / VPN egress addresses humans and scripts use outside the VPCs.
OFFICE_IPS = ("198.51.100.44", "198.51.100.61", "198.51.100.77", "198.51.100.90", "198.51.100.101")

_AGENTS = (
    agents.BOTO3,
    agents.GO_SDK,
    agents.CLI_MAC_S3API,
    agents.TERRAFORM,
)


def _agent(rng: random.Random) -> str:
    return _AGENTS[rng.randrange(len(_AGENTS))]


def _control_read(
    ids: IdSource, t: int, region: str, rng: random.Random, admins: list[Principal], keys: list[Key]
) -> Record:
    p = admins[rng.randrange(len(admins))]
    caller = Caller(p, ip=ids.private_ip("10.20"), agent=_agent(rng))
    key = keys[rng.randrange(len(keys))]
    x = rng.random()
    if x < 0.5:
        return key_op(ids, t, "DescribeKey", key, caller, key_ref=key.arn)
    if x < 0.7:
        return list_aliases(ids, t, region, caller)
    if x < 0.85:
        return kms_control(
            ids, t, "GetKeyPolicy", key, caller, request={"keyId": key.arn, "policyName": "default"}
        )
    if x < 0.95 and key.origin == "AWS_KMS":  # rotation status is unsupported for imported keys
        return kms_control(ids, t, "GetKeyRotationStatus", key, caller, request={"keyId": key.arn})
    return kms_control(ids, t, "ListGrants", key, caller, request={"keyId": key.arn})
