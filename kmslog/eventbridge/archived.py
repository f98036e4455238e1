"""EventBridge events the user archived, matched as they are.

A record read from an EventBridge envelope (``schema.ENVELOPE``) reached the bus
as that envelope: its rules are matched on the archived event itself, with its
own ``id``, ``detail-type``, ``account``, ``region`` and ``resources``, not on one
kmslog rebuilds from the record. KMS's three events (``detail`` = ``{"key-id": …}``)
take the KMS view, every other event the ``… via CloudTrail`` one; a read-only
management call reaches only rules that take all management events, as on the bus.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from kmslog.eventbridge import envelope as E
from kmslog.eventpatterns import EventPatternError, loads_event

_KMS_TYPES = frozenset(E.KMS_DETAIL_TYPES.values())
_CLOUDTRAIL_TYPES = frozenset(E.CLOUDTRAIL_DETAIL_TYPES.values())


class Archived(NamedTuple):
    """What the replay needs of one archived event."""

    envelope: E.Envelope
    detail_type: str | None
    account: str
    region: str
    id: str | None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def archived(text: str | None) -> Archived | None:
    """The archived event of an ``envelope`` cell; None when it is not one JSON
    object (it then matches no rule)."""
    if text is None:
        return None
    try:
        event = loads_event(text)
    except (EventPatternError, RecursionError):
        return None
    if not isinstance(event, dict):
        return None
    detail_type = _text(event.get("detail-type"))
    kind = "kms" if detail_type in _KMS_TYPES else "cloudtrail"
    detail = event.get("detail")
    read_only = (
        detail_type in _CLOUDTRAIL_TYPES
        and isinstance(detail, dict)
        and E.is_read_only_management(detail)
    )
    return Archived(
        E.Envelope(event, kind, read_only),
        detail_type,
        _text(event.get("account")) or "",
        _text(event.get("region")) or "",
        _text(event.get("id")),
    )
