"""Detections: every metric filter, alarm replay, configuration history and
imported key-material expiry, in one fold over the event frames.

Per frame, all rule masks are computed in one polars pass and only the rows
some rule (or the configuration / key-material bookkeeping) needs are kept;
everything after that works on those few rows. The analysis declares only the
columns the masks, metric values and dimensions read: the evidence a finding
carries (principal, key, source address, …) is decoded again from the ``raw``
text of the matched rows, which are a few per thousand. The partial state is
lists of small frames plus sets, so workers fold locally and the parent
concatenates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache, reduce
from typing import Any

import polars as pl

from kmslog.analyses.base import columns_read
from kmslog.decode import schema as S
from kmslog.decode.native import decode_texts
from kmslog.kms.dates import iso_z
from kmslog.metrics import existence, key_material, logged
from kmslog.metrics.alarm import AlarmSpec, AlarmState, epoch_time, period_values, replay
from kmslog.metrics.existence import ConfigChange, Segment
from kmslog.metrics.key_material import ExpiringMaterial, MaterialChange
from kmslog.metrics.loaders import builtin_rules
from kmslog.metrics.logged import AlarmVersion, ConfigCall
from kmslog.metrics.metric_filter import (
    ACCOUNT,
    DIMS,
    MINUTE,
    STREAM,
    compile_rules,
    dims_key,
    expand,
    finding_columns,
    mask_column,
    rule_columns,
)
from kmslog.metrics.rules import FilterRule, KeyMaterialRule, MetricFilter, RuleSet
from kmslog.metrics.statistics import Aggregate

# Partial tables are compacted once this many have piled up in a state.
_COMPACT_AT = 32


@dataclass
class DetectionsState:
    # Rows some rule matched (finding_columns and rule_columns); findings and
    # metric samples are expanded from them once, in finish.
    matches: list[pl.DataFrame] = field(default_factory=list)
    # (account, Region, minute) holding events: where a defaultValue publishes.
    active_minutes: set[tuple[str, str, int]] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)
    # (account, Region) pairs the logs hold: where an alarm with an AlarmArn can replay.
    places: set[tuple[str, str]] = field(default_factory=set)
    config: list[ConfigChange] = field(default_factory=list)
    material: list[MaterialChange] = field(default_factory=list)
    # Successful configuration calls with their parameters, and the raw text of the
    # rows logged metric filters run over (only with logged alarms on).
    logged_calls: list[ConfigCall] = field(default_factory=list)
    # (raw, source, record_index): the evidence keeps the file it came from.
    logged_raws: list[tuple[str, str | None, int | None]] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    events: int = 0


@dataclass(frozen=True)
class TransitionReport:
    time: datetime
    old: AlarmState
    new: AlarmState
    reason: str
    alarm_existed: bool | None  # None: the logs never mention the alarm
    actions_enabled: bool | None
    filter_existed: bool | None
    would_notify: bool
    note: str | None = None


@dataclass(frozen=True)
class MissedPage:
    """A logged alarm deleted before it would have fired: when it would have, and the
    first record behind the breaching datapoint (``trigger``: evidence columns)."""

    alarm: str
    account: str
    region: str
    deleted_at: datetime
    muted_at: datetime | None  # actions disabled before the delete
    would_fire_at: datetime
    trigger: dict[str, Any] | None
    text: str  # one line, plain text


@dataclass(frozen=True)
class AlarmReport:
    alarm: AlarmSpec
    account: str
    filters: tuple[str, ...]
    transitions: tuple[TransitionReport, ...]
    existence: tuple[Segment, ...] | None
    filter_existence: dict[str, tuple[Segment, ...] | None]
    # (period start, value with the alarm's statistic), in time order.
    datapoints: tuple[tuple[datetime, float], ...]
    region: str | None = None  # the AlarmArn's Region; None: every Region of the account
    version: AlarmVersion | None = None  # set when the alarm was reconstructed from the logs
    missed: MissedPage | None = None  # deleted before it would have fired


@dataclass(frozen=True)
class DetectionsResult:
    rules: tuple[FilterRule, ...]
    findings: pl.DataFrame
    alarms: tuple[AlarmReport, ...]
    key_material_rule: KeyMaterialRule | None
    key_material: tuple[ExpiringMaterial, ...]
    as_of: datetime | None
    first: datetime | None
    last: datetime | None
    events: int
    skipped: tuple[str, ...]

    @property
    def alarmed(self) -> list[AlarmReport]:
        return [a for a in self.alarms if any(t.new is AlarmState.ALARM for t in a.transitions)]


def _any_rule_expr(columns: Sequence[str]) -> pl.Expr:
    return reduce(lambda a, b: a | b, [pl.col(c).fill_null(False) for c in columns])


@dataclass(frozen=True)
class DetectionsAnalysis:
    """``rules`` defaults to the built-in catalogue; ``as_of`` to the end of the logs."""

    rules: RuleSet = field(default_factory=builtin_rules)
    as_of: datetime | None = None
    name: str = "detections"
    # Also replay the filters and alarms the logs show being configured.
    logged_alarms: bool = False

    @property
    def columns(self) -> frozenset[str] | None:
        """What ``update`` reads from the frame: the columns of the masks, metric
        values and dimensions (evidence comes from re-decoding ``raw``)."""
        return _read_columns(self.rules, self.logged_alarms)

    def start(self) -> DetectionsState:
        return DetectionsState()

    def update(self, state: DetectionsState, frame: pl.DataFrame) -> DetectionsState:
        if frame.height == 0:
            return state
        compiled = compile_rules(self.rules)
        marks, keep, keep_columns = _marking(self.rules)
        account = pl.col(S.RECIPIENT_ACCOUNT_ID).fill_null("")
        region = pl.col(S.AWS_REGION).fill_null("")
        lazy = frame.lazy()
        queries = [
            lazy.with_columns(*marks).filter(keep).select(*keep_columns),
            lazy.select(
                pl.col(S.EVENT_TIME).min().alias("lo"),
                pl.col(S.EVENT_TIME).max().alias("hi"),
                account.unique().implode().alias("accounts"),
            ),
            lazy.select(account.alias("a"), region.alias("r")).unique(),
        ]
        if self.logged_alarms:
            queries.append(lazy.filter(logged.kept_rows()).select(S.RAW, S.SOURCE, S.RECORD_INDEX))
        with_default = any(c.rule.metric_filter.default_value is not None for c in compiled)
        if with_default:
            minute = (pl.col(S.EVENT_TIME).dt.epoch("s") // 60 * 60).alias("m")
            queries.append(lazy.select(account.alias("a"), region.alias("r"), minute).unique())
        # One polars call per frame: its fixed cost, not the rows, dominates small files.
        marked, stats, places, *extra = pl.collect_all(queries)
        if self.logged_alarms:
            state.logged_raws.extend(
                (r, source, index) for r, source, index in extra.pop().iter_rows() if r is not None
            )
        minutes = extra
        lo, hi, accounts = stats.row(0)
        state.first = lo if state.first is None else min(state.first, lo)
        state.last = hi if state.last is None else max(state.last, hi)
        state.events += frame.height
        state.accounts.update(accounts)
        state.places.update(places.iter_rows())
        if minutes:
            state.active_minutes.update(minutes[0].iter_rows())
        if marked.height == 0:
            return state
        marked = _with_evidence(marked)
        state.matches.append(marked.drop(S.RAW, "__config", "__material"))
        if marked["__config"].any():
            rows = marked.filter(pl.col("__config")).to_dicts()
            state.config.extend(existence.changes_from_rows(rows))
            if self.logged_alarms:
                state.logged_calls.extend(logged.calls_from_rows(rows))
        if marked["__material"].any():
            # key_arn is already among the evidence columns.
            rows = marked.filter(pl.col("__material")).to_dicts()
            state.material.extend(key_material.changes_from_rows(rows))
        return _compact(state)

    def combine(self, a: DetectionsState, b: DetectionsState) -> DetectionsState:
        bounds_first = [t for t in (a.first, b.first) if t is not None]
        bounds_last = [t for t in (a.last, b.last) if t is not None]
        return _compact(
            DetectionsState(
                matches=a.matches + b.matches,
                active_minutes=a.active_minutes | b.active_minutes,
                accounts=a.accounts | b.accounts,
                places=a.places | b.places,
                config=a.config + b.config,
                material=a.material + b.material,
                logged_calls=a.logged_calls + b.logged_calls,
                logged_raws=a.logged_raws + b.logged_raws,
                first=min(bounds_first) if bounds_first else None,
                last=max(bounds_last) if bounds_last else None,
                events=a.events + b.events,
            )
        )

    def finish(self, state: DetectionsState) -> DetectionsResult:
        compiled = compile_rules(self.rules)
        wide = pl.concat(state.matches, how="vertical_relaxed") if state.matches else pl.DataFrame()
        raw_findings, samples = expand(compiled, wide)
        findings = _sorted_findings([raw_findings], self.rules)
        replayed = [
            alarm
            for alarm in self.rules.alarms
            if any(
                r.metric_filter.metric_key == (alarm.namespace, alarm.metric_name)
                for r in self.rules.filters
            )
        ]
        reports, elsewhere = _alarm_reports(replayed, compiled, wide, samples, self.rules, state)
        if self.logged_alarms:
            # Deferred: the logged replay builds on this module's helpers.
            from kmslog.analyses.logged_alarms import logged_reports

            builtin = frozenset(builtin_rules().alarms)
            more, notes, twins = logged_reports(state, self.rules, builtin)
            kept = tuple(
                r
                for r in reports
                if not (r.alarm in builtin and (r.alarm.name, r.account) in twins)
            )
            reports, elsewhere = kept + more, elsewhere + notes
        as_of = self.as_of or state.last
        expiring: tuple[ExpiringMaterial, ...] = ()
        if self.rules.key_material is not None and as_of is not None:
            expiring = tuple(
                key_material.expiring(state.material, self.rules.key_material.alarm, as_of)
            )
        skipped = (
            self.rules.skipped
            + tuple(
                f"alarm {a.name!r} watches {a.namespace}/{a.metric_name}, which no loaded "
                "metric filter produces: not replayed"
                for a in self.rules.unwatched_alarms()
            )
            + elsewhere
        )
        return DetectionsResult(
            rules=self.rules.filters,
            findings=findings,
            alarms=reports,
            key_material_rule=self.rules.key_material,
            key_material=expiring,
            as_of=as_of,
            first=state.first,
            last=state.last,
            events=state.events,
            skipped=skipped,
        )


@lru_cache(maxsize=16)
def _read_columns(rules: RuleSet, logged_alarms: bool = False) -> frozenset[str] | None:
    compiled = compile_rules(rules)
    extra = [pl.col(c) for c in (S.EVENT_SOURCE, S.READ_ONLY, S.AWS_REGION, S.ERROR_CODE)]
    exprs = [
        *(extra if logged_alarms else []),
        *(c.mask for c in compiled),
        *rule_columns(compiled),
        existence.config_frame_filter(),
        key_material.frame_filter(),
        *(pl.col(c) for c in _FROM_FRAME),
        pl.col(S.RECIPIENT_ACCOUNT_ID),
    ]
    return columns_read(exprs, made=[mask_column(i) for i in range(len(compiled))])


@lru_cache(maxsize=16)
def _marking(rules: RuleSet) -> tuple[tuple[pl.Expr, ...], pl.Expr, tuple[pl.Expr, ...]]:
    """The per-row flags (rule masks, configuration, key material), which rows
    to keep, and what to keep of them: built once per rule set."""
    compiled = compile_rules(rules)
    masks = [c.mask.alias(mask_column(i)) for i, c in enumerate(compiled)]
    wanted = [mask_column(i) for i in range(len(compiled))]
    config = existence.config_frame_filter().alias("__config")
    material = (
        key_material.frame_filter().alias("__material")
        if rules.key_material is not None
        else pl.lit(False).alias("__material")
    )
    keep = _any_rule_expr([*wanted, "__config", "__material"])
    keep_columns = [
        *rule_columns(compiled),
        pl.col("__config"),
        pl.col("__material"),
        *(pl.col(c) for c in (*_FROM_FRAME, *_evidence_cells())),
    ]
    return (*masks, config, material), keep, tuple(keep_columns)


# Always built by the decoder, so taken from the frame rather than re-decoded.
_FROM_FRAME = (S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX, S.RAW)


@lru_cache(maxsize=1)
def _evidence_cells() -> tuple[str, ...]:
    """The schema columns the evidence of a finding (and the configuration and
    key-material rows) is computed from."""
    read = columns_read(
        [*finding_columns(), pl.col(S.ERROR_CODE), pl.col(S.IDENTITY_ARN), pl.col(S.EVENT_ID)]
    )
    assert read is not None
    return tuple(c for c in S.SCHEMA.names if c in read and c not in _FROM_FRAME)


def _with_evidence(marked: pl.DataFrame) -> pl.DataFrame:
    """``marked`` (the kept rows, with the evidence cells as the frame had them)
    with the evidence columns computed from cells decoded again from ``raw``.

    A cell the frame holds is kept: it is what a full decode gives. A null one
    may be a column the run did not decode, so the re-decoded cell fills it (a
    real null decodes to null again). A row whose text does not decode alone
    keeps the frame's cells."""
    cells = _evidence_cells()
    raws = [b"" if r is None else r.encode() for r in marked[S.RAW].to_list()]
    batch = decode_texts(raws, "matched rows", frozenset(cells))
    decoded = pl.DataFrame(pl.from_arrow(batch))
    again = [decoded[c].alias(f"{c}__decoded") for c in cells]
    if decoded.height == marked.height:
        # Nothing rejected: the decoded rows keep the order of ``raws``.
        joined = marked.hstack(again)
    else:
        joined = marked.with_row_index("__pos").join(
            pl.DataFrame([decoded[S.RECORD_INDEX].cast(pl.UInt32).alias("__pos"), *again]),
            on="__pos",
            how="left",
            maintain_order="left",
        )
    rest = [c for c in marked.columns if c.startswith("__")]
    return (
        joined.lazy()
        .with_columns(pl.coalesce(c, f"{c}__decoded").alias(c) for c in cells)
        .select(*_finding_exprs(), *rest, S.RAW)
        .collect()
    )


