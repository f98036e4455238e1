"""Calls that undermine where CloudTrail's logs go, or the alarms on them.

:func:`incident` reads one record and answers an :class:`~kmslog.blindspots.model.Incident`
or None:

* S3 (``s3.amazonaws.com``), on a bucket a trail writes to (``bucketName``):
  ``DeleteBucket``; ``DeleteBucketPolicy`` (CloudTrail writes only as the policy
  allows); ``PutBucketLifecycle`` (CloudTrail logs both lifecycle APIs under this
  name; a rule can expire the log files); ``PutBucketPolicy`` only when the new policy
  no longer lets ``cloudtrail.amazonaws.com`` put objects (a policy change in itself
  is routine; one that cuts CloudTrail off stops delivery);
* CloudWatch Logs (``logs.amazonaws.com``), on a log group a trail sends to
  (``logGroupName``): ``DeleteLogGroup``, ``PutRetentionPolicy``,
  ``DeleteSubscriptionFilter``, ``DeleteMetricFilter``;
* CloudWatch (``monitoring.amazonaws.com``): ``DeleteAlarms`` and
  ``DisableAlarmActions`` on any alarm (``alarmNames``): which alarm watches the
  trail is not in the logs, and muting any alarm is worth a look.

Which buckets and log groups are the trail's comes from :class:`TrailTargets`, learned
by :func:`targets` from successful ``CreateTrail`` / ``UpdateTrail`` calls
(``s3BucketName``, ``cloudWatchLogsLogGroupArn``). Every bucket or log group a trail
was ever pointed at counts, since the files delivered there before a move are still
there. When the logs name no trail bucket at all, a bucket whose name contains
"trail" (case-insensitive, so "cloudtrail" too) is *possibly* the trail's, and when no
trail log group is known in the account, so is a log group whose name contains
"cloudtrail"; the summary says "possibly". Bucket names are global, so a bucket
matches a trail of any account (an organization trail writes to a log-archive
account's bucket); log groups belong to the trail's own account and Region.

A failed call is an attempt: ``attempt=True`` and the cause is
:data:`~kmslog.blindspots.destination_kinds.DESTINATION_ATTEMPT`. CloudWatch Logs and
CloudWatch log a denied call without its ``requestParameters``; the resource is then
read from the ARN in the error message ("… on resource: arn:…"), when there is one.

Every string kept from a record is capped (:data:`MAX_NAME`, :data:`MAX_LISTED`).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from kmslog.blindspots import destination_kinds as K
from kmslog.blindspots.model import Cite, Incident
from kmslog.decode import schema as S
from kmslog.decode.jsontext import RecordTextError, loads_record, request_parameters
from kmslog.findings.model import FindingKind
from kmslog.kms.dates import readable

S3 = "s3.amazonaws.com"
LOGS = "logs.amazonaws.com"
MONITORING = "monitoring.amazonaws.com"
CLOUDTRAIL = "cloudtrail.amazonaws.com"
TRAIL_CALLS = ("CreateTrail", "UpdateTrail")

BUCKET_CALLS: Mapping[str, FindingKind] = {
    "DeleteBucket": K.BUCKET_DELETED,
    "DeleteBucketPolicy": K.BUCKET_POLICY_DELETED,
    "PutBucketLifecycle": K.BUCKET_LIFECYCLE,
    # The newer API's own name, should a record ever carry it.
    "PutBucketLifecycleConfiguration": K.BUCKET_LIFECYCLE,
    "PutBucketPolicy": K.BUCKET_POLICY_BLOCKS,
}
LOG_GROUP_CALLS: Mapping[str, FindingKind] = {
    "DeleteLogGroup": K.LOG_GROUP_DELETED,
    "PutRetentionPolicy": K.LOG_RETENTION,
    "DeleteSubscriptionFilter": K.SUBSCRIPTION_FILTER_DELETED,
    "DeleteMetricFilter": K.METRIC_FILTER_DELETED,
}
ALARM_CALLS: Mapping[str, FindingKind] = {
    "DeleteAlarms": K.ALARMS_DELETED,
    "DisableAlarmActions": K.ALARM_ACTIONS_DISABLED,
}
CALLS: Mapping[str, Mapping[str, FindingKind]] = {
    S3: BUCKET_CALLS,
    LOGS: LOG_GROUP_CALLS,
    MONITORING: ALARM_CALLS,
}

# S3 bucket names are at most 63 characters, log group names 512, alarm names 255:
# anything longer is not a real name and is cut rather than kept whole.
MAX_NAME = 512
# DeleteAlarms takes up to 100 names; a summary names the first few and counts the rest.
MAX_LISTED = 5
# A bucket policy is at most 20 KiB; a longer text given as a string is not parsed.
MAX_POLICY = 20 * 1024

_RESOURCE_ARN = re.compile(r"on resource: (arn:[^\s]{1,2048})")


def _cap(text: str, limit: int = MAX_NAME) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _name(value: object) -> str | None:
    return _cap(value) if isinstance(value, str) and value else None


def _trail_name(value: object) -> str:
    """A trail's name from the name or ARN a call gave."""
    name = _name(value) or "?"
    return name.rsplit(":trail/", 1)[-1] if name.startswith("arn:") else name


