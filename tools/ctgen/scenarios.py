"""Reusable scenario injectors: each returns the records it plants and labels describing them.

Injectors draw all randomness from the ``IdSource`` they are given, so a harness can seed
one per scenario and get stable event ids regardless of the surrounding traffic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tools.ctgen import agents, clock
from tools.ctgen.ids import IdSource
from tools.ctgen.records import (
    Caller,
    alarm_names_op,
    err_access_denied,
    err_disabled,
    err_pending_deletion,
    key_op,
    kms_control,
    kms_crypto,
    put_key_policy,
    schedule_key_deletion,
)
from tools.ctgen.traffic import encryption_context, workload_call
from tools.ctgen.world import Key, Principal, Record, Workload


@dataclass
class ScenarioResult:
    """Records an injector planted and the labels (ground truth) it asserts about them."""

    records: list[Record] = field(default_factory=list)
    labels: list[dict] = field(default_factory=list)

    def extend(self, other: ScenarioResult) -> ScenarioResult:
        self.records.extend(other.records)
        self.labels.extend(other.labels)
        return self


def label(kind: str, records: list[Record], **details: object) -> dict:
    times = [r["eventTime"] for r in records]
    return {
        "kind": kind,
        "start": min(times) if times else None,
        "end": max(times) if times else None,
        "event_ids": [r["eventID"] for r in records],
        **details,
    }


def _spread(ids: IdSource, start: int, seconds: int, n: int) -> list[int]:
    return sorted(start + ids.rng.randrange(seconds) for _ in range(n))


def inject_exfiltration(
    ids: IdSource,
    key: Key,
    principal: Principal,
    start: int,
    *,
    calls: int = 400,
    seconds: int = 3600,
    ips: tuple[str, ...] = ("198.51.100.23", "203.0.113.77", "192.0.2.145"),
    agent: str = agents.KALI_CLI,
    bucket: str = "data",
) -> ScenarioResult:
    """A principal mass-decrypts ``key`` from new public IPs within ``seconds``."""
    recs: list[Record] = []
    for t in _spread(ids, start, seconds, calls):
        caller = Caller(principal, ip=ips[ids.rng.randrange(len(ips))], agent=agent)
        day = clock.day_path(t - ids.rng.randrange(40) * clock.DAY)
        part = ids.rng.randrange(100000)
        ctx = {"aws:s3:arn": f"arn:aws:s3:::{bucket}/exports/{day}/part-{part:05d}.snappy.parquet"}
        recs.append(kms_crypto(ids, t, "Decrypt", key, caller, context=ctx))
    return ScenarioResult(
        recs,
        [
            label(
                "exfiltration",
                recs,
                key_arn=key.arn,
                account=key.account_id,
                region=key.region,
                principal_arn=principal.arn,
                source_ips=list(ips),
            )
        ],
    )


def backdoor_statement(external_account: str) -> dict:
    return {
        "Sid": "Allow use of the key by partner",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{external_account}:root"},
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
        "Resource": "*",
    }


def inject_policy_backdoor(
    ids: IdSource,
    key: Key,
    caller: Caller,
    t: int,
    policy_without: dict,
    foreign: Principal,
    *,
    uses: int = 60,
    use_start: int | None = None,
    use_seconds: int = 36 * 3600,
    foreign_ip: str = "203.0.113.90",
) -> ScenarioResult:
    """PutKeyPolicy adding ``foreign``'s account as principal, then cross-account use of the key
    as the key owner's trail records it (recipientAccountId = owner, accountId = foreign)."""
    doc = json.loads(json.dumps(policy_without))
    doc["Statement"].append(backdoor_statement(foreign.account_id))
    put = put_key_policy(ids, t, key, caller, json.dumps(doc, indent=4))
    uses_recs: list[Record] = []
    fcaller = Caller(
        foreign,
        ip=foreign_ip,
        agent=agents.BOTO3_FOREIGN,
    )
    for tt in _spread(ids, use_start or t + 45 * 60, use_seconds, uses):
        op = "Decrypt" if ids.rng.random() < 0.8 else "GenerateDataKey"
        uses_recs.append(
            kms_crypto(
                ids,
                tt,
                op,
                key,
                fcaller,
                key_ref=key.arn if op != "Decrypt" else None,
                recipient=key.account_id,
                shared_event_id=ids.uuid(),
            )
        )
    return ScenarioResult(
        [put, *uses_recs],
        [
            label(
                "key_policy_backdoor",
                [put],
                key_arn=key.arn,
                account=key.account_id,
                region=key.region,
                principal_arn=caller.principal.session_arn(t),
                external_account=foreign.account_id,
            ),
            label(
                "cross_account_use",
                uses_recs,
                key_arn=key.arn,
                account=key.account_id,
                region=key.region,
                external_account=foreign.account_id,
                source_ips=[foreign_ip],
            ),
        ],
    )


