"""Every version of the metric filters and alarms the logs show being configured.

``existence`` answers *when a name existed*; this module keeps what each successful
``PutMetricFilter`` / ``PutMetricAlarm`` actually set, so a replay can use the
account's own configuration rather than a built-in look-alike. A version is valid
from its Put until the next Put of the same name, its Delete, or the end of the logs,
and only in the account and Region of its record. CloudTrail writes the request in
camelCase while ``describe-*`` output uses the API's casing; both are accepted and
normalised to the ``describe-*`` shape so the loaders' validation is reused as is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import polars as pl

from kmslog.decode import schema as S
from kmslog.decode.jsontext import request_parameters
from kmslog.kms.dates import iso_z
from kmslog.metrics.alarm import AlarmSpec
from kmslog.metrics.existence import ALARM_EVENTS, FILTER_EVENTS, SOURCES
from kmslog.metrics.loaders import _aws_alarm, _aws_filter
from kmslog.metrics.rules import FilterRule, RuleError


def kept_rows() -> pl.Expr:
    """The rows logged metric filters are run over: KMS writes and failed KMS calls
    (the filters are only known at the end of a scan, so the rows are kept ahead)."""
    return (pl.col(S.EVENT_SOURCE) == "kms.amazonaws.com") & (
        pl.col(S.READ_ONLY).fill_null(False).not_() | pl.col(S.ERROR_CODE).is_not_null()
    )


@dataclass(frozen=True)
class Version:
    """One configuration of a filter or alarm and the time it held."""

    account: str
    region: str
    name: str
    start: datetime
    end: datetime | None  # None = still in place at the end of the logs
    event_id: str | None
    end_event: str | None = None  # "PutMetricAlarm" (replaced) or the Delete's name

    def valid_at(self, moment: datetime) -> bool:
        """In place at ``moment``: from the Put (inclusive) to the replacing call."""
        return self.start <= moment and (self.end is None or moment < self.end)

    def overlaps(self, other: Version) -> bool:
        return (other.end is None or self.start < other.end) and (
            self.end is None or other.start < self.end
        )


@dataclass(frozen=True)
class FilterVersion(Version):
    rule: FilterRule | None = None


@dataclass(frozen=True)
class AlarmVersion(Version):
    alarm: AlarmSpec | None = None


@dataclass(frozen=True)
class Problem:
    """A logged configuration kmslog cannot replay, and why."""

    event_id: str | None
    event_name: str
    name: str
    reason: str


@dataclass(frozen=True)
class Logged:
    filters: tuple[FilterVersion, ...] = ()
    alarms: tuple[AlarmVersion, ...] = ()
    problems: tuple[Problem, ...] = ()


def _upper_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            (k[:1].upper() + k[1:] if isinstance(k, str) else k): _upper_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_upper_keys(v) for v in value]
    return value


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            (k[:1].lower() + k[1:] if isinstance(k, str) else k): _lower_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


@dataclass(frozen=True)
class ConfigCall:
    time: datetime
    event_name: str
    event_id: str | None
    account: str
    region: str
    params: Mapping[str, Any]


def calls_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[ConfigCall]:
    """The successful configuration calls among ``rows``, with their parameters."""
    out: list[ConfigCall] = []
    for row in rows:
        name = row.get(S.EVENT_NAME)
        if row.get(S.ERROR_CODE) is not None or name not in SOURCES.get(
            row.get(S.EVENT_SOURCE) or "", ()
        ):
            continue
        params = request_parameters(row[S.RAW])
        if params is not None:
            out.append(
                ConfigCall(
                    time=row[S.EVENT_TIME],
                    event_name=str(name),
                    event_id=row.get(S.EVENT_ID),
                    account=row.get(S.RECIPIENT_ACCOUNT_ID) or "",
                    region=row.get(S.AWS_REGION) or "",
                    params=params,
                )
            )
    return out


def _names(call: ConfigCall) -> tuple[str, ...]:
    p = _lower_keys(call.params)
    if call.event_name in ("PutMetricAlarm", "PutMetricFilter", "DeleteMetricFilter"):
        listed = [p.get("alarmName" if call.event_name == "PutMetricAlarm" else "filterName")]
    elif call.event_name == "DeleteAlarms":
        listed = p.get("alarmNames") if isinstance(p.get("alarmNames"), list) else []
    else:
        listed = []
    return tuple(n for n in listed if isinstance(n, str) and n)


def reconstruct(rows: Iterable[Mapping[str, Any]]) -> Logged:
    """Versions of every filter and alarm configured in ``rows`` (config-change
    candidates as selected by ``existence.config_frame_filter``)."""
    return versions(calls_from_rows(rows))


def versions(calls: Iterable[ConfigCall]) -> Logged:
    """Versions from the parsed calls, in any order (workers gather them apart)."""
    filters: list[FilterVersion] = []
    alarms: list[AlarmVersion] = []
    problems: list[Problem] = []
    open_f: dict[tuple[str, str, str], int] = {}
    open_a: dict[tuple[str, str, str], int] = {}

    def close(made: list[Any], index: int | None, call: ConfigCall) -> None:
        if index is not None:
            old = made[index]
            made[index] = type(old)(
                **{**old.__dict__, "end": call.time, "end_event": call.event_name}
            )

    for call in sorted(calls, key=lambda c: c.time):
        for name in _names(call):
            key = (call.account, call.region, name)
            if call.event_name in FILTER_EVENTS:
                close(filters, open_f.pop(key, None), call)
                if call.event_name != "PutMetricFilter":
                    continue
                try:
                    rule = _aws_filter(_lower_keys(call.params), f"logged {call.event_id}")
                except RuleError as exc:
                    problems.append(Problem(call.event_id, call.event_name, name, str(exc)))
                    continue
                open_f[key] = len(filters)
                filters.append(
                    FilterVersion(
                        call.account, call.region, name, call.time, None, call.event_id, rule=rule
                    )
                )
            elif call.event_name in ALARM_EVENTS:
                if call.event_name not in ("PutMetricAlarm", "DeleteAlarms"):
                    continue  # muting is existence's business; the configuration is unchanged
                close(alarms, open_a.pop(key, None), call)
                if call.event_name != "PutMetricAlarm":
                    continue
                try:
                    alarm, why = _aws_alarm(_upper_keys(call.params))
                except RuleError as exc:
                    alarm, why = None, str(exc)
                if alarm is None:
                    problems.append(Problem(call.event_id, call.event_name, name, why))
                    continue
                open_a[key] = len(alarms)
                alarms.append(
                    AlarmVersion(
                        call.account, call.region, name, call.time, None, call.event_id, alarm=alarm
                    )
                )
    return Logged(tuple(filters), tuple(alarms), tuple(problems))


@dataclass(frozen=True)
class LoggedAlarm:
    """An alarm version with the filter versions that fed its metric while it existed."""

    version: AlarmVersion
    feeds: tuple[FilterVersion, ...]

    @property
    def spec(self) -> AlarmSpec:
        """The alarm in the rule model, owned by its record's account and Region so
        the replay only hears that place's records."""
        assert self.version.alarm is not None
        return replace(self.version.alarm, account=self.version.account, region=self.version.region)

    @property
    def rules(self) -> tuple[FilterRule, ...]:
        """The feeding filters as rules, in the order of ``feeds``."""
        return tuple(version_rule(feed) for feed in self.feeds)


def version_rule(feed: FilterVersion) -> FilterRule:
    """A filter version as a rule whose id and metric stream name the version, so two
    versions of one filter are replayed apart."""
    assert feed.rule is not None
    label = f"{feed.name}@{feed.event_id or iso_z(feed.start)}"
    return replace(feed.rule, id=label, metric_filter=replace(feed.rule.metric_filter, name=label))


def bind(logged: Logged) -> tuple[LoggedAlarm, ...]:
    """Each alarm version with the filter versions of its account and Region whose
    metricTransformation publishes the alarm's (Namespace, MetricName) at some time
    the alarm version existed."""
    out = []
    for version in logged.alarms:
        assert version.alarm is not None
        key = (version.alarm.namespace, version.alarm.metric_name)
        feeds = tuple(
            f
            for f in logged.filters
            if f.rule is not None
            and (f.account, f.region) == (version.account, version.region)
            and f.rule.metric_filter.metric_key == key
            and f.overlaps(version)
        )
        out.append(LoggedAlarm(version, feeds))
    return tuple(out)