def log_group_of(value: str, account: str, region: str) -> tuple[str, str, str]:
    """(account, Region, name) of a log group given by ARN
    (``arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*]``) or by name, which then belongs
    to the account and Region given."""
    parts = value.split(":")
    if value.startswith("arn:") and len(parts) >= 7 and parts[5] == "log-group":
        return parts[4], parts[3], _cap(parts[6])
    return account, region, _cap(value)


@dataclass(frozen=True)
class TrailTargets:
    """Where trails are known to write: a mergeable partial (union).

    ``buckets``: (bucket, account of the trail, trail name); ``log_groups``: (account,
    Region, log group name, trail name).
    """

    buckets: frozenset[tuple[str, str, str]] = frozenset()
    log_groups: frozenset[tuple[str, str, str, str]] = frozenset()

    def merge(self, other: TrailTargets) -> TrailTargets:
        return TrailTargets(self.buckets | other.buckets, self.log_groups | other.log_groups)

    def bucket_trails(self, bucket: str) -> tuple[str, ...]:
        """The trails (of any account) known to write to ``bucket``, sorted."""
        return tuple(sorted({t for b, _, t in self.buckets if b == bucket}))

    def log_group_trails(self, account: str, region: str, name: str) -> tuple[str, ...]:
        """The trails known to send to the log group ``name`` of ``account``/``region``."""
        key = (account, region, name)
        return tuple(sorted({g[3] for g in self.log_groups if g[:3] == key}))

    def knows_buckets(self) -> bool:
        return bool(self.buckets)

    def knows_log_groups(self, account: str) -> bool:
        return any(g[0] == account for g in self.log_groups)


def candidates() -> pl.Expr:
    """Rows :func:`incident` or :func:`targets` may use (two typed-column tests), so a
    fold keeps only these before calling them row by row."""
    expr = (pl.col(S.EVENT_SOURCE) == CLOUDTRAIL) & pl.col(S.EVENT_NAME).is_in(TRAIL_CALLS)
    for source, calls in CALLS.items():
        expr = expr | ((pl.col(S.EVENT_SOURCE) == source) & pl.col(S.EVENT_NAME).is_in(list(calls)))
    return expr


def candidate_names() -> frozenset[str]:
    """Every event name :func:`candidates` may keep: one test on a single column that
    most rows fail, before the full one."""
    return frozenset(TRAIL_CALLS).union(*CALLS.values())


def targets(rows: Iterable[Mapping[str, Any]]) -> TrailTargets:
    """The buckets and log groups successful ``CreateTrail`` / ``UpdateTrail`` calls
    name (``requestParameters``, else ``responseElements``). Rows need event_source,
    event_name, error_code, recipient_account_id, aws_region and raw."""
    buckets: set[tuple[str, str, str]] = set()
    groups: set[tuple[str, str, str, str]] = set()
    for row in rows:
        if row.get(S.EVENT_SOURCE) != CLOUDTRAIL or row.get(S.EVENT_NAME) not in TRAIL_CALLS:
            continue
        if row.get(S.ERROR_CODE) is not None:
            continue  # a failed call points the trail nowhere
        try:
            record = loads_record(row[S.RAW])
        except RecordTextError:
            continue
        if not isinstance(record, dict):
            continue
        sides = [record.get("requestParameters"), record.get("responseElements")]
        given = [side for side in sides if isinstance(side, dict)]
        if not given:
            continue
        account = row.get(S.RECIPIENT_ACCOUNT_ID) or ""
        region = row.get(S.AWS_REGION) or ""
        trail = _trail_name(next((s["name"] for s in given if "name" in s), None))
        for side in given:
            bucket = _name(side.get("s3BucketName"))
            if bucket is not None:
                buckets.add((bucket, account, trail))
            arn = _name(side.get("cloudWatchLogsLogGroupArn"))
            if arn is not None:
                groups.add((*log_group_of(arn, account, region), trail))
    return TrailTargets(frozenset(buckets), frozenset(groups))


