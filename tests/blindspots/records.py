"""CloudTrail records of trail configuration calls, in the shapes CloudTrail logs them
(modelled on traildiscover's and stratus-red-team's real records: camelCase
requestParameters, trailARN in responseElements, access-denied messages naming the
trail's ARN), and the event-table rows the analysis reads from them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kmslog.blindspots.model import TrailChange
from kmslog.blindspots.trails import trail_change
from kmslog.decode.memory import frame_from_records

A, B = "111122223333", "444455556666"
HOME = "us-east-1"
USER = "arn:aws:iam::111122223333:user/mallory"
_ids = itertools.count()

ALL_MANAGEMENT = [
    {
        "dataResources": [],
        "excludeManagementEventSources": [],
        "includeManagementEvents": True,
        "readWriteType": "All",
    }
]


def at(hour: int, minute: int = 0, day: int = 20) -> datetime:
    return datetime(2026, 9, day, hour, minute, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def trail_arn(name: str, account: str = A, region: str = HOME) -> str:
    return f"arn:aws:cloudtrail:{region}:{account}:trail/{name}"


def call(
    name: str,
    when: datetime,
    request: dict[str, Any] | None,
    response: dict[str, Any] | None = None,
    *,
    account: str = A,
    region: str = HOME,
    error: tuple[str, str] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.10",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE",
            "arn": USER,
            "accountId": account,
            "userName": "mallory",
        },
        "eventTime": stamp(when),
        "eventSource": "cloudtrail.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.17.32",
        "requestParameters": request,
        "responseElements": response,
        "requestID": f"req-{next(_ids):06d}",
        "eventID": event_id or f"ev-{next(_ids):06d}",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {"clientProvidedHostHeader": f"cloudtrail.{region}.amazonaws.com"},
    }
    if error is not None:
        rec["errorCode"], rec["errorMessage"] = error
    return rec


def denied(action: str, trail: str, account: str = A, region: str = HOME) -> tuple[str, str]:
    return (
        "AccessDenied",
        f"User: {USER} is not authorized to perform: cloudtrail:{action} on resource: "
        f"{trail_arn(trail, account, region)} because no identity-based policy allows "
        f"the cloudtrail:{action} action",
    )


def stop(when: datetime, trail: str = "org-trail", **kw: Any) -> dict[str, Any]:
    return call("StopLogging", when, {"name": trail}, **kw)


def start(when: datetime, trail: str = "org-trail", **kw: Any) -> dict[str, Any]:
    return call("StartLogging", when, {"name": trail}, **kw)


def delete(when: datetime, trail: str = "org-trail", **kw: Any) -> dict[str, Any]:
    return call("DeleteTrail", when, {"name": trail}, **kw)


def create(
    when: datetime,
    trail: str = "org-trail",
    *,
    multi: bool = True,
    bucket: str = "audit-logs",
    account: str = A,
    region: str = HOME,
    **kw: Any,
) -> dict[str, Any]:
    request = {"name": trail, "s3BucketName": bucket, "isMultiRegionTrail": multi}
    response = {
        "name": trail,
        "s3BucketName": bucket,
        "includeGlobalServiceEvents": True,
        "isMultiRegionTrail": multi,
        "trailARN": trail_arn(trail, account, region),
        "logFileValidationEnabled": True,
        "isOrganizationTrail": False,
    }
    return call("CreateTrail", when, request, response, account=account, region=region, **kw)


def update(when: datetime, trail: str = "org-trail", **params: Any) -> dict[str, Any]:
    kw = {k: params.pop(k) for k in ("account", "region", "error") if k in params}
    request = {"name": trail, **params}
    response = None
    if "error" not in kw:
        account, region = kw.get("account", A), kw.get("region", HOME)
        response = {"name": trail, "trailARN": trail_arn(trail, account, region), **params}
    return call("UpdateTrail", when, request, response, **kw)


def basic_selectors(
    when: datetime, selectors: list[dict[str, Any]], trail: str = "org-trail", **kw: Any
) -> dict[str, Any]:
    account, region = kw.get("account", A), kw.get("region", HOME)
    request = {"eventSelectors": selectors, "trailName": trail}
    response = None
    if "error" not in kw:
        response = {"eventSelectors": selectors, "trailARN": trail_arn(trail, account, region)}
    return call("PutEventSelectors", when, request, response, **kw)


def advanced_selectors(
    when: datetime, selectors: list[dict[str, Any]], trail: str = "org-trail", **kw: Any
) -> dict[str, Any]:
    account, region = kw.get("account", A), kw.get("region", HOME)
    request = {"advancedEventSelectors": selectors, "trailName": trail}
    response = None
    if "error" not in kw:
        response = {
            "advancedEventSelectors": selectors,
            "trailARN": trail_arn(trail, account, region),
        }
    return call("PutEventSelectors", when, request, response, **kw)


def field(name: str, **ops: list[str]) -> dict[str, Any]:
    """An advanced field selector as CloudTrail logs it (camelCase operators)."""
    return {"field": name, **ops}


def management(*more: dict[str, Any], name: str = "Management events") -> dict[str, Any]:
    return {"name": name, "fieldSelectors": [field("eventCategory", equals=["Management"]), *more]}


def rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The event-table rows of ``records``, decoded the way a scan decodes them."""
    listed = list(records)
    return frame_from_records(listed, source="trail-calls.json").to_dicts() if listed else []


def changes(records: Iterable[dict[str, Any]]) -> list[TrailChange]:
    return [c for c in map(trail_change, rows(records)) if c is not None]


def external() -> Path | None:
    """The shared corpus of real records (``../shared/external`` next to the project,
    or next to the directory holding it when the project is a worktree); None when
    absent."""
    root = Path(__file__).resolve().parents[2]
    for base in (root.parent, root.parent.parent):
        found = base / "shared" / "external"
        if found.is_dir():
            return found
    return None
