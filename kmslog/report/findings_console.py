"""Findings in the terminal, grouped kind → key → principal (``findings/group.py``).

Readable at 80 columns: each kind is a head line (severity, title, counts, span) and
its remediation; under it each key's full ARN on a line of its own (pasteable into the
AWS CLI, never cut: when it does not fit beside its label it gets a line to itself),
its aliases at the time, and per principal the span, the source IPs and user agents in
short ("+N more") and what happened. On a wide console (``--wide``) the principals of
a kind are one table with every column and every value instead.
Every string from a log goes through ``safe``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from kmslog.findings.group import AliasLookup, KeyGroup, KindGroup, PrincipalGroup, in_short
from kmslog.findings.model import Finding
from kmslog.kms.dates import iso_z
from kmslog.report import safe

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
# From this width on, the principals of a kind are a table of every column.
WIDE_COLUMNS = 160
# The width of ``--wide``: room for every column with its values whole (tables take
# only the width they need).
WIDE_CONSOLE = 1000
HEAD = 9  # the severity column of a head line
TOP_VALUES = 3
TOP_SUMMARIES = 3
AGENT_CELLS = 48  # a user agent is cut to this in short (never an ARN)


def alias_lookup(results: dict[str, Any]) -> AliasLookup | None:
    """The run's alias history (``analyses/aliases.py``) as a lookup, if it ran."""
    from kmslog.analyses.aliases import AliasHistoryAnalysis

    history = results.get(AliasHistoryAnalysis.name)
    return None if history is None else history.names_during


def _span(first: datetime | None, last: datetime | None, ongoing: bool = False) -> str:
    if first is None:
        return ""
    if ongoing:
        return f"{iso_z(first)} -> end of logs"
    if last is None or last == first:
        return iso_z(first)
    return f"{iso_z(first)} -> {iso_z(last)}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _short(values: Sequence[str], cut: int | None = None) -> str:
    shown, more = in_short(values, TOP_VALUES)
    if cut is not None:
        shown = [v if cell_len(v) <= cut else v[: cut - 1] + "…" for v in shown]
    return ", ".join(shown) + (f" +{more} more" if more else "")


def _indented(console: Console, text: Text, indent: int) -> None:
    """``text`` wrapped under ``indent``, less when an ARN in it (a summary names keys
    and principals) would otherwise not fit on a line and be cut."""
    arns = [w for w in text.plain.split() if w.startswith("arn:")]
    longest = max((cell_len(w) for w in arns), default=0)
    room = max(0, min(indent, console.width - longest))
    console.print(Padding(text, (0, 0, 0, room), expand=False))


def _arn_line(console: Console, label: str, arn: str, indent: int, style: str = "") -> None:
    """``label`` and ``arn`` on one line when they fit; else the ARN on its own line,
    indented as far as it still fits (folded only when longer than the console)."""
    shown = safe.clean(arn)
    if indent + cell_len(label) + cell_len(shown) <= console.width:
        line = Text(" " * indent + label)
        line.append(shown, style=style)
        console.print(line, overflow="fold", no_wrap=False)
        return
    if label.strip():
        console.print(Text(" " * indent + label.rstrip()))
    room = max(0, min(indent + 2, console.width - cell_len(shown)))
    console.print(Text(" " * room + shown, style=style), overflow="fold")


def _head(console: Console, group: KindGroup) -> None:
    # A grid: a long title wraps under itself, not under the severity.
    head = Table.grid()
    head.add_column(width=HEAD, no_wrap=True)
    head.add_column(overflow="fold")
    head.add_row(
        Text(group.severity.upper(), style=SEVERITY_STYLE.get(group.severity, "")),
        safe.text(group.kind.title, "bold"),
    )
    console.print(head)
    counts = [_plural(group.count, "event")] if group.count else []
    keyed = [k for k in group.keys if k.key_arn]
    # With keys, the key and principal counts say how many findings there are.
    if not keyed and group.findings > 1 and group.findings != group.count:
        counts.append(_plural(group.findings, "finding"))
    if keyed:
        counts.append(_plural(len(keyed), "key"))
    principals = group.principals
    if principals and any(p.principal for k in group.keys for p in k.principals):
        counts.append(_plural(principals, "principal"))
    span = _span(group.first, group.last, group.ongoing)
    if span:
        counts.append(span)
    if counts:
        _indented(console, Text(", ".join(counts)), HEAD)
    remedy = group.kind.remediation
    if not remedy and group.kind.references:
        remedy = f"see {group.kind.references[0]}"
    if remedy:
        remedy = remedy[:1].upper() + remedy[1:]
        _indented(console, safe.text(f"what to do: {remedy}", "green"), HEAD)


