"""What a lifecycle says about one key (the renderers' input)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from kmslog.analyses.key_policies import PolicyVersion
from kmslog.blindspots.caveats import Caveat
from kmslog.kms.resolve import AliasBinding
from kmslog.lifecycle.state_machine import KeyState, StateInterval
from kmslog.lifecycle.timeline import Grant

if TYPE_CHECKING:
    from kmslog.analyses.dependents import KeyDependents


@dataclass(frozen=True)
class TimelineEntry:
    time: datetime
    event_name: str
    category: str
    actor: str
    source_ip: str | None
    event_id: str | None
    success: bool
    detail: str
    source: str
    record_index: int
    error_code: str | None = None


@dataclass(frozen=True)
class UsageRow:
    principal: str
    operation: str
    count: int
    errors: int
    first: datetime
    last: datetime
    source_ips: tuple[str, ...] = ()
    invoked_by: tuple[str, ...] = ()
    context_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    kind: str
    time: datetime | None
    detail: str
    event_id: str | None = None


@dataclass(frozen=True)
class UseInState:
    """Uses (or attempts) of the key while it was in a state that should stop them."""

    state: KeyState
    principal: str
    operation: str
    count: int
    errors: int
    first: datetime
    last: datetime
    event_id: str | None = None  # one example record


@dataclass
class KeyInfo:
    arn: str
    key_id: str
    aliases: list[AliasBinding] = field(default_factory=list)
    origin: str | None = None
    created: datetime | None = None
    created_raw: str | None = None
    created_event_id: str | None = None
    description: str | None = None
    multi_region: bool | None = None


@dataclass
class KeyLifecycle:
    key: KeyInfo
    states: list[StateInterval]
    events: list[TimelineEntry]
    usage: list[UsageRow]
    findings: list[Finding]
    uses_in_state: list[UseInState]
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    last_used: datetime | None = None
    deletion_date: datetime | None = None
    # (time, calls, failed calls) per usage partial row, for the usage histogram.
    usage_points: list[tuple[datetime, int, int]] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    # The blind spots of the key's account and Region while the logs ran
    # (blindspots.caveats): its usage there is unknown, so "last used" and "who
    # uses it" may miss calls.
    caveats: list[Caveat] = field(default_factory=list)
    # Each key-policy version the logs show, with the access it added
    # (analyses.key_policies): the effective-access diff, conditions taken into account.
    policy_access: list[PolicyVersion] = field(default_factory=list)
    # What uses the key (analyses.dependents), when the run computed it.
    dependents: KeyDependents | None = None
    # What the logs show about the key that is not a finding (``enabled_by_use``: a
    # state learned from a successful call), in the findings' record shape.
    facts: list[Finding] = field(default_factory=list)

    @property
    def state(self) -> KeyState:
        return self.states[-1].state if self.states else KeyState.UNKNOWN


@dataclass
class LifecycleResult:
    query: str | None
    keys: list[KeyLifecycle]
    alias_bindings: list[AliasBinding] = field(default_factory=list)  # for alias queries
    unresolved: list[str] = field(default_factory=list)
    logs_start: datetime | None = None
    logs_end: datetime | None = None
    warnings: list[str] = field(default_factory=list)
