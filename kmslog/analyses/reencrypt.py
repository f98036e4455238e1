"""Re-encryption out of the account: ``ReEncrypt`` calls whose destination key belongs
to another account than the source key (the KMS side of a ransomware move: data
re-wrapped under a key the attacker holds), grouped per source key, destination key
and principal, with their volume."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import polars as pl

from kmslog.analyses.kept_rows import KeptRows, KeptRowsFold
from kmslog.decode import schema as S
from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.kms.resolve import record_keys

KMS = "kms.amazonaws.com"
ROW_COLUMNS = (
    S.EVENT_TIME,
    S.EVENT_SOURCE,
    S.EVENT_NAME,
    S.ERROR_CODE,
    S.EVENT_ID,
    S.SHARED_EVENT_ID,
    S.IDENTITY_ARN,
    S.SOURCE,
    S.RECORD_INDEX,
    S.RAW,
)
MAX_EVIDENCE = 10


def _account(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) >= 6 and parts[0] == "arn" and parts[4] else None


@dataclass(frozen=True)
class ReEncryptOut:
    """Successful ReEncrypt calls from ``source_key`` into ``destination`` (another
    account's key) by ``principal``; the two copies of a cross-account call (caller's
    and owner's account, one ``sharedEventID``) count once."""

    source_key: str
    destination: str
    destination_account: str
    principal: str | None
    calls: int
    first: datetime
    last: datetime
    busiest_hour: int  # most calls in one clock hour
    evidence: tuple[dict[str, Any], ...]


def _destination(record: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    params = record.get("requestParameters")
    given = params.get("destinationKeyId") if isinstance(params, dict) else None
    if isinstance(given, str) and _account(given) is not None:
        return given
    return keys[1] if len(keys) > 1 else None


def outward(row: dict[str, Any]) -> tuple[str, str] | None:
    """(source key, destination key) of a ReEncrypt row whose destination is another
    account's key; None otherwise."""
    try:
        record = loads_record(row[S.RAW])
    except RecordTextError:
        return None
    if not isinstance(record, dict):
        return None
    keys = record_keys(record).keys
    source = keys[0] if keys else None
    destination = _destination(record, keys)
    if source is None or destination is None:
        return None
    there = _account(destination)
    if there is None or there == _account(source):
        return None
    return source, destination


def reencryptions_out(kept: list[dict[str, Any]]) -> tuple[ReEncryptOut, ...]:
    """``kept``: the outward rows (``source_key`` and ``destination`` added), any order."""
    seen: set[str] = set()
    groups: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for row in sorted(kept, key=lambda r: (r[S.EVENT_TIME], r.get(S.EVENT_ID) or "")):
        one = row.get(S.SHARED_EVENT_ID) or row.get(S.EVENT_ID)
        if one is not None:
            if one in seen:
                continue
            seen.add(one)
        key = (row["source_key"], row["destination"], row.get(S.IDENTITY_ARN))
        groups.setdefault(key, []).append(row)
    out = []
    for (source, destination, principal), found in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
    ):
        hours: dict[int, int] = {}
        for r in found:
            hour = int(r[S.EVENT_TIME].timestamp()) // 3600
            hours[hour] = hours.get(hour, 0) + 1
        out.append(
            ReEncryptOut(
                source_key=source,
                destination=destination,
                destination_account=_account(destination) or "",
                principal=principal,
                calls=len(found),
                first=found[0][S.EVENT_TIME],
                last=found[-1][S.EVENT_TIME],
                busiest_hour=max(hours.values()),
                evidence=tuple(
                    {k: r.get(k) for k in (S.EVENT_ID, S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX)}
                    for r in found[:MAX_EVIDENCE]
                ),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class ReEncryptResult:
    out: tuple[ReEncryptOut, ...]


@dataclass(frozen=True)
class ReEncryptAnalysis(KeptRowsFold):
    name: str = "reencrypt"
    columns: ClassVar[frozenset[str]] = frozenset(ROW_COLUMNS)
    row_columns: ClassVar[tuple[str, ...]] = ROW_COLUMNS

    def keep(self) -> pl.Expr:
        return (
            (pl.col(S.EVENT_NAME) == "ReEncrypt")
            & (pl.col(S.EVENT_SOURCE) == KMS)
            & pl.col(S.ERROR_CODE).is_null()
        )

    def take(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Only the outward calls are kept (few), without their text: a re-encryption
        # job inside one account may make millions of ReEncrypt calls.
        out = []
        for row in rows:
            found = outward(row)
            if found is not None:
                row.pop(S.RAW)
                row["source_key"], row["destination"] = found
                out.append(row)
        return out

    def finish(self, state: KeptRows) -> ReEncryptResult:
        return ReEncryptResult(reencryptions_out(state.rows))
