"""New encryption context: a principal sends, with a key it uses routinely, an
encryption-context key name (``aws:s3:arn``, ``tenant``; never the values) it never sent
with that key — its calls now concern data of another kind or owner than its habit.

The profile keeps, per key and principal, the lexically smallest ``CAPPED_DIMS`` names
(features.py). When the full profile holds a pair at its cap, a name past the largest
kept one may have been seen and dropped, so it is not reported.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import polars as pl

from kmslog.baseline.features import CAPPED_DIMS
from kmslog.baseline.findings import Finding
from kmslog.baseline.profile import Profile

if TYPE_CHECKING:
    from kmslog.baseline.detect import Detector

DIM = "key.principal.context"


def saturated_pairs(profile: Profile) -> dict[tuple[str, str], str]:
    """(key, principal) → largest kept name, for pairs the profile holds at the cap."""
    cap = CAPPED_DIMS[DIM]
    full = (
        profile.obs.filter(pl.col("dim") == DIM)
        .group_by("e1", "e2")
        .agg(pl.col("value").n_unique().alias("n"), pl.col("value").max().alias("top"))
        .filter(pl.col("n") >= cap)
    )
    return {(e1, e2): top for e1, e2, _n, top in full.iter_rows()}


def new_contexts(
    det: Detector, new_principal_pairs: set[tuple[str, str]], saturated: dict[tuple[str, str], str]
) -> list[Finding]:
    out = []
    for g in det.w.get(DIM, []):
        key, principal, name = g.e1, g.e2, g.value
        if (key, principal) in new_principal_pairs:
            continue
        known = det.b.known(DIM, key, principal)
        # A pair that never sent a context (or a profile learned before this feature)
        # has no habit to depart from.
        if not known or name in known:
            continue
        top = saturated.get((key, principal))
        if top is not None and name > top:
            continue
        if not det.history_ok("key.principal.operation", key, principal):
            continue
        events, days = det.b.entity("key.principal.operation", key, principal)
        seen = ", ".join(sorted(known)[:5]) + (
            f" and {len(known) - 5} more" if len(known) > 5 else ""
        )
        explanation = (
            f"context key `{name}` never used by {principal} with key {key} in {det.days} "
            f"days of history ({events} calls on {days} days; seen: {seen}); now {g.count} "
            f"calls with it between {det.ts(g.first)} and {det.ts(g.last)}"
        )
        out.append(
            det.finding(
                "new_encryption_context",
                [g],
                45 + 5 * min(3.0, math.log10(max(g.count, 1))),
                explanation,
                key=key,
                principal=principal,
                subject=name,
                details={"baseline_context_keys": sorted(known), "baseline_days": det.days},
            )
        )
    return out
