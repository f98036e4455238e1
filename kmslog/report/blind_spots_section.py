"""The blind-spot section of ``kmslog scan``: windows in which KMS events were not
(or may not have been) recorded, calls that undermined the logs' destination or the
alarms on them, delivery gaps (JSON key ``blind_spots``, and a terminal table).
Every string from a record goes through ``safe``; nothing is parsed as markup."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from kmslog.analyses.blind_spots import BlindSpotAnalysis, BlindSpots
from kmslog.blindspots.findings import (
    gap_finding,
    incident_finding,
    missing_region_finding,
    window_finding,
)
from kmslog.findings.group import AliasLookup
from kmslog.findings.model import SEVERITIES, Finding
from kmslog.findings.render import finding_dict
from kmslog.kms.dates import iso_z
from kmslog.report.findings_console import alias_lookup, print_finding_blocks
from kmslog.report.section import Section


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


def counts_for_exit(result: BlindSpots) -> list[Finding]:
    """The blind spots that make ``scan`` exit 1 (``--fail-on finding``): every
    finding but the informational ones."""
    return [f for f in blind_spot_findings(result) if f.effective_severity != "info"]


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


def print_blind_spots(
    console: Console, result: BlindSpots, aliases: AliasLookup | None = None
) -> None:
    print_finding_blocks(
        console,
        "Blind spots",
        blind_spot_findings(result),
        "Blind spots: none seen (no trail, selector or destination change, no delivery gap)",
        aliases,
    )


def blind_spots_section() -> Section:
    return Section(
        BlindSpotAnalysis(),
        "blind_spots",
        lambda _result, found: blind_spots_data(found),
        lambda console, result, found: print_blind_spots(
            console, found, alias_lookup(result.results)
        ),
        counts_for_exit,
    )
