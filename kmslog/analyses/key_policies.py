"""Key-policy versions as a fold: every successful CreateKey / PutKeyPolicy, read in
time order per key; each version's effective access (kmslog/kms/policy.py,
docs/key-policies.md) against the one before gives what it widened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl

from kmslog.analyses.kept_rows import KeptRows, KeptRowsFold
from kmslog.decode import schema as S
from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.kms.policy import Access, PolicyError, Widening, access, parse_policy, widening
from kmslog.kms.resolve import record_keys

if TYPE_CHECKING:
    from kmslog.lifecycle.model import LifecycleResult

KMS = "kms.amazonaws.com"
POLICY_CALLS = ("CreateKey", "PutKeyPolicy")
ROW_COLUMNS = (
    S.EVENT_TIME,
    S.EVENT_SOURCE,
    S.EVENT_NAME,
    S.ERROR_CODE,
    S.EVENT_ID,
    S.IDENTITY_ARN,
    S.SOURCE,
    S.RECORD_INDEX,
    S.RAW,
)


@dataclass(frozen=True)
class PolicyVersion:
    """One policy a key was given (``policy`` None: CreateKey with the default
    policy), what it allowed, and what it added to the version before."""

    key_arn: str
    time: datetime
    event_name: str
    event_id: str | None
    by: str | None
    source: str | None
    record_index: int | None
    access: Access | None
    error: str | None  # the policy text could not be read
    widened: tuple[Widening, ...]
    first_seen: bool  # no earlier version of this key in the logs


@dataclass(frozen=True)
class KeyPolicies:
    """Every key-policy version the logs show, per key in time order."""

    versions: tuple[PolicyVersion, ...]


def _default_access(key_account: str) -> Access | None:
    # CreateKey without a policy gets the default key policy: the account principal
    # may do everything, which IAM then hands out.
    text = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
        f'"arn:aws:iam::{key_account}:root"}},"Action":"kms:*","Resource":"*"}}]}}'
    )
    parsed = parse_policy(text)
    return None if isinstance(parsed, PolicyError) else access(parsed, key_account)


def _read(row: dict[str, Any]) -> tuple[str, Access | None, str | None] | None:
    """(key ARN, the access the version gives, why its text could not be read) of one
    CreateKey / PutKeyPolicy row; None when the record names no key."""
    try:
        record = loads_record(row[S.RAW])
    except RecordTextError:
        return None
    if not isinstance(record, dict):
        return None
    key = record_keys(record).key
    if key is None:
        return None
    key_account = key.split(":")[4] if key.count(":") >= 5 else ""
    params = record.get("requestParameters")
    text = params.get("policy") if isinstance(params, dict) else None
    if text is None and row[S.EVENT_NAME] == "CreateKey":
        return key, _default_access(key_account), None
    if not isinstance(text, str):
        return key, None, "the record holds no policy text"
    parsed = parse_policy(text)
    if isinstance(parsed, PolicyError):
        return key, None, parsed.reason
    return key, access(parsed, key_account), None


def versions(rows: list[dict[str, Any]]) -> tuple[PolicyVersion, ...]:
    """Every version, per key in time order (ties by event id); a version that could
    not be read leaves the previous access in place for the next comparison."""
    ordered = sorted(rows, key=lambda r: (r[S.EVENT_TIME], r.get(S.EVENT_ID) or ""))
    last: dict[str, Access] = {}
    out: list[PolicyVersion] = []
    for row in ordered:
        found = _read(row)
        if found is None:
            continue
        key, now, error = found
        seen = key in last
        widened: tuple[Widening, ...] = ()
        if now is not None:
            added = widening(last.get(key), now)
            if not seen:
                # Nothing earlier to compare with: only what reaches beyond the account.
                added = [w for w in added if w.severity in ("critical", "high", "medium")]
            widened = tuple(added)
            last[key] = now
        out.append(
            PolicyVersion(
                key_arn=key,
                time=row[S.EVENT_TIME],
                event_name=row[S.EVENT_NAME],
                event_id=row.get(S.EVENT_ID),
                by=row.get(S.IDENTITY_ARN),
                source=row.get(S.SOURCE),
                record_index=row.get(S.RECORD_INDEX),
                access=now,
                error=error,
                widened=widened,
                first_seen=not seen,
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class KeyPolicyAnalysis(KeptRowsFold):
    name: str = "key_policies"
    columns: ClassVar[frozenset[str]] = frozenset(ROW_COLUMNS)
    row_columns: ClassVar[tuple[str, ...]] = ROW_COLUMNS

    def keep(self) -> pl.Expr:
        return (
            (pl.col(S.EVENT_SOURCE) == KMS)
            & pl.col(S.EVENT_NAME).is_in(POLICY_CALLS)
            & pl.col(S.ERROR_CODE).is_null()
        )

    def finish(self, state: KeptRows) -> KeyPolicies:
        return KeyPolicies(versions(state.rows))


def attach_policy_access(result: LifecycleResult, found: KeyPolicies) -> None:
    """Give each key of a lifecycle result its policy versions."""
    by_key: dict[str, list[PolicyVersion]] = {}
    for v in found.versions:
        by_key.setdefault(v.key_arn, []).append(v)
    for life in result.keys:
        life.policy_access = by_key.get(life.key.arn, [])
