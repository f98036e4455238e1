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

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache, reduce
from typing import Any

import polars as pl

from kmslog.analyses.base import columns_read
from kmslog.analyses.detections import _evidence_cells, _with_evidence
from kmslog.decode import schema as S
from kmslog.eventbridge import envelope as E
from kmslog.eventbridge import history as H
from kmslog.eventbridge.rules import DEFAULT_BUS, DISABLED, EventRule
from kmslog.eventpatterns import EventPatternError, loads_event, matches
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
ESCAPED = "__eb_escaped"


def mask_name(index: int, view: str) -> str:
    return f"__ebm{index}_{view}"


def _derived() -> list[pl.Expr]:
    source = pl.col(S.EVENT_SOURCE)
    name = pl.col(S.EVENT_NAME)
    ct_type = pl.col(S.EVENT_TYPE).replace_strict(
        E.CLOUDTRAIL_DETAIL_TYPES, default=None, return_dtype=pl.String
    )
    kms_type = (
        pl.when((source == E.KMS_SOURCE) & (pl.col(S.EVENT_TYPE) == "AwsServiceEvent"))
        .then(name.replace_strict(E.KMS_DETAIL_TYPES, default=None, return_dtype=pl.String))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    data = (pl.col(S.EVENT_CATEGORY) == "Data").fill_null(False) | (
        pl.col(S.MANAGEMENT_EVENT) == False  # noqa: E712 - a polars comparison
    ).fill_null(False)
    read_only = (
        pl.col(S.READ_ONLY).fill_null(False)
        & ~data
        & name.str.starts_with(E.READ_ONLY_PREFIXES[0])
        .or_(name.str.starts_with(E.READ_ONLY_PREFIXES[1]))
        .or_(name.str.starts_with(E.READ_ONLY_PREFIXES[2]))
        .fill_null(False)
    )
    return [
        pl.when(source.is_not_null()).then(ct_type).alias(DTYPE),
        (pl.lit("aws.") + source.str.strip_suffix(E.SUFFIX)).alias(SRC),
        pl.coalesce(
            pl.col(S.RECIPIENT_ACCOUNT_ID), pl.col(S.IDENTITY_ACCOUNT_ID), pl.lit("")
        ).alias(ACCT),
        pl.coalesce(pl.col(S.AWS_REGION), pl.lit("")).alias(REGION),
        pl.lit("0").alias(VERSION),
        read_only.alias(READ_ONLY),
        kms_type.alias(KMS_DTYPE),
        pl.lit("aws.kms").alias(KMS_SRC),
        pl.col(S.RAW).str.contains("\\u", literal=True).alias(ESCAPED),
    ]


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


def _absent_when(columns: dict[tuple[str, ...], str]) -> dict[str, pl.Expr]:
    """For the record's own columns: a null cell surely means "absent" when the raw
    text holds neither the field's name as a key nor any escape."""
    out: dict[str, pl.Expr] = {}
    for path, column in columns.items():
        if path[0] == "detail":
            key = '"' + path[-1] + '"'
            out[column] = ~pl.col(S.RAW).str.contains(key, literal=True) & ~pl.col(ESCAPED)
    return out


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
    matches: list[pl.DataFrame] = field(default_factory=list)
    changes: list[H.RuleChange] = field(default_factory=list)
    events: int = 0
    decided_by_reference: int = 0


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
        compiled = compile_event_rules(self.active)
        marks, keep, keep_columns = _marking(self.active)
        marked = frame.lazy().with_columns(_derived()).with_columns(*marks).filter(keep)
        rows = marked.select(*keep_columns).collect()
        if rows.height == 0:
            return state
        rows = _with_evidence(rows)
        if rows["__eb_config"].any():
            state.changes.extend(H.changes_from_rows(rows.filter(pl.col("__eb_config")).to_dicts()))
        rows, decided = _decide(compiled, rows)
        state.decided_by_reference += decided
        names = [mask_name(i, v) for i in range(len(compiled)) for v in VIEWS]
        hit = rows.filter(reduce(lambda a, b: a | b, [pl.col(n) for n in names]))
        if hit.height:
            state.matches.append(hit.drop(S.RAW, "__eb_config", ESCAPED, strict=False))
        if len(state.matches) > _COMPACT_AT:
            state.matches = [pl.concat(state.matches, how="vertical_relaxed")]
        return state

    def combine(self, a: EventBridgeState, b: EventBridgeState) -> EventBridgeState:
        return EventBridgeState(
            matches=a.matches + b.matches,
            changes=a.changes + b.changes,
            events=a.events + b.events,
            decided_by_reference=a.decided_by_reference + b.decided_by_reference,
        )

    def finish(self, state: EventBridgeState) -> EventBridgeResult:
        active = self.active
        wide = pl.concat(state.matches, how="vertical_relaxed") if state.matches else None
        rows: list[dict[str, Any]] = []
        cache: dict[tuple[str, str, str, str], list[H.RuleWindow] | None] = {}

        def windows_of(key: tuple[str, str, str, str]) -> list[H.RuleWindow] | None:
            if key not in cache:
                cache[key] = H.windows(state.changes, key)
            return cache[key]

        counts = dict.fromkeys(range(len(active)), 0)
        places: dict[int, set[tuple[str, str]]] = {i: set() for i in range(len(active))}
        if wide is not None:
            for row in wide.iter_rows(named=True):
                for i, rule in enumerate(active):
                    for view in VIEWS:
                        if not row.get(mask_name(i, view)):
                            continue
                        counts[i] += 1
                        account = rule.account if rule.owned else row[ACCT]
                        region = rule.region if rule.owned else row[REGION]
                        assert account is not None and region is not None
                        places[i].add((account, region))
                        ws = windows_of((account, region, rule.event_bus, rule.name))
                        rows.append(_annotated(rule, view, row, H.window_at(ws, row[S.EVENT_TIME])))
        frame = (
            pl.DataFrame(rows, schema=MATCH_SCHEMA) if rows else pl.DataFrame(schema=MATCH_SCHEMA)
        )
        order = {r.id: i for i, r in enumerate(active)}
        frame = (
            frame.with_columns(
                pl.col("rule").replace_strict(order, default=len(order)).alias("__o")
            )
            .sort(["__o", S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX, "detail_type"])
            .drop("__o")
        )
        for change in state.changes:
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


def _annotated(
    rule: EventRule, view: str, row: dict[str, Any], window: H.RuleWindow | None
) -> dict[str, Any]:
    detail_type = row[DTYPE] if view == "cloudtrail" else row[KMS_DTYPE]
    existed: bool | None = None if window is None else window.exists
    enabled = None if window is None else window.enabled
    from_logs = enabled is not None
    if enabled is None and existed is not False:
        enabled = rule.state != DISABLED  # the rule file's state, assumed throughout
    state = (
        "DELETED"
        if existed is False
        else (window.state if window is not None and window.state else rule.state)
    )
    has_target = None if window is None else window.has_target
    would = existed is not False and enabled is not False and has_target is not False
    return {
        "rule": rule.id,
        "rule_name": rule.name,
        "detail_type": detail_type,
        "envelope_id": E.envelope_id(detail_type or "", row.get(S.EVENT_ID) or ""),
        S.EVENT_ID: row.get(S.EVENT_ID),
        S.EVENT_TIME: row.get(S.EVENT_TIME),
        S.EVENT_NAME: row.get(S.EVENT_NAME),
        "key_arn": row.get("key_arn"),
        "principal_arn": row.get("principal_arn"),
        "account": row.get(ACCT),
        "region": row.get(REGION),
        S.SOURCE_IP: row.get(S.SOURCE_IP),
        S.USER_AGENT: row.get(S.USER_AGENT),
        S.ERROR_CODE: row.get(S.ERROR_CODE),
        S.SOURCE: row.get(S.SOURCE),
        S.RECORD_INDEX: row.get(S.RECORD_INDEX),
        "rule_existed": existed,
        "enabled": enabled,
        "state": state,
        "state_from_logs": from_logs,
        "has_target": has_target,
        "would_deliver": would,
    }


def _decide(compiled: Sequence[CompiledRule], rows: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """Fill every mask cell polars left undecided with the reference matcher's answer
    on the rebuilt envelope."""
    names = [mask_name(i, v) for i in range(len(compiled)) for v in VIEWS]
    open_rows = rows.select(pl.any_horizontal(pl.col(n).is_null() for n in names)).to_series()
    if not open_rows.any():
        return rows, 0
    columns = {n: rows[n].to_list() for n in names}
    raws = rows[S.RAW].to_list()
    decided = 0
    for r, undecided in enumerate(open_rows.to_list()):
        if not undecided:
            continue
        decided += 1
        by_view = _envelopes_by_view(raws[r])
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
        return (env.event["account"], env.event["region"]) == (rule.account, rule.region)
    return True


def _envelopes_by_view(raw: str | None) -> dict[str, E.Envelope]:
    if raw is None:
        return {}
    try:
        record = loads_event(raw)
    except (EventPatternError, RecursionError):
        return {}
    return {e.kind: e for e in E.envelopes(record)}


@lru_cache(maxsize=16)
def _marking(
    rules: tuple[EventRule, ...],
) -> tuple[tuple[pl.Expr, ...], pl.Expr, tuple[pl.Expr, ...]]:
    compiled = compile_event_rules(rules)
    marks: list[pl.Expr] = []
    keep_any: list[pl.Expr] = [H.frame_filter().fill_null(False)]
    for i, c in enumerate(compiled):
        for v, view in enumerate(VIEWS):
            name = mask_name(i, view)
            mask = c.masks[v]
            if mask is None:
                # The reference matcher decides for every row of the view.
                dtype = DTYPE if view == "cloudtrail" else KMS_DTYPE
                mask = (
                    pl.when(pl.col(dtype).is_not_null() & _place(c.rule))
                    .then(pl.lit(None, dtype=pl.Boolean))
                    .otherwise(False)
                )
            marks.append(mask.alias(name))
            keep_any.append(pl.col(name).is_null() | pl.col(name))
    marks.append(H.frame_filter().fill_null(False).alias("__eb_config"))
    keep = reduce(lambda a, b: a | b, keep_any)
    keep_columns = [
        *(pl.col(mask_name(i, v)) for i in range(len(compiled)) for v in VIEWS),
        pl.col("__eb_config"),
        *(pl.col(c) for c in (DTYPE, KMS_DTYPE, ACCT, REGION, ESCAPED)),
        *(pl.col(c) for c in (S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX, S.RAW)),
        *(pl.col(c) for c in _evidence_cells()),
    ]
    return tuple(marks), keep, tuple(keep_columns)


@lru_cache(maxsize=16)
def _read_columns(rules: tuple[EventRule, ...]) -> frozenset[str] | None:
    marks, keep, _ = _marking(rules)
    made = [mask_name(i, v) for i in range(len(rules)) for v in VIEWS] + [
        "__eb_config",
        SRC,
        DTYPE,
        ACCT,
        REGION,
        VERSION,
        READ_ONLY,
        KMS_SRC,
        KMS_DTYPE,
        ESCAPED,
    ]
    # The evidence and the configuration calls' cells are decoded again from ``raw``
    # for the kept rows (``_with_evidence``), so they are not read from the frame.
    exprs = [*_derived(), *marks, keep, pl.col(S.EVENT_TIME), pl.col(S.SOURCE)]
    exprs += [pl.col(S.RECORD_INDEX), pl.col(S.RAW)]
    return columns_read(exprs, made=made)
