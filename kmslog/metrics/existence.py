"""Were the metric filter and the alarm even there?

Metric filters are not retroactive and alarms can be deleted or muted, so a
replay is only half the answer. The same CloudTrail logs record the
configuration changes: ``PutMetricFilter`` / ``DeleteMetricFilter``
(logs.amazonaws.com) and ``PutMetricAlarm`` / ``DeleteAlarms`` /
``DisableAlarmActions`` / ``EnableAlarmActions`` (monitoring.amazonaws.com).
Only successful calls count. Before the first call the logs show for a name,
nothing is known, except that a Delete/Disable/Enable proves the thing existed.
A call belongs to the account and Region of its record: an alarm owned by an
AlarmArn only hears of calls made there. Only comparisons are made on times, so any
time the calendar holds (year 1 … 9999) is safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from kmslog.decode import schema as S
from kmslog.decode.jsontext import request_parameters

ALARM_EVENTS = ("PutMetricAlarm", "DeleteAlarms", "DisableAlarmActions", "EnableAlarmActions")
FILTER_EVENTS = ("PutMetricFilter", "DeleteMetricFilter")
SOURCES = {"monitoring.amazonaws.com": ALARM_EVENTS, "logs.amazonaws.com": FILTER_EVENTS}


@dataclass(frozen=True)
class ConfigChange:
    """One successful configuration call, reduced to what existence needs."""

    time: datetime
    event_name: str
    names: tuple[str, ...]
    actions_enabled: bool | None = None  # PutMetricAlarm's ActionsEnabled (default true)
    event_id: str | None = None
    principal: str | None = None
    account: str = ""
    region: str = ""


@dataclass(frozen=True)
class Segment:
    """A stretch of time the thing existed; ``start`` None = since before the logs show."""

    start: datetime | None
    end: datetime | None  # None = still there at the end of the logs
    actions_enabled: bool | None = None  # alarms only
    start_event: str | None = None
    end_event: str | None = None


def config_frame_filter() -> pl.Expr:
    """Rows that may be configuration changes (cheap: two typed-column tests)."""
    return pl.col(S.EVENT_NAME).is_in(ALARM_EVENTS + FILTER_EVENTS) & pl.col(S.EVENT_SOURCE).is_in(
        list(SOURCES)
    )


def changes_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[ConfigChange]:
    """Parse candidate rows (event_time, event_name, event_source, error_code, raw, …)."""
    out: list[ConfigChange] = []
    for row in rows:
        if row.get(S.ERROR_CODE) is not None:
            continue
        name = row[S.EVENT_NAME]
        if name not in SOURCES.get(row[S.EVENT_SOURCE], ()):
            continue
        params = request_parameters(row[S.RAW])
        if params is None:
            continue  # without its parameters a call names no filter or alarm
        enabled = None
        if name in ("PutMetricAlarm",):
            names = (params.get("alarmName"),)
            flag = params.get("actionsEnabled", True)
            enabled = flag if isinstance(flag, bool) else str(flag).lower() != "false"
        elif name in ("PutMetricFilter", "DeleteMetricFilter"):
            names = (params.get("filterName"),)
        else:
            listed = params.get("alarmNames")
            names = tuple(listed) if isinstance(listed, list) else ()
        clean = tuple(n for n in names if isinstance(n, str) and n)
        if clean:
            out.append(
                ConfigChange(
                    time=row[S.EVENT_TIME],
                    event_name=name,
                    names=clean,
                    actions_enabled=enabled,
                    event_id=row.get(S.EVENT_ID),
                    principal=row.get(S.IDENTITY_ARN),
                    account=row.get(S.RECIPIENT_ACCOUNT_ID) or "",
                    region=row.get(S.AWS_REGION) or "",
                )
            )
    return out


def _ordered(
    changes: Iterable[ConfigChange], name: str, kinds: tuple[str, ...]
) -> list[ConfigChange]:
    picked = [c for c in changes if c.event_name in kinds and name in c.names]
    return sorted(picked, key=lambda c: c.time)


def alarm_segments(changes: Iterable[ConfigChange], name: str) -> list[Segment] | None:
    """When alarm ``name`` existed and whether its actions were on; None if the logs
    never mention it."""
    events = _ordered(changes, name, ALARM_EVENTS)
    if not events:
        return None
    first = events[0].event_name
    # A Delete/Disable/Enable as the first word proves the alarm existed before it;
    # Disable implies actions were on until then, Enable that they were off.
    exists = first != "PutMetricAlarm"
    enabled: bool | None = {"DisableAlarmActions": True, "EnableAlarmActions": False}.get(first)
    start: datetime | None = None
    start_event: str | None = None
    segments: list[Segment] = []

    def close(at: datetime, why: str) -> None:
        segments.append(Segment(start, at, enabled, start_event, why))

    for change in events:
        kind, at = change.event_name, change.time
        if kind == "PutMetricAlarm":
            if exists:
                close(at, kind)
            exists, enabled, start, start_event = True, change.actions_enabled, at, kind
        elif not exists:
            continue  # deleting or muting an alarm that is not there changes nothing
        elif kind == "DeleteAlarms":
            close(at, kind)
            exists, enabled, start, start_event = False, None, None, None
        else:
            wanted = kind == "EnableAlarmActions"
            if enabled is not wanted:
                close(at, kind)
                enabled, start, start_event = wanted, at, kind
    if exists:
        segments.append(Segment(start, None, enabled, start_event, None))
    return _merge(segments)


def filter_segments(changes: Iterable[ConfigChange], name: str) -> list[Segment] | None:
    """When metric filter ``name`` existed; None if the logs never mention it."""
    events = _ordered(changes, name, FILTER_EVENTS)
    if not events:
        return None
    exists = events[0].event_name == "DeleteMetricFilter"
    start: datetime | None = None
    start_event: str | None = None
    segments: list[Segment] = []
    for change in events:
        if change.event_name == "PutMetricFilter":
            if not exists:
                exists, start, start_event = True, change.time, change.event_name
        elif exists:
            segments.append(Segment(start, change.time, None, start_event, change.event_name))
            exists, start, start_event = False, None, None
    if exists:
        segments.append(Segment(start, None, None, start_event, None))
    return segments


def _merge(segments: list[Segment]) -> list[Segment]:
    """Join back-to-back segments that differ in nothing but the call that split them."""
    merged: list[Segment] = []
    for seg in segments:
        if (
            merged
            and merged[-1].end == seg.start
            and merged[-1].actions_enabled == seg.actions_enabled
            and seg.start_event == "PutMetricAlarm"
        ):
            last = merged[-1]
            merged[-1] = Segment(
                last.start, seg.end, last.actions_enabled, last.start_event, seg.end_event
            )
        else:
            merged.append(seg)
    return merged


def state_at(segments: list[Segment] | None, moment: datetime) -> Segment | None | bool:
    """The segment covering ``moment``; False when the thing did not exist then; True
    when the logs say nothing about it (assumed present)."""
    if segments is None:
        return True
    for seg in segments:
        if (seg.start is None or seg.start <= moment) and (seg.end is None or moment < seg.end):
            return seg
    return False
