"""The re-encryption section of ``kmslog scan``: ReEncrypt into other accounts' keys
(JSON ``reencrypt_out``, terminal blocks); every one counts for the exit status."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from kmslog.analyses.reencrypt import ReEncryptAnalysis, ReEncryptResult
from kmslog.findings.group import AliasLookup
from kmslog.findings.model import Finding
from kmslog.findings.render import finding_dict
from kmslog.kms.reencrypt_findings import reencrypt_findings
from kmslog.report.findings_console import alias_lookup, print_finding_blocks
from kmslog.report.section import Section


def counts_for_exit(result: ReEncryptResult) -> list[Finding]:
    return reencrypt_findings(result)


def print_reencrypt(
    console: Console, result: ReEncryptResult, aliases: AliasLookup | None = None
) -> None:
    print_finding_blocks(
        console,
        "Re-encryption out of the account",
        reencrypt_findings(result),
        "Re-encryption: no ReEncrypt into another account's key",
        aliases,
    )


def reencrypt_data(result: ReEncryptResult) -> dict[str, Any]:
    return {"findings": [finding_dict(f) for f in reencrypt_findings(result)]}


def reencrypt_section() -> Section:
    return Section(
        ReEncryptAnalysis(),
        "reencrypt_out",
        lambda _result, found: reencrypt_data(found),
        lambda console, result, found: print_reencrypt(
            console, found, alias_lookup(result.results)
        ),
        counts_for_exit,
    )
