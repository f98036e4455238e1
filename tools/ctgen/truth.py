"""Ground truth derived from generated records with the documented KMS state machine.

This is deliberately independent of kmslog: it is what kmslog's answers are tested against.
"""

from __future__ import annotations

from collections import defaultdict

from tools.ctgen import clock
from tools.ctgen.world import Key, Record

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
