"""Trail configuration calls (CreateTrail, DeleteTrail, StartLogging, StopLogging,
UpdateTrail, PutEventSelectors) read from one record each, as :class:`TrailChange`.

Everything kept from a record is attacker-controlled text: strings are capped at
:data:`CAP` characters and only ever used as plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kmslog.blindspots import selectors
from kmslog.blindspots.model import Cite, Coverage, TrailChange
from kmslog.decode import schema as S
from kmslog.decode.jsontext import RecordTextError, loads_record

CAP = 256
SOURCE = "cloudtrail.amazonaws.com"
ACTIONS: Mapping[str, str] = {
    "CreateTrail": "create",
    "DeleteTrail": "delete",
    "StartLogging": "start",
    "StopLogging": "stop",
    "UpdateTrail": "update",
    "PutEventSelectors": "selectors",
}

# An access-denied message names the resource as an ARN (``…:trail/<name> because…``);
# TrailNotFoundException says ``Unknown trail: <name or ARN> for the user: …``.
_MESSAGE_ARN = re.compile(r":trail/([^\s\"',;]+)")
_MESSAGE_UNKNOWN = re.compile(r"[Uu]nknown trail:? ([^\s\"',;]+)")


def cap(value: Any) -> str | None:
    """``value`` as a string of at most :data:`CAP` characters; None unless a string."""
    return value[:CAP] if isinstance(value, str) else None


def trail_name(value: Any) -> str | None:
    """The trail's name from a name or a trail ARN
    (``arn:aws:cloudtrail:<region>:<account>:trail/<name>``), capped; None when
    ``value`` is not a non-empty string."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("arn:") and ":trail/" in value:
        value = value.split(":trail/", 1)[1]
    return value[:CAP] or None


def _name_from_message(message: Any) -> str | None:
    if not isinstance(message, str):
        return None
    message = message[: CAP * 8]
    for pattern in (_MESSAGE_ARN, _MESSAGE_UNKNOWN):
        found = pattern.search(message)
        if found:
            # A trail name ends in a letter or digit: a trailing dot ends the sentence.
            return trail_name(found.group(1).rstrip("."))
    return None


def _lower_keys(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {}
    return {k.lower(): v for k, v in value.items() if isinstance(k, str)}


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _first(key: str, *sources: Mapping[str, Any]) -> Any:
    for source in sources:
        if source.get(key) is not None:
            return source[key]
    return None


def _cite(row: Mapping[str, Any]) -> Cite:
    index = row.get(S.RECORD_INDEX)
    return Cite(
        event_id=cap(row.get(S.EVENT_ID)),
        event_time=row[S.EVENT_TIME],
        event_name=cap(row.get(S.EVENT_NAME)) or "",
        source=cap(row.get(S.SOURCE)),
        record_index=index if isinstance(index, int) else None,
        identity_arn=cap(row.get(S.IDENTITY_ARN)),
        source_ip=cap(row.get(S.SOURCE_IP)),
        error_code=cap(row.get(S.ERROR_CODE)),
    )


def _record(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, (str, bytes)):
        return {}
    try:
        record = loads_record(raw)
    except RecordTextError:
        return {}
    return record if isinstance(record, dict) else {}


_COVERAGE_TEXT = {
    Coverage.ALL: "all KMS management events",
    Coverage.READ_ONLY: "only read-only KMS management events",
    Coverage.WRITE_ONLY: "only write KMS management events",
    Coverage.NONE: "no KMS management events",
}


def trail_change(row: Mapping[str, Any]) -> TrailChange | None:
    """The trail change one record makes (or tried to make); None for any other record.

    ``row`` holds the event table's columns of the record (``event_time`` a datetime,
    ``event_source``, ``event_name``, ``error_code``, ``recipient_account_id``,
    ``aws_region``, ``event_id``, ``identity_arn``, ``source_ip``, ``source``,
    ``record_index``) and its text in ``raw``. A failed call is an ``attempt``: its
    fields say what it tried to set. The trail is the one the call names
    (``name``/``trailName``, or the response's ``trailARN``; for a failed call with no
    parameters, the trail its ``errorMessage`` names), folded to its name; ``""``
    when nothing names it.
    """
    if row.get(S.EVENT_SOURCE) != SOURCE:
        return None
    event_name = row.get(S.EVENT_NAME)
    action = ACTIONS.get(event_name) if isinstance(event_name, str) else None
    if action is None:
        return None
    record = _record(row.get(S.RAW))
    request = _lower_keys(record.get("requestParameters"))
    response = _lower_keys(record.get("responseElements"))
    attempt = row.get(S.ERROR_CODE) is not None
    name = (
        trail_name(_first("name", request))
        or trail_name(_first("trailname", request))
        or trail_name(_first("trailarn", response))
        or trail_name(_first("name", response))
        or (_name_from_message(record.get("errorMessage")) if attempt else None)
        or ""
    )
    fields: dict[str, Any] = {}
    details: list[str] = []
    if action in ("create", "update"):
        # What the call set: the response when it succeeded, else the request.
        sources = (request,) if attempt else (response, request)
        # UpdateTrail's response repeats the whole trail: only the request says whether
        # this call turned multi-Region off (a single-Region trail's update did not).
        setting = sources if action == "create" else (request,)
        multi = _flag(_first("ismultiregiontrail", *setting))
        if multi is None and action == "create":
            multi = False  # CreateTrail's default
        organization = _flag(_first("isorganizationtrail", *sources))
        if organization is None and action == "create":
            organization = False
        fields.update(
            multi_region=multi,
            organization=organization,
            bucket=cap(_first("s3bucketname", *sources)),
            log_group=cap(_first("cloudwatchlogsloggrouparn", *sources)),
        )
        if multi is not None:
            details.append("multi-Region on" if multi else "multi-Region off")
        if organization is not None:
            details.append("organization trail" if organization else "not an organization trail")
        if fields["bucket"]:
            details.append(f"bucket {fields['bucket']}")
        if fields["log_group"]:
            details.append(f"log group {fields['log_group']}")
    elif action == "selectors":
        selection = selectors.from_parameters(request)
        if selection is None and not attempt:
            selection = selectors.from_parameters(response)
        if selection is not None:
            fields.update(
                kms=selection.least,
                kms_uncertain=selection.uncertain,
                management=selection.management,
            )
            text = _COVERAGE_TEXT[selection.least]
            if selection.uncertain:
                text += f" (possibly up to {_COVERAGE_TEXT[selection.most]})"
            details.append("selectors record " + text)
    if action == "stop":
        fields["logging"] = False
        details.append("logging stopped")
    elif action == "start":
        fields["logging"] = True
        details.append("logging started")
    elif action == "delete":
        fields["logging"] = False
        details.append("trail deleted")
    elif action == "create":
        details.insert(0, "trail created")
    return TrailChange(
        time=row[S.EVENT_TIME],
        account=cap(row.get(S.RECIPIENT_ACCOUNT_ID)) or "",
        region=cap(row.get(S.AWS_REGION)) or "",
        trail=name,
        action=action,
        attempt=attempt,
        detail=", ".join(details),
        cite=_cite(row),
        **fields,
    )
