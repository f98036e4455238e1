"""Typed values of the blind-spot analysis: pure data, shared by every part of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Coverage(StrEnum):
    """Which KMS management events a trail records."""

    ALL = "all"
    READ_ONLY = "read-only"  # only read-only calls (Decrypt, DescribeKey …): writes unseen
    WRITE_ONLY = "write-only"  # only write calls (DisableKey …): usage unseen
    NONE = "none"


class Certainty(StrEnum):
    """How sure the window is: ``unrecorded`` when no trail the logs know of still
    recorded the events, ``possibly`` when another trail may have (the logs do not
    say which trail delivered them) or when the call's effect is not fully known."""

    UNRECORDED = "unrecorded"
    POSSIBLY = "possibly-unrecorded"


@dataclass(frozen=True)
class Cite:
    """The record behind a change: enough to find it again in the logs."""

    event_id: str | None
    event_time: datetime
    event_name: str
    source: str | None = None
    record_index: int | None = None
    identity_arn: str | None = None
    source_ip: str | None = None
    error_code: str | None = None  # set: the call failed (an attempt)


@dataclass(frozen=True)
class TrailChange:
    """One call that changes (or tried to change) what a trail records.

    ``trail`` is the name or ARN the call gave (``trails.trail_name`` folds both to
    the name); ``region`` is the Region the call was made in, the trail's home
    Region. The other fields are None where the call does not tell.
    """

    time: datetime
    account: str
    region: str
    trail: str
    action: str  # create, delete, start, stop, update, selectors
    attempt: bool  # the call failed: nothing changed, but someone tried
    logging: bool | None = None  # the trail delivers at all after the call
    kms: Coverage | None = None  # KMS management events surely recorded after the call
    kms_uncertain: bool = False  # the selectors may record more of KMS than ``kms``
    management: bool | None = None  # other services' management events still recorded
    multi_region: bool | None = None
    organization: bool | None = None
    bucket: str | None = None
    log_group: str | None = None  # the CloudWatch Logs log group ARN or name
    detail: str = ""  # plain text: what changed, for the finding's summary
    cite: Cite | None = None


@dataclass(frozen=True)
class Window:
    """A stretch in which KMS events of ``account`` (in ``region``, or every Region
    the trail covers when None) were not, or may not have been, recorded."""

    account: str
    region: str | None
    trail: str
    start: datetime
    end: datetime | None  # None: still open at the end of the logs
    cause: str  # the finding kind id (kinds.py)
    certainty: Certainty
    coverage: Coverage  # what the trail still recorded of KMS in the window
    opened_by: Cite
    closed_by: Cite | None
    summary: str  # one line, plain text

    def overlaps(self, start: datetime | None, end: datetime | None) -> bool:
        """Whether the window meets [start, end] (None: unbounded on that side)."""
        if end is not None and self.start > end:
            return False
        return not (start is not None and self.end is not None and self.end < start)


@dataclass(frozen=True)
class Incident:
    """A one-off call that undermined or tried to undermine the logs or the alarms
    on them (a trail's bucket lifecycle, its log group deleted, alarms deleted …),
    or a failed attempt at a trail change."""

    cause: str  # the finding kind id
    account: str
    region: str
    resource: str  # bucket, log group, alarm names, trail
    attempt: bool
    cite: Cite
    summary: str
    # False when only the resource's name suggests it is the trail's (no trail call in
    # the logs says so): reported one severity level lower.
    certain: bool = True


@dataclass(frozen=True)
class Gap:
    """A stretch with no records for an account and Region whose cadence says there
    should have been some."""

    account: str
    region: str
    start: datetime  # the last record before the gap
    end: datetime  # the first record after it
    usual: float  # the usual spacing of deliveries there, in seconds
    before: str | None = None  # the file holding the last record before
    after: str | None = None  # the file holding the first record after
