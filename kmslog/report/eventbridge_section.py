"""The EventBridge section of ``kmslog scan``: the replay of the loaded EventBridge
rules (built-in ``[[event_rule]]`` tables and ``--rules`` list-rules JSON), as JSON
(``eventbridge``: rules with their configuration windows, and every match) and in the
terminal. Every string from a record goes through ``safe``; nothing is parsed as markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from kmslog.analyses.eventbridge import EventBridgeAnalysis, EventBridgeResult, RuleReport
from kmslog.eventbridge.history import RuleWindow
from kmslog.eventbridge.rules import EventRule
from kmslog.findings.adapters import eventbridge_findings
from kmslog.findings.group import AliasLookup, group_findings
from kmslog.report import safe
from kmslog.report.detections_json import iso
from kmslog.report.findings_console import alias_lookup, print_groups
from kmslog.report.section import Section


def eventbridge_section(rules: tuple[EventRule, ...]) -> Section:
    return Section(
        EventBridgeAnalysis(rules),
        "eventbridge",
        lambda _result, found: eventbridge_data(found),
        lambda console, result, found: print_eventbridge(
            console, found, alias_lookup(result.results)
        ),
    )


def _window(w: RuleWindow) -> dict[str, Any]:
    return {
        "from": iso(w.start),
        "to": iso(w.end),
        "exists": w.exists,
        "state": w.state,
        "enabled": w.enabled,
        "targets": None if w.targets is None else sorted(w.targets),
        "from_event": w.start_event,
        "to_event": w.end_event,
    }


def rule_data(report: RuleReport) -> dict[str, Any]:
    r = report.rule
    return {
        "id": r.id,
        "name": r.name,
        "event_bus": r.event_bus,
        "state": r.state,
        "account": r.account,
        "region": r.region,
        "pattern": r.pattern,
        "title": r.title,
        "severity": r.severity,
        "origin": r.origin,
        "matched": report.matched,
        # Per account and Region: the configuration windows the logs show (null: the
        # logs never mention the rule there, so its file state is assumed throughout).
        "windows": [
            {
                "account": account,
                "region": region,
                "windows": None if ws is None else [_window(w) for w in ws],
            }
            for (account, region), ws in report.windows.items()
        ],
    }


MATCH_FIELDS = (
    "rule",
    "rule_name",
    "detail_type",
    "envelope_id",
    "event_id",
    "event_name",
    "key_arn",
    "principal_arn",
    "account",
    "region",
    "source_ip",
    "error_code",
    "source",
    "record_index",
    "rule_existed",
    "enabled",
    "state",
    "state_from_logs",
    "has_target",
    "would_deliver",
)


def eventbridge_data(result: EventBridgeResult) -> dict[str, Any]:
    matches = []
    for row in result.matches.iter_rows(named=True):
        item = {k: row.get(k) for k in MATCH_FIELDS}
        item["event_time"] = iso(row["event_time"])
        matches.append(item)
    return {
        "events": result.events,
        "rules": [rule_data(r) for r in result.rules],
        "matches": matches,
        "would_not_deliver": result.silent.height,
        "skipped": list(result.skipped),
    }


def print_eventbridge(
    console: Console, result: EventBridgeResult, aliases: AliasLookup | None = None
) -> None:
    """Per matched rule, its matches grouped (as findings) key → principal; a group the
    rule would not have delivered is its own kind, "would not have delivered"."""
    for note in result.skipped:
        console.print(Text(safe.clean(note), style="yellow"))
    if result.matches.height == 0:
        console.print(Text("No EventBridge rule matched.", style="green"))
        return
    found = eventbridge_findings(result)
    for report in result.rules:
        if report.matched == 0:
            continue
        rule = report.rule
        mine = [
            f
            for f in found
            if f.details.get("rule") == rule.name and f.details.get("event_bus") == rule.event_bus
        ]
        events = sum(f.count for f in mine)
        # The rule's title heads its findings below.
        title = Text()
        title.append(safe.clean(f"EventBridge rule {rule.name}"), style="bold underline")
        title.append(f": {events} event{'s' if events != 1 else ''}")
        console.print(title)
        print_groups(console, group_findings(mine, aliases))
