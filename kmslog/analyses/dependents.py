"""The dependents analysis: per key, what uses it (the "blast radius" of losing it).

``update`` keeps the KMS cryptographic calls about the asked key(s), parses each call's
text once (:mod:`kmslog.decode.jsontext`) for its encryption context and calling service
(:mod:`kmslog.kms.dependents`), and folds the uses into rows per key reference ×
dependent. A key ARN names its key for ever, so its rows have no time; an alias names
whatever key it pointed to at the second of the call, so its rows keep that second and
``finish`` resolves them with the alias history (alias events and observed uses, as the
lifecycle does).

The partial stays bounded and the result order-independent: per reference and kind only
the :data:`MAX_PER_KIND` dependents first in name order are kept (the first k of a union
are the first k of the parts' first k, so merging in any order gives the same list, each
kept dependent with its exact figures), calls per kind are counted exactly so what the cap
left out is reported as calls, and each dependent keeps the first :data:`MAX_PRINCIPALS`
principals in name order and whether there were more.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import polars as pl

from kmslog.analyses.lifecycle import KMS_SOURCE, _refs_expr, alias_uses
from kmslog.decode import schema as S
from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.kms.dependents import (
    CONTEXT_KINDS,
    ELLIPSIS,
    MAX_TEXT,
    RecordDependents,
    record_dependents,
)
from kmslog.kms.keys import KEY_ARN_REGEX, IdKind, parse_key_ref
from kmslog.kms.principals import principal_expr
from kmslog.kms.resolve import (
    ALIAS_EVENTS,
    AliasBinding,
    AliasEvent,
    AliasHistory,
    alias_event_from_record,
)
from kmslog.kms.shared_events import is_shared, joined
from kmslog.lifecycle.build import observations, resolve_ref, wanted_keys
from kmslog.lifecycle.state_machine import CRYPTO_OPERATIONS

MAX_PER_KIND = 1_000
_KEY_ARN = re.compile(KEY_ARN_REGEX)
MAX_PRINCIPALS = 20

_PLACE = ["ref", "region", "account", "bucket"]
_USE_KEYS = [*_PLACE, "kind", "resource"]
_TIME = pl.Datetime("ms", "UTC")
USE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "ref": pl.String,
    "region": pl.String,
    "account": pl.String,
    "bucket": _TIME,  # the call's second for an alias reference, null for a key ARN
    "kind": pl.String,
    "resource": pl.String,
    "first": _TIME,
    "last": _TIME,
    "calls": pl.UInt64,
    "failed": pl.UInt64,
    "principals": pl.List(pl.String),
    "more_principals": pl.Boolean,
}
# Calls per reference and kind, exact: what the per-kind cap leaves out is their
# difference with the dependents kept.
KIND_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    **{c: USE_SCHEMA[c] for c in [*_PLACE, "kind"]},
    "calls": pl.UInt64,
    "failed": pl.UInt64,
}
# Calls per reference: all of them, and those that showed no dependent.
CALL_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    **{c: USE_SCHEMA[c] for c in _PLACE},
    "calls": pl.UInt64,
    "failed": pl.UInt64,
    "unattributed": pl.UInt64,
}
ALIAS_EVENT_COLUMNS = [S.EVENT_TIME, S.EVENT_NAME, S.RAW]


@dataclass
class DependentsPartial:
    uses: list[pl.DataFrame] = field(default_factory=list)
    kinds: list[pl.DataFrame] = field(default_factory=list)
    calls: list[pl.DataFrame] = field(default_factory=list)
    alias_events: list[pl.DataFrame] = field(default_factory=list)
    alias_uses: list[pl.DataFrame] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # key ARNs any kept KMS record names
    logs_start: datetime | None = None
    logs_end: datetime | None = None
    rows: int = 0
    compacted_rows: int = 0
    shared: list[pl.DataFrame] = field(default_factory=list)  # copies of cross-account calls
    shared_rows: int = 0
    shared_compacted: int = 0


def joined_calls(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    """The kept copies of cross-account calls, one per call."""
    return joined(frames, [S.EVENT_NAME], S.RECIPIENT_ACCOUNT_ID, pl.col("refs").list.first())


@dataclass(frozen=True)
class DependentUse:
    kind: str
    resource: str
    first: datetime
    last: datetime
    calls: int
    failed: int
    principals: tuple[str, ...]
    more_principals: bool  # principals beyond MAX_PRINCIPALS were left out


@dataclass(frozen=True)
class Omitted:
    """Dependents of one kind left out by the cap: the calls they made."""

    kind: str
    calls: int
    failed: int


@dataclass(frozen=True)
class KeyDependents:
    key_arn: str
    calls: int  # cryptographic calls on the key
    failed: int
    unattributed: int  # calls that named no resource and no calling service
    dependents: tuple[DependentUse, ...] = ()
    omitted: tuple[Omitted, ...] = ()


@dataclass(frozen=True)
class DependentsResult:
    query: str | None
    keys: tuple[KeyDependents, ...]
    alias_bindings: tuple[AliasBinding, ...] = ()
    unresolved: tuple[str, ...] = ()
    logs_start: datetime | None = None
    logs_end: datetime | None = None

    def key(self, arn: str) -> KeyDependents | None:
        return next((k for k in self.keys if k.key_arn == arn), None)


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _concat(frames: list[pl.DataFrame], schema: Mapping[str, Any]) -> pl.DataFrame:
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="vertical_relaxed") if frames else pl.DataFrame(schema=schema)


def _aggregate_uses(frame: pl.DataFrame, keys: list[str] = _USE_KEYS) -> pl.DataFrame:
    """Merge use rows that share ``keys`` and apply both caps."""
    principals = pl.col("principals").explode().drop_nulls().unique().sort()
    merged = frame.group_by(keys).agg(
        pl.col("first").min(),
        pl.col("last").max(),
        pl.col("calls").sum(),
        pl.col("failed").sum(),
        principals.head(MAX_PRINCIPALS).alias("principals"),
        (pl.col("more_principals").any() | (principals.len() > MAX_PRINCIPALS)).alias(
            "more_principals"
        ),
    )
    group = [k for k in keys if k != "resource"]
    return merged.sort("resource").filter(
        pl.int_range(pl.len()).over(group, order_by="resource") < MAX_PER_KIND
    )


# One row per call × dependent, before the first aggregation.
_FIRST_USE_COLUMNS: dict[str, pl.DataType | type[pl.DataType]] = {
    **{c: USE_SCHEMA[c] for c in _USE_KEYS},
    "time": _TIME,
    "failed": pl.Boolean,
    "principal": pl.String,
}


def _first_uses(frame: pl.DataFrame) -> pl.DataFrame:
    principals = pl.col("principal").drop_nulls().unique().sort()
    return frame.group_by(_USE_KEYS).agg(
        pl.col("time").min().alias("first"),
        pl.col("time").max().alias("last"),
        pl.len().cast(pl.UInt64).alias("calls"),
        pl.col("failed").sum().cast(pl.UInt64),
        principals.head(MAX_PRINCIPALS).alias("principals"),
        (principals.len() > MAX_PRINCIPALS).alias("more_principals"),
    )


def _capped(text: pl.Expr) -> pl.Expr:
    """:func:`kmslog.kms.dependents.cap` over a column."""
    cut = text.str.slice(0, MAX_TEXT - 1) + pl.lit(ELLIPSIS)
    return pl.when(text.str.len_chars() > MAX_TEXT).then(cut).otherwise(text)


def _may_show() -> pl.Expr:
    """Whether a record can show a dependent: it names a known context key or has a
    calling service. A key spelt with JSON escapes has none of the literals but has
    ``\\u``, so such a record is parsed too; the others are not parsed again."""
    raw = pl.col(S.RAW)
    found = raw.str.contains("\\u", literal=True) | pl.col(S.IDENTITY_INVOKED_BY).is_not_null()
    for name in CONTEXT_KINDS:
        found = found | raw.str.contains(f'"{name}"', literal=True)
    return found


def _aggregate(frame: pl.DataFrame, keys: list[str], sums: list[str]) -> pl.DataFrame:
    return frame.group_by(keys).agg(pl.col(c).sum() for c in sums)


def _parse(raw: str) -> RecordDependents:
    try:
        record = loads_record(raw)
    except RecordTextError:
        return RecordDependents()
    return record_dependents(record) if isinstance(record, Mapping) else RecordDependents()


@dataclass(frozen=True)
class DependentsAnalysis:
    """Dependents of the key(s) ``query`` names (key id, key ARN, ``mrk-`` id, alias name
    or alias ARN), or of every key when ``query`` is None. As in the lifecycle, a key
    id / key ARN query only narrows which records are read, never how they are summed."""

    query: str | None = None
    name: str = "dependents"
    compact_rows: int = 100_000
    columns: ClassVar[frozenset[str]] = frozenset(
        {
            S.EVENT_TIME,
            S.EVENT_SOURCE,
            S.EVENT_NAME,
            S.AWS_REGION,
            S.RECIPIENT_ACCOUNT_ID,
            S.ERROR_CODE,
            S.ERROR_MESSAGE,
            S.KEY_IDS,
            S.IDENTITY_TYPE,
            S.IDENTITY_ARN,
            S.IDENTITY_ACCOUNT_ID,
            S.IDENTITY_SESSION_ISSUER_ARN,
            S.IDENTITY_INVOKED_BY,
            S.EVENT_ID,
            S.SHARED_EVENT_ID,
            S.RAW,
        }
    )

    @property
    def _needle(self) -> str | None:
        if self.query is None:
            return None
        ref = parse_key_ref(self.query)
        return ref.key_id if ref.kind in (IdKind.KEY_ARN, IdKind.KEY_ID) else None

    def start(self) -> DependentsPartial:
        return DependentsPartial()

    def update(self, state: DependentsPartial, frame: pl.DataFrame) -> DependentsPartial:
        kms = frame.filter(pl.col(S.EVENT_SOURCE) == KMS_SOURCE)
        if kms.height == 0:
            return state
        lo, hi = kms.select(pl.col(S.EVENT_TIME).min(), pl.col(S.EVENT_TIME).max().alias("h")).row(
            0
        )
        state.logs_start, state.logs_end = _min(state.logs_start, lo), _max(state.logs_end, hi)
        is_alias_event = pl.col(S.EVENT_NAME).is_in(ALIAS_EVENTS).fill_null(False)
        # Alias history comes from every record, whatever the query (as in the lifecycle).
        uses = alias_uses(kms.filter(~is_alias_event))
        if uses is not None:
            state.alias_uses.append(uses)
        changes = kms.filter(is_alias_event & pl.col(S.ERROR_CODE).is_null())
        if changes.height:
            state.alias_events.append(changes.select(ALIAS_EVENT_COLUMNS))
        needle = self._needle
        if needle is not None:
            joined = pl.col(S.KEY_IDS).list.join("\x1f").fill_null("")
            names_key = joined.str.contains(needle, literal=True) | pl.col(
                S.ERROR_MESSAGE
            ).str.contains(needle, literal=True).fill_null(False)
            alias_only = joined.str.contains("alias/", literal=True) & ~joined.str.contains(
                ":key/", literal=True
            )
            kms = kms.filter(names_key | alias_only)
        kms = kms.filter(~is_alias_event).with_columns(_refs_expr())
        named = kms.select(pl.col("refs").explode().drop_nulls().unique())["refs"]
        state.seen.update(r for r in named.to_list() if parse_key_ref(r).kind is IdKind.KEY_ARN)
        crypto = kms.filter(
            pl.col(S.EVENT_NAME).is_in(CRYPTO_OPERATIONS).fill_null(False)
            & (pl.col("refs").list.len() > 0)
        )
        if crypto.height:
            calls = crypto.with_columns(principal_expr()).select(
                "refs",
                S.AWS_REGION,
                S.RECIPIENT_ACCOUNT_ID,
                S.EVENT_TIME,
                pl.col(S.ERROR_CODE).is_not_null().alias("failed"),
                _capped(pl.col("principal")).alias("principal"),
                pl.when(_may_show()).then(pl.col(S.RAW)).alias(S.RAW),
                S.EVENT_NAME,
                S.SHARED_EVENT_ID,
                S.EVENT_ID,
            )
            # The copies of a cross-account call wait until every copy has been seen:
            # one is counted (kms.shared_events), whichever was read first.
            shared = calls.filter(is_shared())
            if shared.height:
                state.shared.append(shared)
                state.shared_rows += shared.height
                calls = calls.filter(~is_shared())
            if calls.height:
                self._fold(state, calls)
            self._compact(state)
        return state

    def _fold(self, state: DependentsPartial, crypto: pl.DataFrame) -> None:
        rows = crypto.select(
            "refs",
            S.AWS_REGION,
            S.RECIPIENT_ACCOUNT_ID,
            S.EVENT_TIME,
            "failed",
            "principal",
            S.RAW,
        ).rows()
        uses: dict[str, list[Any]] = {c: [] for c in _FIRST_USE_COLUMNS}
        calls: dict[str, list[Any]] = {c: [] for c in CALL_SCHEMA}
        for refs, region, account, when, failed, principal, raw in rows:
            shown = _parse(raw) if raw is not None else RecordDependents()
            single = len(refs) == 1
            for position, ref in enumerate(refs):
                bucket = None if _KEY_ARN.match(ref) else when
                found = shown.union() if single else shown.for_key(position)
                for column, value in zip(
                    CALL_SCHEMA,
                    (ref, region, account, bucket, 1, int(failed), 0 if found else 1),
                    strict=True,
                ):
                    calls[column].append(value)
                for dep in found:
                    values = (ref, region, account, bucket, dep.kind, dep.resource, when, failed)
                    for column, value in zip(_FIRST_USE_COLUMNS, (*values, principal), strict=True):
                        uses[column].append(value)
        call_frame = pl.DataFrame(calls, schema=CALL_SCHEMA)
        state.calls.append(_aggregate(call_frame, _PLACE, ["calls", "failed", "unattributed"]))
        if uses["ref"]:
            first = _first_uses(pl.DataFrame(uses, schema=_FIRST_USE_COLUMNS))
            state.kinds.append(
                _aggregate(first, [*_PLACE, "kind"], ["calls", "failed"]).select(list(KIND_SCHEMA))
            )
            state.uses.append(_aggregate_uses(first).select(list(USE_SCHEMA)))
        state.rows += sum(f.height for f in (state.uses[-1:] + state.calls[-1:]))

    def _compact(self, state: DependentsPartial) -> None:
        """Re-aggregate once the partial has doubled since the last time (linear cost)."""
        if state.shared_rows > max(self.compact_rows, 2 * state.shared_compacted):
            joined = joined_calls(state.shared)
            state.shared = [] if joined is None else [joined]
            state.shared_rows = state.shared_compacted = 0 if joined is None else joined.height
        if state.rows <= max(self.compact_rows, 2 * state.compacted_rows):
            return
        state.uses = [_aggregate_uses(_concat(state.uses, USE_SCHEMA)).select(list(USE_SCHEMA))]
        state.kinds = [
            _aggregate(_concat(state.kinds, KIND_SCHEMA), [*_PLACE, "kind"], ["calls", "failed"])
        ]
        state.calls = [
            _aggregate(
                _concat(state.calls, CALL_SCHEMA), _PLACE, ["calls", "failed", "unattributed"]
            )
        ]
        state.rows = state.compacted_rows = state.uses[0].height + state.calls[0].height

    def combine(self, a: DependentsPartial, b: DependentsPartial) -> DependentsPartial:
        merged = DependentsPartial(
            uses=a.uses + b.uses,
            kinds=a.kinds + b.kinds,
            calls=a.calls + b.calls,
            alias_events=a.alias_events + b.alias_events,
            alias_uses=a.alias_uses + b.alias_uses,
            seen=a.seen | b.seen,
            logs_start=_min(a.logs_start, b.logs_start),
            logs_end=_max(a.logs_end, b.logs_end),
            rows=a.rows + b.rows,
            compacted_rows=max(a.compacted_rows, b.compacted_rows),
            shared=a.shared + b.shared,
            shared_rows=a.shared_rows + b.shared_rows,
            shared_compacted=max(a.shared_compacted, b.shared_compacted),
        )
        self._compact(merged)
        return merged

    def finish(self, state: DependentsPartial) -> DependentsResult:
        joined = joined_calls(state.shared)
        if joined is not None:
            self._fold(state, joined)
            state.shared = []
        return build_dependents(self.query, state)


def alias_events_of(frames: list[pl.DataFrame]) -> list[AliasEvent]:
    """The alias events of kept alias-call rows (``ALIAS_EVENT_COLUMNS``), read from
    each record's text; a record that does not parse is left out."""
    found: list[AliasEvent] = []
    for frame in frames:
        for raw in frame[S.RAW].to_list():
            try:
                record = loads_record(raw)
            except RecordTextError:
                continue
            if isinstance(record, Mapping) and (event := alias_event_from_record(record)):
                found.append(event)
    return found


