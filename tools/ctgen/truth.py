"""Ground truth derived from generated records with the documented KMS state machine.

This is deliberately independent of kmslog: it is what kmslog's answers are tested against.
"""

from __future__ import annotations

from collections import defaultdict

from tools.ctgen import clock
from tools.ctgen.world import Key, Record, Trail

UNKNOWN = "Unknown"


def _key_arns(rec: Record) -> list[str]:
    return [r["ARN"] for r in rec.get("resources") or [] if ":key/" in r.get("ARN", "")]


def state_after(rec: Record) -> str | None:
    """The key state a successful record moves its key to, or None (cloudtrail-kms-events §8)."""
    if rec.get("eventSource") != "kms.amazonaws.com" or rec.get("errorCode"):
        return None
    name = rec["eventName"]
    if name == "CreateKey":
        return rec["responseElements"]["keyMetadata"]["keyState"]
    return {
        "EnableKey": "Enabled",
        "DisableKey": "Disabled",
        "ScheduleKeyDeletion": "PendingDeletion",
        "CancelKeyDeletion": "Disabled",
        "ImportKeyMaterial": "Enabled",
        "DeleteImportedKeyMaterial": "PendingImport",
        "DeleteExpiredKeyMaterial": "PendingImport",
        "DeleteKey": "Deleted",
    }.get(name)


def key_histories(records: list[Record], keys: list[Key], log_start: int) -> dict[str, list[dict]]:
    """Per key label: [{state, from, event_name, event_id}], starting with Unknown at log start
    unless the key's CreateKey is in the logs."""
    by_arn = {k.arn: k for k in keys}
    changes: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    for rec in records:
        st = state_after(rec)
        if st is None:
            continue
        for arn in _key_arns(rec):
            if arn in by_arn:
                changes[arn].append((rec["eventTime"], rec["eventID"], rec["eventName"], st))
    out: dict[str, list[dict]] = {}
    for arn, key in by_arn.items():
        seq = sorted(changes.get(arn, []))
        hist: list[dict] = []
        if not seq or seq[0][2] != "CreateKey":
            hist.append(
                {
                    "state": UNKNOWN,
                    "from": clock.iso(log_start),
                    "event_name": None,
                    "event_id": None,
                }
            )
        for t, eid, name, st in seq:
            hist.append({"state": st, "from": t, "event_name": name, "event_id": eid})
        out[key.name] = hist
    return out


def alias_histories(records: list[Record]) -> dict[str, list[dict]]:
    """alias ARN → [{target key ARN or None, from, event_name, event_id}] in time order."""
    hist: dict[str, list[dict]] = defaultdict(list)
    alias_recs = sorted(
        (
            r
            for r in records
            if r.get("eventSource") == "kms.amazonaws.com"
            and not r.get("errorCode")
            and r["eventName"] in ("CreateAlias", "UpdateAlias", "DeleteAlias")
        ),
        key=lambda r: (r["eventTime"], r["eventID"]),
    )
    for r in alias_recs:
        arns = [x["ARN"] for x in r["resources"]]
        alias_arn = next(a for a in arns if ":alias/" in a)
        key_arn = next(a for a in arns if ":key/" in a)
        hist[alias_arn].append(
            {
                "target": None if r["eventName"] == "DeleteAlias" else key_arn,
                "from": r["eventTime"],
                "event_name": r["eventName"],
                "event_id": r["eventID"],
            }
        )
    return dict(hist)


def is_pending_deletion_error(rec: Record) -> bool:
    """``{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}``"""
    msg = rec.get("errorMessage")
    src = rec.get("eventSource")
    return (
        isinstance(src, str)
        and src.startswith("kms")
        and isinstance(msg, str)
        and msg.endswith(" is pending deletion.")
    )


def is_cis_4_7(rec: Record) -> bool:
    """CIS 4.7: ``{($.eventSource = kms.amazonaws.com) &&
    (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}``"""
    return rec.get("eventSource") == "kms.amazonaws.com" and rec.get("eventName") in (
        "DisableKey",
        "ScheduleKeyDeletion",
    )


def metric_points(
    records: list[Record], match: object, period: int = 300
) -> dict[str, dict[str, int]]:
    """account → {period start ISO: count of matching distinct events} (Sum statistic)."""
    seen: set[tuple[str, str]] = set()
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in records:
        ident = (r["recipientAccountId"], r["eventID"])
        if ident in seen or not match(r):  # type: ignore[operator]
            continue
        seen.add(ident)
        t = clock.epoch(r["eventTime"])
        out[r["recipientAccountId"]][clock.iso(t - t % period)] += 1
    return {a: dict(sorted(v.items())) for a, v in sorted(out.items())}


