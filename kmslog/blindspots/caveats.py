"""The caveat that travels: an answer that claims absence ("last used", "never in
ALARM", "dormant for 30 days") states the blind spots it overlaps.

Pure functions over the blind-spot result, so every renderer asks the same question
the same way: which windows and delivery gaps of this account and Region meet this
stretch of time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from kmslog.analyses.blind_spots import BlindSpots
from kmslog.blindspots.findings import gap_finding
from kmslog.blindspots.model import Gap

if TYPE_CHECKING:
    from kmslog.lifecycle.model import LifecycleResult


@dataclass(frozen=True)
class Caveat:
    """One blind spot an answer overlaps, as the answer states it."""

    cause: str  # the finding kind id
    account: str
    region: str | None  # None: every Region of the account
    start: datetime
    end: datetime | None  # None: until the end of the logs
    text: str  # one line, plain text


def _gap_meets(
    g: Gap, account: str | None, region: str | None, lo: datetime | None, hi: datetime | None
) -> bool:
    if account is not None and g.account != account:
        return False
    if region is not None and g.region != region:
        return False
    return not ((hi is not None and g.start > hi) or (lo is not None and g.end < lo))


def caveats(
    spots: BlindSpots | None,
    account: str | None,
    region: str | None,
    start: datetime | None,
    end: datetime | None,
) -> tuple[Caveat, ...]:
    """The blind spots that meet [start, end] for ``account`` in ``region`` (None:
    any), windows first then delivery gaps, each in time order. None when the run
    had no blind-spot analysis."""
    if spots is None:
        return ()
    found = [
        Caveat(w.cause, w.account, w.region, w.start, w.end, w.summary)
        for w in spots.covering(account, region, start, end)
    ]
    found += [
        Caveat(
            "blind-spot-delivery-gap", g.account, g.region, g.start, g.end, gap_finding(g).summary
        )
        for g in spots.gaps
        if _gap_meets(g, account, region, start, end)
    ]
    return tuple(found)


def texts(found: Iterable[Caveat]) -> list[str]:
    return [c.text for c in found]


def key_place(arn: str) -> tuple[str | None, str | None]:
    """(account, Region) of a key ARN (``arn:aws:kms:<region>:<account>:key/<id>``)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "kms":
        return None, None
    return parts[4] or None, parts[3] or None


def attach_caveats(result: LifecycleResult, spots: BlindSpots | None) -> None:
    """Give each key the blind spots of its account and Region over the logs read."""
    for life in result.keys:
        account, region = key_place(life.key.arn)
        if account is None:
            continue
        # Up to the end of everything read (not only the key's records): "not used
        # since" holds until then.
        life.caveats = list(caveats(spots, account, region, result.logs_start, None))
