"""Anomaly findings in the terminal. Every value from a log or profile goes through
``safe.text``: keys, principals and networks are attacker-controlled text."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kmslog.analyses.anomalies import AnomalyResult
from kmslog.report import safe

_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}


def print_anomalies(console: Console, result: AnomalyResult) -> None:
    cutoff = result.cutoff.isoformat() if result.cutoff else "-"
    head = Text(
        f"Anomalies: {len(result.findings)} finding(s) in {result.window_events:,} events, "
        f"against {result.baseline_days} days of baseline before {cutoff}"
    )
    console.print(head, markup=False, highlight=False)
    if not result.findings:
        return
    table = Table(show_lines=True)
    table.add_column("severity")
    table.add_column("score", justify="right")
    table.add_column("kind")
    table.add_column("when (UTC)")
    table.add_column("events", justify="right")
    table.add_column("explanation")
    for f in result.findings:
        when = f"{f.start:%Y-%m-%d %H:%M}"
        if f.end != f.start:
            when += f" … {f.end:%Y-%m-%d %H:%M}"
        evidence = ", ".join(f.event_ids[:3])
        if f.count > 3:
            evidence += f" … ({f.count} in all)"
        explanation = safe.text(f.explanation)
        explanation.append("\nevents: ", style="dim")
        explanation.append_text(safe.text(evidence, style="dim"))
        table.add_row(
            Text(f.severity, style=_STYLE[f.severity]),
            f"{f.score:.0f}",
            f.kind,
            when,
            f"{f.count:,}",
            explanation,
        )
    console.print(table)
