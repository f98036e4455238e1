"""The key state machine, as a pure function of one key's ordered events.

Only successful calls move the state; failed ones are kept as attempts. Until a
creating event or some evidence arrives the state is ``Unknown``: a failure saying
``<arn> is pending deletion.`` proves PendingDeletion at that moment. (A successful
cryptographic call shows the key was Enabled; the lifecycle reports that as a
finding rather than a state, so states stay driven by state events and errors.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class KeyState(StrEnum):
    UNKNOWN = "Unknown"
    ENABLED = "Enabled"
    DISABLED = "Disabled"
    PENDING_DELETION = "PendingDeletion"
    PENDING_IMPORT = "PendingImport"
    PENDING_REPLICA_DELETION = "PendingReplicaDeletion"
    UNAVAILABLE = "Unavailable"
    DELETED = "Deleted"


# Calls that change state when they succeed (the others only add to the timeline).
STATE_EVENTS = frozenset(
    {
        "CreateKey",
        "ReplicateKey",
        "EnableKey",
        "DisableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "DeleteKey",
        "DeleteExpiredKeyMaterial",
        "DeleteImportedKeyMaterial",
        "ImportKeyMaterial",
    }
)

CREATING_EVENTS = frozenset({"CreateKey", "ReplicateKey"})

# Operations that only succeed on an Enabled key.
CRYPTO_OPERATIONS = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
    }
)

_EVIDENCE = re.compile(
    r" is (?P<what>pending deletion|pending replica deletion|disabled|pending import|unavailable)"
    r"(?: \(or pending replica deletion\))?\.?\s*$"
)
_EVIDENCE_STATE = {
    "pending deletion": KeyState.PENDING_DELETION,
    "pending replica deletion": KeyState.PENDING_REPLICA_DELETION,
    "disabled": KeyState.DISABLED,
    "pending import": KeyState.PENDING_IMPORT,
    "unavailable": KeyState.UNAVAILABLE,
}

# A regex usable in polars to keep only failures that tell the key state.
EVIDENCE_REGEX = (
    r" is (pending deletion|pending replica deletion|disabled|pending import|unavailable)"
)


def state_from_error(message: str | None) -> KeyState | None:
    """The key state a KMS error message proves (``… is disabled.`` → Disabled)."""
    if not message:
        return None
    match = _EVIDENCE.search(message)
    return _EVIDENCE_STATE[match["what"]] if match else None


@dataclass(frozen=True)
class StateInput:
    """What the state machine needs from one record (or one observed use)."""

    time: datetime
    event_name: str
    success: bool
    event_id: str | None = None
    key_state: str | None = None  # keyState in the response (CreateKey, ScheduleKeyDeletion)
    origin: str | None = None  # CreateKey origin
    evidence: KeyState | None = None  # state an error message or a use proves
    deletion_date: datetime | None = None


@dataclass(frozen=True)
class StateInterval:
    state: KeyState
    start: datetime | None  # None: unbounded (before the logs)
    end: datetime | None  # None: still in this state at the end of the logs
    event_id: str | None = None  # the record that started it
    cause: str = ""  # event name, or "evidence: <event name>"


@dataclass(frozen=True)
class Conflict:
    """Evidence that disagrees with the replayed state: the logs miss a change."""

    time: datetime
    expected: KeyState
    seen: KeyState
    event_id: str | None
    event_name: str


@dataclass
class StateHistory:
    intervals: list[StateInterval] = field(default_factory=list)
    attempts: list[StateInput] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    after_deletion: list[StateInput] = field(default_factory=list)

    @property
    def current(self) -> KeyState:
        return self.intervals[-1].state if self.intervals else KeyState.UNKNOWN

    def state_at(self, when: datetime) -> KeyState:
        for interval in reversed(self.intervals):
            if interval.start is None or interval.start <= when:
                return interval.state
        return KeyState.UNKNOWN


def _created_state(item: StateInput) -> KeyState:
    if item.key_state == "PendingImport" or item.origin == "EXTERNAL":
        return KeyState.PENDING_IMPORT
    if item.key_state in {s.value for s in KeyState} and item.key_state != "Unknown":
        return KeyState(item.key_state)
    # "Creating" (a replica being made) becomes Enabled without a logged transition.
    return KeyState.ENABLED


def _next_state(current: KeyState, item: StateInput) -> KeyState | None:
    """The state after a successful state-changing call, or None for no change."""
    name = item.event_name
    if name in ("CreateKey", "ReplicateKey"):
        return _created_state(item)
    if name == "EnableKey":
        return KeyState.ENABLED
    if name == "DisableKey":
        return KeyState.DISABLED
    if name == "ScheduleKeyDeletion":
        if item.key_state == "PendingReplicaDeletion":
            return KeyState.PENDING_REPLICA_DELETION
        return KeyState.PENDING_DELETION
    if name == "CancelKeyDeletion":
        return KeyState.DISABLED
    if name == "DeleteKey":
        return KeyState.DELETED
    if name in ("DeleteExpiredKeyMaterial", "DeleteImportedKeyMaterial"):
        return KeyState.PENDING_IMPORT
    if name == "ImportKeyMaterial" and current in (KeyState.PENDING_IMPORT, KeyState.UNKNOWN):
        return KeyState.ENABLED
    return None


def replay(items: Sequence[StateInput], first_seen: datetime | None = None) -> StateHistory:
    """Ordered inputs (by time) → state intervals, failed attempts and conflicts.

    ``first_seen`` is where the key's history starts (the start of the logs): the
    key is ``Unknown`` from then until a creating event or evidence fixes its state.
    """
    history = StateHistory()
    current = KeyState.UNKNOWN
    start: datetime | None = first_seen
    start_event: str | None = None
    cause = "start of the logs" if first_seen else ""

    def move(to: KeyState, item: StateInput, why: str) -> None:
        nonlocal current, start, start_event, cause
        if to == current:
            return
        # Nothing was unknown before a key the logs see being created.
        created = item.event_name in CREATING_EVENTS and not history.intervals
        unknown_blip = current is KeyState.UNKNOWN and (
            start is None or start >= item.time or created
        )
        if not unknown_blip:
            history.intervals.append(StateInterval(current, start, item.time, start_event, cause))
        current, start, start_event, cause = to, item.time, item.event_id, why

    for item in sorted(items, key=lambda i: i.time):
        if current is KeyState.DELETED and item.event_name != "DeleteKey":
            history.after_deletion.append(item)
            continue
        if item.evidence is not None:
            if current is KeyState.UNKNOWN:
                move(item.evidence, item, f"evidence: {item.event_name}")
            elif item.evidence != current and not (
                item.evidence is KeyState.PENDING_DELETION
                and current is KeyState.PENDING_REPLICA_DELETION
            ):
                history.conflicts.append(
                    Conflict(item.time, current, item.evidence, item.event_id, item.event_name)
                )
                move(item.evidence, item, f"evidence: {item.event_name}")
            if item.event_name not in STATE_EVENTS:
                continue
        if item.event_name not in STATE_EVENTS:
            continue
        if not item.success:
            history.attempts.append(item)
            continue
        target = _next_state(current, item)
        if target is not None:
            move(target, item, item.event_name)
    if current is not KeyState.UNKNOWN or start is not None or history.intervals:
        history.intervals.append(StateInterval(current, start, None, start_event, cause))
    return history
