"""Generated estates of any size, for benchmark corpora and evaluation harnesses."""

from __future__ import annotations

import random

from tools.ctgen.ids import IdSource, seed_of
from tools.ctgen.world import Account, Key, Principal, Workload, World, make_key, role, user

REGIONS = (
    "us-east-1",
    "eu-west-1",
    "us-west-2",
    "ap-southeast-2",
    "eu-central-1",
    "ap-northeast-1",
    "us-east-2",
    "ca-central-1",
)

CHANNELS = ("s3", "s3", "lambda", "dynamodb", "secretsmanager", "ebs", "direct", "direct", "direct")
OPS_BY_CHANNEL: dict[str, tuple[tuple[str, float], ...]] = {
    "s3": (("GenerateDataKey", 55.0), ("Decrypt", 45.0)),
    "lambda": (("Decrypt", 100.0),),
    "dynamodb": (("Decrypt", 75.0), ("GenerateDataKey", 25.0)),
    "secretsmanager": (("Decrypt", 90.0), ("GenerateDataKey", 10.0)),
    "ebs": (("GenerateDataKeyWithoutPlaintext", 35.0), ("Decrypt", 65.0)),
    "direct": (("Decrypt", 50.0), ("GenerateDataKey", 25.0), ("Encrypt", 22.0), ("ReEncrypt", 3.0)),
}
RHYTHMS = ("daytime", "daytime", "business", "nightly", "flat")
APPS = (
    "orders",
    "billing",
    "payments",
    "inventory",
    "search",
    "profiles",
    "ledger",
    "media",
    "events",
    "catalog",
    "shipping",
    "notifications",
    "reports",
    "audit",
    "identity",
    "pricing",
)


def account_ids(seed: int, n: int) -> list[str]:
    rng = random.Random(seed_of("accounts", seed))
    out: list[str] = []
    while len(out) < n:
        a = f"{rng.randrange(100000000000, 999999999999)}"
        if a not in out:
            out.append(a)
    return out


def generic_world(
    seed: int,
    n_accounts: int = 4,
    n_regions: int = 4,
    *,
    keys_per_region: int = 6,
    roles_per_account: int = 10,
    accounts: list[str] | None = None,
) -> World:
    """An estate with ``n_accounts`` × ``n_regions``: customer keys, service roles, one or
    more workloads per key, human admins and noise principals. Deterministic in ``seed``."""
    rng = random.Random(seed_of("estate", seed))
    ids = IdSource("estate-ips", seed)
    regions = REGIONS[:n_regions]
    accts = accounts or account_ids(seed, n_accounts)
    w = World([Account(a, f"acct-{i}", tuple(regions)) for i, a in enumerate(accts)])
    for a in accts:
        apps = rng.sample(APPS, k=min(len(APPS), roles_per_account))
        roles = [
            role(
                a,
                f"{app}-service",
                *(f"{app}-task-{j:02d}" for j in range(4)),
                hours=rng.choice((1, 6, 12)),
            )
            for app in apps
        ]
        admins = [
            role(
                a,
                "Admin",
                "alice@example.com",
                "bob@example.com",
                hours=4,
                mfa=True,
                path="aws-reserved/sso.amazonaws.com/",
            ),
            user(a, "ci-deployer"),
        ]
        for r in roles + admins:
            w.add_principal(f"{a}:{r.name}", r)
        w.noise_principals[a] = admins + roles[:3]
        for region in regions:
            vpce = w.vpce(a, region)
            for j in range(keys_per_region):
                app = apps[j % len(apps)]
                key = w.add_key(
                    make_key(f"{a}:{region}:{app}-{j}", a, region, description=f"{app} data")
                )
                for m in range(rng.choice((1, 1, 2))):
                    ch = CHANNELS[rng.randrange(len(CHANNELS))]
                    principal: Principal = roles[(j + m) % len(roles)]
                    direct = ch == "direct"
                    w.workloads.append(
                        Workload(
                            name=f"{key.name}:{ch}:{m}",
                            principal=principal,
                            key=key,
                            channel=ch,
                            ops=OPS_BY_CHANNEL[ch],
                            rate=rng.lognormvariate(1.5, 0.8),
                            rhythm=RHYTHMS[rng.randrange(len(RHYTHMS))],
                            burst=rng.choice((2.0, 4.0, 8.0)),
                            ips=tuple(
                                ids.private_ip("10." + str(rng.randrange(0, 32))) for _ in range(3)
                            )
                            if direct
                            else (),
                            vpce=vpce if direct and rng.random() < 0.5 else None,
                            key_ref=rng.choice(("arn", "id", f"alias/{app}")) if direct else "arn",
                            resource_name=f"{app}-{a[-4:]}-{region}",
                        )
                    )
    return w


def pick_key(world: World, account_id: str, region: str, rng: random.Random) -> Key:
    keys = world.keys_in(account_id, region)
    return keys[rng.randrange(len(keys))]
