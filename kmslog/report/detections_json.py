"""Detections as JSON / NDJSON data (plain dicts; times in ISO 8601 UTC).

Top-level keys for ``kmslog scan --format json``: ``findings``, ``alarms``,
``key_material``, and ``summary.detections`` (NDJSON writes the same items one a
line, typed ``finding`` / ``alarm`` / ``key_material``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl

from kmslog.analyses.blind_spots import BlindSpots
from kmslog.analyses.detections import AlarmReport, DetectionsResult, MissedPage
from kmslog.blindspots.caveats import Caveat, caveats, texts
from kmslog.kms.dates import iso_z
from kmslog.metrics.existence import Segment
from kmslog.metrics.key_material import ExpiringMaterial

FINDING_FIELDS = (
    "rule",
    "event_id",
    "event_time",
    "event_name",
    "key_arn",
    "principal_arn",
    "source_ip",
    "error_code",
    "error_message",
    "source",
    "record_index",
)
EXTRA_FINDING_FIELDS = (
    "event_source",
    "identity_arn",
    "user_agent",
    "aws_region",
    "recipient_account_id",
    "metric_value",
)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return iso_z(moment)


def findings_data(result: DetectionsResult) -> list[dict[str, Any]]:
    meta = {r.id: r for r in result.rules}
    rows = []
    for row in result.findings.iter_rows(named=True):
        item: dict[str, Any] = {k: row.get(k) for k in FINDING_FIELDS}
        item["event_time"] = iso(row["event_time"])
        rule = meta.get(row["rule"])
        item["title"] = rule.title if rule else ""
        item["severity"] = rule.severity if rule else ""
        item["succeeded"] = row.get("error_code") is None
        for k in EXTRA_FINDING_FIELDS:
            item[k] = row.get(k)
        rows.append(item)
    return rows


def _segment(seg: Segment) -> dict[str, Any]:
    return {
        "from": iso(seg.start),
        "to": iso(seg.end),
        "actions_enabled": seg.actions_enabled,
        "from_event": seg.start_event,
        "to_event": seg.end_event,
    }


def alarm_caveats(
    report: AlarmReport, result: DetectionsResult, spots: BlindSpots | None
) -> tuple[Caveat, ...]:
    """The blind spots of the alarm's account over the stretch it was replayed: a
    replay that stayed quiet there cannot say the alarm would not have fired."""
    start, end = result.first, result.last
    if report.version is not None:
        start = report.version.start if start is None else max(start, report.version.start)
        if report.version.end is not None:
            end = report.version.end if end is None else min(end, report.version.end)
    # Logged alarms hear every Region of their account (multi-Region trail), as do
    # the built-in ones: the account's blind spots in any Region count.
    return caveats(spots, report.account, None, start, end)


def alarm_data(report: AlarmReport, found: tuple[Caveat, ...] = ()) -> dict[str, Any]:
    a = report.alarm
    return {
        "name": a.name,
        "account": report.account,
        "region": report.region,
        "namespace": a.namespace,
        "metric": a.metric_name,
        "dimensions": dict(a.dimensions),
        "statistic": a.statistic.text,
        "period": a.period,
        "evaluation_periods": a.evaluation_periods,
        "datapoints_to_alarm": a.m,
        "threshold": a.threshold,
        "comparison_operator": a.comparison.value,
        "treat_missing_data": a.treat_missing_data.value,
        "metric_filters": list(report.filters),
        "datapoints": [{"time": iso(t), "value": v} for t, v in report.datapoints],
        "transitions": [
            {
                "time": iso(t.time),
                "from": t.old.value,
                "to": t.new.value,
                "reason": t.reason,
                "alarm_existed": t.alarm_existed,
                "actions_enabled": t.actions_enabled,
                "filter_existed": t.filter_existed,
                "would_notify": t.would_notify,
                "note": t.note,
            }
            for t in report.transitions
        ],
        # When the logs never mention the alarm it is assumed present throughout:
        # one open window, and existence_known false.
        "existence": [_segment(Segment(None, None, a.actions_enabled))]
        if report.existence is None
        else [_segment(s) for s in report.existence],
        "existence_known": report.existence is not None,
        "filter_existence": {
            name: None if segs is None else [_segment(s) for s in segs]
            for name, segs in report.filter_existence.items()
        },
        # Reconstructed from the logs: the PutMetricAlarm of this version and how long
        # it held (until: the next PutMetricAlarm or the DeleteAlarms; null: still there).
        "logged": None
        if report.version is None
        else {
            "event_id": report.version.event_id,
            "from": iso(report.version.start),
            "until": iso(report.version.end),
            "ended_by": report.version.end_event,
        },
        # A logged alarm deleted before it would have fired: when it would have.
        "missed_page": None if report.missed is None else _missed(report.missed),
        # Blind spots of its account while it was replayed (docs/blind-spots.md).
        "caveats": texts(found),
    }


def _missed(missed: MissedPage) -> dict[str, Any]:
    trigger = missed.trigger
    return {
        "deleted_at": iso(missed.deleted_at),
        "actions_disabled_at": iso(missed.muted_at),
        "would_fire_at": iso(missed.would_fire_at),
        "trigger": None
        if trigger is None
        else {
            key: iso(value) if isinstance(value, datetime) else value
            for key, value in trigger.items()
        },
        "text": missed.text,
    }


def material_data(item: ExpiringMaterial) -> dict[str, Any]:
    return {
        "key_arn": item.key_arn,
        "valid_to": iso(item.valid_to),
        "valid_to_raw": item.valid_to_text,
        "seconds_until_expiration": item.seconds_until_expiration,
        "alarm_time": iso(item.alarm_time),
        "alarm_fired": item.alarm_fired,
        "imported_at": iso(item.imported_at),
        "import_event_id": item.import_event_id,
    }


def summary_data(result: DetectionsResult) -> dict[str, Any]:
    per_rule = {r.id: 0 for r in result.rules}
    failed = {r.id: 0 for r in result.rules}
    if result.findings.height:
        for rule, count, fails in (
            result.findings.group_by("rule")
            .agg(count=pl.len(), fails=pl.col("error_code").is_not_null().sum())
            .iter_rows()
        ):
            per_rule[rule] = count
            failed[rule] = fails
    return {
        "events": result.events,
        "first_event": iso(result.first),
        "last_event": iso(result.last),
        "as_of": iso(result.as_of),
        "rules": len(result.rules),
        "findings": result.findings.height,
        "findings_by_rule": per_rule,
        "failed_calls_by_rule": failed,
        "alarms_replayed": len(result.alarms),
        "alarms_in_alarm": sorted({f"{a.alarm.name}@{a.account}" for a in result.alarmed}),
        "would_have_notified": sum(
            1 for a in result.alarms for t in a.transitions if t.would_notify
        ),
        "expiring_key_material": len(result.key_material),
        "skipped": list(result.skipped),
    }


def detections_data(result: DetectionsResult, spots: BlindSpots | None = None) -> dict[str, Any]:
    """The keys this section adds to the scan JSON document."""
    return {
        "summary": {"detections": summary_data(result)},
        "findings": findings_data(result),
        "alarms": [alarm_data(a, alarm_caveats(a, result, spots)) for a in result.alarms],
        "key_material": [material_data(m) for m in result.key_material],
    }
