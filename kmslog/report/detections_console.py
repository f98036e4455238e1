"""Detections in the terminal: findings grouped by rule, then the alarm timeline,
then expiring imported key material. Every string from a record goes through
``safe.text`` (log content is hostile); nothing is parsed as markup."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kmslog.analyses.blind_spots import BlindSpots
from kmslog.analyses.detections import AlarmReport, DetectionsResult
from kmslog.blindspots.caveats import Caveat
from kmslog.metrics.alarm import AlarmState
from kmslog.metrics.existence import Segment
from kmslog.report import safe
from kmslog.report.detections_json import alarm_caveats, iso

ROWS_PER_RULE = 50
STATE_STYLE = {
    AlarmState.ALARM: "bold red",
    AlarmState.OK: "green",
    AlarmState.INSUFFICIENT_DATA: "yellow",
}
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def _when(moment: datetime | None) -> str:
    return iso(moment) or "-"


def _short_key(arn: str | None) -> str:
    # The full ARN is in the JSON output; the table keeps region, account and key id.
    if not arn:
        return "-"
    parts = arn.split(":", 5)
    return f"{parts[3]}:{parts[4]}:{parts[5]}" if len(parts) == 6 else arn


def print_findings(console: Console, result: DetectionsResult) -> None:
    by_rule = {r.id: r for r in result.rules}
    if result.findings.height == 0:
        console.print(Text("No rule matched.", style="green"))
        return
    for (rule_id,), rows in result.findings.group_by("rule", maintain_order=True):
        rule = by_rule.get(str(rule_id))
        title = Text()
        title.append(safe.clean(rule.title if rule else rule_id), style="bold")
        if rule:
            title.append(
                f"  [{safe.clean(rule.severity)}]", style=SEVERITY_STYLE.get(rule.severity, "")
            )
        title.append(f"  {rows.height} event{'s' if rows.height != 1 else ''}")
        table = Table(title=title, title_justify="left")
        for column in ("time", "event", "key", "principal", "outcome"):
            table.add_column(column, overflow="fold")
        for row in rows.head(ROWS_PER_RULE).iter_rows(named=True):
            outcome = (
                Text("succeeded", style="green")
                if row["error_code"] is None
                else safe.text(f"failed: {row['error_code']}", style="red")
            )
            table.add_row(
                _when(row["event_time"]),
                safe.text(row["event_name"]),
                safe.text(_short_key(row["key_arn"])),
                safe.text(row["principal_arn"]),
                outcome,
            )
        if rows.height > ROWS_PER_RULE:
            table.add_row(Text(f"… {rows.height - ROWS_PER_RULE} more (see --format json)"))
        console.print(table)


def _segments(segments: tuple[Segment, ...] | None, kind: str) -> Text:
    if segments is None:
        return Text(f"{kind}: not mentioned in the logs (assumed present)", style="dim")
    out = Text(f"{kind}: ")
    for index, seg in enumerate(segments):
        if index:
            out.append("; ")
        out.append(f"{_when(seg.start) if seg.start else 'before the logs'} → ")
        out.append(_when(seg.end) if seg.end else "end of logs")
        if seg.end_event == "DeleteAlarms" or seg.end_event == "DeleteMetricFilter":
            out.append(" (deleted)", style="red")
        if seg.actions_enabled is False:
            out.append(" actions disabled", style="red")
    if not segments:
        out.append("never existed in the logged period", style="red")
    return out


def _print_caveats(console: Console, found: tuple[Caveat, ...]) -> None:
    for c in found:
        console.print(Text(f"  caveat: {safe.clean(c.text)}", style="yellow"))


def print_alarm(console: Console, report: AlarmReport, found: tuple[Caveat, ...] = ()) -> None:
    a = report.alarm
    quiet = not any(t.new is AlarmState.ALARM for t in report.transitions)
    if quiet and report.existence is None:
        final = report.transitions[-1].new.value if report.transitions else "INSUFFICIENT_DATA"
        line = Text(f"{safe.clean(a.name)}  account {safe.clean(report.account or '-')}: ")
        line.append(f"never in ALARM (ends {final})", style="green")
        console.print(line)
        _print_caveats(console, found)
        return
    title = Text()
    title.append(safe.clean(a.name), style="bold")
    title.append(
        f"  {safe.clean(a.namespace)}/{safe.clean(a.metric_name)}  account "
        f"{safe.clean(report.account or '-')}  {safe.clean(a.statistic.text)} over {a.period} s, "
        f"{a.comparison.value} {a.threshold:g}, {a.m} of {a.evaluation_periods}, "
        f"missing data: {a.treat_missing_data.value}"
    )
    if report.version is not None:
        title.append(f"  (as logged in {safe.clean(report.region or '-')})", style="cyan")
    table = Table(title=title, title_justify="left")
    for column in ("time", "from", "to", "reason", "notified"):
        table.add_column(column, overflow="fold")
    for t in report.transitions:
        reason = safe.text(t.reason)
        if t.note:
            reason.append("\n")
            reason.append(safe.clean(t.note), style="red")
        notified = "-" if t.new is not AlarmState.ALARM else ("yes" if t.would_notify else "NO")
        table.add_row(
            _when(t.time),
            Text(t.old.value, style=STATE_STYLE[t.old]),
            Text(t.new.value, style=STATE_STYLE[t.new]),
            reason,
            Text(notified, style="red" if notified == "NO" else ""),
        )
    console.print(table)
    if report.missed is not None:
        console.print(Text(safe.clean(report.missed.text), style="bold red"))
    _print_caveats(console, found)
    console.print(_segments(report.existence, "alarm"))
    for name, segs in report.filter_existence.items():
        console.print(_segments(segs, f"metric filter {safe.clean(name)}"))


def print_key_material(console: Console, result: DetectionsResult) -> None:
    if not result.key_material:
        return
    rule = result.key_material_rule
    table = Table(
        title=safe.text(
            f"{rule.title if rule else 'Imported key material'} (as of {_when(result.as_of)})",
            style="bold",
        ),
        title_justify="left",
    )
    for column in ("key", "valid to", "expires in", "alarm would fire", "imported"):
        table.add_column(column, overflow="fold")
    for m in result.key_material:
        remaining = (
            "-"
            if m.seconds_until_expiration is None
            else f"{m.seconds_until_expiration / 86400:.1f} days"
        )
        table.add_row(
            safe.text(m.key_arn),
            _when(m.valid_to) if m.valid_to else safe.text(f"unreadable: {m.valid_to_text}"),
            remaining,
            _when(m.alarm_time) + (" (fired)" if m.alarm_fired else ""),
            _when(m.imported_at),
        )
    console.print(table)


def print_detections(
    console: Console, result: DetectionsResult, spots: BlindSpots | None = None
) -> None:
    console.print(Text("Detections", style="bold underline"))
    print_findings(console, result)
    if result.alarms:
        console.print(Text("Alarm timeline", style="bold underline"))
        for report in result.alarms:
            print_alarm(console, report, alarm_caveats(report, result, spots))
    print_key_material(console, result)
    for note in result.skipped:
        console.print(safe.text(f"note: {note}", style="dim"))