def _cite(row: Mapping[str, Any]) -> Cite:
    return Cite(
        event_id=row.get(S.EVENT_ID),
        event_time=row[S.EVENT_TIME],
        event_name=row[S.EVENT_NAME],
        source=row.get(S.SOURCE),
        record_index=row.get(S.RECORD_INDEX),
        identity_arn=row.get(S.IDENTITY_ARN),
        source_ip=row.get(S.SOURCE_IP),
        error_code=row.get(S.ERROR_CODE),
    )


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def _trails_phrase(trails: tuple[str, ...]) -> str:
    label = "trail" if len(trails) == 1 else "trails"
    return f"{label} {_quoted(trails[:MAX_LISTED])}"


def _error_arn(row: Mapping[str, Any]) -> str | None:
    message = row.get(S.ERROR_MESSAGE)
    if not isinstance(message, str):
        return None
    found = _RESOURCE_ARN.search(message[:4096])
    return found.group(1) if found else None


# --- S3 ------------------------------------------------------------------------


def _listed(value: object) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _grants_cloudtrail(principal: object) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    services = [s for s in _listed(principal.get("Service")) if isinstance(s, str)]
    anyone = [a for a in _listed(principal.get("AWS")) if a == "*"]
    return CLOUDTRAIL in services or bool(anyone)


def _puts_objects(action: object) -> bool:
    names = [a.lower() for a in _listed(action) if isinstance(a, str)]
    return any(fnmatch.fnmatchcase("s3:putobject", a) for a in names)


def blocks_cloudtrail(policy: object) -> bool | None:
    """Whether a bucket policy leaves CloudTrail unable to put log files: no statement
    allows ``cloudtrail.amazonaws.com`` (or everyone) ``s3:PutObject``, or one denies
    it unconditionally. None when the policy cannot be read. Statements with
    NotPrincipal/NotAction, conditional denies and resources are not evaluated: the
    answer errs towards "still writes" rather than inventing a finding."""
    if isinstance(policy, str):
        if len(policy) > MAX_POLICY:
            return None
        try:
            policy = loads_record(policy)
        except RecordTextError:
            return None
    if not isinstance(policy, dict):
        return None
    statements = [s for s in _listed(policy.get("Statement")) if isinstance(s, dict)]
    if not statements:
        return None
    allowed = False
    for st in statements:
        if not (_grants_cloudtrail(st.get("Principal")) and _puts_objects(st.get("Action"))):
            continue
        if st.get("Effect") == "Deny" and not st.get("Condition"):
            return True
        if st.get("Effect") == "Allow":
            allowed = True
    return not allowed


def _shortest_expiration(config: object) -> int | None:
    """The fewest days after which an enabled lifecycle rule expires objects."""
    if not isinstance(config, dict):
        return None
    days: list[int] = []
    for rule in _listed(config.get("Rule", config.get("Rules"))):
        if not isinstance(rule, dict) or rule.get("Status", "Enabled") != "Enabled":
            continue
        expiration = rule.get("Expiration")
        value = expiration.get("Days") if isinstance(expiration, dict) else None
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            days.append(value)
    return min(days) if days else None


def _bucket_detail(name: str, params: Mapping[str, Any]) -> str | None:
    """What the call did, in a few words ("" when nothing more is worth saying), or
    None when it is no incident at all (a policy that still lets CloudTrail write)."""
    if name == "PutBucketPolicy":
        if blocks_cloudtrail(params.get("bucketPolicy")) is not True:
            return None
        return "with a policy that no longer lets CloudTrail write"
    if name in ("PutBucketLifecycle", "PutBucketLifecycleConfiguration"):
        config = params.get("LifecycleConfiguration")
        days = _shortest_expiration(config)
        if days is not None:
            return f"expiring objects after {days} day{'' if days == 1 else 's'}"
        if isinstance(config, dict) and _listed(config.get("Rule", config.get("Rules"))):
            # Readable rules that expire nothing (transitions to colder storage): the
            # logs stay, so this is routine housekeeping, not an incident.
            return None
        return "rules not in the record"
    return ""


def _bucket_target(bucket: str, trails: TrailTargets) -> str | None:
    known = trails.bucket_trails(bucket)
    if known:
        return f"the bucket of {_trails_phrase(known)}"
    if not trails.knows_buckets() and "trail" in bucket.lower():
        return "possibly the trail's (no trail's bucket is known; the name says trail)"
    return None


# --- CloudWatch Logs -------------------------------------------------------------


def _log_group_name(params: Mapping[str, Any] | None, row: Mapping[str, Any]) -> str | None:
    if params is not None:
        for field in ("logGroupName", "logGroupIdentifier"):
            value = _name(params.get(field))
            if value is not None:
                return value
    arn = _error_arn(row)
    if arn is not None and ":log-group:" in arn:
        return log_group_of(arn, "", "")[2]
    return None


