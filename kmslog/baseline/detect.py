"""Compare a scan window against a baseline profile and explain what is new or unusual.

Inputs are aggregates only: the baseline's daily observations (restricted to days
before the window) and the window's own observations with a capped, deterministic
sample of event ids. Every finding states the numbers it rests on.
"""

from __future__ import annotations

import ipaddress
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from kmslog.baseline.context_keys import new_contexts, saturated_pairs
from kmslog.baseline.features import CONTROL_OPS, DESTRUCTIVE_OPS, is_metadata
from kmslog.baseline.findings import Finding
from kmslog.baseline.profile import Profile
from kmslog.baseline.rise import sustained_rises
from kmslog.baseline.thresholds import Thresholds
from kmslog.kms.dates import readable

_LIST_MAX = 5


@dataclass(frozen=True)
class Window:
    """What a scan saw: ``obs`` / ``series`` as produced with samples, compacted."""

    obs: pl.DataFrame
    series: pl.DataFrame


@dataclass(frozen=True)
class _Group:
    dim: str
    e1: str
    e2: str
    value: str
    count: int
    first: datetime
    last: datetime
    ids: tuple[str, ...]


def _fmt_list(items: list[str] | set[str], limit: int = _LIST_MAX) -> str:
    ordered = sorted(items)
    if not ordered:
        return "none"
    shown = ", ".join(ordered[:limit])
    if len(ordered) > limit:
        shown += f" and {len(ordered) - limit} more"
    return shown


def _fmt_counts(counts: dict[str, int], limit: int = _LIST_MAX) -> str:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{n} {name}" for name, n in ordered[:limit])
    if len(ordered) > limit:
        text += f" and {len(ordered) - limit} more"
    return text


def _ts(t: datetime) -> str:
    return readable(t)


def _owner(key_arn: str) -> str | None:
    parts = key_arn.split(":")
    return parts[4] if len(parts) > 5 else None


def _principal_account(principal: str) -> str | None:
    if principal.startswith("account:"):
        return principal.removeprefix("account:")
    parts = principal.split(":")
    if len(parts) > 5 and parts[0] == "arn":
        return parts[4] or None
    return None


_INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)


def _is_public(network: str) -> bool | None:
    """Routable outside an organisation's own networks (documentation ranges count as
    public: they stand for public addresses in examples and tests)."""
    try:
        net = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return None
    return not any(net.version == n.version and net.subnet_of(n) for n in _INTERNAL)  # type: ignore[arg-type]


def _wide(network: str) -> str:
    """The enclosing /16 (IPv4) or /32 (IPv6) of a network; other values unchanged."""
    try:
        net = ipaddress.ip_network(network, strict=False)
    except ValueError:
        return network
    return str(net.supernet(new_prefix=16 if net.version == 4 else 32))


class _Baseline:
    """Fast lookups over the restricted baseline."""

    def __init__(self, base: Profile) -> None:
        obs = base.obs.with_columns(pl.col("e2").fill_null(""))
        values = obs.group_by("dim", "e1", "e2", "value").agg(
            pl.col("count").sum(), pl.col("day").n_unique().alias("days"), pl.col("last").max()
        )
        self.values: dict[tuple[str, str, str], dict[str, tuple[int, int, datetime]]] = defaultdict(
            dict
        )
        for dim, e1, e2, value, count, days, last in values.iter_rows():
            self.values[(dim, e1, e2)][value] = (count, days, last)
        entities = obs.group_by("dim", "e1", "e2").agg(
            pl.col("count").sum(), pl.col("day").n_unique().alias("days")
        )
        self.history: dict[tuple[str, str, str], tuple[int, int]] = {
            (d, a, b): (c, n) for d, a, b, c, n in entities.iter_rows()
        }
        self.series = base.series

    def known(self, dim: str, e1: str, e2: str = "") -> dict[str, tuple[int, int, datetime]]:
        return self.values.get((dim, e1, e2), {})

    def known_keys(self) -> set[str]:
        return {k for (dim, k, _) in self.history if dim == "key.operation"}

    def entity(self, dim: str, e1: str, e2: str = "") -> tuple[int, int]:
        return self.history.get((dim, e1, e2), (0, 0))


