"""The lifecycle analysis: a fold that keeps only what a key's life needs.

``update`` filters each frame with polars expressions: control-plane records
(rare) are kept whole for the asked key(s) and every alias event is kept (alias
history needs them all); data-plane records are aggregated into mergeable usage
partials (per key reference × principal × operation × time bucket); failures
whose message proves a key state are kept as evidence rows. ``finish`` resolves
aliases with the complete history and replays the state machine in Python over
the small control-plane list (:mod:`kmslog.lifecycle.build`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from kmslog.decode import schema as S
from kmslog.kms.keys import KEY_ARN_REGEX, IdKind, parse_key_ref
from kmslog.kms.principals import principal_expr
from kmslog.kms.resolve import ALIAS_EVENTS
from kmslog.kms.shared_events import is_shared, joined
from kmslog.lifecycle.model import LifecycleResult
from kmslog.lifecycle.state_machine import EVIDENCE_REGEX
from kmslog.lifecycle.timeline import CONTROL_EVENTS

if TYPE_CHECKING:
    from kmslog.analyses.dependents import DependentsAnalysis

KMS_SOURCE = "kms.amazonaws.com"
_BARE_ID_REGEX = (
    r"^(?:mrk-[0-9a-f]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
_ALIAS_REGEX = r"^(?:alias/|arn:aws[a-z-]*:kms:[^:]*:\d*:alias/)"
_ERROR_ARN_REGEX = r"(arn:aws[a-z-]*:kms:[^:\s]*:\d*:key/[A-Za-z0-9-]+)"
_CONTEXT_REGEX = r'"encryptionContext"\s*:\s*\{([^{}]*)\}'
_CONTEXT_KEY_REGEX = r'"((?:[^"\\]|\\.)*)"\s*:'

CONTROL_COLUMNS = [
    S.EVENT_TIME,
    S.EVENT_NAME,
    S.ERROR_CODE,
    S.ERROR_MESSAGE,
    S.SOURCE_IP,
    S.EVENT_ID,
    S.SHARED_EVENT_ID,
    S.KEY_IDS,
    S.IDENTITY_ARN,
    S.IDENTITY_INVOKED_BY,
    "principal",
    S.RAW,
    S.SOURCE,
    S.RECORD_INDEX,
]

USAGE_KEYS = ["ref", "region", "account", "principal", "operation", "bucket"]

# When each reference was used: one narrow row per reference × principal × operation ×
# event time (exact: states and alias moves are decided at the second of the call).
TICK_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "ref": pl.String,
    "region": pl.String,
    "account": pl.String,
    "principal": pl.String,
    "operation": pl.String,
    "bucket": pl.Datetime("ms", "UTC"),
    "count": pl.UInt32,
    "errors": pl.UInt32,
}

# How it was used (addresses, calling services, context keys): the same per hour for a
# key ARN reference, whose key does not depend on time; per event time for an alias.
USAGE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    **TICK_SCHEMA,
    "first": pl.Datetime("ms", "UTC"),
    "last": pl.Datetime("ms", "UTC"),
    "source_ips": pl.List(pl.String),
    "invoked_by": pl.List(pl.String),
    "context_keys": pl.List(pl.String),
}


@dataclass
class LifecyclePartial:
    control: list[pl.DataFrame] = field(default_factory=list)
    usage: list[pl.DataFrame] = field(default_factory=list)
    ticks: list[pl.DataFrame] = field(default_factory=list)
    evidence: list[pl.DataFrame] = field(default_factory=list)
    alias_uses: list[pl.DataFrame] = field(default_factory=list)
    logs_start: datetime | None = None
    logs_end: datetime | None = None
    usage_rows: int = 0  # rows of usage and ticks
    shared: list[pl.DataFrame] = field(default_factory=list)  # SHARED_COLUMNS rows
    shared_rows: int = 0
    shared_compacted: int = 0
    compacted_rows: int = 0  # their size after the last re-aggregation
    dependents: Any = None  # the dependents fold's partial (analyses.dependents)


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _refs_expr() -> pl.Expr:
    """Every key a record names by itself (ReEncrypt: two): key ARNs, else the ARN in
    its error message, else a bare key id placed in the record's account and Region,
    else its alias. Column ``refs`` (list of strings)."""
    ids = pl.col(S.KEY_IDS)
    arns = ids.list.eval(pl.element().filter(pl.element().str.contains(KEY_ARN_REGEX)))
    bare = ids.list.eval(
        pl.element().filter(pl.element().str.contains(_BARE_ID_REGEX))
    ).list.first()
    built = pl.concat_list(
        pl.concat_str(
            [
                pl.lit("arn:aws:kms:"),
                pl.col(S.AWS_REGION),
                pl.lit(":"),
                pl.col(S.RECIPIENT_ACCOUNT_ID),
                pl.lit(":key/"),
                bare,
            ]
        )
    )
    aliases = ids.list.eval(pl.element().filter(pl.element().str.contains(_ALIAS_REGEX)))
    from_error = pl.concat_list(pl.col(S.ERROR_MESSAGE).str.extract(_ERROR_ARN_REGEX, 1))
    return (
        pl.when(arns.list.len() > 0)
        .then(arns)
        .when(pl.col(S.ERROR_MESSAGE).str.contains(_ERROR_ARN_REGEX).fill_null(False))
        .then(from_error)
        .when(bare.is_not_null() & built.list.first().is_not_null())
        .then(built)
        .when(aliases.list.len() > 0)
        .then(aliases.list.slice(0, 1))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
        .alias("refs")
    )


def _context_keys_expr() -> pl.Expr:
    body = pl.col(S.RAW).str.extract(_CONTEXT_REGEX, 1)
    return (
        body.str.extract_all(_CONTEXT_KEY_REGEX)
        .list.eval(pl.element().str.extract(r'^"(.*)"\s*:$', 1))
        .alias("context_keys")
    )


def _aggregate(frame: pl.DataFrame) -> pl.DataFrame:
    """Merge usage partials that share a key (re-aggregation is associative)."""
    return (
        frame.group_by(USAGE_KEYS)
        .agg(
            pl.col("count").sum().cast(pl.UInt32),
            pl.col("errors").sum().cast(pl.UInt32),
            pl.col("first").min(),
            pl.col("last").max(),
            pl.col("source_ips").explode().drop_nulls().unique().sort(),
            pl.col("invoked_by").explode().drop_nulls().unique().sort(),
            pl.col("context_keys").explode().drop_nulls().unique().sort(),
        )
        .select(list(USAGE_SCHEMA))
    )


def _aggregate_ticks(frame: pl.DataFrame) -> pl.DataFrame:
    return (
        frame.group_by(USAGE_KEYS)
        .agg(pl.col("count").sum().cast(pl.UInt32), pl.col("errors").sum().cast(pl.UInt32))
        .select(list(TICK_SCHEMA))
    )


# What a use row keeps before it is summed; the copies of a cross-account call are kept
# so until they are joined.
SHARED_COLUMNS = [
    "ref",
    "region",
    "account",
    "principal",
    "operation",
    S.EVENT_TIME,
    S.ERROR_CODE,
    S.SOURCE_IP,
    S.IDENTITY_INVOKED_BY,
    "context_keys",
    S.SHARED_EVENT_ID,
    S.EVENT_ID,
]


def _usage_and_ticks(named: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Use rows (``SHARED_COLUMNS``) summed into a usage partial and a tick partial."""
    failed = pl.col(S.ERROR_CODE).is_not_null()
    # Exact times, never coarser buckets, for whatever decides a key or a state:
    # which state a use falls in and where an alias pointed are decided at the
    # second the call was made.
    ticks = (
        named.with_columns(pl.col(S.EVENT_TIME).alias("bucket"))
        .group_by(USAGE_KEYS)
        .agg(
            pl.len().cast(pl.UInt32).alias("count"),
            failed.sum().cast(pl.UInt32).alias("errors"),
        )
        .select(list(TICK_SCHEMA))
    )
    hourly = pl.col("ref").str.contains(KEY_ARN_REGEX)
    usage = (
        named.with_columns(
            pl.when(hourly)
            .then(pl.col(S.EVENT_TIME).dt.truncate("1h"))
            .otherwise(pl.col(S.EVENT_TIME))
            .alias("bucket"),
        )
        .group_by(USAGE_KEYS)
        .agg(
            pl.len().cast(pl.UInt32).alias("count"),
            failed.sum().cast(pl.UInt32).alias("errors"),
            pl.col(S.EVENT_TIME).min().alias("first"),
            pl.col(S.EVENT_TIME).max().alias("last"),
            pl.col(S.SOURCE_IP).drop_nulls().unique().sort().alias("source_ips"),
            pl.col(S.IDENTITY_INVOKED_BY).drop_nulls().unique().sort().alias("invoked_by"),
            pl.col("context_keys").explode().drop_nulls().unique().sort(),
        )
        .select(list(USAGE_SCHEMA))
    )
    return usage, ticks