def filter_windows(records: list[Record]) -> dict[str, dict[str, list[dict]]]:
    """account → filter name → [{from, to, pattern, event_id}] from successful
    PutMetricFilter (create or replace) and DeleteMetricFilter calls; ``to`` None = still there."""
    calls = sorted(
        (
            r
            for r in records
            if r.get("eventSource") == "logs.amazonaws.com"
            and not r.get("errorCode")
            and r["eventName"] in ("PutMetricFilter", "DeleteMetricFilter")
        ),
        key=lambda r: (r["eventTime"], r["eventID"]),
    )
    out: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in calls:
        name = r["requestParameters"]["filterName"]
        wins = out[r["recipientAccountId"]][name]
        if wins and wins[-1]["to"] is None:
            wins[-1]["to"] = r["eventTime"]
        if r["eventName"] == "PutMetricFilter":
            wins.append(
                {
                    "from": r["eventTime"],
                    "to": None,
                    "pattern": r["requestParameters"]["filterPattern"],
                    "event_id": r["eventID"],
                }
            )
    return {a: dict(v) for a, v in sorted(out.items())}


def active_matches(
    records: list[Record], match: object, windows: dict[str, list[dict]]
) -> list[Record]:
    """Distinct matching records whose eventTime falls while the account's filter existed."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in sorted(records, key=lambda x: (x["eventTime"], x["eventID"])):
        ident = (r["recipientAccountId"], r["eventID"])
        if ident in seen or not match(r):  # type: ignore[operator]
            continue
        seen.add(ident)
        t = r["eventTime"]
        for w in windows.get(r["recipientAccountId"], []):
            if w["from"] <= t and (w["to"] is None or t < w["to"]):
                out.append(r)
                break
    return out


def alarm_timelines(records: list[Record]) -> dict[str, dict[str, list[dict]]]:
    """account → alarm name → [{event_name, time, event_id}] of successful PutMetricAlarm,
    DisableAlarmActions, EnableAlarmActions and DeleteAlarms calls."""
    names = ("PutMetricAlarm", "DisableAlarmActions", "EnableAlarmActions", "DeleteAlarms")
    out: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in sorted(records, key=lambda x: (x["eventTime"], x["eventID"])):
        if r.get("eventSource") != "monitoring.amazonaws.com" or r.get("errorCode"):
            continue
        if r["eventName"] not in names:
            continue
        req = r["requestParameters"]
        alarms = [req["alarmName"]] if r["eventName"] == "PutMetricAlarm" else req["alarmNames"]
        for a in alarms:
            out[r["recipientAccountId"]][a].append(
                {"event_name": r["eventName"], "time": r["eventTime"], "event_id": r["eventID"]}
            )
    return {a: dict(sorted(v.items())) for a, v in sorted(out.items())}


DATA_PLANE_NAMES = frozenset(
    {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncrypt"}
)


def principal_of(rec: Record) -> str:
    """Who made a call: the role (session issuer) for assumed roles, the ARN for users and
    root, ``<account>:<principalId>`` for a foreign account, the service for AWSService."""
    ident = rec.get("userIdentity") or {}
    issuer = (ident.get("sessionContext") or {}).get("sessionIssuer") or {}
    if issuer.get("arn"):
        return issuer["arn"]
    if ident.get("arn"):
        return ident["arn"]
    if ident.get("type") == "AWSAccount":
        return f"{ident.get('accountId')}:{ident.get('principalId')}"
    return ident.get("invokedBy") or ident.get("accountId") or "unknown"


def key_usage(records: list[Record], keys: list[Key]) -> dict[str, dict]:
    """Per key label: data-plane calls naming the key in resources[] (distinct eventIDs),
    by principal: {calls, errors, first, last}."""
    by_arn = {k.arn: k.name for k in keys}
    seen: set[str] = set()
    out: dict[str, dict[str, dict]] = defaultdict(dict)
    for r in sorted(records, key=lambda x: (x["eventTime"], x["eventID"])):
        if r["eventID"] in seen or r.get("eventName") not in DATA_PLANE_NAMES:
            continue
        seen.add(r["eventID"])
        for res in r.get("resources") or []:
            name = by_arn.get(res.get("ARN", ""))
            if name is None:
                continue
            who = principal_of(r)
            u = out[name].setdefault(who, {"calls": 0, "errors": 0, "first": r["eventTime"]})
            u["calls"] += 1
            u["errors"] += 1 if r.get("errorCode") else 0
            u["last"] = r["eventTime"]
    return {k.name: dict(sorted(out.get(k.name, {}).items())) for k in keys}


CLOUDTRAIL = "cloudtrail.amazonaws.com"
KMS_SOURCE = "kms.amazonaws.com"


def excluded_sources(selectors: list[dict]) -> frozenset[str]:
    """Management event sources that no basic selector logs: a management event reaches the
    trail when any selector including management events does not exclude its source. (A
    trail whose selectors include no management events at all is not modelled.)"""
    sets = [
        frozenset(s.get("excludeManagementEventSources") or ())
        for s in selectors
        if s.get("includeManagementEvents", True)
    ]
    return frozenset.intersection(*sets) if sets else frozenset()


def _names_trail(rec: Record, trail: Trail) -> bool:
    if rec.get("eventSource") != CLOUDTRAIL or rec.get("recipientAccountId") != trail.account_id:
        return False
    req = rec.get("requestParameters") or {}
    named = req.get("trailName") or req.get("name")
    if named is not None:
        return named in (trail.name, trail.arn)
    # A denied call logs null requestParameters: only the message names the trail.
    return f" on resource: {trail.arn} " in (rec.get("errorMessage") or "")


def trail_calls(records: list[Record], trail: Trail) -> list[dict]:
    """CloudTrail API calls on ``trail``, successful or not, in time order:
    [{event_name, time, event_id, error_code, principal}]."""
    out = []
    for r in sorted(records, key=lambda x: (x["eventTime"], x["eventID"])):
        if _names_trail(r, trail):
            out.append(
                {
                    "event_name": r["eventName"],
                    "time": r["eventTime"],
                    "event_id": r["eventID"],
                    "error_code": r.get("errorCode"),
                    "principal": (r.get("userIdentity") or {}).get("arn"),
                }
            )
    return out


def logging_windows(records: list[Record], trails: list[Trail]) -> list[dict]:
    """When a trail's event selectors kept KMS management events out of its logs, from its
    successful PutEventSelectors calls (the selectors as applied, ``responseElements``):
    [{account, trail, trail_arn, home_region, multi_region, bucket, cause, start, end,
    opened_by, closed_by, principal}]; ``end`` None = still excluded when the logs end."""
    out: list[dict] = []
    for trail in trails:
        open_: dict | None = None
        for r in sorted(records, key=lambda x: (x["eventTime"], x["eventID"])):
            if r.get("eventName") != "PutEventSelectors" or r.get("errorCode"):
                continue
            if not _names_trail(r, trail):
                continue
            kms_out = KMS_SOURCE in excluded_sources(r["responseElements"]["eventSelectors"])
            if kms_out and open_ is None:
                open_ = {
                    "account": trail.account_id,
                    "trail": trail.name,
                    "trail_arn": trail.arn,
                    "home_region": trail.home_region,
                    "multi_region": trail.multi_region,
                    "bucket": trail.bucket,
                    "cause": "kms-excluded",
                    "start": r["eventTime"],
                    "end": None,
                    "opened_by": r["eventID"],
                    "closed_by": None,
                    "principal": (r.get("userIdentity") or {}).get("arn"),
                }
                out.append(open_)
            elif not kms_out and open_ is not None:
                open_["end"], open_["closed_by"] = r["eventTime"], r["eventID"]
                open_ = None
    return out


def unlogged(rec: Record, windows: list[dict]) -> bool:
    """Whether a trail in a window (start and end instants included) leaves ``rec`` out:
    a KMS record of the trail's account, in any Region for a multi-Region trail."""
    if rec.get("eventSource") != KMS_SOURCE:
        return False
    t = rec["eventTime"]
    for w in windows:
        if rec.get("recipientAccountId") != w["account"]:
            continue
        if not w["multi_region"] and rec.get("awsRegion") != w["home_region"]:
            continue
        if w["start"] <= t and (w["end"] is None or t <= w["end"]):
            return True
    return False


def dropped_by_region(
    records: list[Record], window: dict, regions: tuple[str, ...] = ()
) -> dict[str, int]:
    """Region → how many of ``records`` (distinct eventIDs) ``window`` left out of the logs;
    ``regions`` are listed even when nothing was left out there."""
    seen: set[str] = set()
    out: dict[str, int] = defaultdict(int, dict.fromkeys(regions, 0))
    for r in records:
        if r["eventID"] in seen or not unlogged(r, [window]):
            continue
        seen.add(r["eventID"])
        out[r["awsRegion"]] += 1
    return dict(sorted(out.items()))
