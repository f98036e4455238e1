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
from kmslog.eventpatterns import ast as A
from kmslog.eventpatterns.match import branches, leaf_matches
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
KMS_CANDIDATE = "__eb_kms"


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


def _derived() -> list[pl.Expr]:
    """The envelope fields of the ``… via CloudTrail`` view, for every row."""
    source = pl.col(S.EVENT_SOURCE)
    ct_type = pl.col(S.EVENT_TYPE).replace_strict(
        E.CLOUDTRAIL_DETAIL_TYPES, default=None, return_dtype=pl.String
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
    return [
        pl.when(source.is_not_null()).then(ct_type).alias(DTYPE),
        (pl.lit("aws.") + source.str.strip_suffix(E.SUFFIX)).alias(SRC),
        pl.coalesce(
            pl.col(S.RECIPIENT_ACCOUNT_ID), pl.col(S.IDENTITY_ACCOUNT_ID), pl.lit("")
        ).alias(ACCT),
        pl.coalesce(pl.col(S.AWS_REGION), pl.lit("")).alias(REGION),
        pl.lit("0").alias(VERSION),
        read_only.alias(READ_ONLY),
        _kms_candidate().alias(KMS_CANDIDATE),
    ]


def _kms_derived() -> list[pl.Expr]:
    """The envelope fields of the KMS view (on the kept rows)."""
    kms_type = (
        pl.when(pl.col(KMS_CANDIDATE))
        .then(
            pl.col(S.EVENT_NAME).replace_strict(
                E.KMS_DETAIL_TYPES, default=None, return_dtype=pl.String
            )
        )
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    return [kms_type.alias(KMS_DTYPE), pl.lit("aws.kms").alias(KMS_SRC)]


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


def _absent_when(columns: dict[tuple[str, ...], str]) -> dict[str, pl.Expr]:
    """For the record's own columns, where a null cell surely means "absent": never
    for the fields every record carries (the reference matcher decides those rare
    rows), and for the others where the raw text holds neither the field's name as
    a key nor any escape."""
    out: dict[str, pl.Expr] = {}
    for path, column in columns.items():
        if path[0] != "detail":
            continue
        if column in _ALWAYS_THERE:
            out[column] = pl.lit(False)
            continue
        key = '"' + path[-1] + '"'
        raw = pl.col(S.RAW).str
        out[column] = ~raw.contains(key, literal=True) & ~raw.contains("\\u", literal=True)
    return out


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
        rows = (
            frame.lazy()
            .with_columns(_derived())
            .with_columns(*marks)
            .filter(keep)
            .select(*keep_columns)
            .collect()
        )
        if rows.height == 0:
            return state
        rows = _kms_view(compiled, rows)
        rows, decided = _decide(compiled, rows)
        state.decided_by_reference += decided
        names = [mask_name(i, v) for i in range(len(compiled)) for v in VIEWS]
        hit = rows.filter(reduce(lambda a, b: a | b, [pl.col(n) for n in names], pl.col(CONFIG)))
        if hit.height:
            # Evidence and configuration calls are decoded from ``raw`` once, in finish.
            state.matches.append(hit)
        if len(state.matches) > _COMPACT_AT:
            state.matches = [pl.concat(state.matches, how="vertical_relaxed")]
        return state

    def combine(self, a: EventBridgeState, b: EventBridgeState) -> EventBridgeState:
        return EventBridgeState(
            matches=a.matches + b.matches,
            events=a.events + b.events,
            decided_by_reference=a.decided_by_reference + b.decided_by_reference,
        )

    def finish(self, state: EventBridgeState) -> EventBridgeResult:
        active = self.active
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


def _kms_view(compiled: Sequence[CompiledRule], rows: pl.DataFrame) -> pl.DataFrame:
    """The KMS view's masks, on the kept rows (the KMS service events are among them)."""
    masks = [
        (pl.lit(None, dtype=pl.Boolean) if c.masks[1] is None else c.masks[1])
        .and_(pl.col(KMS_CANDIDATE))
        .alias(mask_name(i, "kms"))
        for i, c in enumerate(compiled)
    ]
    if not masks:
        return rows.with_columns(_kms_derived())
    return rows.with_columns(_kms_derived()).with_columns(*masks)


def _annotate(rule: EventRule, group: pl.DataFrame, ws: list[H.RuleWindow] | None) -> pl.DataFrame:
    """The matches of ``rule`` in one account and Region with the rule's configuration
    at each event's time: the logs' windows when they mention the rule there, else
    the rule file's state, assumed throughout."""
    ids = [
        E.envelope_id(t or "", e or "")
        for t, e in zip(group["detail_type"], group[S.EVENT_ID], strict=True)
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
    keep_any: list[pl.Expr] = [pl.col(CONFIG), pl.col(KMS_CANDIDATE)]
    for i, c in enumerate(compiled):
        name = mask_name(i, "cloudtrail")
        mask = c.masks[0]
        if mask is None:
            # The reference matcher decides for every delivered row.
            mask = (
                pl.when(pl.col(DTYPE).is_not_null() & _place(c.rule))
                .then(pl.lit(None, dtype=pl.Boolean))
                .otherwise(False)
            )
        marks.append(mask.alias(name))
        keep_any.append(pl.col(name).is_null() | pl.col(name))
    marks.append(H.frame_filter().fill_null(False).alias(CONFIG))
    keep = reduce(lambda a, b: a | b, keep_any)
    keep_columns = [
        *(pl.col(mask_name(i, "cloudtrail")) for i in range(len(compiled))),
        pl.col(CONFIG),
        *(pl.col(c) for c in (DTYPE, SRC, ACCT, REGION, VERSION, KMS_CANDIDATE)),
        *(pl.col(c) for c in (S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX, S.RAW)),
        *(pl.col(c) for c in _evidence_cells() if c != S.RAW),
    ]
    return tuple(marks), keep, tuple(keep_columns)


@lru_cache(maxsize=16)
def _read_columns(rules: tuple[EventRule, ...]) -> frozenset[str] | None:
    marks, keep, _ = _marking(rules)
    made = [mask_name(i, "cloudtrail") for i in range(len(rules))]
    made += [CONFIG, SRC, DTYPE, ACCT, REGION, VERSION, READ_ONLY, KMS_CANDIDATE]
    # The evidence and the configuration calls' cells are decoded again from ``raw``
    # for the kept rows (``_with_evidence``), so they are not read from the frame.
    # The KMS view reads the same columns as the main pass (``_kms_candidate``).
    exprs = [*_derived(), *marks, keep, pl.col(S.EVENT_TIME), pl.col(S.SOURCE)]
    exprs += [pl.col(S.RECORD_INDEX), pl.col(S.RAW)]
    for c in compile_event_rules(rules):
        exprs += [m for m in c.masks[1:] if m is not None]
    made += [KMS_DTYPE, KMS_SRC]
    return columns_read(exprs, made=made)