def joined_copies(frames: list[pl.DataFrame]) -> pl.DataFrame | None:
    """The kept copies of cross-account calls, one per call and key."""
    return joined(frames, ["operation", "ref"], "account", pl.col("ref"))


def alias_uses(data: pl.DataFrame) -> pl.DataFrame | None:
    """Where aliases pointed as their successful uses show it (a record naming the alias
    and, in ``resources[]``, the key ARN): one row per alias × key × place with the
    first and last time seen, or None when the frame shows none."""
    has_alias = (
        pl.col(S.KEY_IDS).list.join("\x1f").str.contains("alias/", literal=True).fill_null(False)
    )
    alias_rows = data.filter(has_alias & pl.col(S.ERROR_CODE).is_null())
    if alias_rows.height == 0:
        return None
    ids = pl.col(S.KEY_IDS)
    uses = (
        alias_rows.select(
            ids.list.eval(pl.element().filter(pl.element().str.contains(_ALIAS_REGEX)))
            .list.first()
            .alias("alias"),
            ids.list.eval(pl.element().filter(pl.element().str.contains(KEY_ARN_REGEX)))
            .list.first()
            .alias("key_arn"),
            pl.col(S.AWS_REGION).alias("region"),
            pl.col(S.RECIPIENT_ACCOUNT_ID).alias("account"),
            pl.col(S.EVENT_TIME),
        )
        .drop_nulls(["alias", "key_arn"])
        .group_by(["alias", "key_arn", "region", "account"])
        .agg(
            pl.col(S.EVENT_TIME).min().alias("first"),
            pl.col(S.EVENT_TIME).max().alias("last"),
        )
    )
    return uses if uses.height else None


