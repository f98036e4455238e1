"""Dependents in the terminal: one short block per dependent (readable at 80 columns).
Every string from a record or the query goes through ``safe.text``; nothing is parsed as
markup."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from kmslog.analyses.dependents import DependentsResult, DependentUse, KeyDependents
from kmslog.kms.dates import readable
from kmslog.report.safe import text

SHOWN_PRINCIPALS = 3


def _principals(use: DependentUse) -> str:
    shown = ", ".join(use.principals[:SHOWN_PRINCIPALS])
    hidden = len(use.principals) - SHOWN_PRINCIPALS
    if hidden > 0 or use.more_principals:
        shown += f" (+{max(hidden, 0)}{' or more' if use.more_principals else ''})"
    return shown


def use_block(use: DependentUse) -> Text:
    block = Text()
    block.append(use.kind, style="bold")
    block.append("  ")
    block.append_text(text(use.resource))
    block.append(f"\n  {use.calls} call(s)")
    block.append(f" ({use.failed} failed)", style="red" if use.failed else "")
    block.append(f", {readable(use.first, seconds=False)} .. {readable(use.last, seconds=False)}")
    block.append("\n  by ")
    block.append_text(text(_principals(use)))
    return block


def summary_line(deps: KeyDependents) -> Text:
    line = Text(
        f"{deps.calls} cryptographic call(s), {deps.failed} failed; "
        f"{len(deps.dependents)} dependent(s) listed; "
        f"{deps.unattributed} call(s) named no resource or calling service"
    )
    for omitted in deps.omitted:
        line.append(
            f"\nnot listed: {omitted.calls} call(s) ({omitted.failed} failed) by further "
            f"dependents of kind {omitted.kind} (the list keeps the first of each kind "
            "in name order)",
            style="yellow",
        )
    return line


def print_dependents(console: Console, deps: KeyDependents, limit: int | None = None) -> None:
    """The summary line and the blocks, the first ``limit`` of them when given (the
    lifecycle report's dependents part)."""
    console.print(summary_line(deps))
    shown = deps.dependents if limit is None else deps.dependents[:limit]
    for use in shown:
        console.print(use_block(use))
    if len(shown) < len(deps.dependents):
        console.print(
            Text(
                f"… and {len(deps.dependents) - len(shown)} more dependent(s): "
                "kmslog dependents KEY PATH… lists them all",
                style="dim",
            )
        )


def print_key(console: Console, deps: KeyDependents) -> None:
    head = Text()
    head.append("key ", style="bold")
    head.append_text(text(deps.key_arn, "bold"))
    console.print(head)
    print_dependents(console, deps)


def print_result(console: Console, result: DependentsResult) -> None:
    for binding in result.alias_bindings:
        line = Text("alias ")
        line.append_text(text(binding.scope.name))
        start = readable(binding.start) if binding.start else "before the logs"
        end = readable(binding.end) if binding.end else "now"
        line.append(f" {start} .. {end}\n  → ")
        line.append_text(text(binding.key_arn))
        console.print(line)
    for deps in result.keys:
        print_key(console, deps)
        console.print()


def print_all(console: Console, result: DependentsResult) -> None:
    console.print(Text(f"{len(result.keys)} keys", style="bold"))
    for deps in result.keys:
        kinds: dict[str, int] = {}
        for use in deps.dependents:
            kinds[use.kind] = kinds.get(use.kind, 0) + 1
        more = {o.kind for o in deps.omitted}
        listed = ", ".join(f"{k} {n}{'+' if k in more else ''}" for k, n in sorted(kinds.items()))
        block = text(deps.key_arn)
        block.append(f"\n  {deps.calls} call(s) ({deps.failed} failed); ")
        block.append(f"dependents: {listed}" if listed else "no dependent named")
        console.print(block)