@lru_cache(maxsize=1)
def _finding_exprs() -> tuple[pl.Expr, ...]:
    return tuple(finding_columns())


def _compact(state: DetectionsState) -> DetectionsState:
    if len(state.matches) > _COMPACT_AT:
        state.matches = [pl.concat(state.matches, how="vertical_relaxed")]
    return state


def _sorted_findings(parts: list[pl.DataFrame], rules: RuleSet) -> pl.DataFrame:
    frames = [p for p in parts if p.height]
    if not frames:
        return pl.DataFrame(
            schema={
                "rule": pl.String,
                S.EVENT_ID: pl.String,
                S.EVENT_TIME: pl.Datetime("ms", "UTC"),
                S.EVENT_NAME: pl.String,
                "key_arn": pl.String,
                "principal_arn": pl.String,
                S.SOURCE_IP: pl.String,
                S.ERROR_CODE: pl.String,
                S.ERROR_MESSAGE: pl.String,
                S.SOURCE: pl.String,
                S.RECORD_INDEX: pl.Int64,
                "metric_value": pl.Float64,
            }
        )
    order = {r.id: i for i, r in enumerate(rules.filters)}
    data = pl.concat(frames, how="vertical_relaxed")
    return (
        data.with_columns(pl.col("rule").replace_strict(order, default=len(order)).alias("__o"))
        .sort(["__o", S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX])
        .drop("__o")
    )


