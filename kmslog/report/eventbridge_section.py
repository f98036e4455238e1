"""The EventBridge section of ``kmslog scan``: the replay of the loaded EventBridge
rules (built-in ``[[event_rule]]`` tables and ``--rules`` list-rules JSON), as JSON
(``eventbridge``: rules with their configuration windows, and every match) and in the
terminal. Every string from a record goes through ``safe``; nothing is parsed as markup.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kmslog.analyses.eventbridge import EventBridgeAnalysis, EventBridgeResult, RuleReport
from kmslog.commands.scan import Section
from kmslog.eventbridge.history import RuleWindow
from kmslog.eventbridge.rules import EventRule
from kmslog.report import safe
from kmslog.report.detections_json import iso

ROWS_PER_RULE = 50


def eventbridge_section(rules: tuple[EventRule, ...]) -> Section:
    return Section(
        EventBridgeAnalysis(rules),
        "eventbridge",
        lambda _result, found: eventbridge_data(found),
        lambda console, _result, found: print_eventbridge(console, found),
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


def _yes_no(value: bool | None) -> Text:
    if value is None:
        return Text("?", style="yellow")
    return Text("yes", style="green") if value else Text("no", style="bold red")


def print_eventbridge(console: Console, result: EventBridgeResult) -> None:
    for note in result.skipped:
        console.print(Text(safe.clean(note), style="yellow"))
    if result.matches.height == 0:
        console.print(Text("No EventBridge rule matched.", style="green"))
        return
    for report in result.rules:
        if report.matched == 0:
            continue
        rule = report.rule
        rows = result.matches.filter(result.matches["rule"] == rule.id)
        title = Text()
        title.append(safe.clean(f"EventBridge rule {rule.name}"), style="bold")
        title.append(f"  {safe.clean(rule.title)}")
        title.append(f"  {rows.height} event{'s' if rows.height != 1 else ''}")
        table = Table(title=title, title_justify="left")
        for column in ("time", "event", "key", "principal", "enabled", "target", "delivered"):
            table.add_column(column, overflow="fold")
        for row in rows.head(ROWS_PER_RULE).iter_rows(named=True):
            event = f"{row['detail_type'] or '-'}: {row['event_name'] or '-'}"
            table.add_row(
                Text(iso(row["event_time"]) or "-"),
                Text(safe.clean(event)),
                Text(safe.clean(row["key_arn"] or "-")),
                Text(safe.clean(row["principal_arn"] or "-")),
                _yes_no(row["enabled"]),
                _yes_no(row["has_target"]),
                _yes_no(row["would_deliver"]),
            )
        console.print(table)
        if rows.height > ROWS_PER_RULE:
            console.print(Text(f"… {rows.height - ROWS_PER_RULE} more (see --format json)"))
