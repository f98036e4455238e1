"""The scan section of S3 objects written under another account's KMS key (JSON
``s3_external_key_writes``, terminal blocks); every one counts for the exit status."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from kmslog.analyses.foreign_key_objects import ForeignKeyObjectsAnalysis, ForeignKeyObjectsResult
from kmslog.findings.group import AliasLookup
from kmslog.findings.model import Finding
from kmslog.findings.render import finding_dict
from kmslog.kms.foreign_key_findings import foreign_key_findings
from kmslog.report.findings_console import alias_lookup, print_finding_blocks
from kmslog.report.section import Section


def counts_for_exit(result: ForeignKeyObjectsResult) -> list[Finding]:
    return foreign_key_findings(result)


def _empty_line(result: ForeignKeyObjectsResult) -> str:
    if not result.object_writes_seen:
        return "S3 object writes: none in these logs (no S3 data events to read)"
    return (
        f"S3 object writes: {result.object_writes_seen} read, none under another account's KMS key"
    )


def print_foreign_key_objects(
    console: Console, result: ForeignKeyObjectsResult, aliases: AliasLookup | None = None
) -> None:
    print_finding_blocks(
        console,
        "S3 objects encrypted under another account's key",
        foreign_key_findings(result),
        _empty_line(result),
        aliases,
    )


def foreign_key_data(result: ForeignKeyObjectsResult) -> dict[str, Any]:
    return {
        "object_writes_seen": result.object_writes_seen,
        "findings": [finding_dict(f) for f in foreign_key_findings(result)],
    }


def foreign_key_objects_section() -> Section:
    return Section(
        ForeignKeyObjectsAnalysis(),
        "s3_external_key_writes",
        lambda _result, found: foreign_key_data(found),
        lambda console, result, found: print_foreign_key_objects(
            console, found, alias_lookup(result.results)
        ),
        counts_for_exit,
    )
