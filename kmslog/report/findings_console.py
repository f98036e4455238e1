"""Findings of the one model in the terminal, one block per finding: severity, title,
where and when on a line, the summary under it (summaries are long; readable at 80
columns). Every string from a log goes through ``safe``."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.padding import Padding
from rich.text import Text

from kmslog.findings.model import SEVERITIES, Finding
from kmslog.kms.dates import iso_z
from kmslog.report import safe

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def print_finding_blocks(console: Console, title: str, found: Sequence[Finding], none: str) -> None:
    if not found:
        console.print(Text(none, style="green"))
        return
    console.print(Text(f"{title}: {len(found)} finding(s)", style="bold underline"))
    # Most urgent first; within a severity, the order given (time order, mostly).
    for f in sorted(found, key=lambda f: SEVERITIES.index(f.effective_severity)):
        severity = f.effective_severity
        head = Text()
        head.append(f"{severity.upper():<9}", style=SEVERITY_STYLE.get(severity, ""))
        head.append_text(safe.text(f.kind.title, "bold"))
        where = [f.subject.key_arn or "", f"account {f.subject.account or '-'}"]
        if f.subject.key_arn is None:
            where.append(f.subject.region or "every Region")
        head.append_text(safe.text("  " + ", ".join(w for w in where if w)))
        if f.first is not None:
            end = "end of logs" if f.last is None else iso_z(f.last)
            head.append(f"  {iso_z(f.first)}" + ("" if f.last == f.first else f" -> {end}"))
        console.print(head)
        console.print(Padding(safe.text(f.summary), (0, 0, 0, 9)))
