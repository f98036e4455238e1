"""``AWS/KMS SecondsUntilKeyMaterialExpiration`` reconstructed from CloudTrail.

KMS publishes the metric per KeyId for keys with imported material that expires.
Its value at time t is ``validTo - t``, so it is fully determined by the last
successful ``ImportKeyMaterial`` with ``expirationModel = KEY_MATERIAL_EXPIRES``,
until the material goes away (``DeleteImportedKeyMaterial``, the
``DeleteExpiredKeyMaterial`` service event, ``DeleteKey``) or is re-imported
without expiry. ``validTo`` is a Java locale string, read with
:func:`kmslog.kms.dates.parse_kms_date`.

The alarm (by default Minimum over 1 minute <= 864000 s) fires at the end of the
period in which the value reaches the threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from kmslog.decode import schema as S
from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.kms.dates import parse_kms_date
from kmslog.metrics.alarm import AlarmSpec, Comparison

EVENTS = ("ImportKeyMaterial", "DeleteImportedKeyMaterial", "DeleteExpiredKeyMaterial", "DeleteKey")


def frame_filter() -> pl.Expr:
    return (pl.col(S.EVENT_SOURCE) == "kms.amazonaws.com") & pl.col(S.EVENT_NAME).is_in(EVENTS)


@dataclass(frozen=True)
class MaterialChange:
    time: datetime
    key_arn: str
    event_name: str
    expires: bool = False
    valid_to: datetime | None = None
    valid_to_text: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class ExpiringMaterial:
    key_arn: str
    valid_to: datetime | None
    valid_to_text: str | None
    imported_at: datetime
    import_event_id: str | None
    seconds_until_expiration: int | None
    alarm_time: datetime | None
    alarm_fired: bool


def changes_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[MaterialChange]:
    """Rows carry event_time, event_name, error_code, raw, event_id and ``key_arn``."""
    out: list[MaterialChange] = []
    for row in rows:
        if row.get(S.ERROR_CODE) is not None or not row.get("key_arn"):
            continue
        name = row[S.EVENT_NAME]
        expires, valid_to, text = False, None, None
        if name == "ImportKeyMaterial":
            try:
                record = loads_record(row[S.RAW])
            except RecordTextError:
                continue
            params = record.get("requestParameters") if isinstance(record, dict) else None
            params = params if isinstance(params, dict) else {}
            expires = params.get("expirationModel") == "KEY_MATERIAL_EXPIRES"
            raw_valid_to = params.get("validTo")
            if expires and raw_valid_to is not None:
                text = raw_valid_to if isinstance(raw_valid_to, str) else str(raw_valid_to)
                valid_to = parse_kms_date(raw_valid_to)
        out.append(
            MaterialChange(
                time=row[S.EVENT_TIME],
                key_arn=row["key_arn"],
                event_name=name,
                expires=expires,
                valid_to=valid_to,
                valid_to_text=text,
                event_id=row.get(S.EVENT_ID),
            )
        )
    return out


def alarm_time(alarm: AlarmSpec, valid_to: datetime) -> datetime:
    """When the alarm on ``validTo - t`` would fire: the end of the period in which
    the value first satisfies the threshold (a "less than" alarm: the value shrinks)."""
    crossing = valid_to.timestamp() - alarm.threshold
    p = alarm.period
    if alarm.comparison is Comparison.LT and crossing % p == 0:
        crossing += 1  # exactly at the threshold is not yet "less than"
    return datetime.fromtimestamp((int(crossing) // p + 1) * p, tz=UTC)


def expiring(
    changes: Iterable[MaterialChange], alarm: AlarmSpec, as_of: datetime
) -> list[ExpiringMaterial]:
    """Keys whose current material (as of ``as_of``) is within the alarm's threshold."""
    current: dict[str, MaterialChange] = {}
    for change in sorted(changes, key=lambda c: c.time):
        if change.time > as_of:
            break
        if change.event_name == "ImportKeyMaterial" and change.expires:
            current[change.key_arn] = change
        else:
            current.pop(change.key_arn, None)
    out: list[ExpiringMaterial] = []
    for key, change in sorted(current.items()):
        if change.valid_to is None:
            # Unreadable validTo: report it rather than guess; the raw text is kept.
            out.append(
                ExpiringMaterial(
                    key, None, change.valid_to_text, change.time, change.event_id, None, None, False
                )
            )
            continue
        seconds = int((change.valid_to - as_of).total_seconds())
        if not alarm.comparison.breaches(float(seconds), alarm.threshold):
            continue
        fires = max(alarm_time(alarm, change.valid_to), _period_end(alarm, change.time))
        out.append(
            ExpiringMaterial(
                key_arn=key,
                valid_to=change.valid_to,
                valid_to_text=change.valid_to_text,
                imported_at=change.time,
                import_event_id=change.event_id,
                seconds_until_expiration=seconds,
                alarm_time=fires,
                alarm_fired=fires <= as_of,
            )
        )
    return out


def _period_end(alarm: AlarmSpec, moment: datetime) -> datetime:
    # The metric only exists from the import on: the earliest evaluation that can
    # see it is the end of the import's period.
    p = alarm.period
    return datetime.fromtimestamp((int(moment.timestamp()) // p + 1) * p, tz=UTC)
