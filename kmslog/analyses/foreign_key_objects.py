"""S3 objects written under another account's KMS key: ``PutObject``, ``CopyObject``
and ``CreateMultipartUpload`` data events whose SSE-KMS key
(``x-amz-server-side-encryption-aws-kms-key-id``) belongs to another account than the
bucket's owner. The victim side of the move whose KMS side is a ``ReEncrypt`` out of the
account: objects rewritten in place under a key the attacker holds no longer open for
their owner. Data events are read only where the trail records them, so the result says
how many S3 object writes the logs held at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

import polars as pl

from kmslog.decode import schema as S
from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.kms.shared_events import one_copy_each

S3 = "s3.amazonaws.com"
WRITES = ("PutObject", "CopyObject", "CreateMultipartUpload")
KEY_HEADER = "x-amz-server-side-encryption-aws-kms-key-id"
ROW_COLUMNS = (
    S.EVENT_TIME,
    S.EVENT_NAME,
    S.EVENT_ID,
    S.SHARED_EVENT_ID,
    S.RECIPIENT_ACCOUNT_ID,
    S.IDENTITY_ARN,
    S.SOURCE,
    S.RECORD_INDEX,
    S.RAW,
)
MAX_EVIDENCE = 10
MAX_TEXT = 512


def _account(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) >= 6 and parts[0] == "arn" and parts[4] else None


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) and value else None


@dataclass(frozen=True)
class ForeignWrite:
    """What one data event shows (the record's text is not kept)."""

    bucket: str
    bucket_account: str
    object_key: str | None
    key_arn: str
    principal: str | None
    event_name: str
    event_time: datetime
    event_id: str | None
    shared: str | None
    recipient: str | None
    source: str | None
    record_index: int | None


def _bucket_owner(record: Mapping[str, Any]) -> str | None:
    """The bucket's account: its ``resources[]`` entry when it names one (the bucket
    owner), else the account the record was delivered to."""
    resources = record.get("resources")
    if isinstance(resources, list):
        for item in resources:
            if isinstance(item, Mapping) and item.get("type") == "AWS::S3::Bucket":
                owner = item.get("accountId")
                if isinstance(owner, str) and owner:
                    return owner
    recipient = record.get("recipientAccountId")
    return recipient if isinstance(recipient, str) and recipient else None


def _key_arn(record: Mapping[str, Any]) -> str | None:
    params = record.get("requestParameters")
    given = params.get(KEY_HEADER) if isinstance(params, Mapping) else None
    if isinstance(given, str) and _account(given) is not None:
        return given[:MAX_TEXT]
    resources = record.get("resources")
    if isinstance(resources, list):
        for item in resources:
            if isinstance(item, Mapping) and item.get("type") == "AWS::KMS::Key":
                arn = item.get("ARN")
                if isinstance(arn, str) and _account(arn) is not None:
                    return arn[:MAX_TEXT]
    return None


def foreign_write(row: Mapping[str, Any]) -> ForeignWrite | None:
    """The write a data-event row shows when its SSE-KMS key is another account's."""
    try:
        record = loads_record(row[S.RAW])
    except RecordTextError:
        return None
    if not isinstance(record, Mapping):
        return None
    key_arn = _key_arn(record)
    owner = _bucket_owner(record)
    if key_arn is None or owner is None or _account(key_arn) == owner:
        return None
    params = record.get("requestParameters")
    params = params if isinstance(params, Mapping) else {}
    return ForeignWrite(
        bucket=_text(params.get("bucketName")) or "",
        bucket_account=owner,
        object_key=_text(params.get("key")),
        key_arn=key_arn,
        principal=row.get(S.IDENTITY_ARN),
        event_name=row[S.EVENT_NAME],
        event_time=row[S.EVENT_TIME],
        event_id=row.get(S.EVENT_ID),
        shared=row.get(S.SHARED_EVENT_ID),
        recipient=row.get(S.RECIPIENT_ACCOUNT_ID),
        source=row.get(S.SOURCE),
        record_index=row.get(S.RECORD_INDEX),
    )


@dataclass(frozen=True)
class ForeignKeyObjects:
    """Writes into ``bucket`` under ``key_arn`` (another account's key) by ``principal``."""

    bucket: str
    bucket_account: str
    key_arn: str
    key_account: str
    principal: str | None
    writes: int
    objects: int  # distinct object keys named
    first: datetime
    last: datetime
    busiest_hour: int
    evidence: tuple[ForeignWrite, ...]


@dataclass(frozen=True)
class ForeignKeyObjectsResult:
    found: tuple[ForeignKeyObjects, ...]
    object_writes_seen: int  # S3 object writes in the logs (0: no data events to read)


@dataclass
class ForeignKeyState:
    writes: list[ForeignWrite] = field(default_factory=list)
    seen: int = 0


def group_writes(writes: list[ForeignWrite]) -> tuple[ForeignKeyObjects, ...]:
    ordered = sorted(writes, key=lambda w: (w.event_time, w.event_id or ""))
    # The bucket owner's and the writer's copies of one cross-account write are one write.
    joined = one_copy_each(
        ordered,
        shared=lambda w: w.shared,
        call=lambda w: (w.event_name,),
        is_owner=lambda w: w.recipient == w.bucket_account,
        order=lambda w: (w.recipient or "", w.event_id or ""),
    )
    groups: dict[tuple[str, str, str | None], list[ForeignWrite]] = {}
    for w in joined:
        groups.setdefault((w.bucket, w.key_arn, w.principal), []).append(w)
    out = []
    for (bucket, key_arn, principal), found in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")
    ):
        hours: dict[int, int] = {}
        for w in found:
            hour = int(w.event_time.timestamp()) // 3600
            hours[hour] = hours.get(hour, 0) + 1
        out.append(
            ForeignKeyObjects(
                bucket=bucket,
                bucket_account=found[0].bucket_account,
                key_arn=key_arn,
                key_account=_account(key_arn) or "",
                principal=principal,
                writes=len(found),
                objects=len({w.object_key for w in found if w.object_key is not None}),
                first=found[0].event_time,
                last=found[-1].event_time,
                busiest_hour=max(hours.values()),
                evidence=tuple(found[:MAX_EVIDENCE]),
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class ForeignKeyObjectsAnalysis:
    name: str = "foreign_key_objects"
    columns: ClassVar[frozenset[str]] = frozenset({*ROW_COLUMNS, S.EVENT_SOURCE, S.ERROR_CODE})

    def start(self) -> ForeignKeyState:
        return ForeignKeyState()

    def update(self, state: ForeignKeyState, frame: pl.DataFrame) -> ForeignKeyState:
        if not frame.height:
            return state
        writes = frame.filter(
            (pl.col(S.EVENT_SOURCE) == S3)
            & pl.col(S.EVENT_NAME).is_in(WRITES)
            & pl.col(S.ERROR_CODE).is_null()
        )
        if not writes.height:
            return state
        state.seen += writes.height
        # Only writes naming a KMS key are parsed (a header spelt with JSON escapes
        # has none of the literal but has ``\u``).
        raw = pl.col(S.RAW)
        named = writes.filter(
            raw.str.contains(KEY_HEADER, literal=True)
            | raw.str.contains("AWS::KMS::Key", literal=True)
            | raw.str.contains("\\u", literal=True)
        ).select(ROW_COLUMNS)
        for row in named.iter_rows(named=True):
            found = foreign_write(row)
            if found is not None:
                state.writes.append(found)
        return state

    def combine(self, a: ForeignKeyState, b: ForeignKeyState) -> ForeignKeyState:
        return ForeignKeyState(a.writes + b.writes, a.seen + b.seen)

    def finish(self, state: ForeignKeyState) -> ForeignKeyObjectsResult:
        return ForeignKeyObjectsResult(group_writes(state.writes), state.seen)
