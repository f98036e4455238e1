"""The two copies of a cross-account call joined into one.

A call from account A on a key of account B is recorded twice: once in A (the caller's
copy) and once in B (the owner's copy), with different ``eventID`` and
``recipientAccountId`` and the same ``sharedEventID``. Reading both accounts' logs (an
organisation trail, or two accounts' exports) would count such a call twice in a key's
timeline and usage. Dedup leaves both copies (they are different records); the analyses
that count calls on a key take one copy per call with :func:`one_copy`.

Which copy stays does not depend on the order the records were read in: the owner's
copy (the one whose ``recipientAccountId`` is the key's account) when it is there, else
the copy of the smallest account and eventID. The metric filters and alarms keep both:
a log group receiving both accounts' events counts both, and so does their replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import polars as pl

from kmslog.decode import schema as S

_OWNER = "__owner_copy"
T = TypeVar("T")


def arn_account(arn: pl.Expr) -> pl.Expr:
    """The account field of an ARN (``arn:partition:service:region:account:…``)."""
    return arn.str.extract(r"^arn:[^:]*:[^:]*:[^:]*:(\d*):", 1)


def is_shared() -> pl.Expr:
    return pl.col(S.SHARED_EVENT_ID).is_not_null()


def one_copy(
    frame: pl.DataFrame, call: Sequence[str], account: str, key_arn: pl.Expr
) -> pl.DataFrame:
    """One row per ``sharedEventID`` and the other ``call`` columns (e.g. the event name
    and, after a ReEncrypt is split per key, the key): the owner's copy first (``account``
    is the row's ``recipientAccountId`` column, ``key_arn`` the key the row is about), then
    the smallest account and eventID. Rows without a ``sharedEventID`` all stay.

    Idempotent and order independent, so it can be applied to partial results and again
    to their union with the same outcome as once to everything."""
    if not frame.height:
        return frame
    lone = frame.filter(~is_shared())
    shared = frame.filter(is_shared())
    if not shared.height:
        return frame
    owner = (pl.col(account) == arn_account(key_arn)).fill_null(False)
    ranked = shared.with_columns((~owner).alias(_OWNER)).sort(
        [S.SHARED_EVENT_ID, *call, _OWNER, account, S.EVENT_ID], nulls_last=True
    )
    joined = ranked.unique([S.SHARED_EVENT_ID, *call], keep="first", maintain_order=True).drop(
        _OWNER
    )
    return pl.concat([lone, joined], how="vertical_relaxed") if lone.height else joined


def joined(
    frames: Sequence[pl.DataFrame], call: Sequence[str], account: str, key_arn: pl.Expr
) -> pl.DataFrame | None:
    """:func:`one_copy` over the union of kept frames (None when there are no rows)."""
    kept = [f for f in frames if f.height]
    if not kept:
        return None
    return one_copy(pl.concat(kept, how="vertical_relaxed"), call, account, key_arn)


def one_copy_each(
    items: Iterable[T],
    shared: Callable[[T], str | None],
    call: Callable[[T], tuple[str, ...]],
    is_owner: Callable[[T], bool],
    order: Callable[[T], tuple[str, ...]],
) -> list[T]:
    """:func:`one_copy` over Python objects (records read once): per (``shared``,
    ``call``) the owner's copy, else the smallest ``order``; the rest in their order."""
    best: dict[tuple[str, ...], T] = {}
    out: list[T] = []
    slot: dict[tuple[str, ...], int] = {}
    for item in items:
        sid = shared(item)
        if sid is None:
            out.append(item)
            continue
        join = (sid, *call(item))
        held = best.get(join)
        if held is None:
            best[join] = item
            slot[join] = len(out)
            out.append(item)
            continue
        rank = (not is_owner(item), *order(item))
        if rank < (not is_owner(held), *order(held)):
            best[join] = item
            out[slot[join]] = item
    return out
