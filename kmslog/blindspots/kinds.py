"""The finding kinds of trail configuration changes, registered in the one finding model.

Each stretch a trail recorded less of KMS is a window of one of these kinds; a failed
call that would have caused one is an incident of :data:`ATTEMPT`. The kinds about the
trail's destination (bucket, log group, alarms) and delivery gaps live elsewhere.
"""

from __future__ import annotations

from functools import partial

from kmslog.findings.model import define_kind

_API = "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/"
_GUIDE = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
_MANAGEMENT = _GUIDE + "logging-management-events-with-cloudtrail.html"
_SELECTORS = _API + "API_PutEventSelectors.html"


_kind = partial(define_kind, "blind_spot")

STOPPED = _kind(
    "blind-spot-trail-stopped",
    "Trail stopped logging",
    "high",
    "StopLogging turns a trail's delivery off: until StartLogging, the trail records "
    "no event at all, KMS key use included. Stopping the trail is a classic step "
    "before misusing keys unseen.",
    "Start logging again, find out who stopped the trail and why, and review KMS use "
    "in the window from another source (another trail, event history, the key's "
    "CloudWatch metrics).",
    (_API + "API_StopLogging.html", _API + "API_StartLogging.html"),
)
DELETED = _kind(
    "blind-spot-trail-deleted",
    "Trail deleted",
    "high",
    "DeleteTrail removes the trail: nothing it recorded is delivered after the call "
    "until a trail is created (and started) again.",
    "Re-create the trail, protect it (SCPs denying cloudtrail:DeleteTrail, an "
    "organization trail) and review KMS use in the window from another source.",
    (_API + "API_DeleteTrail.html", _API + "API_CreateTrail.html"),
)
KMS_EXCLUDED = _kind(
    "blind-spot-kms-excluded",
    "KMS management events excluded from a trail",
    "high",
    "The trail's event selectors still record management events, but not those of "
    "kms.amazonaws.com (excludeManagementEventSources, or an advanced selector "
    "eventSource NotEquals kms.amazonaws.com): every Decrypt, Encrypt, DisableKey … "
    "goes unrecorded by this trail.",
    "Restore KMS events in the selectors of at least one trail that covers every "
    "Region, or record them in a separate trail if their volume is the concern.",
    (_SELECTORS, _MANAGEMENT),
)
MANAGEMENT_OFF = _kind(
    "blind-spot-management-events-off",
    "Management events turned off on a trail",
    "high",
    "The trail's event selectors no longer record management events "
    "(includeManagementEvents false, or no advanced selector with eventCategory "
    "Management): KMS calls are management events, so none is recorded by this trail.",
    "Turn management events back on (read and write) for the trail.",
    (_SELECTORS, _MANAGEMENT),
)
NARROWED = _kind(
    "blind-spot-selectors-narrowed",
    "Trail records only read or only write management events",
    "medium",
    "The trail's selectors were narrowed to read-only or write-only management "
    "events. Read-only drops key changes (DisableKey, PutKeyPolicy, "
    "ScheduleKeyDeletion); write-only drops most key use (Decrypt, Encrypt, "
    "GenerateDataKey count as read-only for CloudTrail).",
    "Record both read and write management events on at least one trail.",
    (_SELECTORS, _MANAGEMENT),
)
MULTI_REGION_OFF = _kind(
    "blind-spot-multi-region-off",
    "Trail no longer covers every Region",
    "medium",
    "UpdateTrail turned isMultiRegionTrail off: the trail records only its home "
    "Region from then on, so KMS use in any other Region goes unrecorded by it.",
    "Turn multi-Region back on, or make sure another multi-Region trail covers the account.",
    (
        _API + "API_UpdateTrail.html",
        _GUIDE + "receive-cloudtrail-log-files-from-multiple-regions.html",
    ),
)
MOVED = _kind(
    "blind-spot-trail-moved",
    "Trail delivers to another bucket",
    "medium",
    "UpdateTrail pointed the trail at another S3 bucket: its records from then on "
    "are not where they used to be, so logs read from the old bucket miss them (and "
    "whoever controls the new bucket controls the records).",
    "Find out who owns the new bucket; read its logs for the window too, or point the trail back.",
    (_API + "API_UpdateTrail.html",),
)
ATTEMPT = _kind(
    "blind-spot-trail-change-attempt",
    "Failed attempt to stop, delete, narrow or move a trail",
    "low",
    "A call that would have stopped, deleted, narrowed or moved a trail failed (access "
    "denied, wrong Region, unknown trail …). Nothing changed, but someone tried: "
    "often the first visible step of an attempt to work unseen.",
    "Find out who made the call and why; check that the caller's other calls "
    "around that time did not succeed.",
    (_API + "API_StopLogging.html", _API + "API_DeleteTrail.html", _SELECTORS),
)

WINDOW_KINDS = frozenset(
    k.id
    for k in (STOPPED, DELETED, KMS_EXCLUDED, MANAGEMENT_OFF, NARROWED, MULTI_REGION_OFF, MOVED)
)
