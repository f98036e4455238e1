"""Replay the alarms the logs show being configured, version by version.

A scan cannot know the account's own metric filters until it has read their
``PutMetricFilter`` calls, which may sit in any file; so the detections fold keeps
the KMS rows such a filter would plausibly watch (management write events and
failed calls, both few) and the logged filters are run over them at the end. A
logged filter on anything else (for example KMS read events) is replayed on those
rows only, which the report states.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from kmslog.analyses.detections import (
    AlarmReport,
    DetectionsState,
    MissedPage,
    _ago,
    _annotate,
    _marking,
    alarm_datapoints,
)
from kmslog.decode import schema as S
from kmslog.decode.native import decode_texts
from kmslog.kms.dates import iso_z
from kmslog.metrics import existence
from kmslog.metrics.alarm import (
    AlarmSpec,
    AlarmState,
    Comparison,
    Transition,
    epoch_time,
    replay,
)
from kmslog.metrics.existence import Segment
from kmslog.metrics.logged import (
    AlarmVersion,
    FilterVersion,
    LoggedAlarm,
    bind,
    version_rule,
    versions,
)
from kmslog.metrics.metric_filter import compile_rules, empty_samples, expand, finding_columns
from kmslog.metrics.rules import RuleSet

Signature = tuple[object, ...]

SCOPE_NOTE = (
    "logged alarms of account {account} in {region} are replayed over the account's "
    "events of every Region, as a multi-Region trail delivers them all to the log group "
    "in its home Region (the logs do not show which trail feeds which log group)"
)


def signature(alarm: AlarmSpec, patterns: Iterable[str]) -> Signature:
    """What makes two alarms page alike: the feeding patterns (spacing aside) and the
    evaluation settings, not the names."""
    return (
        frozenset("".join(p.split()) for p in patterns),
        alarm.statistic.text,
        alarm.period,
        alarm.evaluation_periods,
        alarm.m,
        alarm.threshold,
        alarm.comparison,
    )


def _overrides(alarm: AlarmSpec, v: AlarmVersion) -> bool:
    return alarm.name == v.name and (
        not alarm.owned or (alarm.account, alarm.region) == (v.account, v.region)
    )


def logged_reports(
    state: DetectionsState, rules: RuleSet, builtin: frozenset[AlarmSpec]
) -> tuple[tuple[AlarmReport, ...], tuple[str, ...], set[tuple[str, str]]]:
    """One report per logged alarm version that some logged filter version fed, notes
    for what was not replayed, and the (built-in alarm, account) pairs a logged alarm
    duplicates (to be reported once, under the logged name).

    A loaded (``--rules``) alarm of the same name and place overrides the logged one."""
    own = [a for a in rules.alarms if a not in builtin]
    builtin_signatures = {
        signature(
            a,
            [
                r.metric_filter.pattern
                for r in rules.filters
                if r.metric_filter.metric_key == (a.namespace, a.metric_name)
            ],
        ): a.name
        for a in rules.alarms
        if a in builtin
    }
    builtin_names = {a.name for a in rules.alarms if a in builtin}
    duplicates: set[tuple[str, str]] = set()
    logged = versions(state.logged_calls)
    notes = [
        f"logged {p.event_name} {p.event_id or '?'} for {p.name!r}: {p.reason}: not replayed"
        for p in logged.problems
    ]
    bound = bind(logged)
    if not bound:
        return (), tuple(notes), duplicates
    frame = _kept_frame(state.logged_raws)
    reports: list[AlarmReport] = []
    carried: dict[tuple[str, str, str], AlarmState] = {}
    scoped: set[tuple[str, str]] = set()
    for item in sorted(bound, key=lambda b: (b.version.account, b.version.region, b.version.start)):
        v = item.version
        if not item.feeds:
            spec = item.spec
            notes.append(
                f"logged alarm {v.name!r} (account {v.account}, {v.region}) watches "
                f"{spec.namespace}/{spec.metric_name}, which no logged metric filter of its "
                "account and Region published while it existed: not replayed"
            )
            continue
        if any(_overrides(a, v) for a in own):
            notes.append(
                f"logged alarm {v.name!r} (account {v.account}, {v.region}) is overridden by "
                "the loaded rule of that name"
            )
            continue
        twin = builtin_signatures.get(
            signature(item.spec, [f.rule.metric_filter.pattern for f in item.feeds if f.rule])
        )
        if twin is not None and (twin, v.account) not in duplicates:
            duplicates.add((twin, v.account))
            notes.append(
                f"built-in alarm {twin!r} is the same alarm as logged {v.name!r} in account "
                f"{v.account}: reported once, as {v.name!r}"
            )
        elif v.name in builtin_names and (v.name, v.account) not in duplicates:
            # The account's own alarm of that name is what paged (or not) there: a
            # built-in replay under the same name with other settings would contradict it.
            duplicates.add((v.name, v.account))
            notes.append(
                f"built-in alarm {v.name!r} is replaced in account {v.account} by the logged "
                f"alarm of that name ({item.spec.statistic.text}, {item.spec.period} s)"
            )
        if (v.account, v.region) not in scoped:
            scoped.add((v.account, v.region))
            notes.append(SCOPE_NOTE.format(account=v.account, region=v.region))
        key = (v.account, v.region, v.name)
        report = _version_report(item, frame, state, carried.get(key, AlarmState.INSUFFICIENT_DATA))
        reports.append(report)
        # PutMetricAlarm on an existing alarm keeps its state; a Delete forgets it.
        last = report.transitions[-1].new if report.transitions else carried.get(key)
        if v.end_event == "PutMetricAlarm" and last is not None:
            carried[key] = last
        else:
            carried.pop(key, None)
    return tuple(reports), tuple(notes), duplicates


def _kept_frame(kept: Sequence[tuple[str, str | None, int | None]]) -> pl.DataFrame:
    if not kept:
        return pl.DataFrame(pl.from_arrow(S.SCHEMA.empty_table()))
    batch = decode_texts([raw.encode() for raw, _, _ in kept], "")
    frame = pl.DataFrame(pl.from_arrow(batch))
    # Decoded again from their texts (``record_index`` is then the text's position in
    # ``kept``), the rows get back the place they were first read from.
    at = frame[S.RECORD_INDEX].to_list()
    return frame.with_columns(
        pl.Series(S.SOURCE, [kept[i][1] for i in at], pl.String),
        pl.Series(S.RECORD_INDEX, [kept[i][2] for i in at], pl.Int64),
    )


def _feed_samples(feed: FilterVersion, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The findings and per-minute samples one filter version published: only its
    account's records, only while it existed (filters are not retroactive).

    Every Region of the account counts: the filter's log group receives what its trail
    delivers, and a multi-Region trail (the setup CIS 3.1 asks for, and the default of
    a trail made in the console) delivers every Region's events to the log group in its
    home Region. The logs do not say which trail feeds which log group, so the report
    states this assumption (:data:`SCOPE_NOTE`)."""
    rules = RuleSet(filters=(version_rule(feed),))
    compiled = compile_rules(rules)
    time = pl.col(S.EVENT_TIME)
    here = (pl.col(S.RECIPIENT_ACCOUNT_ID).fill_null("") == feed.account) & (time >= feed.start)
    if feed.end is not None:
        here = here & (time < feed.end)
    marks, keep, keep_columns = _marking(rules)
    candidates = (
        frame.lazy()
        .filter(here)
        .with_columns(*marks)
        .filter(keep)
        .select(*keep_columns)
        # The evidence columns expand reads, as detections computes them for its rows.
        .select(*finding_columns(), pl.col("^__.*$"))
    )
    return expand(compiled, candidates.collect())