@dataclass(frozen=True)
class LifecycleAnalysis:
    """Lifecycle of the key(s) ``query`` names (key id, key ARN, ``mrk-`` id, alias name or
    alias ARN), or of every key when ``query`` is None.

    Whatever the query, the usage partial keeps one row per key reference × principal ×
    operation × event time, so a use is attributed to the state (and an alias reference
    resolved) at the moment it was made: a key's history does not depend on how the key
    was named, nor on ``--all``. A key id / key ARN query only narrows which records are
    kept, never how they are summed.
    """

    query: str | None = None
    name: str = "lifecycle"
    rebucket_rows: int = 200_000
    # Each key's dependents (what uses it), folded in the same pass; its columns are
    # among those below.
    with_dependents: bool = True
    # What update() reads (principal_expr included); the ingest decodes only these.
    columns: ClassVar[frozenset[str]] = frozenset(
        {
            S.EVENT_TIME,
            S.EVENT_SOURCE,
            S.EVENT_NAME,
            S.EVENT_ID,
            S.SHARED_EVENT_ID,
            S.AWS_REGION,
            S.RECIPIENT_ACCOUNT_ID,
            S.ERROR_CODE,
            S.ERROR_MESSAGE,
            S.SOURCE_IP,
            S.KEY_IDS,
            S.IDENTITY_TYPE,
            S.IDENTITY_ARN,
            S.IDENTITY_ACCOUNT_ID,
            S.IDENTITY_SESSION_ISSUER_ARN,
            S.IDENTITY_INVOKED_BY,
            S.RAW,
            S.SOURCE,
            S.RECORD_INDEX,
        }
    )

    @property
    def _needle(self) -> str | None:
        """A literal every record about the asked key contains (its key id)."""
        if self.query is None:
            return None
        ref = parse_key_ref(self.query)
        if ref.kind in (IdKind.KEY_ARN, IdKind.KEY_ID):
            return ref.key_id
        return None

    def _uses(self) -> DependentsAnalysis | None:
        if not self.with_dependents:
            return None
        # Imported here: the dependents fold builds on this module.
        from kmslog.analyses.dependents import DependentsAnalysis

        return DependentsAnalysis(self.query)

    def start(self) -> LifecyclePartial:
        uses = self._uses()
        return LifecyclePartial(dependents=None if uses is None else uses.start())

    def update(self, state: LifecyclePartial, frame: pl.DataFrame) -> LifecyclePartial:
        uses = self._uses()
        if uses is not None:
            state.dependents = uses.update(state.dependents, frame)
        kms = frame.filter(pl.col(S.EVENT_SOURCE) == KMS_SOURCE)
        if kms.height == 0:
            return state
        bounds = kms.select(
            pl.col(S.EVENT_TIME).min().alias("lo"), pl.col(S.EVENT_TIME).max().alias("hi")
        ).row(0)
        state.logs_start = _min(state.logs_start, bounds[0])
        state.logs_end = _max(state.logs_end, bounds[1])

        # Alias observations come from every record, whatever the query: an alias's
        # history (and so every key's alias list) must not depend on which key was asked.
        self._observe_aliases(
            state, kms.filter(~pl.col(S.EVENT_NAME).is_in(CONTROL_EVENTS).fill_null(False))
        )
        needle = self._needle
        if needle is not None:
            joined = pl.col(S.KEY_IDS).list.join("\x1f").fill_null("")
            names_key = joined.str.contains(needle, literal=True) | pl.col(
                S.ERROR_MESSAGE
            ).str.contains(needle, literal=True).fill_null(False)
            alias_only = joined.str.contains("alias/", literal=True) & ~joined.str.contains(
                ":key/", literal=True
            )
            kms = kms.filter(names_key | alias_only | pl.col(S.EVENT_NAME).is_in(ALIAS_EVENTS))
            if kms.height == 0:
                return state
        kms = kms.with_columns(principal_expr())
        is_control = pl.col(S.EVENT_NAME).is_in(CONTROL_EVENTS).fill_null(False)
        control = kms.filter(is_control).select(
            [*CONTROL_COLUMNS, S.AWS_REGION, S.RECIPIENT_ACCOUNT_ID]
        )
        if control.height:
            state.control.append(control)
        data = kms.filter(~is_control)
        if data.height:
            self._fold_data(state, data)
        return state

    def _observe_aliases(self, state: LifecyclePartial, data: pl.DataFrame) -> None:
        uses = alias_uses(data)
        if uses is not None:
            state.alias_uses.append(uses)

    def _fold_data(self, state: LifecyclePartial, data: pl.DataFrame) -> None:
        data = data.with_columns(_refs_expr())
        rows = data.explode("refs").filter(pl.col("refs").is_not_null())
        if rows.height == 0:
            return
        failed = pl.col(S.ERROR_CODE).is_not_null()
        evidence = rows.filter(
            failed & pl.col(S.ERROR_MESSAGE).str.contains(EVIDENCE_REGEX).fill_null(False)
        ).select(
            pl.col("refs").alias("ref"),
            pl.col(S.AWS_REGION).alias("region"),
            pl.col(S.RECIPIENT_ACCOUNT_ID).alias("account"),
            "principal",
            pl.col(S.EVENT_NAME).alias("operation"),
            S.EVENT_TIME,
            S.ERROR_CODE,
            S.ERROR_MESSAGE,
            S.EVENT_ID,
            S.SHARED_EVENT_ID,
            S.SOURCE_IP,
            S.SOURCE,
            S.RECORD_INDEX,
        )
        if evidence.height:
            state.evidence.append(evidence)

        named = rows.with_columns(
            pl.col("refs").alias("ref"),
            pl.col(S.AWS_REGION).alias("region"),
            pl.col(S.RECIPIENT_ACCOUNT_ID).alias("account"),
            pl.col(S.EVENT_NAME).fill_null("").alias("operation"),
            _context_keys_expr(),
        ).select(*SHARED_COLUMNS)
        # The copies of a cross-account call wait, narrow, until every copy has been
        # seen: one is counted (kms.shared_events), whichever was read first.
        shared = named.filter(is_shared())
        if shared.height:
            state.shared.append(shared)
            state.shared_rows += shared.height
            named = named.filter(~is_shared())
        if named.height:
            usage, ticks = _usage_and_ticks(named)
            state.usage.append(usage)
            state.ticks.append(ticks)
            state.usage_rows += usage.height + ticks.height
        self._compact(state)

    def _compact(self, state: LifecyclePartial) -> None:
        """Re-aggregate the usage partials (rows of the same reference, principal,
        operation and bucket from different frames) once they have doubled since the
        last time, so the cost stays linear however many partials are merged."""
        if state.shared_rows > max(self.rebucket_rows, 2 * state.shared_compacted):
            joined = joined_copies(state.shared)
            state.shared = [] if joined is None else [joined]
            state.shared_rows = state.shared_compacted = 0 if joined is None else joined.height
        limit = max(self.rebucket_rows, 2 * state.compacted_rows)
        if state.usage_rows > limit:
            merged = _aggregate(pl.concat(state.usage))
            ticks = _aggregate_ticks(pl.concat(state.ticks))
            state.usage, state.ticks = [merged], [ticks]
            state.usage_rows = state.compacted_rows = merged.height + ticks.height

    def combine(self, a: LifecyclePartial, b: LifecyclePartial) -> LifecyclePartial:
        merged = LifecyclePartial(
            control=a.control + b.control,
            usage=a.usage + b.usage,
            ticks=a.ticks + b.ticks,
            evidence=a.evidence + b.evidence,
            alias_uses=a.alias_uses + b.alias_uses,
            logs_start=_min(a.logs_start, b.logs_start),
            logs_end=_max(a.logs_end, b.logs_end),
            usage_rows=a.usage_rows + b.usage_rows,
            compacted_rows=max(a.compacted_rows, b.compacted_rows),
            shared=a.shared + b.shared,
            shared_rows=a.shared_rows + b.shared_rows,
            shared_compacted=max(a.shared_compacted, b.shared_compacted),
        )
        uses = self._uses()
        if uses is not None:
            merged.dependents = uses.combine(a.dependents, b.dependents)
        self._compact(merged)
        return merged

    def finish(self, state: LifecyclePartial) -> LifecycleResult:
        from kmslog.lifecycle.build import attach_dependents, build_result

        joined = joined_copies(state.shared)
        if joined is not None:
            usage, ticks = _usage_and_ticks(joined)
            state.usage.append(usage)
            state.ticks.append(ticks)
            state.shared = []
        result = build_result(self.query, state)
        uses = self._uses()
        if uses is not None:
            attach_dependents(result, uses.finish(state.dependents))
        return result
