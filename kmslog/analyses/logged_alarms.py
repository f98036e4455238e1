"""Replay the alarms the logs show being configured, version by version.

A scan cannot know the account's own metric filters until it has read their
``PutMetricFilter`` calls, which may sit in any file; so the detections fold keeps
the KMS rows such a filter would plausibly watch (management write events and
failed calls, both few) and the logged filters are run over them at the end. A
logged filter on anything else (for example KMS read events) is replayed on those
rows only, which the report states.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import polars as pl

from kmslog.analyses.detections import (
    AlarmReport,
    DetectionsState,
    _annotate,
    _marking,
    alarm_datapoints,
)
from kmslog.decode import schema as S
from kmslog.decode.native import decode_texts
from kmslog.metrics import existence
from kmslog.metrics.alarm import AlarmSpec, AlarmState, epoch_time, replay
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


def _kept_frame(raws: Sequence[str]) -> pl.DataFrame:
    if not raws:
        return pl.DataFrame(pl.from_arrow(S.SCHEMA.empty_table()))
    batch = decode_texts([r.encode() for r in raws], "logged alarms")
    return pl.DataFrame(pl.from_arrow(batch))


def _feed_samples(feed: FilterVersion, frame: pl.DataFrame) -> pl.DataFrame:
    """The per-minute samples one filter version published: only its account's and
    Region's records, only while it existed (filters are not retroactive)."""
    rules = RuleSet(filters=(version_rule(feed),))
    compiled = compile_rules(rules)
    time = pl.col(S.EVENT_TIME)
    here = (
        (pl.col(S.RECIPIENT_ACCOUNT_ID).fill_null("") == feed.account)
        & (pl.col(S.AWS_REGION).fill_null("") == feed.region)
        & (time >= feed.start)
    )
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
    return expand(compiled, candidates.collect())[1]


def _version_report(
    item: LoggedAlarm, frame: pl.DataFrame, state: DetectionsState, initial: AlarmState
) -> AlarmReport:
    v, spec = item.version, item.spec
    feeding = [r.metric_filter for r in item.rules]
    parts = [_feed_samples(f, frame) for f in item.feeds]
    samples = (
        pl.concat([p for p in parts if p.height], how="vertical_relaxed")
        if any(p.height for p in parts)
        else empty_samples()
    )
    by_stream = {r.metric_filter.name: f for r, f in zip(item.rules, item.feeds, strict=True)}

    def within(stream: str, minute: int) -> bool:
        # A defaultValue minute counts when the version existed at some time in it.
        f = by_stream[stream]
        lo = epoch_time(minute)
        return f.start < lo + timedelta(minutes=1) and (f.end is None or lo < f.end)

    datapoints = alarm_datapoints(spec, feeding, v.account, v.region, samples, state, within)
    config = [c for c in state.config if (c.account, c.region) == (v.account, v.region)]
    alarm_segments = existence.alarm_segments(config, v.name)
    names = sorted({f.name for f in item.feeds})
    filter_segments = {n: existence.filter_segments(config, n) for n in names}
    transitions = []
    if state.first is not None and state.last is not None:
        start = max(state.first, v.start)
        end = state.last if v.end is None else min(state.last, v.end)
        for t in replay(spec, datapoints, int(start.timestamp()), int(end.timestamp()), initial):
            if _existed(v.end, t.time):
                transitions.append(_annotate(spec, t, alarm_segments, filter_segments))
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
    )


def _existed(end: datetime | None, moment: datetime) -> bool:
    """An evaluation at or after the replacing call belongs to the next version (or,
    after a delete, to nobody)."""
    return end is None or moment < end
