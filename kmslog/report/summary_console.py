"""The scan summary as rich tables. Every value that comes from a log record or
a file name goes through ``safe.text`` (log content is hostile)."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from kmslog.analyses.summary import Summary
from kmslog.kms.dates import readable
from kmslog.report import safe
from kmslog.run.api import IngestStats

MISSING = "(missing)"
TOP = 20
DETAILS = 20


def _value(value: str | None) -> Text:
    return safe.text(MISSING, style="dim") if value is None else safe.text(value)


def _counts(title: str, header: str, rows: Iterable[tuple[str | None, int]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(header)
    table.add_column("records", justify="right")
    items = list(rows)
    for value, count in items[:TOP]:
        table.add_row(_value(value), f"{count:,}")
    if len(items) > TOP:
        rest = sum(n for _, n in items[TOP:])
        table.add_row(Text(f"… {len(items) - TOP} more", style="dim"), f"{rest:,}")
    return table


def summary_renderable(stats: IngestStats, summary: Summary) -> RenderableType:
    overview = Table(title="Scan summary", title_justify="left", show_header=False)
    overview.add_column("what")
    overview.add_column("value", justify="right")
    rows = [
        ("files read", stats.files_read),
        ("files failed", stats.files_failed),
        ("files skipped (digest)", stats.files_skipped_digest),
        ("files skipped (insight)", stats.files_skipped_insight),
        ("files skipped (not log files)", stats.files_skipped_other),
        ("files skipped (not regular files)", stats.files_skipped_special),
        ("files pruned (outside selection)", stats.files_pruned),
        ("records seen", stats.records_seen),
        ("records kept", stats.records_kept),
        ("duplicates dropped", stats.records_duplicate),
        ("records rejected", stats.records_rejected),
        ("records outside selection", stats.records_out_of_window),
        ("eventID conflicts (kept)", stats.event_id_conflicts),
    ]
    for label, count in rows:
        overview.add_row(label, f"{count:,}")
    span = "-"
    if summary.first is not None and summary.last is not None:
        span = f"{readable(summary.first)[:-1]} … {readable(summary.last)[:-1]} UTC"
    overview.add_row("time span", span)
    parts: list[RenderableType] = [overview]
    parts.append(_counts("Accounts (recipientAccountId)", "account", summary.accounts))
    parts.append(_counts("Regions", "region", summary.regions))
    kms = Table(title="KMS events", title_justify="left")
    kms.add_column("eventName")
    kms.add_column("calls", justify="right")
    kms.add_column("errors", justify="right")
    for name, calls, errors in summary.kms_events:
        kms.add_row(_value(name), f"{calls:,}", f"{errors:,}")
    if not summary.kms_events:
        kms.add_row(Text("no KMS events", style="dim"), "", "")
    parts.append(kms)
    if stats.skipped_special:
        special = Table(title="Skipped (not regular files, never opened)", title_justify="left")
        special.add_column("file", overflow="fold")
        special.add_column("what it is")
        for r in stats.skipped_special[:DETAILS]:
            special.add_row(safe.text(r.source), safe.text(r.reason))
        if stats.files_skipped_special > DETAILS:
            more = stats.files_skipped_special - DETAILS
            special.add_row(Text(f"… {more} more", style="dim"), "")
        parts.append(special)
    if stats.rejection_reasons:
        reasons = Table(title="Rejected", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("count", justify="right")
        for reason, count in sorted(stats.rejection_reasons.items(), key=lambda kv: -kv[1]):
            reasons.add_row(safe.text(reason), f"{count:,}")
        parts.append(reasons)
        details = Table(title="First rejections", title_justify="left")
        details.add_column("file", overflow="fold")
        details.add_column("position", justify="right")
        details.add_column("reason")
        for r in stats.rejections[:DETAILS]:
            where = "" if r.position is None else f"{r.position_kind} {r.position}"
            details.add_row(safe.text(r.source), safe.text(where), safe.text(r.reason))
        parts.append(details)
    if stats.conflicts:
        parts.append(_conflicts(stats))
    return Group(*parts)


def _at(source: str | None, position: int | None) -> Text:
    if source is None:
        return safe.text("(not located)", style="dim")
    return safe.text(f"{source} #{position}")


def _conflicts(stats: IngestStats) -> Table:
    table = Table(title="Conflicting eventIDs (different records, both kept)", title_justify="left")
    table.add_column("account")
    table.add_column("eventID", overflow="fold")
    table.add_column("record (file #index)", overflow="fold")
    table.add_column("first record", overflow="fold")
    for c in stats.conflicts[:DETAILS]:
        table.add_row(
            _value(c.account),
            safe.text(c.event_id),
            _at(c.source, c.position),
            _at(c.first_source, c.first_position),
        )
    if stats.event_id_conflicts > DETAILS:
        more = stats.event_id_conflicts - DETAILS
        table.add_row(Text(f"… {more:,} more", style="dim"), "", "", "")
    return table


def print_summary(console: Console, stats: IngestStats, summary: Summary) -> None:
    console.print(summary_renderable(stats, summary))
