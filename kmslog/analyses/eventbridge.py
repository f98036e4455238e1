"""EventBridge rule replay: every event a rule's pattern matches, in one fold.

The events EventBridge would have seen (``kmslog.eventbridge.envelope``) are never
built for the whole table. Their fields are columns: ``source``, ``detail-type``,
``account``, ``region`` and ``version`` are computed from typed columns exactly as
the envelope module builds them, and ``detail.<field>`` is the record's own typed
column. Each rule's pattern becomes one polars expression per view (the
``… via CloudTrail`` events, and the KMS service events) where
``eventpatterns.vectorize`` can compile it; rows it leaves undecided (null) and
patterns it cannot compile go to the reference matcher on the rebuilt envelope.
Only the matched rows (and the rule configuration calls on events.amazonaws.com)
are kept; their evidence is decoded again from ``raw``, as the detections do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache, reduce
from typing import Any

import polars as pl

from kmslog.analyses.base import columns_read
from kmslog.analyses.detections import _evidence_cells, _with_evidence
from kmslog.decode import schema as S
from kmslog.decode.native import decode_texts
from kmslog.eventbridge import envelope as E
from kmslog.eventbridge import history as H
from kmslog.eventbridge.archived import archived
from kmslog.eventbridge.rules import DEFAULT_BUS, DISABLED, EventRule
from kmslog.eventpatterns import EventPatternError, loads_event, matches
from kmslog.eventpatterns import ast as A
from kmslog.eventpatterns.match import branches, iter_paths, leaf_matches
from kmslog.eventpatterns.parser import ip_bytes
from kmslog.eventpatterns.vectorize import to_polars

VIEWS = ("cloudtrail", "kms")
_COMPACT_AT = 32

# Envelope fields as columns (computed per frame in ``_derived``).
SRC, DTYPE, ACCT, REGION, VERSION, READ_ONLY = (
    "__eb_source",
    "__eb_detail_type",
    "__eb_account",
    "__eb_region",
    "__eb_version",
    "__eb_read_only",
)
KMS_SRC, KMS_DTYPE = "__eb_kms_source", "__eb_kms_detail_type"
ARCHIVED_ID = "__eb_archived_id"  # the id of an archived event (null: rebuilt)


def mask_name(index: int, view: str) -> str:
    return f"__ebm{index}_{view}"


def _kms_candidate() -> pl.Expr:
    """Rows that are one of the three KMS service events (rare: their view is
    evaluated on the kept rows only)."""
    return (
        (pl.col(S.EVENT_SOURCE) == E.KMS_SOURCE)
        & (pl.col(S.EVENT_TYPE) == "AwsServiceEvent")
        & pl.col(S.EVENT_NAME).is_in(list(E.KMS_DETAIL_TYPES))
    ).fill_null(False)


@lru_cache(maxsize=1)
def _ct_derived() -> tuple[pl.Expr, ...]:
    """The envelope fields of the ``… via CloudTrail`` view."""
    source = pl.col(S.EVENT_SOURCE)
    # A chain of comparisons: cheaper than ``replace_strict`` on a few values.
    ct_type = pl.lit(None, dtype=pl.String)
    for event_type, detail_type in E.CLOUDTRAIL_DETAIL_TYPES.items():
        ct_type = (
            pl.when(pl.col(S.EVENT_TYPE) == event_type).then(pl.lit(detail_type)).otherwise(ct_type)
        )
    data = (pl.col(S.EVENT_CATEGORY) == "Data").fill_null(False) | (
        pl.col(S.MANAGEMENT_EVENT) == False  # noqa: E712 - a polars comparison
    ).fill_null(False)
    prefixes = "^(?:" + "|".join(E.READ_ONLY_PREFIXES) + ")"
    read_only = (
        pl.col(S.READ_ONLY).fill_null(False)
        & ~data
        & pl.col(S.EVENT_NAME).str.contains(prefixes).fill_null(False)
    )
    return (
        pl.when(source.is_not_null()).then(ct_type).alias(DTYPE),
        (pl.lit("aws.") + source.str.strip_suffix(E.SUFFIX)).alias(SRC),
        pl.coalesce(
            pl.col(S.RECIPIENT_ACCOUNT_ID), pl.col(S.IDENTITY_ACCOUNT_ID), pl.lit("")
        ).alias(ACCT),
        pl.coalesce(pl.col(S.AWS_REGION), pl.lit("")).alias(REGION),
        pl.lit("0").alias(VERSION),
        read_only.alias(READ_ONLY),
    )


@lru_cache(maxsize=1)
def _derived() -> tuple[pl.Expr, ...]:
    """The envelope fields of both views (on the candidate rows)."""
    return (*_ct_derived(), *_kms_derived())


@lru_cache(maxsize=1)
def _kms_derived() -> tuple[pl.Expr, ...]:
    """The envelope fields of the KMS view."""
    kms_type = (
        pl.when(_kms_candidate())
        .then(
            pl.col(S.EVENT_NAME).replace_strict(
                E.KMS_DETAIL_TYPES, default=None, return_dtype=pl.String
            )
        )
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return (kms_type.alias(KMS_DTYPE), pl.lit("aws.kms").alias(KMS_SRC))


def _view_columns(view: str) -> dict[tuple[str, ...], str]:
    common: dict[tuple[str, ...], str] = {
        ("account",): ACCT,
        ("region",): REGION,
        ("version",): VERSION,
    }
    if view == "kms":
        return {("source",): KMS_SRC, ("detail-type",): KMS_DTYPE, **common}
    strings = {
        ("detail", *path): column
        for path, column in S.SELECTOR_COLUMNS.items()
        if S.SCHEMA.field(column).type == S.SCHEMA.field(S.EVENT_NAME).type
    }
    return {("source",): SRC, ("detail-type",): DTYPE, **common, **strings}


# Fields every CloudTrail record carries: a null cell there (a hostile record's number,
# array or null) is left to the reference matcher without looking at ``raw``.
_ALWAYS_THERE = frozenset(
    {
        S.EVENT_VERSION,
        S.EVENT_SOURCE,
        S.EVENT_NAME,
        S.EVENT_TYPE,
        S.EVENT_CATEGORY,
        S.AWS_REGION,
        S.EVENT_ID,
        S.RECIPIENT_ACCOUNT_ID,
        S.SOURCE_IP,
        S.USER_AGENT,
    }
)


def absent_name(column: str) -> str:
    return f"__eb_absent_{column}"


def _absent_when(columns: dict[tuple[str, ...], str]) -> dict[str, pl.Expr]:
    """For the record's own columns, where a null cell surely means "absent": never
    for the fields every record carries (the reference matcher decides those rare
    rows), and for the others where the raw text holds neither the field's name as
    a key nor any escape (``absent_proofs``, computed once per frame)."""
    out: dict[str, pl.Expr] = {}
    for path, column in columns.items():
        if path[0] != "detail":
            continue
        out[column] = pl.lit(False) if column in _ALWAYS_THERE else pl.col(absent_name(column))
    return out


@lru_cache(maxsize=16)
def proved_columns(rules: tuple[EventRule, ...]) -> tuple[tuple[str, str], ...]:
    """(column, key) of every record column some rule's ``… via CloudTrail`` mask
    asks about whose null cell needs the raw text to tell "absent" apart."""
    columns = _view_columns("cloudtrail")
    found: dict[str, str] = {}
    for rule in rules:
        if never_matches(rule.parsed, "cloudtrail"):
            continue
        for path in iter_paths(rule.parsed):
            column = columns.get(path)
            if path[0] == "detail" and column is not None and column not in _ALWAYS_THERE:
                found[column] = path[-1]
    return tuple(sorted(found.items()))


def absent_proofs(frame: pl.DataFrame, proved: Sequence[tuple[str, str]]) -> list[pl.Series]:
    """Per column: true where the cell is null and the field is surely absent (a
    null cell may also be a number, a null or an object). The decoder's
    ``nulls_absent`` proves it for most rows; on the others ``raw`` must hold
    neither ``"key"`` nor a ``\\u`` escape, searched once per column, for both
    texts at once, and only on those rows' null cells."""
    raw = frame[S.RAW]
    decoded = (
        frame[S.NULLS_ABSENT].fill_null(False)
        if S.NULLS_ABSENT in frame.columns
        else pl.repeat(False, frame.height, dtype=pl.Boolean, eager=True)
    )
    out = []
    for column, key in proved:
        null = frame[column].is_null()
        either = re.escape('"' + key + '"') + "|" + re.escape("\\u")
        unproved = null & ~decoded
        proof = null & (decoded | ~_contains_on(raw, unproved, either))
        out.append(proof.alias(absent_name(column)))
    return out