def _version_report(
    item: LoggedAlarm, frame: pl.DataFrame, state: DetectionsState, initial: AlarmState
) -> AlarmReport:
    v, spec = item.version, item.spec
    feeding = [r.metric_filter for r in item.rules]
    expanded = [_feed_samples(f, frame) for f in item.feeds]
    parts = [p for _, p in expanded]
    samples = (
        pl.concat([p for p in parts if p.height], how="vertical_relaxed")
        if any(p.height for p in parts)
        else empty_samples()
    )
    found = [f for f, _ in expanded if f.height]
    events = pl.concat(found, how="diagonal_relaxed") if found else pl.DataFrame()
    by_stream = {r.metric_filter.name: f for r, f in zip(item.rules, item.feeds, strict=True)}

    def within(stream: str, minute: int) -> bool:
        # A defaultValue minute counts when the version existed at some time in it.
        f = by_stream[stream]
        lo = epoch_time(minute)
        return f.start < lo + timedelta(minutes=1) and (f.end is None or lo < f.end)

    datapoints = alarm_datapoints(spec, feeding, v.account, None, samples, state, within)
    config = [c for c in state.config if (c.account, c.region) == (v.account, v.region)]
    alarm_segments = existence.alarm_segments(config, v.name)
    names = sorted({f.name for f in item.feeds})
    filter_segments = {n: existence.filter_segments(config, n) for n in names}
    transitions = []
    missed = None
    if state.first is not None and state.last is not None:
        start = max(state.first, v.start)
        # Replayed to the end of the logs as if the alarm had stayed: the part after a
        # delete is what the account would have seen had nobody touched it.
        replayed = replay(
            spec, datapoints, int(start.timestamp()), int(state.last.timestamp()), initial
        )
        for t in replayed:
            if _existed(v.end, t.time):
                transitions.append(_annotate(spec, t, alarm_segments, filter_segments))
        if v.end is not None and v.end_event == "DeleteAlarms":
            missed = missed_page(spec, v, replayed, alarm_segments, events)
    return AlarmReport(
        alarm=spec,
        account=v.account,
        filters=tuple(names),
        transitions=tuple(transitions),
        existence=None if alarm_segments is None else tuple(alarm_segments),
        filter_existence={k: None if s is None else tuple(s) for k, s in filter_segments.items()},
        datapoints=tuple(
            (epoch_time(t), value)
            for t, value in sorted(datapoints.items())
            if epoch_time(t + spec.period) > v.start and _existed(v.end, epoch_time(t))
        ),
        region=v.region,
        version=v,
        missed=missed,
    )