def _window_groups(window: Window, cap: int) -> dict[str, list[_Group]]:
    grouped = (
        window.obs.with_columns(pl.col("e2").fill_null(""))
        .group_by("dim", "e1", "e2", "value")
        .agg(
            pl.col("count").sum(),
            pl.col("first").min(),
            pl.col("last").max(),
            pl.col("samples").explode().drop_nulls().sort().head(cap),
        )
        .sort("dim", "e1", "e2", "value")
    )
    out: dict[str, list[_Group]] = defaultdict(list)
    for dim, e1, e2, value, count, first, last, samples in grouped.iter_rows():
        ids = tuple(s["event_id"] for s in samples if s["event_id"] is not None)
        out[dim].append(_Group(dim, e1, e2, value, count, first, last, ids))
    return out


def _merge_ids(groups: list[_Group], cap: int) -> tuple[str, ...]:
    pairs = sorted({(g.first, i) for g in groups for i in g.ids})
    seen: dict[str, None] = {}
    for _, i in pairs:
        seen.setdefault(i, None)
    return tuple(list(seen)[:cap])


class Detector:
    def __init__(
        self,
        base: Profile,
        window: Window,
        cutoff: date,
        thresholds: Thresholds,
        baseline_start: date | None,
        saturated: dict[tuple[str, str], str] | None = None,
    ) -> None:
        self.b = _Baseline(base)
        self.saturated = saturated or {}
        self.w = _window_groups(window, thresholds.sample_cap)
        self.window = window
        self.t = thresholds
        self.cutoff = cutoff
        self.days = max(0, (cutoff - baseline_start).days) if baseline_start else 0
        self.by_key: dict[tuple[str, str, str], list[_Group]] = defaultdict(list)
        for dim, groups in self.w.items():
            for g in groups:
                self.by_key[(dim, g.e1, g.e2)].append(g)

    # ------------------------------------------------------------------ helpers
    def _history_ok(self, dim: str, e1: str, e2: str = "") -> bool:
        events, days = self.b.entity(dim, e1, e2)
        return days >= self.t.min_history_days and events >= self.t.min_history_events

    # Public names for the kinds kept in modules of their own (context_keys.py).
    history_ok = _history_ok

    @staticmethod
    def ts(t: datetime) -> str:
        return _ts(t)

    def _window_values(self, dim: str, e1: str, e2: str = "") -> dict[str, int]:
        return {g.value: g.count for g in self.by_key.get((dim, e1, e2), [])}

    def _finding(
        self,
        kind: str,
        groups: list[_Group],
        score: float,
        explanation: str,
        *,
        key: str | None,
        principal: str | None,
        subject: str,
        details: dict[str, Any],
    ) -> Finding:
        first = min(g.first for g in groups)
        return Finding(
            kind=kind,
            key_arn=key,
            principal=principal,
            score=min(100.0, score),
            start=first,
            end=max(g.last for g in groups),
            count=sum(g.count for g in groups),
            event_ids=_merge_ids(groups, self.t.sample_cap),
            explanation=explanation,
            detected_at=first,
            subject=subject,
            details=details,
        )

    finding = _finding

    def _novel(self, dim: str, history_dim: str | None = None) -> list[_Group]:
        """Window values never seen for their entity before the cutoff, where the
        entity itself has enough history for novelty to mean something."""
        out = []
        for g in self.w.get(dim, []):
            if g.value in self.b.known(dim, g.e1, g.e2):
                continue
            if history_dim is None and not self._history_ok(dim, g.e1, g.e2):
                continue
            if history_dim is not None and not self._history_ok(history_dim, g.e1):
                continue
            out.append(g)
        return out

    # ------------------------------------------------------------------ kinds
    def new_principals(self) -> list[Finding]:
        out = []
        for g in self._novel("key.principal"):
            key, principal = g.e1, g.value
            events, _ = self.b.entity("key.principal", key)
            known = self.b.known("key.principal", key)
            ops = self._window_values("key.principal.operation", key, principal)
            if all(is_metadata(op) for op in ops):
                continue
            nets = self._window_values("principal.network", principal)
            known_nets = self.b.known("principal.network", principal)
            new_nets = [n for n in nets if n not in known_nets]
            elsewhere = self.b.entity("principal.key", principal)[0]
            foreign = _principal_account(principal) not in (None, _owner(key))
            score = 55 + 10 * min(3.0, math.log10(max(g.count, 1))) + (10 if foreign else 0)
            explanation = (
                f"{principal} used key {key} 0 times in {self.days} days of baseline "
                f"(the key had {events} calls from {len(known)} principals: "
                f"{_fmt_list(set(known))}); now {g.count} calls ({_fmt_counts(ops)}) between "
                f"{_ts(g.first)} and {_ts(g.last)} from {len(nets)} network(s), "
                f"{len(new_nets)} new to this principal ({_fmt_list(new_nets)})"
            )
            if elsewhere:
                explanation += f"; it made {elsewhere} calls on other keys in the baseline"
            if foreign:
                explanation += "; the principal belongs to another account"
            out.append(
                self._finding(
                    "new_principal",
                    [g],
                    score,
                    explanation,
                    key=key,
                    principal=principal,
                    subject=principal,
                    details={
                        "operations": ops,
                        "networks": sorted(nets),
                        "new_networks": sorted(new_nets),
                        "baseline_days": self.days,
                        "baseline_key_calls": events,
                    },
                )
            )
        return out

    def new_accounts(self) -> list[Finding]:
        out = []
        for g in self._novel("key.account", history_dim="key.principal"):
            key, account = g.e1, g.value
            owner = _owner(key)
            known = self.b.known("key.account", key)
            who = {
                p: n
                for p, n in self._window_values("key.principal", key).items()
                if _principal_account(p) == account
            }
            ops = self._window_values("key.operation", key)
            external = account != owner
            score = (75 if external else 50) + 5 * min(3.0, math.log10(max(g.count, 1)))
            explanation = (
                f"account {account} made {g.count} calls on key {key} (owner {owner}) between "
                f"{_ts(g.first)} and {_ts(g.last)}; in {self.days} days of baseline only "
                f"{_fmt_list(set(known))} called it. Callers: {_fmt_counts(who) or 'unknown'}"
            )
            out.append(
                self._finding(
                    "new_caller_account",
                    [g],
                    score,
                    explanation,
                    key=key,
                    principal=next(iter(sorted(who)), None),
                    subject=account,
                    details={"owner": owner, "external": external, "key_operations": ops},
                )
            )
        return out

    def new_operations(
        self, new_principal_pairs: set[tuple[str, str]], control: set[tuple[str, str]]
    ) -> list[Finding]:
        out = []
        for g in self._novel("key.principal.operation"):
            key, principal, op = g.e1, g.e2, g.value
            if (key, principal) in new_principal_pairs or (principal, op) in control:
                continue
            if is_metadata(op):
                continue
            known = self.b.known("key.principal.operation", key, principal)
            events, _ = self.b.entity("key.principal.operation", key, principal)
            score = (
                40 + (20 if op in CONTROL_OPS else 0) + 5 * min(3.0, math.log10(max(g.count, 1)))
            )
            explanation = (
                f"{principal} called {op} on key {key} {g.count} times between {_ts(g.first)} and "
                f"{_ts(g.last)}; in {self.days} days of baseline it made {events} calls on this "
                f"key, only {_fmt_list(set(known))}"
            )
            out.append(
                self._finding(
                    "new_operation",
                    [g],
                    score,
                    explanation,
                    key=key,
                    principal=principal,
                    subject=op,
                    details={"baseline_operations": sorted(known)},
                )
            )
        return out

    def new_simple(self, dim: str, kind: str, what: str, base_score: float) -> list[Finding]:
        out = []
        for g in self._novel(dim):
            known = self.b.known(dim, g.e1, g.e2)
            events, days = self.b.entity(dim, g.e1, g.e2)
            explanation = (
                f"key {g.e1} was used via {what} {g.value} {g.count} times between "
                f"{_ts(g.first)} and {_ts(g.last)}; in {self.days} days of baseline "
                f"({events} calls on {days} days) only {_fmt_list(set(known))}"
            )
            out.append(
                self._finding(
                    kind,
                    [g],
                    base_score + 5 * min(3.0, math.log10(max(g.count, 1))),
                    explanation,
                    key=g.e1,
                    principal=None,
                    subject=g.value,
                    details={"baseline": sorted(known)},
                )
            )
        return out

    def new_networks(self) -> list[Finding]:
        out = []
        for g in self._novel("principal.network"):
            known = self.b.known("principal.network", g.e1)
            public = _is_public(g.value)
            if public is False and _wide(g.value) in {_wide(n) for n in known}:
                # Moving between subnets of a private network already in use is routine.
                continue
            events, days = self.b.entity("principal.network", g.e1)
            where = {True: "public network", False: "private network", None: "source"}[public]
            keys = self._window_values("principal.key", g.e1)
            score = 50 + (10 if public else 0) + 5 * min(3.0, math.log10(max(g.count, 1)))
            explanation = (
                f"{g.e1} called KMS from {where} {g.value} {g.count} times between {_ts(g.first)} "
                f"and {_ts(g.last)}; in {self.days} days of baseline ({events} calls on "
                f"{days} days) it used only {_fmt_list(set(known))}"
            )
            out.append(
                self._finding(
                    "new_network",
                    [g],
                    score,
                    explanation,
                    key=next(iter(sorted(keys, key=lambda k: -keys[k])), None),
                    principal=g.e1,
                    subject=g.value,
                    details={"public": public, "baseline_networks": sorted(known)},
                )
            )
        return out

    def odd_hours(self) -> list[Finding]:
        """Calls at an hour the principal never worked on that kind of day (weekday or
        weekend), not even within ``odd_hour_margin`` hours of it."""
        base = self.b.series.filter(pl.col("series") == "principal")
        win = self.window.series.filter(pl.col("series") == "principal")
        if not win.height:
            return []
        seen: dict[str, set[tuple[bool, int]]] = defaultdict(set)
        totals: dict[str, tuple[int, set[date]]] = {}
        for entity, day, hour, calls in base.select("entity", "day", "hour", "calls").iter_rows():
            seen[entity].add((day.weekday() >= 5, int(hour)))
            n, days = totals.get(entity, (0, set()))
            days.add(day)
            totals[entity] = (n + calls, days)
        margin = self.t.odd_hour_margin
        odd_rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in win.sort("entity", "day", "hour").iter_rows(named=True):
            entity = row["entity"]
            events, days = totals.get(entity, (0, set()))
            if len(days) < self.t.odd_hour_min_days or events < self.t.odd_hour_min_events:
                continue
            weekend = row["day"].weekday() >= 5
            hour = int(row["hour"])
            near = {(weekend, (hour + d) % 24) for d in range(-margin, margin + 1)}
            if not near & seen[entity]:
                odd_rows[entity].append(row)
        out = []
        for principal, rows in odd_rows.items():
            count = sum(r["calls"] for r in rows)
            if count < self.t.odd_hour_min_calls:
                continue
            events, days = totals[principal]
            hours = sorted({f"{int(r['hour']):02d}" for r in rows})
            weekend = rows[0]["day"].weekday() >= 5
            kind = "weekend" if weekend else "weekday"
            usual = sorted(h for w, h in seen[principal] if w == weekend)
            usual_text = ", ".join(f"{h:02d}" for h in usual) if usual else "no hour at all"
            pairs = sorted({(x["ts"], x["event_id"]) for r in rows for x in r["samples"]})
            ids = tuple(dict.fromkeys(i for _, i in pairs))[: self.t.sample_cap]
            keys = self._window_values("principal.key", principal)
            explanation = (
                f"{principal} made {count} calls at {', '.join(h + ':00' for h in hours)} UTC on a "
                f"{kind}; in {self.days} days of baseline ({events} calls on {len(days)} days) it "
                f"was active on {kind}s only at {usual_text} (UTC hours)"
            )
            out.append(
                Finding(
                    kind="odd_hour",
                    key_arn=next(iter(sorted(keys, key=lambda k: -keys[k])), None),
                    principal=principal,
                    score=min(100.0, 40 + 10 * min(3.0, math.log10(max(count, 1)))),
                    start=min(r["first"] for r in rows),
                    end=max(r["last"] for r in rows),
                    count=count,
                    event_ids=ids,
                    explanation=explanation,
                    detected_at=min(r["first"] for r in rows),
                    subject=",".join(hours),
                    details={"hours": hours, "day_kind": kind, "baseline_hours": usual},
                )
            )
        return out

    def control_plane(self) -> list[Finding]:
        by_principal: dict[str, list[_Group]] = defaultdict(list)
        for g in self.w.get("principal.control", []):
            if g.value not in self.b.known("principal.control", g.e1):
                by_principal[g.e1].append(g)
        destructive_who: dict[str, set[str]] = defaultdict(set)
        for (dim, _account, op), values in self.b.values.items():
            if dim == "account.destructive":
                destructive_who[op].update(values)
        out = []
        for principal, groups in by_principal.items():
            ops = {g.value: g.count for g in groups}
            known_ops = set(self.b.known("principal.control", principal))
            total_events = self.b.entity("principal.key", principal)[0]
            destructive = [op for op in ops if op in DESTRUCTIVE_OPS]
            keys = [
                g.e1
                for op in ops
                for g in self.w.get("key.principal.operation", [])
                if g.e2 == principal and g.value == op
            ]
            keys = sorted(set(keys))
            score = (
                (75 if destructive else 45)
                + 5 * min(3, len(ops) - 1)
                + (10 if total_events == 0 else 0)
            )
            others = {op: destructive_who.get(op, set()) for op in destructive}
            targets = _fmt_list(keys) if keys else "no named key"
            explanation = (
                f"{principal} performed {_fmt_counts(ops)} on {targets} between "
                f"{_ts(min(g.first for g in groups))} and {_ts(max(g.last for g in groups))}; "
                f"in {self.days} days of baseline it made {total_events} KMS calls and performed "
                f"{_fmt_list(known_ops) if known_ops else 'no control-plane operations'}"
            )
            for op, who in sorted(others.items()):
                explanation += f"; {op} was performed in the baseline only by {_fmt_list(who)}"
            out.append(
                self._finding(
                    "control_plane",
                    groups,
                    score,
                    explanation,
                    key=keys[0] if len(keys) == 1 else None,
                    principal=principal,
                    subject=",".join(sorted(ops)),
                    details={"operations": ops, "keys": keys, "destructive": sorted(destructive)},
                )
            )
        return out

    def foreign_keys(self) -> list[Finding]:
        """Use of a key owned by an account that owned no key seen in the baseline: data
        encrypted under someone else's key (ransomware-style), or keys from nowhere."""
        owners = {_owner(k) for (dim, k, _), _v in self.b.history.items() if dim == "key.operation"}
        if not owners:
            return []
        by_key: dict[str, list[_Group]] = defaultdict(list)
        for g in self.w.get("key.operation", []):
            by_key[g.e1].append(g)
        out = []
        for key, groups in by_key.items():
            owner = _owner(key)
            if owner is None or owner in owners or self.b.known("key.operation", key):
                continue
            principals = self._window_values("key.principal", key)
            ops = {g.value: g.count for g in groups}
            explanation = (
                f"key {key} belongs to account {owner}, which owned none of the "
                f"{len(self.b.known_keys())} keys seen in {self.days} days of baseline; "
                f"used {sum(ops.values())} times ({_fmt_counts(ops)}) by "
                f"{_fmt_list(set(principals))}"
            )
            out.append(
                self._finding(
                    "foreign_key",
                    groups,
                    70 + 5 * min(3.0, math.log10(max(sum(ops.values()), 1))),
                    explanation,
                    key=key,
                    principal=next(iter(sorted(principals, key=lambda p: -principals[p])), None),
                    subject=owner,
                    details={"owner": owner, "operations": ops, "known_owners": sorted(owners)},
                )
            )
        return out

    def dormant_keys(self) -> list[Finding]:
        by_key: dict[str, list[_Group]] = defaultdict(list)
        for g in self.w.get("key.operation", []):
            if not is_metadata(g.value):
                by_key[g.e1].append(g)
        out = []
        for key, groups in by_key.items():
            known = {
                op: v for op, v in self.b.known("key.operation", key).items() if not is_metadata(op)
            }
            if not known:
                continue
            last = max(v[2] for v in known.values())
            first_use = min(g.first for g in groups)
            gap = (first_use - last).total_seconds() / 86400
            if gap < self.t.dormant_days:
                continue
            events, days = self.b.entity("key.operation", key)
            principals = self._window_values("key.principal", key)
            ops = {g.value: g.count for g in groups}
            explanation = (
                f"key {key} was not used for {gap:.0f} days (last use {_ts(last)}; "
                f"{events} calls on {days} days in {self.days} days of baseline); used again "
                f"from {_ts(first_use)}: {_fmt_counts(ops)} by {_fmt_list(set(principals))}"
            )
            out.append(
                self._finding(
                    "dormant_key",
                    groups,
                    50 + min(30.0, gap),
                    explanation,
                    key=key,
                    principal=next(iter(sorted(principals, key=lambda p: -principals[p])), None),
                    subject=key,
                    details={"idle_days": round(gap, 1), "last_use": _ts(last)},
                )
            )
        return out

    # ------------------------------------------------------------------ rates
    def rate_spikes(self) -> list[Finding]:
        # The key and principal series; pairs have their own, quieter test (rise.py).
        own = pl.col("series").is_in(["key", "principal"])
        ser = self.window.series.filter(own)
        if not ser.height:
            return []
        base = self.b.series.filter(own)
        starts = dict(
            base.group_by("series", "entity")
            .agg(pl.col("day").min())
            .select(pl.concat_str("series", "entity", separator="\x00"), "day")
            .iter_rows()
        )
        nonzero: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for name, entity, calls, errors in base.select(
            "series", "entity", "calls", "errors"
        ).iter_rows():
            pair = nonzero[f"{name}\x00{entity}"]
            pair[0].append(calls)
            pair[1].append(errors)
        stats_cache: dict[str, dict[str, float]] = {}

        def stats(ident: str) -> dict[str, float]:
            if ident in stats_cache:
                return stats_cache[ident]
            # Every entity's rate is measured over the whole baseline: hours before its
            # first use count as zero, which is what they were.
            first_day = starts.get(ident)
            hours = max(self.days, (self.cutoff - first_day).days if first_day else 0) * 24
            calls, errors = nonzero.get(ident, ([], []))
            out: dict[str, float] = {"hours": hours}
            for label, vals in (("calls", calls), ("errors", errors)):
                arr = np.zeros(max(hours, len(vals), 1))
                arr[: len(vals)] = vals
                med = float(np.median(arr))
                mad = float(np.median(np.abs(arr - med))) * 1.4826
                out[f"{label}_median"] = med
                out[f"{label}_mad"] = mad
                out[f"{label}_p99"] = float(np.quantile(arr, 0.99))
                out[f"{label}_max"] = float(arr.max())
                out[f"{label}_sum"] = float(sum(vals))
            stats_cache[ident] = out
            return out

        t = self.t
        flagged: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        rows = ser.sort("series", "entity", "day", "hour").iter_rows(named=True)
        for row in rows:
            ident = f"{row['series']}\x00{row['entity']}"
            st = stats(ident)
            for label, kind, min_n, factor, k in (
                ("calls", "call_rate_spike", t.rate_min_calls, t.rate_factor, t.rate_mad_k),
                ("errors", "error_rate_spike", t.error_min, t.error_factor, t.error_mad_k),
            ):
                limit = max(
                    float(min_n),
                    factor * st[f"{label}_p99"],
                    st[f"{label}_median"] + k * st[f"{label}_mad"],
                )
                if row[label] > limit:
                    flagged[(kind, row["series"], row["entity"])].append({**row, "limit": limit})
        out = []
        for (kind, name, entity), hours in flagged.items():
            label = "calls" if kind == "call_rate_spike" else "errors"
            st = stats(f"{name}\x00{entity}")
            for burst in _bursts(hours):
                out.append(self._rate_finding(kind, label, name, entity, burst, st))
        return out

    def _rate_finding(
        self,
        kind: str,
        label: str,
        name: str,
        entity: str,
        burst: list[dict[str, Any]],
        st: dict[str, float],
    ) -> Finding:
        count = sum(h[label] for h in burst)
        peak = max(h[label] for h in burst)
        limit = min(h["limit"] for h in burst)
        samples_col = "samples" if label == "calls" else "error_samples"
        pairs = sorted(
            {(s["ts"], s["event_id"]) for h in burst for s in h[samples_col] if s["event_id"]}
        )
        ids = tuple(dict.fromkeys(i for _, i in pairs))[: self.t.sample_cap]
        first_hour = burst[0]
        hour_end = datetime(
            first_hour["day"].year, first_hour["day"].month, first_hour["day"].day, tzinfo=UTC
        ) + timedelta(hours=int(first_hour["hour"]) + 1)
        detected = min(hour_end, first_hour["last"])
        minutes = max(st["hours"] * 60, 1)
        avg_pm = st[f"{label}_sum"] / minutes
        ratio = peak / max(limit, 1.0)
        score = 45 + 15 * math.log2(max(ratio, 1.0)) + 5 * min(3.0, math.log10(max(count, 1)))
        codes = ""
        if label == "errors":
            dim = "key.error" if name == "key" else "principal.error"
            errs = {
                g.value: g.count
                for g in self.by_key.get((dim, entity, ""), [])
                if g.first <= burst[-1]["last"] and g.last >= burst[0]["first"]
            }
            if errs:
                codes = f" ({_fmt_counts(errs)} in the window)"
        subject = "key" if name == "key" else "principal"
        explanation = (
            f"{subject} {entity}: {count} {label}{codes} between {_ts(burst[0]['first'])} and "
            f"{_ts(burst[-1]['last'])} (peak {peak}/hour, threshold {limit:.0f}/hour); in "
            f"{self.days} days of baseline: median {st[f'{label}_median']:.0f}/hour, p99 "
            f"{st[f'{label}_p99']:.1f}/hour, max {st[f'{label}_max']:.0f}/hour, average "
            f"{avg_pm:.4f}/minute over {st['hours'] * 60:.0f} minutes"
        )
        return Finding(
            kind=kind,
            key_arn=entity if name == "key" else None,
            principal=entity if name == "principal" else None,
            score=min(100.0, score),
            start=burst[0]["first"],
            end=burst[-1]["last"],
            count=int(count),
            event_ids=ids,
            explanation=explanation,
            detected_at=detected,
            subject=entity,
            details={
                "peak_per_hour": int(peak),
                "threshold_per_hour": round(limit, 2),
                "baseline_median_per_hour": st[f"{label}_median"],
                "baseline_p99_per_hour": st[f"{label}_p99"],
                "baseline_max_per_hour": st[f"{label}_max"],
                "baseline_average_per_minute": round(avg_pm, 6),
                "baseline_duration_minutes": int(st["hours"] * 60),
                "hours": len(burst),
            },
        )

    # ------------------------------------------------------------------ all
    def run(self) -> list[Finding]:
        if self.days < self.t.min_history_days or not self.b.history:
            # Nothing to compare with: every habit would look new.
            return []
        findings: list[Finding] = []
        principals = self.new_principals()
        findings += principals
        pairs = {(f.key_arn or "", f.principal or "") for f in principals}
        control = self.control_plane()
        control_pairs = {(f.principal or "", op) for f in control for op in f.details["operations"]}
        findings += control
        findings += self.new_accounts()
        findings += self.new_operations(pairs, control_pairs)
        findings += self.new_simple("key.service", "new_service", "calling service", 35)
        findings += self.new_simple("key.region", "new_region", "region", 50)
        findings += self.new_networks()
        findings += self.odd_hours()
        findings += self.dormant_keys()
        findings += self.foreign_keys()
        findings += _merge_twins(self.rate_spikes())
        findings += sustained_rises(self.b.series, self.window.series, self.t)
        findings += new_contexts(self, pairs, self.saturated)
        findings = [f for f in findings if f.score >= self.t.min_score]
        findings.sort(key=lambda f: (-f.score, f.start, f.kind, f.key_arn or "", f.principal or ""))
        return findings