def _place(console: Console, key: KeyGroup) -> None:
    if key.key_arn:
        _arn_line(console, "", key.key_arn, 2, "bold")
        if key.aliases:
            _indented(console, safe.text(", ".join(key.aliases), "cyan"), 4)
        return
    where = f"account {key.account or '-'}, {key.region or 'every Region'}"
    console.print(safe.text("  " + where, "bold"))


def _principal(console: Console, p: PrincipalGroup) -> None:
    if p.principal:
        _arn_line(console, "by ", p.principal, 4)
    facts = [_plural(p.count, "event")] if p.count else []
    span = _span(p.first, p.last, p.ongoing)
    if span:
        facts.append(span)
    if facts:
        _indented(console, Text(", ".join(facts)), 6)
    seen = []
    if p.source_ips:
        seen.append(f"from {_short(p.source_ips)}")
    if p.user_agents:
        seen.append(f"agent {_short(p.user_agents, AGENT_CELLS)}")
    if seen:
        _indented(console, safe.text("; ".join(seen), "dim"), 6)
    shown, more = in_short(p.summaries, TOP_SUMMARIES)
    for summary in shown:
        _indented(console, safe.text(summary), 6)
    if more:
        _indented(console, Text(f"+{more} more (see --format json)", style="dim"), 6)


def _table(console: Console, group: KindGroup) -> None:
    table = Table(show_lines=True)
    # ARN columns as wide as their longest ARN: whole on one line, never folded.
    keys = [safe.clean(k.key_arn or "") for k in group.keys]
    callers = [safe.clean(p.principal or "") for k in group.keys for p in k.principals]
    table.add_column("key", no_wrap=True, min_width=max(map(cell_len, keys), default=0))
    table.add_column("aliases", overflow="fold")
    table.add_column("principal", no_wrap=True, min_width=max(map(cell_len, callers), default=0))
    table.add_column("events", justify="right")
    for column in ("first", "last"):
        table.add_column(column, no_wrap=True)
    # One value a line, each whole (a user agent is long, but pasteable).
    table.add_column("source IPs", no_wrap=True)
    table.add_column("user agents", no_wrap=True)
    table.add_column("what happened", overflow="fold", min_width=40)
    for key in group.keys:
        place = key.key_arn or f"account {key.account or '-'}, {key.region or 'every Region'}"
        for p in key.principals:
            table.add_row(
                safe.text(place),
                safe.text("\n".join(key.aliases)),
                safe.text(p.principal or "(no caller)"),
                f"{p.count:,}",
                "" if p.first is None else iso_z(p.first),
                "end of logs" if p.ongoing else ("" if p.last is None else iso_z(p.last)),
                Text("\n".join(safe.clean(v) for v in p.source_ips)),
                Text("\n".join(safe.clean(v) for v in p.user_agents)),
                Text("\n".join(safe.clean(v) for v in p.summaries)),
            )
    console.print(table)


def print_groups(console: Console, groups: Iterable[KindGroup]) -> None:
    wide = console.width >= WIDE_COLUMNS
    for group in groups:
        _head(console, group)
        if wide:
            _table(console, group)
            continue
        for key in group.keys:
            _place(console, key)
            for p in key.principals:
                _principal(console, p)


def print_finding_blocks(
    console: Console,
    title: str,
    found: Sequence[Finding],
    none: str,
    aliases: AliasLookup | None = None,
) -> None:
    """A section's findings under its title, grouped; ``none`` when there are none."""
    from kmslog.findings.group import group_findings

    if not found:
        console.print(Text(none, style="green"))
        return
    console.print(Text(f"{title}: {len(found)} finding(s)", style="bold underline"))
    print_groups(console, group_findings(found, aliases))