def _existed(end: datetime | None, moment: datetime) -> bool:
    """An evaluation at or after the replacing call belongs to the next version (or,
    after a delete, to nobody)."""
    return end is None or moment < end


def missed_page(
    spec: AlarmSpec,
    version: AlarmVersion,
    replayed: Sequence[Transition],
    segments: Sequence[Segment] | None,
    events: pl.DataFrame,
) -> MissedPage | None:
    """The first ALARM the deleted alarm would have reached after its delete, had it
    stayed as its last version left it (actions as that version had them before
    anyone muted it), with the first record behind the breaching datapoint."""
    deleted = version.end
    assert deleted is not None
    fired = next((t for t in replayed if t.time >= deleted and t.new is AlarmState.ALARM), None)
    if fired is None:
        return None
    muted = next(
        (
            s.start
            for s in segments or []
            if s.start_event == "DisableAlarmActions"
            and s.start is not None
            and s.start >= version.start
            and s.end == deleted
        ),
        None,
    )
    trigger = _trigger(spec, fired, events)
    return MissedPage(
        alarm=spec.name,
        account=version.account,
        region=version.region,
        deleted_at=deleted,
        muted_at=muted,
        would_fire_at=fired.time,
        trigger=trigger,
        text=_missed_text(spec, deleted, muted, fired.time, trigger),
    )


def _trigger(spec: AlarmSpec, fired: Transition, events: pl.DataFrame) -> dict[str, Any] | None:
    """The earliest record in the breaching datapoints' periods."""
    if not events.height or not fired.datapoints:
        return None
    time = pl.col(S.EVENT_TIME)
    period = timedelta(seconds=spec.period)
    inside = pl.any_horizontal(
        [(time >= start) & (time < start + period) for start, _ in fired.datapoints]
    )
    rows = events.filter(inside).sort(S.EVENT_TIME, S.EVENT_ID, nulls_last=True).head(1)
    if not rows.height:
        return None
    row = rows.row(0, named=True)
    return {
        "event_id": row.get(S.EVENT_ID),
        "event_time": row.get(S.EVENT_TIME),
        "event_name": row.get(S.EVENT_NAME),
        "key_arn": row.get("key_arn"),
        "principal_arn": row.get("principal_arn"),
        "source": row.get(S.SOURCE),
        "record_index": row.get(S.RECORD_INDEX),
    }


def _missed_text(
    spec: AlarmSpec,
    deleted: datetime,
    muted: datetime | None,
    fires: datetime,
    trigger: Mapping[str, Any] | None,
) -> str:
    setting = f"{spec.statistic.text}, {spec.period} s, {_comparison(spec)} {spec.threshold:g}"
    head = f"alarm {spec.name} ({setting})"
    if muted is not None:
        head += f" had its actions disabled at {iso_z(muted)} and"
    head += f" was deleted at {iso_z(deleted)}"
    if trigger is not None and isinstance(trigger.get("event_time"), datetime):
        what = str(trigger.get("event_name") or "an event")
        key = trigger.get("key_arn")
        head += f", {_ago(deleted, trigger['event_time'])} before {what}" + (
            f" on key {key}" if key else ""
        )
    return f"{head}: the page that would have fired at {iso_z(fires)} never went out"


def _comparison(spec: AlarmSpec) -> str:
    return {
        Comparison.GE: ">=",
        Comparison.GT: ">",
        Comparison.LT: "<",
        Comparison.LE: "<=",
    }[spec.comparison]