def _contains_on(raw: pl.Series, rows: pl.Series, regex: str) -> pl.Series:
    """``raw.str.contains(regex)`` where ``rows`` holds, false elsewhere; a gather
    when few rows are asked."""
    picked = rows.arg_true()
    if picked.len() == 0:
        return pl.repeat(False, raw.len(), dtype=pl.Boolean, eager=True)
    if picked.len() * 2 > raw.len():
        return raw.str.contains(regex) & rows
    hits = raw.gather(picked).str.contains(regex)
    out = pl.repeat(False, raw.len(), dtype=pl.Boolean, eager=True)
    return out.scatter(picked.filter(hits), True)


# What every event of a view holds at these paths, whatever the record.
_CONSTANT: dict[str, dict[tuple[str, ...], tuple[str, ...]]] = {
    "cloudtrail": {
        ("version",): ("0",),
        ("detail-type",): tuple(E.CLOUDTRAIL_DETAIL_TYPES.values()),
    },
    "kms": {
        ("version",): ("0",),
        ("source",): ("aws.kms",),
        ("detail-type",): tuple(E.KMS_DETAIL_TYPES.values()),
    },
}


def never_matches(pattern: A.EventPattern, view: str) -> bool:
    """True when no event of ``view`` can match: every branch asks a field the view
    fixes for a value it never has (or, in a KMS event, a ``detail`` field other
    than ``key-id``, which is never there, for anything but absence)."""
    constant = _CONSTANT[view]
    for branch in branches(pattern):
        possible = True
        for path, matchers in branch.items():
            absent_ok = any(isinstance(m, A.Exists) and not m.present for m in matchers)
            if path in constant:
                possible = any(
                    (isinstance(m, A.Exists) and m.present)
                    or (not isinstance(m, A.Exists) and leaf_matches(m, v))
                    for v in constant[path]
                    for m in matchers
                )
            elif view == "kms" and path[0] == "detail" and path != ("detail", "key-id"):
                possible = absent_ok
            if not possible:
                break
        if possible:
            return False
    return True