def inject_alarm_tampering(
    ids: IdSource, region: str, caller: Caller, alarm: str, t_disable: int, t_delete: int
) -> ScenarioResult:
    a = alarm_names_op(ids, t_disable, region, caller, "DisableAlarmActions", [alarm])
    d = alarm_names_op(ids, t_delete, region, caller, "DeleteAlarms", [alarm])
    return ScenarioResult(
        [a, d],
        [
            label(
                "alarm_tampering",
                [a, d],
                alarm=alarm,
                account=caller.principal.account_id,
                region=region,
                principal_arn=caller.principal.session_arn(t_disable),
            )
        ],
    )


def inject_disable_then_delete(
    ids: IdSource, key: Key, caller: Caller, t_disable: int, t_schedule: int, *, days: int = 7
) -> ScenarioResult:
    dis = key_op(ids, t_disable, "DisableKey", key, caller, key_ref=key.key_id)
    sch = schedule_key_deletion(ids, t_schedule, key, caller, days=days)
    return ScenarioResult(
        [dis, sch],
        [
            label(
                "disable_then_schedule_deletion",
                [dis, sch],
                key_arn=key.arn,
                account=key.account_id,
                region=key.region,
                principal_arn=caller.principal.session_arn(t_disable),
            )
        ],
    )


def inject_key_state_failures(
    ids: IdSource, wl: Workload, times: list[int], state: str, *, op: str | None = None
) -> list[Record]:
    """Calls of a workload that fail because of the key's state (``disabled``,
    ``pending_deletion``, ``pending_import``)."""
    from tools.ctgen.records import err_pending_import

    err_of = {
        "disabled": err_disabled,
        "pending_deletion": err_pending_deletion,
        "pending_import": err_pending_import,
    }[state]
    return [workload_call(ids, t, wl, op=op, error=err_of(wl.key)) for t in times]


_PROBE_ACTIONS = (
    ("DescribeKey", "kms:DescribeKey"),
    ("Decrypt", "kms:Decrypt"),
    ("GenerateDataKey", "kms:GenerateDataKey"),
    ("GetKeyPolicy", "kms:GetKeyPolicy"),
    ("ListGrants", "kms:ListGrants"),
    ("CreateGrant", "kms:CreateGrant"),
)


def inject_access_denied_probe(
    ids: IdSource,
    keys: list[Key],
    caller: Caller,
    start: int,
    *,
    calls: int = 24,
    seconds: int = 600,
) -> ScenarioResult:
    """One principal fails repeatedly with AccessDeniedException across several keys."""
    recs: list[Record] = []
    for t in _spread(ids, start, seconds, calls):
        key = keys[ids.rng.randrange(len(keys))]
        name, action = _PROBE_ACTIONS[ids.rng.randrange(len(_PROBE_ACTIONS))]
        err = err_access_denied(caller.principal.session_arn(t), action, key.arn)
        if name in ("Decrypt", "GenerateDataKey"):
            recs.append(kms_crypto(ids, t, name, key, caller, key_ref=key.arn, error=err))
        else:
            req: dict = {"keyId": key.arn}
            if name == "GetKeyPolicy":
                req["policyName"] = "default"
            if name == "CreateGrant":
                req.update({"granteePrincipal": caller.principal.arn, "operations": ["Decrypt"]})
            recs.append(kms_control(ids, t, name, key, caller, request=req, error=err))
    return ScenarioResult(
        recs,
        [
            label(
                "access_denied_probing",
                recs,
                account=caller.principal.account_id,
                principal_arn=caller.principal.arn,
                key_arns=sorted({k.arn for k in keys}),
            )
        ],
    )


def inject_calls(
    ids: IdSource,
    wl: Workload,
    start: int,
    *,
    calls: int,
    seconds: int,
    kind: str,
    caller: Caller | None = None,
    **details: object,
) -> ScenarioResult:
    """Ordinary-looking calls of a workload at an unusual time/place (off-network use,
    dormant key revival, unusual hour): the anomaly is in *when/where*, not in *what*."""
    recs = [workload_call(ids, t, wl, caller=caller) for t in _spread(ids, start, seconds, calls)]
    return ScenarioResult(
        recs,
        [
            label(
                kind,
                recs,
                key_arn=wl.key.arn,
                account=wl.key.account_id,
                region=wl.key.region,
                principal_arn=wl.principal.arn,
                **details,
            )
        ],
    )


__all__ = [
    "ScenarioResult",
    "backdoor_statement",
    "encryption_context",
    "inject_access_denied_probe",
    "inject_alarm_tampering",
    "inject_calls",
    "inject_disable_then_delete",
    "inject_exfiltration",
    "inject_key_state_failures",
    "inject_policy_backdoor",
    "label",
]
