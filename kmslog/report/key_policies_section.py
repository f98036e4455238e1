"""The key-policy section of ``kmslog scan``: versions that widened access and policy
text that could not be read (JSON ``key_policies``, terminal blocks)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from kmslog.analyses.key_policies import KeyPolicies, KeyPolicyAnalysis
from kmslog.findings.group import AliasLookup
from kmslog.findings.model import SEVERITIES, Finding
from kmslog.findings.render import finding_dict
from kmslog.kms.policy_findings import policy_findings
from kmslog.report.findings_console import alias_lookup, print_finding_blocks
from kmslog.report.section import Section


def counts_for_exit(found: KeyPolicies) -> list[Finding]:
    limit = SEVERITIES.index("medium")
    return [f for f in policy_findings(found) if SEVERITIES.index(f.effective_severity) <= limit]


def key_policies_data(found: KeyPolicies) -> dict[str, Any]:
    return {
        "versions": len(found.versions),
        "findings": [finding_dict(f) for f in policy_findings(found)],
    }


def print_key_policies(
    console: Console, found: KeyPolicies, aliases: AliasLookup | None = None
) -> None:
    print_finding_blocks(
        console,
        "Key policies",
        policy_findings(found),
        f"Key policies: {len(found.versions)} version(s), none widened access",
        aliases,
    )


def key_policies_section() -> Section:
    return Section(
        KeyPolicyAnalysis(),
        "key_policies",
        lambda _result, found: key_policies_data(found),
        lambda console, result, found: print_key_policies(
            console, found, alias_lookup(result.results)
        ),
        counts_for_exit,
    )