def _inverse_source(value: str) -> list[str]:
    """The ``eventSource`` values whose envelope ``source`` is ``value``."""
    if not value.startswith("aws."):
        return []
    name = value.removeprefix("aws.")
    return [name + E.SUFFIX] + ([] if name.endswith(E.SUFFIX) else [name])


def _exact_strings(matchers: tuple[A.Matcher, ...]) -> list[str] | None:
    """The values when every matcher is a plain exact string, else None."""
    if all(isinstance(m, A.Exact) and isinstance(m.value, str) for m in matchers):
        return [m.value for m in matchers if isinstance(m, A.Exact) and isinstance(m.value, str)]
    return None


def _string_only(m: A.Matcher) -> bool:
    """Matchers that only a string can satisfy."""
    if isinstance(m, A.Exact):
        return isinstance(m.value, str)
    return isinstance(m, A.ExactOp | A.Prefix | A.Suffix | A.EqualsIgnoreCase | A.Wildcard | A.Cidr)


def _possible(path: tuple[str, ...], matchers: tuple[A.Matcher, ...]) -> pl.Expr | None:
    """A cheap condition on the record's columns that holds wherever this field of
    the ``… via CloudTrail`` event may satisfy ``matchers``; None: no such test."""
    if any(isinstance(m, A.Exists) and not m.present for m in matchers):
        return None
    exact = _exact_strings(matchers)
    if path == ("source",):
        if exact is None:
            return None
        sources = [u for v in exact for u in _inverse_source(v)]
        return _one_of(pl.col(S.EVENT_SOURCE), sources) if sources else pl.lit(False)
    if path == ("detail-type",):
        if exact is None:
            return None
        types = [k for k, v in E.CLOUDTRAIL_DETAIL_TYPES.items() if v in exact]
        return _one_of(pl.col(S.EVENT_TYPE), types) if types else pl.lit(False)
    column = _view_columns("cloudtrail").get(path)
    if column is None or path[0] != "detail":
        return None
    col = pl.col(column)
    if column in _ALWAYS_THERE:
        unsure = col.is_null()  # the reference matcher decides
    else:
        # A null cell may be an array, a number, an object: unless surely absent.
        unsure = col.is_null() & ~pl.col(absent_name(column))
    if all(isinstance(m, A.Exists) for m in matchers):
        return col.is_not_null() | unsure
    if not all(_string_only(m) for m in matchers):
        return None
    found: list[pl.Expr] = []
    plain: list[str] = []
    for m in matchers:
        if isinstance(m, A.Exact) and isinstance(m.value, str) and ip_bytes(m.value) is None:
            plain.append(m.value)  # (an IP literal also matches other spellings)
        elif isinstance(m, A.Prefix) and not m.ignore_case:
            found.append(col.str.starts_with(m.text))
        elif isinstance(m, A.Suffix) and not m.ignore_case:
            found.append(col.str.ends_with(m.text))
        else:
            found.append(col.is_not_null())
    if plain:
        found.append(_one_of(col, plain))
    return reduce(lambda a, b: a | b, found) | unsure


