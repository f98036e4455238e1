"""Detections in the terminal: findings grouped by rule, then the alarm timeline,
then expiring imported key material. Every string from a record goes through
``safe.text`` (log content is hostile); nothing is parsed as markup."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from kmslog.analyses.blind_spots import BlindSpots
from kmslog.analyses.detections import AlarmReport, DetectionsResult, TransitionReport
from kmslog.blindspots.caveats import Caveat
from kmslog.findings.adapters import rule_findings
from kmslog.findings.group import AliasLookup, group_findings
from kmslog.metrics.alarm import AlarmState
from kmslog.metrics.existence import Segment
from kmslog.report import safe
from kmslog.report.detections_json import alarm_caveats, iso
from kmslog.report.findings_console import WIDE_COLUMNS, print_groups

STATE_STYLE = {
    AlarmState.ALARM: "bold red",
    AlarmState.OK: "green",
    AlarmState.INSUFFICIENT_DATA: "yellow",
}


def _when(moment: datetime | None) -> str:
    return iso(moment) or "-"


def print_findings(
    console: Console, result: DetectionsResult, aliases: AliasLookup | None = None
) -> None:
    """Rule matches grouped rule → key → principal (the JSON output lists each event)."""
    found = rule_findings(result)
    if not found:
        console.print(Text("No rule matched.", style="green"))
        return
    groups = group_findings(found, aliases)
    events = sum(g.count for g in groups)
    console.print(
        Text(
            f"Rules matched: {len(groups)} rule{'s' * (len(groups) != 1)}, "
            f"{events:,} event{'s' * (events != 1)}",
            style="bold",
        )
    )
    print_groups(console, groups)


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


def _notified(t: TransitionReport) -> Text:
    notified = "-" if t.new is not AlarmState.ALARM else ("yes" if t.would_notify else "NO")
    return Text(notified, style="red" if notified == "NO" else "")


def _state(state: AlarmState) -> Text:
    return Text(state.value, style=STATE_STYLE[state])


def _transitions_table(report: AlarmReport) -> Table:
    """Every transition with every column (``--wide``)."""
    table = Table()
    for column in ("time", "from", "to", "reason", "notified"):
        table.add_column(column, overflow="fold")
    for t in report.transitions:
        reason = safe.text(t.reason)
        if t.note:
            reason.append("\n")
            reason.append(safe.clean(t.note), style="red")
        table.add_row(_when(t.time), _state(t.old), _state(t.new), reason, _notified(t))
    return table


def _until(start: datetime, end: TransitionReport | None) -> Text:
    if end is None:
        return Text("end of logs")
    same_day = end.time.date() == start.date()
    when = _when(end.time)[11:] if same_day else _when(end.time)
    out = Text(f"{when} ")
    out.append_text(_state(end.new))
    return out


def _episodes_table(report: AlarmReport) -> Table:
    """At narrow widths: a transition to ALARM and the one that ends it on one row
    (a flapping alarm is half as long), CloudWatch's reason text left out (alike from
    row to row: ``--wide`` shows it); kmslog's notes stay."""
    table = Table()
    for column in ("time", "to", "until", "notified"):
        table.add_column(column, overflow="fold")
    table.add_column("note", overflow="fold", ratio=1)
    steps = report.transitions
    index = 0
    while index < len(steps):
        t = steps[index]
        if t.new is AlarmState.ALARM:
            end = steps[index + 1] if index + 1 < len(steps) else None
            notes = " ".join(n for n in (t.note, end.note if end else None) if n)
            table.add_row(
                _when(t.time),
                _state(t.new),
                _until(t.time, end),
                _notified(t),
                safe.text(notes, "red"),
            )
            index += 2
            continue
        note = safe.text(t.note or "", "red")
        table.add_row(_when(t.time), _state(t.new), Text(""), _notified(t), note)
        index += 1
    return table


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
    # The title on its own, wrapped at the console's width rather than the table's.
    console.print(title)
    if console.width >= WIDE_COLUMNS:
        console.print(_transitions_table(report))
    else:
        console.print(_episodes_table(report))
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
    console.print(
        safe.text(
            f"{rule.title if rule else 'Imported key material'} (as of {_when(result.as_of)})",
            style="bold",
        )
    )
    for m in result.key_material:
        remaining = (
            "-"
            if m.seconds_until_expiration is None
            else f"{m.seconds_until_expiration / 86400:.1f} days"
        )
        # The ARN alone on its line: whole, and pasteable into the AWS CLI.
        console.print(safe.text(f"  {m.key_arn}", "bold"), overflow="fold")
        valid = _when(m.valid_to) if m.valid_to else f"unreadable: {m.valid_to_text}"
        facts = (
            f"valid to {valid}, expires in {remaining}; alarm would fire "
            f"{_when(m.alarm_time)}{' (fired)' if m.alarm_fired else ''}; "
            f"imported {_when(m.imported_at)}"
        )
        console.print(Padding(safe.text(facts), (0, 0, 0, 4)))


def print_detections(
    console: Console,
    result: DetectionsResult,
    spots: BlindSpots | None = None,
    aliases: AliasLookup | None = None,
) -> None:
    console.print(Text("Detections", style="bold underline"))
    print_findings(console, result, aliases)
    if result.alarms:
        console.print(Text("Alarm timeline", style="bold underline"))
        for report in result.alarms:
            print_alarm(console, report, alarm_caveats(report, result, spots))
    print_key_material(console, result)
    for note in result.skipped:
        console.print(safe.text(f"note: {note}", style="dim"))
