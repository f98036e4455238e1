"""Was the EventBridge rule there, enabled, and with a target? From the same logs.

The configuration calls on ``events.amazonaws.com`` (successful ones only): ``PutRule``
(creates or replaces a rule; ``state`` defaults to ENABLED, as the PutRule API does),
``EnableRule``, ``DisableRule``, ``DeleteRule``, ``PutTargets``, ``RemoveTargets``.
A call belongs to the account and Region of its record and names the rule by
``name`` (``rule`` for the target calls) on ``eventBusName`` (default: ``default``).
Before the first call the logs show for a rule nothing is known, except what the call
proves: a DisableRule means the rule was enabled before, an EnableRule that it was
disabled, any call but PutRule that it existed. As in ``metrics/existence.py`` only
comparisons are made on times.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from kmslog.decode import schema as S
from kmslog.decode.jsontext import request_parameters
from kmslog.eventbridge.rules import DEFAULT_BUS, DISABLED, ENABLED, STATES, bus_name

EVENTS_SOURCE = "events.amazonaws.com"
RULE_EVENTS = ("PutRule", "EnableRule", "DisableRule", "DeleteRule")
TARGET_EVENTS = ("PutTargets", "RemoveTargets")

RuleKey = tuple[str, str, str, str]  # account, Region, bus, rule name


@dataclass(frozen=True)
class RuleChange:
    time: datetime
    event_name: str
    account: str
    region: str
    bus: str
    rule: str
    state: str | None = None  # PutRule's state
    pattern: str | None = None  # PutRule's eventPattern
    target_ids: tuple[str, ...] = ()
    event_id: str | None = None
    principal: str | None = None

    @property
    def key(self) -> RuleKey:
        return (self.account, self.region, self.bus, self.rule)


@dataclass(frozen=True)
class RuleWindow:
    """A stretch of time with one configuration; ``start`` None = before the logs show.
    ``exists``/``state``/``targets`` None: not known from the logs."""

    start: datetime | None
    end: datetime | None
    exists: bool | None
    state: str | None
    targets: frozenset[str] | None
    start_event: str | None = None
    end_event: str | None = None
    pattern: str | None = None

    @property
    def enabled(self) -> bool | None:
        if self.exists is False:
            return False
        return None if self.state is None else self.state != DISABLED

    @property
    def has_target(self) -> bool | None:
        if self.exists is False:
            return False
        return None if self.targets is None else bool(self.targets)


def frame_filter() -> pl.Expr:
    """Rows that may be rule configuration calls (two typed-column tests)."""
    return (pl.col(S.EVENT_SOURCE) == EVENTS_SOURCE) & pl.col(S.EVENT_NAME).is_in(
        RULE_EVENTS + TARGET_EVENTS
    )


def _get(params: Mapping[str, Any], *names: str) -> Any:
    for n in names:
        if n in params:
            return params[n]
    return None


def changes_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[RuleChange]:
    """Parse candidate rows (event_time, event_name, event_source, error_code, raw, …)."""
    out: list[RuleChange] = []
    for row in rows:
        name = row.get(S.EVENT_NAME)
        if row.get(S.ERROR_CODE) is not None or row.get(S.EVENT_SOURCE) != EVENTS_SOURCE:
            continue
        if name not in RULE_EVENTS + TARGET_EVENTS:
            continue
        params = request_parameters(row[S.RAW])
        if params is None:
            continue
        rule = (
            _get(params, "rule", "Rule") if name in TARGET_EVENTS else _get(params, "name", "Name")
        )
        if not isinstance(rule, str) or not rule:
            continue
        bus = _get(params, "eventBusName", "EventBusName")
        state = pattern = None
        ids: tuple[str, ...] = ()
        if name == "PutRule":
            raw_state = _get(params, "state", "State")
            state = raw_state if isinstance(raw_state, str) and raw_state in STATES else ENABLED
            raw_pattern = _get(params, "eventPattern", "EventPattern")
            pattern = raw_pattern if isinstance(raw_pattern, str) else None
        elif name == "PutTargets":
            targets = _get(params, "targets", "Targets")
            if isinstance(targets, list):
                ids = tuple(
                    str(t.get("id", t.get("Id")))
                    for t in targets
                    if isinstance(t, dict) and isinstance(t.get("id", t.get("Id")), str)
                )
        elif name == "RemoveTargets":
            listed = _get(params, "ids", "Ids")
            if isinstance(listed, list):
                ids = tuple(i for i in listed if isinstance(i, str))
        out.append(
            RuleChange(
                time=row[S.EVENT_TIME],
                event_name=name,
                account=row.get(S.RECIPIENT_ACCOUNT_ID) or "",
                region=row.get(S.AWS_REGION) or "",
                bus=bus_name(bus) if isinstance(bus, str) and bus else DEFAULT_BUS,
                rule=rule,
                state=state,
                pattern=pattern,
                target_ids=ids,
                event_id=row.get(S.EVENT_ID),
                principal=row.get(S.IDENTITY_ARN),
            )
        )
    return out


def windows(changes: Iterable[RuleChange], key: RuleKey) -> list[RuleWindow] | None:
    """The configuration of rule ``key`` over time; None when the logs never mention it."""
    events = sorted((c for c in changes if c.key == key), key=lambda c: c.time)
    if not events:
        return None
    first = events[0].event_name
    exists: bool | None = None if first == "PutRule" else True
    state: str | None = {"DisableRule": ENABLED, "EnableRule": DISABLED}.get(first)
    targets: frozenset[str] | None = None
    if first == "RemoveTargets":
        targets = None  # it had those targets, maybe others: still unknown
    pattern: str | None = None
    start: datetime | None = None
    start_event: str | None = None
    out: list[RuleWindow] = []
    for c in events:
        new_exists, new_state, new_targets, new_pattern = exists, state, targets, pattern
        if c.event_name == "PutRule":
            new_exists, new_state, new_pattern = True, c.state or ENABLED, c.pattern
            if exists is not True:
                new_targets = frozenset() if exists is False else targets
        elif c.event_name == "DeleteRule":
            new_exists, new_state, new_targets = False, None, frozenset()
        elif c.event_name in ("EnableRule", "DisableRule"):
            new_exists = True
            new_state = ENABLED if c.event_name == "EnableRule" else DISABLED
        elif c.event_name == "PutTargets":
            new_exists = True
            new_targets = (targets or frozenset()) | set(c.target_ids)
        else:  # RemoveTargets
            new_exists = True
            new_targets = None if targets is None else targets - set(c.target_ids)
        if (new_exists, new_state, new_targets, new_pattern) == (exists, state, targets, pattern):
            continue
        out.append(
            RuleWindow(start, c.time, exists, state, targets, start_event, c.event_name, pattern)
        )
        exists, state, targets, pattern = new_exists, new_state, new_targets, new_pattern
        start, start_event = c.time, c.event_name
    out.append(RuleWindow(start, None, exists, state, targets, start_event, None, pattern))
    return out


def window_at(ws: list[RuleWindow] | None, moment: datetime) -> RuleWindow | None:
    """The window covering ``moment`` (None: the logs never mention the rule)."""
    if ws is None:
        return None
    for w in ws:
        if (w.start is None or w.start <= moment) and (w.end is None or moment < w.end):
            return w
    return ws[-1]
