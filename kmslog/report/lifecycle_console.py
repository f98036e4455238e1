"""Lifecycle in the terminal. Every string from a record, a file name or the query goes
through ``safe.text`` / ``safe.clean``; nothing is parsed as markup."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kmslog.kms.dates import readable
from kmslog.lifecycle.finding_kinds import kind_of
from kmslog.lifecycle.model import KeyLifecycle, LifecycleResult
from kmslog.lifecycle.state_machine import KeyState
from kmslog.report.dependents_console import print_dependents
from kmslog.report.findings_console import SEVERITY_STYLE
from kmslog.report.safe import text

STATE_STYLE = {
    KeyState.ENABLED: "green",
    KeyState.DISABLED: "yellow",
    KeyState.PENDING_DELETION: "bold red",
    KeyState.PENDING_REPLICA_DELETION: "red",
    KeyState.PENDING_IMPORT: "magenta",
    KeyState.UNAVAILABLE: "magenta",
    KeyState.DELETED: "dim red",
    KeyState.UNKNOWN: "dim",
}


# Dependents shown in a lifecycle report; `kmslog dependents` lists them all.
DEPENDENTS_SHOWN = 20


def _t(value: datetime | None, empty: str = "…") -> str:
    return readable(value) if value else empty


def _state(state: KeyState) -> Text:
    return Text(state.value, style=STATE_STYLE.get(state, ""))


def print_alias_history(console: Console, result: LifecycleResult) -> None:
    table = Table(title=text(f"alias history of {result.query}"), title_justify="left")
    for column in ("alias", "account", "region", "key", "from", "to", "how"):
        table.add_column(column)
    for b in result.alias_bindings:
        table.add_row(
            text(b.scope.name),
            text(b.scope.account),
            text(b.scope.region),
            text(b.key_arn),
            _t(b.start, "before the logs"),
            _t(b.end, "now"),
            Text("seen in use" if b.observed else "alias events"),
        )
    console.print(table)


def print_lifecycle(console: Console, life: KeyLifecycle) -> None:
    info = life.key
    head = Text()
    head.append("key ", style="bold")
    head.append_text(text(info.arn, "bold"))
    head.append("\nstate ")
    head.append_text(_state(life.state))
    head.append("   origin ")
    head.append_text(text(info.origin or "not logged"))
    head.append(f"   created {_t(info.created, 'not logged')}")
    if info.created_raw and info.created is None:
        head.append_text(text(f" ({info.created_raw})"))
    head.append(
        f"\nseen {_t(life.first_seen)} .. {_t(life.last_seen)}"
        f"   last used {_t(life.last_used, 'never')}"
    )
    for c in life.caveats:
        head.append("\ncaveat: ", style="yellow")
        head.append_text(text(c.text, "yellow"))
    for v in life.policy_access:
        if v.error is not None:
            head.append(f"\npolicy {_t(v.time)} unreadable: ", style="red")
            head.append_text(text(v.error, "red"))
        for w in v.widened:
            head.append(f"\naccess widened {_t(v.time)} ({w.severity}): ", style="red")
            head.append_text(text(w.summary, "red"))
    if life.deletion_date:
        head.append(f"\ndeletion date {_t(life.deletion_date)}", style="red")
    for b in info.aliases:
        head.append("\nalias ")
        head.append_text(text(b.scope.name))
        head.append(f" {_t(b.start, 'before the logs')} .. {_t(b.end, 'now')}")
    if info.description:
        head.append("\ndescription ")
        head.append_text(text(info.description))
    console.print(head)

    states = Table(title="states", title_justify="left")
    for column in ("state", "from", "to", "cause", "event id"):
        states.add_column(column)
    for s in life.states:
        states.add_row(
            _state(s.state),
            _t(s.start, "before the logs"),
            _t(s.end, "now"),
            text(s.cause),
            text(s.event_id),
        )
    console.print(states)

    events = Table(title="control-plane timeline", title_justify="left")
    for column in ("time", "event", "actor", "source IP", "detail", "event id", "file"):
        events.add_column(column, overflow="fold")
    for e in life.events:
        name = text(e.event_name, "" if e.success else "red")
        events.add_row(
            _t(e.time),
            name,
            text(e.actor),
            text(e.source_ip),
            text(e.detail, "" if e.success else "red"),
            text(e.event_id),
            text(f"{e.source}#{e.record_index}"),
        )
    console.print(events)

    usage = Table(title="usage", title_justify="left")
    for column in (
        "principal",
        "operation",
        "count",
        "errors",
        "first",
        "last",
        "source IPs",
        "via",
        "context keys",
    ):
        usage.add_column(column, overflow="fold")
    for u in life.usage:
        usage.add_row(
            text(u.principal),
            text(u.operation),
            str(u.count),
            Text(str(u.errors), style="red" if u.errors else ""),
            _t(u.first),
            _t(u.last),
            text(", ".join(u.source_ips[:5]) + (" …" if len(u.source_ips) > 5 else "")),
            text(", ".join(u.invoked_by)),
            text(", ".join(u.context_keys)),
        )
    console.print(usage)

    if life.dependents is not None:
        console.print(Text("dependents", style="italic"))
        print_dependents(console, life.dependents, limit=DEPENDENTS_SHOWN)

    if life.grants:
        grants = Table(title="grants", title_justify="left")
        for column in ("grant", "grantee", "operations", "retiring principal", "created", "ended"):
            grants.add_column(column, overflow="fold")
        for g in life.grants:
            ended = f"{g.ended_by} {_t(g.ended)}" if g.ended_by else "active at the end of the logs"
            grants.add_row(
                text(g.grant_id[:16] + "…"),
                text(g.grantee),
                text(", ".join(g.operations)),
                text(g.retiring_principal),
                _t(g.created),
                text(ended),
            )
        console.print(grants)

    if life.findings:
        findings = Table(title="findings", title_justify="left")
        for column in ("severity", "kind", "time", "detail", "event id"):
            findings.add_column(column, overflow="fold")
        for f in life.findings:
            severity = kind_of(f.kind).severity
            findings.add_row(
                text(severity.upper(), SEVERITY_STYLE.get(severity, "")),
                text(f.kind, "bold"),
                _t(f.time, ""),
                text(f.detail),
                text(f.event_id),
            )
        console.print(findings)
    for fact in life.facts:
        console.print(text(f"fact ({fact.kind}): {fact.detail}", "dim"))


def print_result(console: Console, result: LifecycleResult) -> None:
    if result.alias_bindings:
        print_alias_history(console, result)
    for life in result.keys:
        print_lifecycle(console, life)
        console.print()


def print_all(console: Console, result: LifecycleResult) -> None:
    table = Table(title=f"{len(result.keys)} keys", title_justify="left")
    for column in ("key", "state", "aliases", "created", "last used", "deletion date", "findings"):
        table.add_column(column, overflow="fold")
    for life in result.keys:
        aliases = sorted({b.scope.name for b in life.key.aliases if b.end is None})
        kinds: dict[str, int] = {}
        for f in life.findings:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        table.add_row(
            text(life.key.arn),
            _state(life.state),
            text(", ".join(aliases)),
            _t(life.key.created, ""),
            _t(life.last_used, "never"),
            _t(life.deletion_date, ""),
            text(", ".join(f"{k}×{n}" for k, n in sorted(kinds.items()))),
        )
    console.print(table)
