"""Who made a call: stable principal names for grouping.

Assumed-role sessions are folded to their role (``arn:aws:sts::1:assumed-role/R/s``
→ ``arn:aws:iam::1:role/R``) because sessions are per-invocation noise; the session
name is kept apart as a secondary feature.
"""

from __future__ import annotations

import re

import polars as pl

from kmslog.decode import schema as S

_ASSUMED = re.compile(
    r"^arn:(?P<part>[^:]+):sts::(?P<acct>[^:]*):assumed-role/(?P<path>.+)/(?P<sess>[^/]+)$"
)


def fold_principal(
    arn: str | None,
    session_issuer_arn: str | None = None,
    identity_type: str | None = None,
    invoked_by: str | None = None,
    account_id: str | None = None,
) -> str:
    """A stable name for the principal behind a call."""
    if session_issuer_arn and identity_type == "AssumedRole":
        return session_issuer_arn
    if arn:
        match = _ASSUMED.match(arn)
        if match:
            return f"arn:{match['part']}:iam::{match['acct']}:role/{match['path']}"
        return arn
    if invoked_by:
        return invoked_by
    if account_id:
        return f"account:{account_id}"
    return "unknown"


def session_name(arn: str | None) -> str | None:
    """The session part of an assumed-role ARN, if any."""
    if not arn:
        return None
    match = _ASSUMED.match(arn)
    return match["sess"] if match else None


def principal_expr() -> pl.Expr:
    """Vectorised :func:`fold_principal` over an event frame, as column ``principal``."""
    folded_assumed = pl.col(S.IDENTITY_ARN).str.replace(
        r"^arn:([^:]+):sts::([^:]*):assumed-role/(.+)/[^/]+$", "arn:$1:iam::$2:role/$3"
    )
    return (
        pl.when(
            (pl.col(S.IDENTITY_TYPE) == "AssumedRole")
            & pl.col(S.IDENTITY_SESSION_ISSUER_ARN).is_not_null()
        )
        .then(pl.col(S.IDENTITY_SESSION_ISSUER_ARN))
        .when(pl.col(S.IDENTITY_ARN).is_not_null())
        .then(folded_assumed)
        .when(pl.col(S.IDENTITY_INVOKED_BY).is_not_null())
        .then(pl.col(S.IDENTITY_INVOKED_BY))
        .when(pl.col(S.IDENTITY_ACCOUNT_ID).is_not_null())
        .then(pl.lit("account:") + pl.col(S.IDENTITY_ACCOUNT_ID))
        .otherwise(pl.lit("unknown"))
        .alias("principal")
    )


_ACCOUNT_ID = re.compile(r"^\d{12}$")


def principal_filter(query: str) -> pl.Expr:
    """Rows whose caller ``query`` names, over an event frame with column ``principal``
    (:func:`principal_expr`): an account id matches the caller's account; an ARN matches
    its folded form (an assumed-role session therefore matches every session of its
    role); a bare name matches an IAM role or user of that name (any path, any account)
    or a folded principal equal to it (``s3.amazonaws.com``)."""
    text = query.strip()
    folded = pl.col("principal")
    if _ACCOUNT_ID.match(text):
        return (pl.col(S.IDENTITY_ACCOUNT_ID) == text).fill_null(False)
    if text.startswith("arn:"):
        return (folded == fold_principal(text)).fill_null(False)
    iam_name = folded.str.contains(r"^arn:[^:]+:iam::\d*:(?:role|user)/") & folded.str.ends_with(
        "/" + text
    )
    return (iam_name | (folded == text)).fill_null(False)
