"""Existence windows of alarms and metric filters from their CloudTrail history,
and imported key-material expiry."""

from __future__ import annotations

from datetime import UTC, datetime

from kmslog.decode import schema as S
from kmslog.metrics.existence import (
    ConfigChange,
    alarm_segments,
    changes_from_rows,
    filter_segments,
    state_at,
)
from kmslog.metrics.key_material import MaterialChange, alarm_time, expiring
from kmslog.metrics.loaders import builtin_rules


def at(minute: int) -> datetime:
    return datetime(2026, 11, 23, 14, 0, tzinfo=UTC).replace(minute=minute)


def change(minute: int, name: str, *names: str, enabled: bool | None = None) -> ConfigChange:
    return ConfigChange(at(minute), name, names or ("A",), enabled)


def spans(segments):
    return [
        (
            s.start and s.start.minute,
            s.end and s.end.minute,
            s.actions_enabled,
        )
        for s in segments
    ]


def test_alarm_created_muted_deleted():
    history = [
        change(1, "PutMetricAlarm", enabled=True),
        change(10, "DisableAlarmActions", "A", "B"),
        change(20, "DeleteAlarms", "A"),
        change(30, "EnableAlarmActions", "A"),  # alarm gone: changes nothing
    ]
    segs = alarm_segments(history, "A")
    assert spans(segs) == [(1, 10, True), (10, 20, False)]
    assert state_at(segs, at(25)) is False
    assert state_at(segs, at(15)).actions_enabled is False
    assert state_at(segs, at(0)) is False  # before the Put it did not exist (as far as known)


def test_first_event_proves_prior_existence():
    segs = alarm_segments([change(5, "DisableAlarmActions")], "A")
    assert spans(segs) == [(None, 5, True), (5, None, False)]
    segs = alarm_segments([change(5, "DeleteAlarms")], "A")
    assert spans(segs) == [(None, 5, None)]


def test_repeated_put_is_one_window_and_unknown_names_are_unknown():
    history = [change(1, "PutMetricAlarm", enabled=True), change(3, "PutMetricAlarm", enabled=True)]
    assert spans(alarm_segments(history, "A")) == [(1, None, True)]
    assert alarm_segments(history, "other") is None
    assert state_at(None, at(3)) is True


def test_filter_segments():
    history = [
        ConfigChange(at(2), "PutMetricFilter", ("F",)),
        ConfigChange(at(4), "DeleteMetricFilter", ("F",)),
        ConfigChange(at(6), "PutMetricFilter", ("F",)),
    ]
    assert spans(filter_segments(history, "F")) == [(2, 4, None), (6, None, None)]


def test_changes_from_rows_reads_request_parameters_and_skips_failures():
    def row(name, source, params, error=None):
        import orjson

        return {
            S.EVENT_TIME: at(1),
            S.EVENT_NAME: name,
            S.EVENT_SOURCE: source,
            S.ERROR_CODE: error,
            S.EVENT_ID: "e",
            S.IDENTITY_ARN: None,
            S.RAW: orjson.dumps({"requestParameters": params}).decode(),
        }

    rows = [
        row(
            "PutMetricAlarm",
            "monitoring.amazonaws.com",
            {"alarmName": "A", "actionsEnabled": False},
        ),
        row("DeleteAlarms", "monitoring.amazonaws.com", {"alarmNames": ["A", "B"]}),
        row("DeleteAlarms", "monitoring.amazonaws.com", {"alarmNames": ["C"]}, "AccessDenied"),
        row("PutMetricFilter", "logs.amazonaws.com", {"filterName": "F", "logGroupName": "g"}),
        row("PutMetricFilter", "monitoring.amazonaws.com", {"filterName": "X"}),
    ]
    got = changes_from_rows(rows)
    assert [(c.event_name, c.names, c.actions_enabled) for c in got] == [
        ("PutMetricAlarm", ("A",), False),
        ("DeleteAlarms", ("A", "B"), None),
        ("PutMetricFilter", ("F",), None),
    ]


KEY = "arn:aws:kms:us-east-1:111122223333:key/k1"


def material(day: int, name: str, valid_to: datetime | None = None) -> MaterialChange:
    return MaterialChange(
        time=datetime(2026, 11, day, tzinfo=UTC),
        key_arn=KEY,
        event_name=name,
        expires=valid_to is not None,
        valid_to=valid_to,
        valid_to_text=None if valid_to is None else "Dec 1, 2026, 12:00:00 AM",
    )


def test_key_material_within_threshold_and_alarm_time():
    alarm = builtin_rules().key_material.alarm
    valid = datetime(2026, 12, 1, tzinfo=UTC)
    got = expiring(
        [material(1, "ImportKeyMaterial", valid)], alarm, datetime(2026, 11, 25, tzinfo=UTC)
    )
    assert len(got) == 1
    assert got[0].seconds_until_expiration == 6 * 86400
    # 10 days before validTo, at the end of that one-minute period.
    assert got[0].alarm_time == datetime(2026, 11, 21, 0, 1, tzinfo=UTC)
    assert got[0].alarm_fired
    # Eleven days out: not yet within the threshold.
    assert (
        expiring(
            [material(1, "ImportKeyMaterial", valid)], alarm, datetime(2026, 11, 20, tzinfo=UTC)
        )
        == []
    )


def test_key_material_reset_by_deletion_or_non_expiring_reimport():
    alarm = builtin_rules().key_material.alarm
    valid = datetime(2026, 12, 1, tzinfo=UTC)
    as_of = datetime(2026, 11, 28, tzinfo=UTC)
    for ender in ("DeleteImportedKeyMaterial", "DeleteExpiredKeyMaterial", "DeleteKey"):
        assert (
            expiring([material(1, "ImportKeyMaterial", valid), material(2, ender)], alarm, as_of)
            == []
        )
    reimport = material(3, "ImportKeyMaterial")
    assert expiring([material(1, "ImportKeyMaterial", valid), reimport], alarm, as_of) == []


def test_alarm_time_is_the_end_of_the_crossing_period():
    alarm = builtin_rules().key_material.alarm
    valid = datetime(2026, 12, 11, 0, 0, 30, tzinfo=UTC)
    assert alarm_time(alarm, valid) == datetime(2026, 12, 1, 0, 1, tzinfo=UTC)