def _alarm_reports(
    alarms: Sequence[AlarmSpec],
    compiled: Sequence[Any],
    wide: pl.DataFrame,
    samples: pl.DataFrame,
    rules: RuleSet,
    state: DetectionsState,
) -> tuple[tuple[AlarmReport, ...], tuple[str, ...]]:
    """Each alarm replayed where it lives. An alarm with an AlarmArn (describe-alarms)
    sees only its own account's records in its own Region; one without (TOML, the
    built-in catalogue) is replayed once per account, on all its Regions, as each
    account's trail would feed one log group."""
    reports: list[AlarmReport] = []
    elsewhere: list[str] = []
    by_region: dict[str, pl.DataFrame] = {}
    for alarm in alarms:
        if not alarm.owned:
            reports.extend(
                _alarm_report(alarm, account, None, rules, samples, state)
                for account in sorted(state.accounts)
            )
            continue
        assert alarm.account is not None and alarm.region is not None
        if (alarm.account, alarm.region) not in state.places:
            elsewhere.append(
                f"alarm {alarm.name!r} lives in account {alarm.account}, Region "
                f"{alarm.region} (AlarmArn), where these logs hold no record: not replayed"
            )
            continue
        if alarm.region not in by_region:
            here = wide.filter(pl.col(S.AWS_REGION) == alarm.region) if wide.height else wide
            by_region[alarm.region] = expand(compiled, here)[1]
        reports.append(
            _alarm_report(alarm, alarm.account, alarm.region, rules, by_region[alarm.region], state)
        )
    return tuple(reports), tuple(elsewhere)


