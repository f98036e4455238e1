"""The grants section of ``kmslog scan``: the grant ledger's findings (grants to other
accounts, never retired, failed attempts; service grants are ledger entries only) as
JSON (``grants``) and in the terminal (docs/grants.md)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from kmslog.analyses.grants import GrantAnalysis, GrantResult
from kmslog.findings.group import AliasLookup
from kmslog.findings.model import SEVERITIES, Finding
from kmslog.findings.render import finding_dict
from kmslog.report.findings_console import alias_lookup, print_finding_blocks
from kmslog.report.section import Section

# Low findings (a grant never retired) inform; they do not fail a scan.
EXIT_SEVERITY = "medium"


def grant_result_findings(result: GrantResult) -> list[Finding]:
    return list(result.findings)


def counts_for_exit(result: GrantResult) -> list[Finding]:
    limit = SEVERITIES.index(EXIT_SEVERITY)
    return [f for f in result.findings if SEVERITIES.index(f.effective_severity) <= limit]


def grants_data(result: GrantResult) -> dict[str, Any]:
    ledger = result.ledger
    return {
        "findings": [finding_dict(f) for f in result.findings],
        "grants": sum(len(g) for g in ledger.grants.values()),
        "service_grants": sum(
            1 for grants in ledger.grants.values() for g in grants if g.service is not None
        ),
        "failed": len(ledger.failed),
    }


def grants_section() -> Section:
    return Section(
        GrantAnalysis(),
        "grants",
        lambda _result, found: grants_data(found),
        lambda console, result, found: print_grants(console, found, alias_lookup(result.results)),
        counts_for_exit,
    )


def print_grants(console: Console, result: GrantResult, aliases: AliasLookup | None = None) -> None:
    print_finding_blocks(
        console,
        "Grants",
        list(result.findings),
        "Grants: no finding (service grants excluded)",
        aliases,
    )
