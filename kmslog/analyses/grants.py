"""The grant ledger as a fold: keep the grant calls and the calls made with a grant
(few rows), build the ledger at the end (kmslog/kms/grants.py, docs/grants.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import polars as pl

from kmslog.decode import schema as S
from kmslog.findings.model import Finding
from kmslog.kms.grant_findings import grant_findings
from kmslog.kms.grants import GRANT_CALLS, Ledger, build_ledger

KMS = "kms.amazonaws.com"
ROW_COLUMNS = (S.EVENT_TIME, S.EVENT_SOURCE, S.EVENT_NAME, S.SOURCE, S.RECORD_INDEX, S.RAW)


def kept_rows() -> pl.Expr:
    """Grant calls, and KMS calls whose text names a grant (a literal search on the
    KMS rows only)."""
    raw = pl.col(S.RAW)
    named = raw.str.contains("grantTokens", literal=True) | raw.str.contains(
        "grantId", literal=True
    )
    return (pl.col(S.EVENT_SOURCE) == KMS) & (pl.col(S.EVENT_NAME).is_in(list(GRANT_CALLS)) | named)


@dataclass
class GrantState:
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class GrantResult:
    ledger: Ledger
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class GrantAnalysis:
    name: str = "grants"
    columns: ClassVar[frozenset[str]] = frozenset(ROW_COLUMNS)

    def start(self) -> GrantState:
        return GrantState()

    def update(self, state: GrantState, frame: pl.DataFrame) -> GrantState:
        if not frame.height:
            return state
        kept = frame.lazy().filter(kept_rows()).select(*ROW_COLUMNS).collect()
        return GrantState(state.rows + kept.to_dicts())

    def combine(self, a: GrantState, b: GrantState) -> GrantState:
        return GrantState(a.rows + b.rows)

    def finish(self, state: GrantState) -> GrantResult:
        ledger = build_ledger(state.rows)  # order-independent: it sorts by time itself
        return GrantResult(ledger, tuple(grant_findings(ledger)))
