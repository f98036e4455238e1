"""The blind-spot section of ``kmslog scan``: windows in which KMS events were not
(or may not have been) recorded, calls that undermined the logs' destination or the
alarms on them, delivery gaps (JSON key ``blind_spots``, and a terminal table).
Every string from a record goes through ``safe``; nothing is parsed as markup."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kmslog.analyses.blind_spots import BlindSpotAnalysis, BlindSpots
from kmslog.blindspots.findings import (
    gap_finding,
    incident_finding,
    missing_region_finding,
    window_finding,
)
from kmslog.commands.scan import Section
from kmslog.findings.model import SEVERITIES, Finding
from kmslog.findings.render import finding_dict
from kmslog.kms.dates import iso_z
from kmslog.report import safe

SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def blind_spot_findings(result: BlindSpots) -> list[Finding]:
    found = [window_finding(w) for w in result.windows]
    found += [incident_finding(i) for i in result.incidents]
    found += [gap_finding(g) for g in result.gaps]
    found += [missing_region_finding(a, r) for a, r in result.missing_regions]
    return sorted(
        found,
        key=lambda f: (
            SEVERITIES.index(f.effective_severity),
            f.first is None,
            f.first.isoformat() if f.first else "",
            f.kind.id,
        ),
    )


def counts_for_exit(result: BlindSpots) -> bool:
    """Whether the blind spots make ``scan`` exit 1 (``--fail-on finding``): every
    finding but the informational ones."""
    return any(f.effective_severity != "info" for f in blind_spot_findings(result))


def blind_spots_data(result: BlindSpots) -> dict[str, Any]:
    return {
        "findings": [finding_dict(f) for f in blind_spot_findings(result)],
        "windows": [
            {
                "account": w.account,
                "region": w.region,
                "trail": w.trail,
                "from": iso_z(w.start),
                "to": None if w.end is None else iso_z(w.end),
                "cause": w.cause,
                "certainty": w.certainty.value,
                "coverage": w.coverage.value,
                "opened_by": w.opened_by.event_id,
                "closed_by": None if w.closed_by is None else w.closed_by.event_id,
                "summary": w.summary,
            }
            for w in result.windows
        ],
    }


def print_blind_spots(console: Console, result: BlindSpots) -> None:
    found = blind_spot_findings(result)
    if not found:
        console.print(
            Text(
                "Blind spots: none seen (no trail, selector or destination change, no "
                "delivery gap)",
                style="green",
            )
        )
        return
    table = Table(title="Blind spots: what the logs could not see", title_justify="left")
    for column in ("severity", "what", "account", "region", "from", "to", "summary"):
        table.add_column(column, overflow="fold")
    for f in found:
        severity = f.effective_severity
        table.add_row(
            Text(severity, style=SEVERITY_STYLE.get(severity, "")),
            safe.text(f.kind.title),
            safe.text(f.subject.account or "-"),
            safe.text(f.subject.region or "all"),
            "-" if f.first is None else iso_z(f.first),
            "-" if f.first is None else ("end of logs" if f.last is None else iso_z(f.last)),
            safe.text(f.summary),
        )
    console.print(table)


def blind_spots_section() -> Section:
    return Section(
        BlindSpotAnalysis(),
        "blind_spots",
        lambda _result, found: blind_spots_data(found),
        lambda console, _result, found: print_blind_spots(console, found),
    )
