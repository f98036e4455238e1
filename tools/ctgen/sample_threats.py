"""Scenarios 13–15 of the sample corpus (docs/sample_logs.md): KMS threats that scan's
reencrypt_out, grants and key_policies sections must find, and routine service grants
that no rule may report."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tools.ctgen import agents
from tools.ctgen.records import Caller, create_grant, key_policy, kms_crypto, put_key_policy
from tools.ctgen.sample_estate import EXTERNAL, B, SampleWorld, scenario_times
from tools.ctgen.scenarios import label
from tools.ctgen.world import make_key

if TYPE_CHECKING:
    from tools.ctgen.sample_plan import Plan

NewPlan = Callable[..., "Plan"]

# The foreign key the ransomware move wraps data under: it has no logs in the corpus.
S13_DEST_LABEL = "external-vault"
S13_IP = "45.137.21.9"
S13_CALLS = 60
S13_SECONDS = 20 * 60
S14_GRANTEE = f"arn:aws:iam::{EXTERNAL}:role/data-sync"
S14_INSTANCE = "i-0f4e3d2c1b0a98765"
S14_VOLUMES = ("vol-0a1b2c3d4e5f60001", "vol-0a1b2c3d4e5f60002", "vol-0a1b2c3d4e5f60003")


def plant_kms_threats(sw: SampleWorld, new: NewPlan) -> None:
    plant_reencrypt_out(sw, new)
    plant_grants(sw, new)
    plant_public_policy(sw, new)


def plant_reencrypt_out(sw: SampleWorld, new: NewPlan) -> None:
    """13 — the intruder of 10c, with the legacy-deploy role, re-wraps 60 DR backup data
    keys under a key of 999988887777 within twenty minutes (a burst: >= 50 in one hour)."""
    S = scenario_times
    src = sw.keys["dr-backups"]
    dst = make_key(S13_DEST_LABEL, EXTERNAL, src.region, description="attacker vault")
    pl = new("s13_reencrypt_out", "ReEncrypt burst into another account's key", "dr-backups")
    who = Caller(sw.p["legacy-deploy"], ip=S13_IP, agent=agents.KALI_CLI_2)
    start = S["s13_reencrypt"]
    times = sorted(start + pl.ids.rng.randrange(S13_SECONDS) for _ in range(S13_CALLS))
    ctx = {"aws:s3:arn": "arn:aws:s3:::example-dr-backups/snapshots/2026-10-05.tar"}
    recs = [kms_crypto(pl.ids, t, "ReEncrypt", src, who, context=ctx, dest_key=dst) for t in times]
    pl.add(*recs)
    pl.labels.append(
        label(
            "reencrypt_out_of_account",
            recs,
            expected={
                "section": "reencrypt_out",
                "kind": "kms-reencrypt-out-of-account",
                "severity": "critical",
            },
            key_arn=src.arn,
            destination_key_arn=dst.arn,
            destination_account=EXTERNAL,
            principal_arn=sw.p["legacy-deploy"].arn,
            source_ips=[S13_IP],
            calls=S13_CALLS,
        )
    )
    pl.notes["destination_key"] = dst.arn


def plant_grants(sw: SampleWorld, new: NewPlan) -> None:
    """14 — an admin grants a role of 999988887777 Decrypt on the orders key; the same
    afternoon EC2 makes the routine attach grants for an instance's EBS volumes."""
    S, p = scenario_times, sw.p
    key = sw.keys["orders"]
    pl = new("s14_grants", "grant to another account; routine EBS attach grants", "orders")
    adm = Caller(p["admin-a"], ip="198.51.100.44")
    ext = create_grant(
        pl.ids,
        S["s14_external_grant"],
        key,
        adm,
        grantee=S14_GRANTEE,
        operations=["Decrypt", "DescribeKey"],
        name="data-sync-readback",
    )
    pl.add(ext)
    pl.labels.append(
        label(
            "external_grant",
            [ext],
            expected={
                "section": "grants",
                "kind": "grant-external-grantee",
                "severity": "high",
            },
            key_arn=key.arn,
            grantee=S14_GRANTEE,
            grantee_account=EXTERNAL,
            principal_arn=p["admin-a"].arn,
        )
    )
    # EC2 calls on behalf of the operator who attaches the volumes (AWS's ct-ec2two shape).
    via_ec2 = Caller(p["admin-a"], invoked_by="ec2.amazonaws.com")
    account = key.account_id
    service = [
        create_grant(
            pl.ids,
            S["s14_ebs_attach"] + 3 * i,
            key,
            via_ec2,
            grantee=f"{account}:aws:ec2-infrastructure:{S14_INSTANCE}",
            operations=["Decrypt"],
            constraints={"encryptionContextSubset": {"aws:ebs:id": vol}},
        )
        for i, vol in enumerate(S14_VOLUMES)
    ]
    pl.add(*service)
    pl.labels.append(
        label(
            "service_grants",
            service,
            expected=None,
            key_arn=key.arn,
            instance=S14_INSTANCE,
            invoked_by="ec2.amazonaws.com",
        )
    )


def plant_public_policy(sw: SampleWorld, new: NewPlan) -> None:
    """15 — a key policy opened to everyone (``Principal: "*"``, kms:Decrypt, no
    condition) on eu-analytics, and one where ``"*"`` is narrowed by kms:CallerAccount to
    the own account on data-lake (not a finding)."""
    S, p = scenario_times, sw.p
    open_key, narrowed_key = sw.keys["eu-analytics"], sw.keys["data-lake"]
    pl = new("s15_public_policy", "key policy open to everyone", "eu-analytics", "data-lake")
    adm = Caller(p["admin-b"], ip="198.51.100.61")
    public = {
        "Sid": "Allow partner decrypt",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    widened = put_key_policy(
        pl.ids, S["s15_public"], open_key, adm, key_policy(open_key, extra_statements=[public])
    )
    narrowed_stmt: dict[str, Any] = {
        **public,
        "Sid": "Allow use by any principal of the account",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Condition": {"StringEquals": {"kms:CallerAccount": B}},
    }
    narrowed = put_key_policy(
        pl.ids,
        S["s15_narrowed"],
        narrowed_key,
        adm,
        key_policy(narrowed_key, extra_statements=[narrowed_stmt]),
    )
    pl.add(widened, narrowed)
    pl.labels.append(
        label(
            "public_key_policy",
            [widened],
            expected={
                "section": "key_policies",
                "kind": "key-policy-widened",
                "severity": "critical",
            },
            key_arn=open_key.arn,
            principal_arn=p["admin-b"].arn,
            statement=json.loads(json.dumps(public)),
        )
    )
    pl.labels.append(
        label(
            "caller_account_policy",
            [narrowed],
            expected=None,
            key_arn=narrowed_key.arn,
            principal_arn=p["admin-b"].arn,
        )
    )