def _log_group_target(
    given: str, account: str, region: str, trails: TrailTargets
) -> tuple[str, str] | None:
    """(log group name, how it is the trail's) or None."""
    owner, where, name = log_group_of(given, account, region)
    known = trails.log_group_trails(owner, where, name)
    if known:
        return name, f"the log group of {_trails_phrase(known)}"
    if not trails.knows_log_groups(owner) and "cloudtrail" in name.lower():
        return name, (
            "possibly the trail's (no trail's log group is known; the name says CloudTrail)"
        )
    return None


def _log_group_detail(name: str, params: Mapping[str, Any] | None) -> str:
    params = params or {}
    if name == "PutRetentionPolicy":
        days = params.get("retentionInDays")
        if isinstance(days, int) and not isinstance(days, bool):
            return f"keeping events {days} day{'' if days == 1 else 's'}"
    if name in ("DeleteSubscriptionFilter", "DeleteMetricFilter"):
        filter_name = _name(params.get("filterName"))
        if filter_name is not None:
            return f"filter '{filter_name}'"
    return ""


# --- CloudWatch alarms ----------------------------------------------------------


def _alarm_names(params: Mapping[str, Any] | None, row: Mapping[str, Any]) -> list[str]:
    listed = params.get("alarmNames") if params is not None else None
    names = [_cap(n, 255) for n in _listed(listed) if isinstance(n, str) and n]
    if names:
        return names
    arn = _error_arn(row)
    if arn is not None and ":alarm:" in arn:
        return [_cap(arn.split(":alarm:", 1)[1], 255)]
    return []


def _alarm_resource(names: list[str]) -> str:
    if not names:
        return "alarms not named in the record"
    shown = _quoted(names[:MAX_LISTED])
    more = len(names) - MAX_LISTED
    label = "alarm" if len(names) == 1 else "alarms"
    return f"{label} {shown}" + (f" (+{more} more)" if more > 0 else "")


# --- one record -----------------------------------------------------------------


def _summary(row: Mapping[str, Any], what: str, detail: str = "", attempt: bool = False) -> str:
    name = row[S.EVENT_NAME]
    caller = _name(row.get(S.IDENTITY_ARN)) or "an unknown caller"
    head = f"Failed {name} ({_cap(str(row[S.ERROR_CODE]), 64)})" if attempt else name
    tail = f", {detail}" if detail else ""
    return f"{head} on {what}{tail}, by {caller} at {readable(row[S.EVENT_TIME])}"


def incident(row: Mapping[str, Any], trails: TrailTargets) -> Incident | None:
    """The incident one record is, or None.

    ``row`` is a mapping with at least event_time (aware datetime), event_source,
    event_name, error_code, recipient_account_id, aws_region, event_id, identity_arn,
    source_ip, source, record_index and raw (the record's text); error_message is used
    when present. ``trails`` says which buckets and log groups are the trail's.
    """
    source = row.get(S.EVENT_SOURCE)
    name = row.get(S.EVENT_NAME)
    kind = CALLS.get(source or "", {}).get(name or "")
    if kind is None:
        return None
    attempt = row.get(S.ERROR_CODE) is not None
    account = row.get(S.RECIPIENT_ACCOUNT_ID) or ""
    region = row.get(S.AWS_REGION) or ""
    params = request_parameters(row[S.RAW])
    resource: str
    what: str
    detail = ""
    certain = True
    if source == S3:
        bucket = _name((params or {}).get("bucketName"))
        if bucket is None:
            return None
        how = _bucket_target(bucket, trails)
        if how is None:
            return None
        said = _bucket_detail(name or "", params or {})
        if said is None:
            return None
        resource, what, detail = bucket, f"S3 bucket '{bucket}', {how}", said
        certain = not how.startswith("possibly")
    elif source == LOGS:
        given = _log_group_name(params, row)
        if given is None:
            return None
        found = _log_group_target(given, account, region, trails)
        if found is None:
            return None
        resource = found[0]
        what = f"log group '{found[0]}', {found[1]}"
        certain = not found[1].startswith("possibly")
        detail = _log_group_detail(name or "", params)
    else:
        names = _alarm_names(params, row)
        resource = ", ".join(names[:MAX_LISTED]) if names else ""
        what = _alarm_resource(names)
    return Incident(
        cause=K.DESTINATION_ATTEMPT.id if attempt else kind.id,
        account=account,
        region=region,
        resource=resource,
        attempt=attempt,
        cite=_cite(row),
        summary=_summary(row, what, detail, attempt),
        certain=certain,
    )
