"""Anomaly findings in the terminal, one block per finding (explanations are long).

Every value from a log or profile goes through ``safe.text``: keys, principals and
networks are attacker-controlled text."""

from __future__ import annotations

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from kmslog.analyses.anomalies import AnomalyResult
from kmslog.analyses.blind_spots import BlindSpots
from kmslog.kms.dates import readable
from kmslog.report import safe
from kmslog.report.anomalies_json import dormancy_caveats

_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}
_EVIDENCE = 3


def print_anomalies(
    console: Console, result: AnomalyResult, spots: BlindSpots | None = None
) -> None:
    cutoff = result.cutoff.isoformat() if result.cutoff else "-"
    console.print(
        Text(
            f"Anomalies: {len(result.findings)} finding(s) in {result.window_events:,} events, "
            f"against {result.baseline_days} days of baseline before {cutoff}",
            style="bold",
        )
    )
    if result.note:
        console.print(safe.text(f"  note: {result.note}", style="yellow"))
    for f in result.findings:
        when = readable(f.start, seconds=False)[:-1]
        if f.end != f.start:
            when += f" … {readable(f.end, seconds=False)[:-1]}"
        head = Text()
        head.append(f"{f.severity.upper():<6}", style=_STYLE[f.severity])
        head.append(safe.clean(f" {f.score:3.0f}  {f.kind}  {when} UTC  {f.count:,} event(s)"))
        console.print()
        console.print(head)
        console.print(Padding(safe.text(f.explanation), (0, 0, 0, 2)))
        for c in dormancy_caveats(f, spots):
            console.print(Padding(safe.text(f"caveat: {c.text}", style="yellow"), (0, 0, 0, 2)))
        evidence = ", ".join(f.event_ids[:_EVIDENCE])
        if f.count > _EVIDENCE:
            evidence += f" … ({f.count:,} in all)"
        line = Text("  events: ", style="dim")
        line.append_text(safe.text(evidence, style="dim"))
        console.print(line)
