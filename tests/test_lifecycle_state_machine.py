from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kmslog.lifecycle.state_machine import (
    KeyState,
    StateInput,
    replay,
    state_from_error,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def at(day: int, name: str, success: bool = True, **kw) -> StateInput:
    return StateInput(T0 + timedelta(days=day), name, success, event_id=f"e{day}", **kw)


def states(history) -> list[str]:
    return [i.state.value for i in history.intervals]


def test_create_enable_disable_schedule_delete():
    h = replay(
        [
            at(0, "CreateKey", origin="AWS_KMS", key_state="Enabled"),
            at(1, "DisableKey"),
            at(2, "EnableKey"),
            at(3, "ScheduleKeyDeletion", key_state="PendingDeletion"),
            at(10, "DeleteKey"),
        ],
        first_seen=T0,
    )
    assert states(h) == ["Enabled", "Disabled", "Enabled", "PendingDeletion", "Deleted"]
    assert h.intervals[0].start == T0 and h.intervals[0].end == T0 + timedelta(days=1)
    assert h.intervals[-1].end is None and h.intervals[-1].event_id == "e10"
    assert h.current is KeyState.DELETED


def test_cancel_leaves_the_key_disabled_not_enabled():
    h = replay([at(0, "CreateKey"), at(1, "ScheduleKeyDeletion"), at(2, "CancelKeyDeletion")])
    assert states(h) == ["Enabled", "PendingDeletion", "Disabled"]


def test_external_origin_starts_pending_import_and_import_enables():
    h = replay(
        [
            at(0, "CreateKey", origin="EXTERNAL", key_state="PendingImport"),
            at(1, "ImportKeyMaterial"),
            at(5, "DeleteExpiredKeyMaterial"),
            at(6, "ImportKeyMaterial"),
            at(7, "DeleteImportedKeyMaterial"),
        ]
    )
    assert states(h) == ["PendingImport", "Enabled", "PendingImport", "Enabled", "PendingImport"]


def test_failed_calls_never_change_state_and_are_attempts():
    h = replay(
        [
            at(0, "CreateKey"),
            at(1, "DisableKey", success=False),
            at(2, "ScheduleKeyDeletion", False),
        ]
    )
    assert states(h) == ["Enabled"]
    assert [a.event_name for a in h.attempts] == ["DisableKey", "ScheduleKeyDeletion"]


def test_mid_life_logs_are_unknown_until_an_error_proves_the_state():
    h = replay(
        [
            at(1, "TagResource"),
            at(3, "Decrypt", False, evidence=KeyState.PENDING_DELETION),
            at(4, "CancelKeyDeletion"),
        ],
        first_seen=T0 + timedelta(days=1),
    )
    assert states(h) == ["Unknown", "PendingDeletion", "Disabled"]
    assert h.intervals[0].start == T0 + timedelta(days=1)
    assert h.intervals[1].cause == "evidence: Decrypt"
    assert h.state_at(T0 + timedelta(days=2)) is KeyState.UNKNOWN
    assert h.state_at(T0 + timedelta(days=3, hours=1)) is KeyState.PENDING_DELETION


def test_contradicting_evidence_is_a_conflict_and_wins():
    h = replay([at(0, "CreateKey"), at(2, "Encrypt", False, evidence=KeyState.DISABLED)])
    assert states(h) == ["Enabled", "Disabled"]
    assert len(h.conflicts) == 1 and h.conflicts[0].expected is KeyState.ENABLED


def test_replica_deletion_and_events_after_deletion():
    h = replay(
        [
            at(0, "CreateKey"),
            at(1, "ScheduleKeyDeletion", key_state="PendingReplicaDeletion"),
            at(2, "Decrypt", False, evidence=KeyState.PENDING_DELETION),
            at(9, "DeleteKey"),
            at(10, "EnableKey"),
        ]
    )
    assert states(h) == ["Enabled", "PendingReplicaDeletion", "Deleted"]
    assert not h.conflicts
    assert [e.event_name for e in h.after_deletion] == ["EnableKey"]


def test_state_from_error_messages():
    assert state_from_error(f"{ARN} is pending deletion.") is KeyState.PENDING_DELETION
    assert state_from_error(f"{ARN} is disabled.") is KeyState.DISABLED
    assert state_from_error(f"{ARN} is pending import.") is KeyState.PENDING_IMPORT
    assert state_from_error(f"{ARN} is unavailable.") is KeyState.UNAVAILABLE
    assert state_from_error(f"{ARN} is not pending deletion.") is None
    assert state_from_error("User is not authorized") is None
    assert state_from_error(None) is None


NAMES = [
    "CreateKey",
    "EnableKey",
    "DisableKey",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "ImportKeyMaterial",
    "DeleteImportedKeyMaterial",
    "TagResource",
    "DeleteKey",
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.sampled_from(NAMES), st.booleans()), max_size=25))
def test_intervals_are_contiguous_and_failures_are_inert(steps):
    items = [at(day, name, ok) for day, name, ok in steps]
    h = replay(items, first_seen=T0)
    for before, after in zip(h.intervals, h.intervals[1:], strict=False):
        assert before.end == after.start
        assert before.state != after.state
    only_ok = replay([i for i in items if i.success], first_seen=T0)
    assert states(h) == states(only_ok)
