"""Scenario 16 of the sample corpus (docs/sample_logs.md): anomalies quieter than those of
scenario 10, which the baseline must still find — a known role calling its usual key at
several times its usual rate for hours, and a known role sending an encryption-context key
it never sent with its key. Its own id stream, so the other scenarios do not move."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tools.ctgen import clock
from tools.ctgen.records import kms_crypto
from tools.ctgen.sample_estate import SampleWorld, scenario_times
from tools.ctgen.scenarios import label
from tools.ctgen.traffic import workload_call, workload_caller

if TYPE_CHECKING:
    from tools.ctgen.sample_plan import Plan

NewPlan = Callable[..., "Plan"]

S16_RISE_HOURS = 4
S16_RISE_CALLS_PER_HOUR = 42
S16_CONTEXT_CALLS = 9
S16_CONTEXT = "arn:aws:s3:::example-orders-exports/exports/2026/10/05/part-00017.snappy.parquet"


def plant_quiet_anomalies(sw: SampleWorld, new: NewPlan) -> None:
    """16 — (a) ``orders-api`` calls ``orders`` 42 times an hour for four hours from its
    usual addresses and VPC endpoint (its usual is a few calls an hour; the key's spike
    threshold is 100); (b) ``orders-api-eu``, whose calls on ``eu-orders`` carry
    ``app``/``tenant`` contexts or none, decrypts nine objects with an ``aws:s3:arn``
    context of the orders exports bucket."""
    S = scenario_times
    pl = new(
        "s16_quiet_anomalies",
        "sustained rate rise; encryption-context key new to the role",
        "orders",
        "eu-orders",
    )
    wl = sw.wl["orders-api"]
    start = S["s16_rise"]
    rise = []
    for h in range(S16_RISE_HOURS):
        hour = start + h * clock.HOUR
        times = sorted(
            hour + pl.ids.rng.randrange(clock.HOUR) for _ in range(S16_RISE_CALLS_PER_HOUR)
        )
        rise += [workload_call(pl.ids, t, wl) for t in times]
    pl.add(*rise)
    pl.labels.append(
        label(
            "sustained_rate_rise",
            rise,
            key_arn=wl.key.arn,
            principal_arn=wl.principal.arn,
            hours=S16_RISE_HOURS,
            calls_per_hour=S16_RISE_CALLS_PER_HOUR,
        )
    )
    eu = sw.wl["eu-orders"]
    t0 = S["s16_context"]
    times = sorted(t0 + pl.ids.rng.randrange(900) for _ in range(S16_CONTEXT_CALLS))
    ctx = [
        kms_crypto(
            pl.ids,
            t,
            "Decrypt",
            eu.key,
            workload_caller(eu, pl.ids),
            context={"aws:s3:arn": S16_CONTEXT},
        )
        for t in times
    ]
    pl.add(*ctx)
    pl.labels.append(
        label(
            "new_encryption_context",
            ctx,
            key_arn=eu.key.arn,
            principal_arn=eu.principal.arn,
            context_key="aws:s3:arn",
        )
    )
