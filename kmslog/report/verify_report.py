"""``kmslog verify`` results: rich tables for the terminal, a JSON document, NDJSON.

Failures come first, then what could not be checked, then the counts and the verdict.
Every string from a digest or a file name goes through ``safe`` (console) or
``ensure_ascii`` JSON: digest contents are attacker-controlled.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kmslog.findings.model import Finding
from kmslog.findings.render import finding_dict, ordered
from kmslog.report import safe
from kmslog.verify.check import VerifyResult

SHOWN = 200  # rows per table; the JSON holds all

_COUNT_LABELS = (
    ("digests", "digest files read"),
    ("digests_invalid", "digest files invalid (format or location)"),
    ("signatures_verified", "signatures verified"),
    ("signatures_failed", "signatures INVALID"),
    ("signatures_unchecked", "signatures not checked"),
    ("chain_links_verified", "chain links verified"),
    ("logs_listed", "log files listed in digests"),
    ("logs_valid", "log files valid"),
    ("logs_modified", "log files modified"),
    ("logs_missing", "log files missing"),
    ("logs_uncovered", "log files no digest lists (inside their hours)"),
    ("logs_unchecked", "log files no digest given covers (not checked)"),
)


def verdict(result: VerifyResult) -> str:
    failures = len(result.failures)
    if failures:
        return f"FAILED: {failures} integrity failure{'s' if failures != 1 else ''}"
    if result.unchecked:
        return "PASSED for everything checked; some items could not be checked (above)"
    return "PASSED"


def _table(title: str, findings: list[Finding], severity: bool) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    if severity:
        table.add_column("severity")
    table.add_column("kind")
    table.add_column("what", overflow="fold")
    for f in findings[:SHOWN]:
        cells = [safe.text(f.kind.id), safe.text(f.summary)]
        table.add_row(*([safe.text(f.effective_severity)] if severity else []), *cells)
    if len(findings) > SHOWN:
        more = Text(f"… {len(findings) - SHOWN} more (--format json lists all)", style="dim")
        table.add_row(*([Text("")] if severity else []), Text(""), more)
    return table


def print_verify(console: Console, result: VerifyResult) -> None:
    failures = ordered(result.failures)
    unchecked = ordered(result.unchecked)
    if failures:
        console.print(_table(f"Integrity failures ({len(failures)})", failures, True))
    else:
        console.print("No integrity failure.")
    if unchecked:
        console.print(_table(f"Not checked, or noted ({len(unchecked)})", unchecked, True))
    counts = Table(title="Checked", title_justify="left", show_header=False)
    counts.add_column("what")
    counts.add_column("count", justify="right")
    values = result.counts.as_dict()
    for name, label in _COUNT_LABELS:
        counts.add_row(label, f"{values[name]:,}")
    console.print(counts)
    for note in result.notes:
        console.print(safe.text(f"note: {note}", style="dim"))
    console.print(safe.text(verdict(result), style="bold"))


def verify_data(result: VerifyResult) -> dict[str, Any]:
    return {
        "passed": result.passed,
        "verdict": verdict(result),
        "counts": result.counts.as_dict(),
        "failures": [finding_dict(f) for f in ordered(result.failures)],
        "unchecked": [finding_dict(f) for f in ordered(result.unchecked)],
        "notes": list(result.notes),
    }


def write_json(result: VerifyResult, out: TextIO) -> None:
    out.write(json.dumps(verify_data(result), indent=2, ensure_ascii=True, default=str) + "\n")


def write_ndjson(result: VerifyResult, out: TextIO) -> None:
    data = verify_data(result)
    for key, kind in (("failures", "failure"), ("unchecked", "unchecked")):
        for item in data[key]:
            out.write(json.dumps({"type": kind, **item}, ensure_ascii=True, default=str) + "\n")
    summary = {k: data[k] for k in ("passed", "verdict", "counts", "notes")}
    out.write(json.dumps({"type": "summary", **summary}, ensure_ascii=True) + "\n")