def _one_of(col: pl.Expr, values: Sequence[str]) -> pl.Expr:
    """``col.is_in(values)``; for a few values a chain of comparisons, cheaper."""
    if len(values) > 8:
        return col.is_in(list(values))
    return reduce(lambda a, b: a | b, (col == v for v in values))


def possible(pattern: A.EventPattern) -> pl.Expr:
    """True on every row whose ``… via CloudTrail`` event may match ``pattern`` (a
    necessary condition on typed columns, for the rows kept before the envelope
    columns are computed)."""
    if never_matches(pattern, "cloudtrail"):
        return pl.lit(False)
    ors: list[pl.Expr] = []
    for branch in branches(pattern):
        tests = [t for t in (_possible(p, ms) for p, ms in branch.items()) if t is not None]
        if not tests:
            return pl.lit(True)
        ors.append(reduce(lambda a, b: a & b, tests).fill_null(True))
    return reduce(lambda a, b: a | b, ors, pl.lit(False))


@dataclass(frozen=True)
class CompiledRule:
    rule: EventRule
    # Per view: the match expression, or None when the reference matcher decides.
    masks: tuple[pl.Expr | None, ...]


def _place(rule: EventRule) -> pl.Expr:
    """Where the rule hears events: its own account and Region (Arn), or anywhere."""
    if rule.owned:
        return (pl.col(ACCT) == rule.account) & (pl.col(REGION) == rule.region)
    return pl.lit(True)


@lru_cache(maxsize=16)
def compile_event_rules(rules: tuple[EventRule, ...]) -> tuple[CompiledRule, ...]:
    out = []
    for rule in rules:
        masks: list[pl.Expr | None] = []
        for view in VIEWS:
            if never_matches(rule.parsed, view):
                masks.append(pl.lit(False))
                continue
            columns = _view_columns(view)
            expr = to_polars(rule.parsed, columns, _absent_when(columns))
            delivered = pl.col(DTYPE if view == "cloudtrail" else KMS_DTYPE).is_not_null()
            gate = delivered & _place(rule)
            if view == "cloudtrail" and not rule.sees_read_only:
                gate = gate & ~pl.col(READ_ONLY)
            masks.append(None if expr is None else pl.when(gate).then(expr).otherwise(False))
        out.append(CompiledRule(rule, tuple(masks)))
    return tuple(out)


def replayable(rule: EventRule) -> bool:
    """AWS events reach only the default bus."""
    return rule.event_bus == DEFAULT_BUS


@dataclass
class EventBridgeState:
    # Rows some rule matched, and rule configuration calls, with their ``raw``.
    matches: list[pl.DataFrame] = field(default_factory=list)
    events: int = 0
    decided_by_reference: int = 0
    # Rows picked by the typed-column test, not yet through the masks: a few frames'
    # worth go through them at once (``_BATCH_ROWS``, ``_BATCH_FRAMES``).
    pending: list[pl.DataFrame] = field(default_factory=list)


@dataclass(frozen=True)
class RuleReport:
    rule: EventRule
    matched: int
    # (account, Region) → the rule's configuration windows there (None: never mentioned).
    windows: dict[tuple[str, str], tuple[H.RuleWindow, ...] | None]


@dataclass(frozen=True)
class EventBridgeResult:
    rules: tuple[RuleReport, ...]
    # One row per (rule, event EventBridge would have seen) the rule matched.
    matches: pl.DataFrame
    skipped: tuple[str, ...]
    events: int
    decided_by_reference: int

    @property
    def silent(self) -> pl.DataFrame:
        return self.matches.filter(~pl.col("would_deliver"))


MATCH_SCHEMA: dict[str, Any] = {
    "rule": pl.String,
    "rule_name": pl.String,
    "detail_type": pl.String,
    "envelope_id": pl.String,
    S.EVENT_ID: pl.String,
    S.EVENT_TIME: pl.Datetime("ms", "UTC"),
    S.EVENT_NAME: pl.String,
    "key_arn": pl.String,
    "principal_arn": pl.String,
    "account": pl.String,
    "region": pl.String,
    S.SOURCE_IP: pl.String,
    S.USER_AGENT: pl.String,
    S.ERROR_CODE: pl.String,
    S.SOURCE: pl.String,
    S.RECORD_INDEX: pl.Int64,
    "rule_existed": pl.Boolean,
    "enabled": pl.Boolean,
    "state": pl.String,
    "state_from_logs": pl.Boolean,
    "has_target": pl.Boolean,
    "would_deliver": pl.Boolean,
}