def _with_keys(
    frame: pl.DataFrame, history: AliasHistory, lost: dict[str, int] | None = None
) -> pl.DataFrame:
    """``frame`` with the key each row is about (column ``key``); rows whose alias no
    history resolves at their time are left out (their calls added to ``lost``)."""
    is_arn = pl.col("ref").str.contains(KEY_ARN_REGEX)
    aliased = frame.filter(~is_arn).select(_PLACE).unique()
    mapping = aliased.with_columns(
        pl.Series(
            "alias_key",
            [resolve_ref(r, g, a, b, history) for r, g, a, b in aliased.iter_rows()],
            dtype=pl.String,
        )
    )
    keyed = frame.join(mapping, on=_PLACE, how="left", nulls_equal=True).with_columns(
        pl.when(is_arn).then(pl.col("ref")).otherwise(pl.col("alias_key")).alias("key")
    )
    if lost is not None:
        for ref, calls in (
            keyed.filter(pl.col("key").is_null())
            .group_by("ref")
            .agg(pl.col("calls").sum())
            .iter_rows()
        ):
            lost[ref] += calls
    return keyed.filter(pl.col("key").is_not_null()).drop("alias_key")


def build_dependents(query: str | None, state: DependentsPartial) -> DependentsResult:
    history = AliasHistory(alias_events_of(state.alias_events), observations(state.alias_uses))
    lost: dict[str, int] = defaultdict(int)
    calls = _with_keys(_concat(state.calls, CALL_SCHEMA), history, lost)
    kinds = _with_keys(_concat(state.kinds, KIND_SCHEMA), history)
    uses = _with_keys(_concat(state.uses, USE_SCHEMA), history)
    candidates = state.seen | set(calls["key"].to_list())
    wanted, bindings = wanted_keys(query, candidates, history)
    per_key = (
        calls.filter(pl.col("key").is_in(wanted))
        .group_by("key")
        .agg(pl.col("calls").sum(), pl.col("failed").sum(), pl.col("unattributed").sum())
    )
    totals = {r["key"]: r for r in per_key.iter_rows(named=True)}
    kept = _aggregate_uses(
        uses.filter(pl.col("key").is_in(wanted)).drop(_PLACE), ["key", "kind", "resource"]
    )
    by_key: dict[str, list[DependentUse]] = defaultdict(list)
    kept_calls: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))
    ordered = kept.sort(
        ["key", "kind", "calls", "resource"], descending=[False, False, True, False]
    )
    for row in ordered.iter_rows(named=True):
        by_key[row["key"]].append(
            DependentUse(
                kind=row["kind"],
                resource=row["resource"],
                first=row["first"],
                last=row["last"],
                calls=row["calls"],
                failed=row["failed"],
                principals=tuple(row["principals"]),
                more_principals=row["more_principals"],
            )
        )
        seen_calls, seen_failed = kept_calls[(row["key"], row["kind"])]
        kept_calls[(row["key"], row["kind"])] = (
            seen_calls + row["calls"],
            seen_failed + row["failed"],
        )
    omitted: dict[str, list[Omitted]] = defaultdict(list)
    per_kind = (
        kinds.filter(pl.col("key").is_in(wanted))
        .group_by(["key", "kind"])
        .agg(pl.col("calls").sum(), pl.col("failed").sum())
        .sort(["key", "kind"])
    )
    for key, kind, kind_calls, kind_failed in per_kind.iter_rows():
        listed_calls, listed_failed = kept_calls[(key, kind)]
        if kind_calls > listed_calls:
            omitted[key].append(
                Omitted(kind, kind_calls - listed_calls, kind_failed - listed_failed)
            )
    keys = tuple(
        KeyDependents(
            key_arn=arn,
            calls=totals[arn]["calls"] if arn in totals else 0,
            failed=totals[arn]["failed"] if arn in totals else 0,
            unattributed=totals[arn]["unattributed"] if arn in totals else 0,
            dependents=tuple(by_key.get(arn, ())),
            omitted=tuple(omitted.get(arn, ())),
        )
        for arn in wanted
    )
    unresolved = tuple(
        f"{calls} call(s) named {ref}, which no alias history resolves at their time"
        for ref, calls in sorted(lost.items())
    )
    return DependentsResult(
        query, keys, tuple(bindings), unresolved, state.logs_start, state.logs_end
    )
