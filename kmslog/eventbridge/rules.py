"""EventBridge rules as data: what ``aws events list-rules`` / ``describe-rule`` print,
or an ``[[event_rule]]`` table of the native rules file (docs/rules.md).

A rule is validated here: its ``EventPattern`` goes through the event-pattern parser
(AWS's messages, with line and column), its ``State`` must be one EventBridge knows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kmslog.eventpatterns import EventPatternError, parse
from kmslog.eventpatterns import ast as A

ENABLED = "ENABLED"
DISABLED = "DISABLED"
ENABLED_ALL = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
STATES = (ENABLED, DISABLED, ENABLED_ALL)
DEFAULT_BUS = "default"

_RULE_ARN = re.compile(
    r"^arn:aws[a-z-]*:events:(?P<region>[a-z0-9-]+):(?P<acct>\d{12}):rule/(?:(?P<bus>[^/]+)/)?(?P<name>[^/]+)$"
)


class EventRuleError(ValueError):
    """An invalid EventBridge rule: names the rule and the field."""

    def __init__(
        self, rule: str, field_name: str, message: str, source: tuple[str, int] | None = None
    ) -> None:
        self.rule, self.field, self.detail = rule, field_name, message
        self.source = source  # the field's text and the problem's position, when known
        super().__init__(f"event rule {rule!r}, field {field_name!r}: {message}")


@dataclass(frozen=True)
class EventRule:
    """One EventBridge rule. ``account``/``region`` come from its ``Arn`` (list-rules);
    without them the rule is replayed in every account and Region of the logs."""

    id: str
    name: str
    pattern: str
    state: str = ENABLED
    event_bus: str = DEFAULT_BUS
    account: str | None = None
    region: str | None = None
    title: str = ""
    severity: str = "medium"
    description: str = ""
    references: tuple[str, ...] = ()
    origin: str = "builtin"

    @property
    def parsed(self) -> A.EventPattern:
        return _parsed(self.pattern)

    @property
    def owned(self) -> bool:
        return self.account is not None and self.region is not None

    @property
    def sees_read_only(self) -> bool:
        return self.state == ENABLED_ALL


@lru_cache(maxsize=256)
def _parsed(text: str) -> A.EventPattern:
    return parse(text)


def bus_name(value: str) -> str:
    """An event bus given by name or ARN, as its name."""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def _str(rule: str, name: str, value: Any, *, required: bool = True, limit: int = 4096) -> str:
    if value is None or value == "":
        if required:
            raise EventRuleError(rule, name, "is required")
        return ""
    if not isinstance(value, str):
        raise EventRuleError(rule, name, f"must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise EventRuleError(rule, name, f"is longer than {limit} characters")
    return value


def make_event_rule(
    rule_id: str,
    *,
    name: Any,
    pattern: Any,
    state: Any = ENABLED,
    event_bus: Any = None,
    arn: Any = None,
    origin: str = "builtin",
    title: str = "",
    severity: str = "medium",
    description: str = "",
    references: tuple[str, ...] = (),
) -> EventRule:
    """Build and validate a rule; errors name the rule and the field."""
    rule_name = _str(rule_id, "Name", name, limit=64)
    text = _str(rule_name, "EventPattern", pattern)
    try:
        parse(text)
    except EventPatternError as exc:
        line, column = exc.line_column(text)
        raise EventRuleError(
            rule_name,
            "EventPattern",
            f"{exc.message} (line {line}, column {column})",
            (text, exc.position),
        ) from None
    state_text = _str(rule_name, "State", state or ENABLED)
    if state_text not in STATES:
        raise EventRuleError(
            rule_name, "State", f"{state_text!r} is not one of {', '.join(STATES)}"
        )
    bus = bus_name(_str(rule_name, "EventBusName", event_bus, required=False, limit=1600))
    account = region = None
    if arn is not None:
        match = _RULE_ARN.match(_str(rule_name, "Arn", arn, limit=1600))
        if match is None:
            raise EventRuleError(
                rule_name,
                "Arn",
                "must be arn:<partition>:events:<region>:<account>:rule/[<bus>/]<name>",
            )
        account, region = match["acct"], match["region"]
        bus = bus or match["bus"] or DEFAULT_BUS
    return EventRule(
        id=rule_id,
        name=rule_name,
        pattern=text,
        state=state_text,
        event_bus=bus or DEFAULT_BUS,
        account=account,
        region=region,
        title=title or f"EventBridge rule {rule_name}",
        severity=severity,
        description=description,
        references=references,
        origin=origin,
    )


def is_aws_rules_json(document: Any) -> bool:
    """``list-rules`` output (``Rules``) or one ``describe-rule`` object."""
    if not isinstance(document, Mapping):
        return False
    if "Rules" in document:
        return True
    return (
        "Name" in document
        and "State" in document
        and ("EventPattern" in document or "ScheduleExpression" in document)
    )


def parse_aws_rules(document: Mapping[str, Any], where: str) -> tuple[list[EventRule], list[str]]:
    """Rules from ``list-rules`` / ``describe-rule`` JSON, and notes on those skipped
    (schedule-only rules have no pattern to replay). Raises EventRuleError located at
    ``where: Rules[i]``."""
    if "Rules" in document:
        items = document["Rules"]
        if not isinstance(items, list):
            raise EventRuleError("-", "Rules", f"{where}: must be a list")
        labelled = [(f"{where}: Rules[{i}]", item) for i, item in enumerate(items)]
    else:
        labelled = [(where, document)]
    rules: list[EventRule] = []
    skipped: list[str] = []
    for position, item in labelled:
        if not isinstance(item, Mapping):
            raise EventRuleError("?", "Rules[]", f"{position}: must be an object")
        name = item.get("Name") if isinstance(item.get("Name"), str) else "?"
        if item.get("EventPattern") in (None, "") and item.get("ScheduleExpression"):
            skipped.append(f"{position}: rule {name!r} runs on a schedule: nothing to replay")
            continue
        try:
            rules.append(
                make_event_rule(
                    str(name),
                    name=item.get("Name"),
                    pattern=item.get("EventPattern"),
                    state=item.get("State"),
                    event_bus=item.get("EventBusName"),
                    arn=item.get("Arn"),
                    origin=position,
                    description=item.get("Description") or ""
                    if isinstance(item.get("Description") or "", str)
                    else "",
                )
            )
        except EventRuleError as exc:
            raise EventRuleError(
                exc.rule, exc.field, f"{position}: {exc.detail}", exc.source
            ) from None
    return rules, skipped