@dataclass(frozen=True)
class EventBridgeAnalysis:
    rules: tuple[EventRule, ...]
    name: str = "eventbridge"

    @property
    def active(self) -> tuple[EventRule, ...]:
        return tuple(r for r in self.rules if replayable(r))

    @property
    def columns(self) -> frozenset[str] | None:
        return _read_columns(self.active)

    def start(self) -> EventBridgeState:
        return EventBridgeState()

    def update(self, state: EventBridgeState, frame: pl.DataFrame) -> EventBridgeState:
        if frame.height == 0:
            return state
        state.events += frame.height
        active = self.active
        # First the rows some rule may match, the KMS service events and the rule
        # configuration calls (tests of typed columns, and ``raw`` for a field's
        # absence); then, on those few, a batch at a time, the envelope columns and
        # every mask (``_flush``).
        proofs = absent_proofs(frame, proved_columns(active))
        if proofs:
            frame = frame.with_columns(proofs)
        picked = frame.filter(_candidates(active))
        if picked.height:
            state.pending.append(picked)
        if (
            sum(p.height for p in state.pending) >= _BATCH_ROWS
            or len(state.pending) >= _BATCH_FRAMES
        ):
            _flush(active, state)
        return state

    def combine(self, a: EventBridgeState, b: EventBridgeState) -> EventBridgeState:
        return EventBridgeState(
            matches=a.matches + b.matches,
            events=a.events + b.events,
            decided_by_reference=a.decided_by_reference + b.decided_by_reference,
            pending=a.pending + b.pending,
        )

    def finish(self, state: EventBridgeState) -> EventBridgeResult:
        active = self.active
        _flush(active, state)
        changes: list[H.RuleChange] = []
        long = pl.DataFrame()
        if state.matches:
            wide = _with_evidence(pl.concat(state.matches, how="vertical_relaxed"))
            configs = wide.filter(pl.col(CONFIG))
            if configs.height:
                changes = H.changes_from_rows(configs.to_dicts())
            long = _long(wide, len(active))
        cache: dict[tuple[str, str, str, str], list[H.RuleWindow] | None] = {}

        def windows_of(key: tuple[str, str, str, str]) -> list[H.RuleWindow] | None:
            if key not in cache:
                cache[key] = H.windows(changes, key)
            return cache[key]

        counts = dict.fromkeys(range(len(active)), 0)
        places: dict[int, set[tuple[str, str]]] = {i: set() for i in range(len(active))}
        parts: list[pl.DataFrame] = []
        if long.height:
            for (i, account, region), group in long.group_by(
                ["__i", ACCT, REGION], maintain_order=True
            ):
                rule_index = int(str(i))
                rule = active[rule_index]
                counts[rule_index] += group.height
                where = (rule.account, rule.region) if rule.owned else (account, region)
                assert isinstance(where[0], str) and isinstance(where[1], str)
                places[rule_index].add((where[0], where[1]))
                ws = windows_of((where[0], where[1], rule.event_bus, rule.name))
                parts.append(_annotate(rule, group, ws))
        frame = (
            pl.concat(parts, how="vertical_relaxed").select(list(MATCH_SCHEMA))
            if parts
            else pl.DataFrame(schema=MATCH_SCHEMA)
        )
        order = {r.id: i for i, r in enumerate(active)}
        frame = (
            frame.with_columns(
                pl.col("rule").replace_strict(order, default=len(order)).alias("__o")
            )
            .sort(["__o", S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX, "detail_type"])
            .drop("__o")
        )
        for change in changes:
            for i, rule in enumerate(active):
                here = not rule.owned or (change.account, change.region) == (
                    rule.account,
                    rule.region,
                )
                if change.rule == rule.name and change.bus == rule.event_bus and here:
                    places[i].add((change.account, change.region))
        reports = []
        for i, rule in enumerate(active):
            found = {}
            for place in sorted(places[i]):
                ws = windows_of((*place, rule.event_bus, rule.name))
                found[place] = None if ws is None else tuple(ws)
            reports.append(RuleReport(rule, counts[i], found))
        skipped = tuple(
            f"event rule {r.name!r} is on event bus {r.event_bus!r}: AWS service events "
            "reach only the default bus, so it is not replayed"
            for r in self.rules
            if not replayable(r)
        )
        return EventBridgeResult(
            rules=tuple(reports),
            matches=frame,
            skipped=skipped,
            events=state.events,
            decided_by_reference=state.decided_by_reference,
        )


