"""KMS key identifiers: what form a string is, and the key ARN it names.

This is the time-free part of key resolution (enough for detections and
baselines). Alias names need alias history to become keys; the lifecycle
analysis does that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import polars as pl

from kmslog.decode import schema as S

_KEY_ARN = re.compile(
    r"^arn:(?P<part>aws[a-z-]*):kms:(?P<region>[^:]*):(?P<acct>\d*):key/(?P<id>.+)$"
)
_ALIAS_ARN = re.compile(
    r"^arn:(?P<part>aws[a-z-]*):kms:(?P<region>[^:]*):(?P<acct>\d*):(?P<alias>alias/.+)$"
)
_KEY_ID = re.compile(
    r"^(?:mrk-[0-9a-f]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)

KEY_ARN_REGEX = r"^arn:aws[a-z-]*:kms:[^:]*:\d*:key/.+$"


class IdKind(StrEnum):
    KEY_ARN = "key_arn"
    ALIAS_ARN = "alias_arn"
    KEY_ID = "key_id"
    ALIAS_NAME = "alias_name"
    OTHER = "other"


@dataclass(frozen=True)
class KeyRef:
    kind: IdKind
    text: str
    key_id: str | None = None
    alias: str | None = None
    region: str | None = None
    account: str | None = None
    partition: str = "aws"


def parse_key_ref(text: str) -> KeyRef:
    """Classify a key identifier as KMS and CloudTrail write them."""
    if m := _KEY_ARN.match(text):
        return KeyRef(
            IdKind.KEY_ARN,
            text,
            key_id=m["id"],
            region=m["region"],
            account=m["acct"],
            partition=m["part"],
        )
    if m := _ALIAS_ARN.match(text):
        return KeyRef(
            IdKind.ALIAS_ARN,
            text,
            alias=m["alias"],
            region=m["region"],
            account=m["acct"],
            partition=m["part"],
        )
    if text.startswith("alias/"):
        return KeyRef(IdKind.ALIAS_NAME, text, alias=text)
    if _KEY_ID.match(text):
        return KeyRef(IdKind.KEY_ID, text, key_id=text)
    return KeyRef(IdKind.OTHER, text)


def key_arn(key_id: str, region: str, account: str, partition: str = "aws") -> str:
    return f"arn:{partition}:kms:{region}:{account}:key/{key_id}"


def key_arn_expr() -> pl.Expr:
    """The key a record is about, as a key ARN, when the record alone says so.

    First key ARN in ``key_ids``; otherwise a bare key id made into an ARN with
    the record's region and recipient account. Null for alias-only records and
    records that name no key. Column name: ``key_arn``.
    """
    ids = pl.col(S.KEY_IDS)
    first_arn = ids.list.eval(
        pl.element().filter(pl.element().str.contains(KEY_ARN_REGEX))
    ).list.first()
    first_bare = ids.list.eval(
        pl.element().filter(
            pl.element().str.contains(
                r"^(?:mrk-[0-9a-f]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
            )
        )
    ).list.first()
    built = pl.concat_str(
        [
            pl.lit("arn:aws:kms:"),
            pl.col(S.AWS_REGION),
            pl.lit(":"),
            pl.col(S.RECIPIENT_ACCOUNT_ID),
            pl.lit(":key/"),
            first_bare,
        ]
    )
    return pl.coalesce(first_arn, built).alias("key_arn")
