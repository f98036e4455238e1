"""Rule configuration from the logs: PutRule / EnableRule / DisableRule / DeleteRule and
PutTargets / RemoveTargets, as windows of time."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from kmslog.decode import schema as S
from kmslog.eventbridge import history as H

KEY = ("111122223333", "us-east-1", "default", "r")


def at(hour: int) -> datetime:
    return datetime(2026, 9, 1, hour, tzinfo=UTC)


def row(hour: int, name: str, params: dict | None, error: str | None = None) -> dict:
    record = {"eventName": name, "requestParameters": params}
    return {
        S.EVENT_TIME: at(hour),
        S.EVENT_NAME: name,
        S.EVENT_SOURCE: "events.amazonaws.com",
        S.ERROR_CODE: error,
        S.RAW: json.dumps(record),
        S.RECIPIENT_ACCOUNT_ID: "111122223333",
        S.AWS_REGION: "us-east-1",
        S.EVENT_ID: f"e{hour}",
        S.IDENTITY_ARN: "arn:aws:iam::111122223333:user/a",
    }


def test_a_rule_life() -> None:
    changes = H.changes_from_rows(
        [
            row(1, "PutRule", {"name": "r", "eventPattern": '{"a": [1]}'}),
            row(2, "PutTargets", {"rule": "r", "targets": [{"id": "t1", "arn": "x"}]}),
            row(3, "DisableRule", {"name": "r"}, error="AccessDenied"),  # failed: ignored
            row(4, "DisableRule", {"name": "r"}),
            row(5, "EnableRule", {"name": "r", "eventBusName": "default"}),
            row(6, "RemoveTargets", {"rule": "r", "ids": ["t1"]}),
            row(7, "DeleteRule", {"name": "r"}),
            row(8, "DisableRule", {"name": "other"}),
        ]
    )
    assert len(changes) == 7
    ws = H.windows(changes, KEY)
    assert ws is not None
    got = [(w.start, w.exists, w.enabled, w.has_target) for w in ws]
    assert got == [
        (None, None, None, None),
        (at(1), True, True, None),
        (at(2), True, True, True),
        (at(4), True, False, True),
        (at(5), True, True, True),
        (at(6), True, True, False),
        (at(7), False, False, False),
    ]
    assert ws[1].pattern == '{"a": [1]}' and ws[1].state == "ENABLED"
    assert H.window_at(ws, at(4)).enabled is False  # type: ignore[union-attr]
    assert H.window_at(ws, datetime(2026, 9, 1, 4, 30, tzinfo=UTC)).state == "DISABLED"  # type: ignore[union-attr]
    assert H.windows(changes, ("1", "r", "default", "r")) is None
    assert H.window_at(None, at(1)) is None


def test_a_first_disable_proves_the_rule_was_enabled() -> None:
    changes = H.changes_from_rows([row(3, "DisableRule", {"name": "r"})])
    ws = H.windows(changes, KEY)
    assert ws is not None
    assert [(w.exists, w.enabled) for w in ws] == [(True, True), (True, False)]


def test_put_rule_state_and_bus_arns() -> None:
    (change,) = H.changes_from_rows(
        [
            row(
                1,
                "PutRule",
                {
                    "name": "r",
                    "state": "DISABLED",
                    "eventBusName": "arn:aws:events:us-east-1:111122223333:event-bus/custom",
                },
            )
        ]
    )
    assert (change.bus, change.state) == ("custom", "DISABLED")


def test_unusable_rows_are_skipped() -> None:
    rows = [
        row(1, "PutRule", None),
        row(1, "PutRule", {"name": 5}),
        {**row(1, "PutRule", {"name": "r"}), S.RAW: "{not json"},
        {**row(1, "PutRule", {"name": "r"}), S.EVENT_SOURCE: "kms.amazonaws.com"},
        row(1, "TagResource", {"name": "r"}),
    ]
    assert H.changes_from_rows(rows) == []