_LONG_COLUMNS = (
    ARCHIVED_ID,
    S.EVENT_ID,
    S.EVENT_TIME,
    S.EVENT_NAME,
    "key_arn",
    "principal_arn",
    ACCT,
    REGION,
    S.SOURCE_IP,
    S.USER_AGENT,
    S.ERROR_CODE,
    S.SOURCE,
    S.RECORD_INDEX,
)


def _long(wide: pl.DataFrame, rules: int) -> pl.DataFrame:
    """One row per (rule, view) a row matched, with the view's detail-type."""
    parts = [
        wide.filter(pl.col(mask_name(i, view))).select(
            pl.lit(i, dtype=pl.Int64).alias("__i"),
            pl.col(DTYPE if view == "cloudtrail" else KMS_DTYPE).alias("detail_type"),
            *_LONG_COLUMNS,
        )
        for i in range(rules)
        for view in VIEWS
    ]
    parts = [p for p in parts if p.height]
    return pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame()


_BATCH_ROWS = 8192
_BATCH_FRAMES = 16


def _flush(rules: tuple[EventRule, ...], state: EventBridgeState) -> None:
    """The pending rows through the envelope columns and every mask; the matched
    ones and the configuration calls join ``state.matches``. Eager on purpose: the
    lazy optimizer's pass over these expressions costs more than it saves."""
    if not state.pending:
        return
    rows = pl.concat(state.pending, how="vertical_relaxed")
    state.pending = []
    compiled = compile_event_rules(rules)
    marks, keep, keep_columns = _marking(rules)
    rows = _with_cells(rows, _redecoded(rules))
    names = [mask_name(i, v) for i in range(len(compiled)) for v in VIEWS]
    rows = _as_archived(rows.with_columns(*_derived()).with_columns(*marks), names)
    rows = rows.filter(keep).select(*keep_columns)
    if any(rows[n].null_count() for n in names):
        rows, decided = _decide(compiled, rows)
        state.decided_by_reference += decided
        rows = rows.filter(_hit(names))
    if rows.height:
        # Evidence and configuration calls are decoded from ``raw`` once, in finish.
        state.matches.append(rows)
    if len(state.matches) > _COMPACT_AT:
        state.matches = [pl.concat(state.matches, how="vertical_relaxed")]