def _alarm_report(
    alarm: AlarmSpec,
    account: str,
    region: str | None,
    rules: RuleSet,
    samples: pl.DataFrame,
    state: DetectionsState,
) -> AlarmReport:
    """The replay of ``alarm`` on ``account``'s metric; ``samples`` already narrowed to
    ``region`` when it is given."""
    feeding = [
        r.metric_filter
        for r in rules.filters
        if r.metric_filter.metric_key == (alarm.namespace, alarm.metric_name)
    ]
    names = [f.name for f in feeding]
    datapoints = alarm_datapoints(alarm, feeding, account, region, samples, state)
    transitions = []
    config = [c for c in state.config if c.account == account and region in (None, c.region)]
    alarm_segments = existence.alarm_segments(config, alarm.name)
    filter_segments = {f.name: existence.filter_segments(config, f.name) for f in feeding}
    if state.first is not None and state.last is not None:
        start = int(state.first.timestamp())
        end = int(state.last.timestamp())
        for t in replay(alarm, datapoints, start, end):
            transitions.append(_annotate(alarm, t, alarm_segments, filter_segments))
    return AlarmReport(
        alarm=alarm,
        account=account,
        filters=tuple(names),
        transitions=tuple(transitions),
        existence=None if alarm_segments is None else tuple(alarm_segments),
        filter_existence={k: None if v is None else tuple(v) for k, v in filter_segments.items()},
        datapoints=tuple((epoch_time(t), v) for t, v in sorted(datapoints.items())),
        region=region,
    )


