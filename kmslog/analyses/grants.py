"""The grant ledger as a fold: keep the grant calls and the calls made with a grant
(few rows), build the ledger at the end (kmslog/kms/grants.py, docs/grants.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import polars as pl

from kmslog.analyses.kept_rows import KeptRows, KeptRowsFold
from kmslog.analyses.key_policies import POLICY_CALLS, versions
from kmslog.analyses.key_policies import ROW_COLUMNS as POLICY_ROW_COLUMNS
from kmslog.decode import schema as S
from kmslog.findings.model import Finding
from kmslog.kms.grant_findings import grant_findings
from kmslog.kms.grants import GRANT_CALLS, Ledger, build_ledger
from kmslog.kms.policy_access import Access

KMS = "kms.amazonaws.com"
# The key-policy versions are read too, so both kinds of rows keep the same columns.
ROW_COLUMNS = POLICY_ROW_COLUMNS


def kept_rows() -> pl.Expr:
    """Grant calls, and KMS calls whose text names a grant (a literal search on the
    KMS rows only)."""
    raw = pl.col(S.RAW)
    named = raw.str.contains("grantTokens", literal=True) | raw.str.contains(
        "grantId", literal=True
    )
    return (pl.col(S.EVENT_SOURCE) == KMS) & (pl.col(S.EVENT_NAME).is_in(list(GRANT_CALLS)) | named)


def policy_rows() -> pl.Expr:
    """The key-policy versions (which uses of a grant the policy alone would allow)."""
    return (
        (pl.col(S.EVENT_SOURCE) == KMS)
        & pl.col(S.EVENT_NAME).is_in(POLICY_CALLS)
        & pl.col(S.ERROR_CODE).is_null()
    )


@dataclass(frozen=True)
class GrantResult:
    ledger: Ledger
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class GrantAnalysis(KeptRowsFold):
    name: str = "grants"
    columns: ClassVar[frozenset[str]] = frozenset(ROW_COLUMNS)
    row_columns: ClassVar[tuple[str, ...]] = ROW_COLUMNS

    def keep(self) -> pl.Expr:
        return kept_rows() | policy_rows()

    def finish(self, state: KeptRows) -> GrantResult:
        policy = [r for r in state.rows if r[S.EVENT_NAME] in POLICY_CALLS and not r[S.ERROR_CODE]]
        policies: dict[str, list[tuple[datetime, Access | None]]] = {}
        for v in versions(policy):
            policies.setdefault(v.key_arn, []).append((v.time, v.access))
        # order-independent: the ledger sorts by time itself
        ledger = build_ledger(r for r in state.rows if r[S.EVENT_NAME] not in POLICY_CALLS)
        return GrantResult(ledger, tuple(grant_findings(ledger, dict(policies))))