def _as_archived(rows: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """Rows read from an archived EventBridge event take its detail-type, account,
    Region and id, and leave every mask to the reference matcher on that event."""
    texts = rows[S.ENVELOPE]
    if texts.null_count() == rows.height:
        return rows.with_columns(pl.lit(None, dtype=pl.String).alias(ARCHIVED_ID))
    found = [archived(t) for t in texts.to_list()]
    is_archived = texts.is_not_null()

    def cells(pick: Any) -> pl.Series:
        return pl.Series([None if a is None else pick(a) for a in found], dtype=pl.String)

    def view(kind: str) -> Any:
        return lambda a: a.detail_type if a.envelope.kind == kind else None

    override = {
        DTYPE: cells(view("cloudtrail")),
        KMS_DTYPE: cells(view("kms")),
        ACCT: cells(lambda a: a.account),
        REGION: cells(lambda a: a.region),
    }
    return rows.with_columns(
        *(
            pl.when(is_archived).then(values).otherwise(pl.col(name)).alias(name)
            for name, values in override.items()
        ),
        *(
            pl.when(is_archived).then(pl.lit(None, dtype=pl.Boolean)).otherwise(pl.col(n)).alias(n)
            for n in names
        ),
        cells(lambda a: a.id).alias(ARCHIVED_ID),
    )


def _hit(names: Sequence[str]) -> pl.Expr:
    return reduce(lambda a, b: a | b, [pl.col(n) for n in names], pl.col(CONFIG))


def _annotate(rule: EventRule, group: pl.DataFrame, ws: list[H.RuleWindow] | None) -> pl.DataFrame:
    """The matches of ``rule`` in one account and Region with the rule's configuration
    at each event's time: the logs' windows when they mention the rule there, else
    the rule file's state, assumed throughout."""
    ids = [
        a if a is not None else E.envelope_id(t or "", e or "")
        for t, e, a in zip(group["detail_type"], group[S.EVENT_ID], group[ARCHIVED_ID], strict=True)
    ]
    base = group.select(
        pl.lit(rule.id).alias("rule"),
        pl.lit(rule.name).alias("rule_name"),
        pl.col("detail_type"),
        pl.Series("envelope_id", ids, dtype=pl.String),
        *(c for c in _LONG_COLUMNS),
    ).rename({ACCT: "account", REGION: "region"})
    if ws is None:
        enabled = rule.state != DISABLED
        return base.with_columns(
            pl.lit(None, dtype=pl.Boolean).alias("rule_existed"),
            pl.lit(enabled).alias("enabled"),
            pl.lit(rule.state).alias("state"),
            pl.lit(False).alias("state_from_logs"),
            pl.lit(None, dtype=pl.Boolean).alias("has_target"),
            pl.lit(enabled).alias("would_deliver"),
        )
    cells = [_configuration(rule, H.window_at(ws, t)) for t in group[S.EVENT_TIME]]
    names = ("rule_existed", "enabled", "state", "state_from_logs", "has_target", "would_deliver")
    return base.with_columns(
        pl.Series(name, [c[k] for c in cells], dtype=MATCH_SCHEMA[name])
        for k, name in enumerate(names)
    )


def _configuration(
    rule: EventRule, window: H.RuleWindow | None
) -> tuple[bool | None, bool | None, str, bool, bool | None, bool]:
    existed: bool | None = None if window is None else window.exists
    enabled = None if window is None else window.enabled
    from_logs = enabled is not None
    if enabled is None and existed is not False:
        enabled = rule.state != DISABLED  # the rule file's state, assumed
    state = (
        "DELETED"
        if existed is False
        else (window.state if window is not None and window.state else rule.state)
    )
    has_target = None if window is None else window.has_target
    would = existed is not False and enabled is not False and has_target is not False
    return existed, enabled, state, from_logs, has_target, would


def _decide(compiled: Sequence[CompiledRule], rows: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Fill every mask cell polars left undecided with the reference matcher's answer
    on the rebuilt envelope."""
    names = [mask_name(i, v) for i in range(len(compiled)) for v in VIEWS]
    if not names:
        return rows, 0
    open_rows = rows.select(pl.any_horizontal(pl.col(n).is_null() for n in names)).to_series()
    if not open_rows.any():
        return rows, 0
    columns = {n: rows[n].to_list() for n in names}
    raws = rows[S.RAW].to_list()
    envelopes = rows[S.ENVELOPE].to_list()
    decided = 0
    for r, undecided in enumerate(open_rows.to_list()):
        if not undecided:
            continue
        decided += 1
        kept = archived(envelopes[r])
        by_view = (
            _envelopes_by_view(raws[r]) if kept is None else {kept.envelope.kind: kept.envelope}
        )
        for i, c in enumerate(compiled):
            for view in VIEWS:
                n = mask_name(i, view)
                if columns[n][r] is not None:
                    continue
                env = by_view.get(view)
                columns[n][r] = (
                    env is not None
                    and _delivered(c.rule, env)
                    and matches(c.rule.parsed, env.event)
                )
    return rows.with_columns(pl.Series(n, v, dtype=pl.Boolean) for n, v in columns.items()), decided


def _delivered(rule: EventRule, env: E.Envelope) -> bool:
    if env.read_only and not rule.sees_read_only:
        return False
    if rule.owned:
        return (env.event.get("account"), env.event.get("region")) == (rule.account, rule.region)
    return True


def _envelopes_by_view(raw: str | None) -> dict[str, E.Envelope]:
    if raw is None:
        return {}
    try:
        record = loads_event(raw)
    except (EventPatternError, RecursionError):
        return {}
    return {e.kind: e for e in E.envelopes(record)}


CONFIG = "__eb_config"


@lru_cache(maxsize=16)
def _marking(
    rules: tuple[EventRule, ...],
) -> tuple[tuple[pl.Expr, ...], pl.Expr, tuple[pl.Expr, ...]]:
    """The ``… via CloudTrail`` masks of the main pass, which rows to keep (some mask
    true or undecided, a KMS service event, a rule configuration call), and what of
    them: built once per rule set."""
    compiled = compile_event_rules(rules)
    marks: list[pl.Expr] = []
    for i, c in enumerate(compiled):
        ct, kms = c.masks
        if ct is None:
            # The reference matcher decides for every delivered row.
            ct = (
                pl.when(pl.col(DTYPE).is_not_null() & _place(c.rule))
                .then(pl.lit(None, dtype=pl.Boolean))
                .otherwise(False)
            )
        if kms is None:
            kms = pl.when(pl.col(KMS_DTYPE).is_not_null()).then(pl.lit(None, dtype=pl.Boolean))
            kms = kms.otherwise(False)
        marks.append(ct.alias(mask_name(i, "cloudtrail")))
        marks.append(kms.alias(mask_name(i, "kms")))
    marks.append(H.frame_filter().fill_null(False).alias(CONFIG))
    names = [mask_name(i, v) for i in range(len(compiled)) for v in VIEWS]
    # Some mask true or undecided, or a configuration call.
    keep = reduce(
        lambda a, b: a | b, [pl.col(n).is_null() | pl.col(n) for n in names], pl.col(CONFIG)
    )
    keep_columns = [
        *(pl.col(n) for n in names),
        pl.col(CONFIG),
        *(pl.col(c) for c in (DTYPE, KMS_DTYPE, ACCT, REGION)),
        *(pl.col(c) for c in (S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX, S.RAW)),
        pl.col(S.ENVELOPE),
        pl.col(ARCHIVED_ID),
        *(pl.col(c) for c in _evidence_cells() if c != S.RAW),
    ]
    return tuple(marks), keep, tuple(keep_columns)


@lru_cache(maxsize=16)
def _candidates(rules: tuple[EventRule, ...]) -> pl.Expr:
    """Rows the main pass looks at: some rule may match their ``… via CloudTrail``
    event, they are a KMS service event, or a rule configuration call."""
    tests = [possible(r.parsed) for r in rules]
    tests += [H.frame_filter().fill_null(False), _kms_candidate()]
    tests.append(pl.col(S.ENVELOPE).is_not_null())  # archived events: matched as they are
    return reduce(lambda a, b: a | b, tests)


@lru_cache(maxsize=16)
def _read_columns(rules: tuple[EventRule, ...]) -> frozenset[str] | None:
    marks, keep, _ = _marking(rules)
    made = _made(rules)
    # The evidence and the configuration calls' cells are decoded again from ``raw``
    # for the kept rows (``_with_evidence``), so they are not read from the frame; so
    # are the cells only the envelope columns need (``_redecoded``).
    exprs = [*_derived(), *marks, keep, _candidates(rules), pl.col(S.EVENT_TIME), pl.col(S.SOURCE)]
    exprs += [pl.col(S.RECORD_INDEX), pl.col(S.RAW)]
    if proved_columns(rules):
        exprs.append(pl.col(S.NULLS_ABSENT))  # read by ``absent_proofs``
    read = columns_read(exprs, made=made)
    if read is None:
        return None
    return read - set(_redecoded(rules))


def _made(rules: tuple[EventRule, ...]) -> list[str]:
    made = [mask_name(i, v) for i in range(len(rules)) for v in VIEWS]
    made += [CONFIG, SRC, DTYPE, ACCT, REGION, VERSION, READ_ONLY, KMS_DTYPE, KMS_SRC]
    return made + [absent_name(c) for c, _ in proved_columns(rules)]


# Cells only the envelope columns read (the read-only and data-event tests, the
# account's fallback): decoded again from ``raw`` for the picked rows, not for all.
_ENVELOPE_CELLS = (S.READ_ONLY, S.MANAGEMENT_EVENT, S.EVENT_CATEGORY, S.IDENTITY_ACCOUNT_ID)


@lru_cache(maxsize=16)
def _redecoded(rules: tuple[EventRule, ...]) -> tuple[str, ...]:
    """The envelope cells no pattern reads (those a pattern reads are decoded for
    every row anyway)."""
    marks, _, _ = _marking(rules)
    by_patterns = columns_read([*marks, _candidates(rules)], made=_made(rules))
    if by_patterns is None:
        return ()
    return tuple(c for c in _ENVELOPE_CELLS if c not in by_patterns)


def _with_cells(rows: pl.DataFrame, cells: tuple[str, ...]) -> pl.DataFrame:
    """``rows`` with ``cells`` decoded again from ``raw``: a cell the frame holds is
    kept, a null one (not decoded by the run) is filled from the decode; a row whose
    text does not decode alone keeps the frame's cells."""
    if not cells or rows.height == 0:
        return rows
    raws = [b"" if r is None else r.encode() for r in rows[S.RAW].to_list()]
    batch = decode_texts(raws, "picked rows", frozenset(cells))
    decoded = pl.DataFrame(pl.from_arrow(batch))
    again = decoded.select(
        pl.col(S.RECORD_INDEX).cast(pl.UInt32).alias("__eb_pos"),
        *(pl.col(c).alias(f"{c}__again") for c in cells),
    )
    joined = rows.with_row_index("__eb_pos").join(
        again, on="__eb_pos", how="left", maintain_order="left"
    )
    return joined.with_columns(pl.coalesce(c, f"{c}__again").alias(c) for c in cells).drop(
        "__eb_pos", *(f"{c}__again" for c in cells)
    )