def _merge_twins(findings: list[Finding]) -> list[Finding]:
    """A burst seen on both a key's and a principal's series is one finding."""
    by_shape: dict[tuple[str, datetime, datetime, int], list[Finding]] = defaultdict(list)
    for f in findings:
        by_shape[(f.kind, f.start, f.end, f.count)].append(f)
    out = []
    for twins in by_shape.values():
        if len(twins) == 1:
            out.append(twins[0])
            continue
        key = next((f for f in twins if f.key_arn), None)
        who = next((f for f in twins if f.principal), None)
        best = max(twins, key=lambda f: f.score)
        if key is None or who is None:
            out.extend(twins)
            continue
        out.append(
            replace(
                best,
                key_arn=key.key_arn,
                principal=who.principal,
                explanation=key.explanation + "; all of it from " + (who.principal or "?"),
                details={**best.details, "also_principal_series": who.details},
            )
        )
    return out


def _bursts(hours: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Flagged hours of one entity → runs, merging runs separated by at most one hour."""

    def index(h: dict[str, Any]) -> int:
        d: date = h["day"]
        return d.toordinal() * 24 + int(h["hour"])

    ordered = sorted(hours, key=index)
    runs: list[list[dict[str, Any]]] = []
    for h in ordered:
        if runs and index(h) - index(runs[-1][-1]) <= 2:
            runs[-1].append(h)
        else:
            runs.append([h])
    return runs


def detect(
    profile: Profile,
    window: Window,
    cutoff: date,
    thresholds: Thresholds | None = None,
) -> list[Finding]:
    """Findings for ``window`` against the part of ``profile`` before ``cutoff``."""
    base = profile.before(cutoff)
    start = profile.start.date() if profile.start else None
    t = thresholds or Thresholds()
    return Detector(base, window, cutoff, t, start, saturated_pairs(profile)).run()