def alarm_datapoints(
    alarm: AlarmSpec,
    feeding: Sequence[MetricFilter],
    account: str,
    region: str | None,
    samples: pl.DataFrame,
    state: DetectionsState,
    within: Callable[[str, int], bool] | None = None,
) -> dict[int, float]:
    """Period start -> the alarm's statistic over the metric ``feeding`` publishes in
    ``account`` (``samples`` already narrowed to ``region`` when it is given).
    ``within(stream, minute)``: whether that filter published in that minute (a
    filter version only publishes while it exists)."""
    names = [f.name for f in feeding]
    rows = samples.filter(
        (pl.col(ACCOUNT) == account)
        & pl.col(STREAM).is_in(names)
        & (pl.col(DIMS) == dims_key(alarm.dimensions))
    )
    per_period: dict[int, list[Any]] = {}
    p = alarm.period
    matched_minutes: dict[str, set[int]] = {}
    for row in rows.iter_rows(named=True):
        if within is not None and not within(row[STREAM], row[MINUTE]):
            continue
        matched_minutes.setdefault(row[STREAM], set()).add(row[MINUTE])
        per_period.setdefault(row[MINUTE] - row[MINUTE] % p, []).append(row)
    for f in feeding:
        if f.default_value is None or f.dimensions or alarm.dimensions:
            continue
        seen = matched_minutes.get(f.name, set())
        d = f.default_value
        active = {m for a, r, m in state.active_minutes if a == account and region in (None, r)}
        for m in active - seen:
            if within is not None and not within(f.name, m):
                continue
            per_period.setdefault(m - m % p, []).append(
                {"count": 1, "sum": d, "min": d, "max": d, "values": [d]}
            )
    if alarm.statistic.needs_samples:
        values = {t: [v for r in rs for v in (r["values"] or [])] for t, rs in per_period.items()}
        return period_values(alarm, values)
    return {
        t: Aggregate(
            count=sum(r["count"] for r in rs),
            total=sum(r["sum"] for r in rs),
            minimum=min(r["min"] for r in rs),
            maximum=max(r["max"] for r in rs),
        ).statistic(alarm.statistic.kind)
        for t, rs in per_period.items()
    }


def _ago(earlier: datetime, later: datetime) -> str:
    minutes = int((later - earlier).total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def _iso(moment: datetime) -> str:
    return iso_z(moment)


def _annotate(
    alarm: AlarmSpec,
    t: Any,
    alarm_segments: list[Segment] | None,
    filter_segments: dict[str, list[Segment] | None],
) -> TransitionReport:
    at = existence.state_at(alarm_segments, t.time)
    alarm_existed: bool | None
    actions: bool | None
    if at is True:
        alarm_existed, actions = None, alarm.actions_enabled
    elif at is False:
        alarm_existed, actions = False, None
    else:
        assert isinstance(at, Segment)
        alarm_existed = True
        actions = at.actions_enabled if at.actions_enabled is not None else alarm.actions_enabled
    # Relate the configuration to the data that tripped the alarm, not to the
    # evaluation: filters are not retroactive, so what counts is whether the filter
    # existed when the breaching datapoint's events arrived.
    moment = max((d[0] for d in t.datapoints), default=t.time)
    filter_states = [existence.state_at(segs, moment) for segs in filter_segments.values()]
    if any(s is not True and s is not False for s in filter_states):
        filter_existed: bool | None = True
    elif any(s is True for s in filter_states):
        filter_existed = None
    else:
        filter_existed = False
    note = None
    if t.new is AlarmState.ALARM:
        if alarm_existed is False:
            note = _absence_note("alarm", alarm.name, alarm_segments, moment)
        elif actions is False:
            muted = (
                at.start
                if isinstance(at, Segment) and at.start_event == "DisableAlarmActions"
                else None
            )
            note = f"alarm {alarm.name} had its actions disabled" + (
                f" at {_iso(muted)}, {_ago(muted, moment)} before the breaching datapoint"
                if muted
                else ""
            )
        elif filter_existed is False:
            name = next(iter(filter_segments))
            note = _absence_note("metric filter", name, filter_segments[name], moment)
    would_notify = (
        t.new is AlarmState.ALARM
        and alarm_existed is not False
        and actions is not False
        and filter_existed is not False
    )
    return TransitionReport(
        time=t.time,
        old=t.old,
        new=t.new,
        reason=t.reason,
        alarm_existed=alarm_existed,
        actions_enabled=actions,
        filter_existed=filter_existed,
        would_notify=would_notify,
        note=note,
    )


def _absence_note(what: str, name: str, segments: list[Segment] | None, moment: datetime) -> str:
    ended = [s for s in segments or [] if s.end is not None and s.end <= moment]
    if ended:
        gone = ended[-1].end
        assert gone is not None
        return (
            f"the {what} {name} was deleted at {_iso(gone)}, {_ago(gone, moment)} before "
            f"the breaching datapoint ({_iso(moment)})"
        )
    later = [s for s in segments or [] if s.start is not None and s.start > moment]
    if later:
        start = later[0].start
        assert start is not None
        return f"the {what} {name} did not exist yet: created at {_iso(start)}"
    return f"the {what} {name} did not exist then"
