"""One parsed CloudTrail record (a dict) → the flattened values of the schema.

This is the reference flattening: the fast decoder must produce the same cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from kmslog.decode import schema as S

_KEY_REQUEST_FIELDS = ("keyId", "targetKeyId", "sourceKeyId", "destinationKeyId")


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


NO_EVENT_TIME = "record has no usable eventTime"
OUT_OF_RANGE = f"{NO_EVENT_TIME}: outside the supported range (years 1 to 9999 in UTC)"


def _event_time(value: Any) -> datetime | str:
    """The UTC instant of ``value``, or the reason it has none."""
    if not isinstance(value, str) or len(value) < 19:
        return NO_EVENT_TIME
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return NO_EVENT_TIME
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        # An offset can carry a date at the calendar's edge past it
        # (0001-01-01T00:00:00+01:00): there is no such datetime to keep.
        return parsed.astimezone(UTC)
    except OverflowError:
        return OUT_OF_RANGE


def parse_event_time(value: Any) -> datetime | None:
    """CloudTrail ``eventTime`` (``YYYY-MM-DDTHH:MM:SSZ``, sometimes with fractions
    or an offset) → aware UTC datetime; None when unusable (see
    :func:`event_time_problem` for why). Never raises."""
    when = _event_time(value)
    return when if isinstance(when, datetime) else None


def event_time_problem(value: Any) -> str | None:
    """Why ``value`` is no usable ``eventTime`` (the rejection reason), or None
    when it is one."""
    when = _event_time(value)
    return None if isinstance(when, datetime) else when


def key_ids(record: Mapping[str, Any]) -> list[str]:
    """Every KMS key identifier the record names, in priority order, de-duplicated."""
    found: list[str] = []
    resources = record.get("resources")
    if isinstance(resources, list):
        for res in resources:
            arn = _str(_obj(res).get("ARN"))
            if arn and ":kms:" in arn:
                found.append(arn)
    request = _obj(record.get("requestParameters"))
    for field in _KEY_REQUEST_FIELDS:
        value = _str(request.get(field))
        if value:
            found.append(value)
    response = _obj(record.get("responseElements"))
    for value in (
        _str(response.get("keyId")),
        _str(_obj(response.get("keyMetadata")).get("arn")),
        _str(_obj(response.get("replicaKeyMetadata")).get("arn")),
    ):
        if value:
            found.append(value)
    service = _obj(record.get("serviceEventDetails"))
    value = _str(service.get("keyId"))
    if value:
        found.append(value)
    return list(dict.fromkeys(found))


_TYPED = tuple(
    (path, S.SCHEMA.field(column).type == pa.bool_()) for path, column in S.SELECTOR_COLUMNS.items()
)


def typed_paths(columns: Iterable[str] | None) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """(path, is-bool) of each string or boolean column among ``columns`` (None: all)."""
    if columns is None:
        return _TYPED
    wanted = frozenset(columns)
    return tuple(t for t in _TYPED if S.SELECTOR_COLUMNS[t[0]] in wanted)


def nulls_absent(record: Mapping[str, Any], paths: Iterable[tuple[tuple[str, ...], bool]]) -> bool:
    """The ``nulls_absent`` cell: no path holds a null or a value of the wrong type
    where an object on the way is there. An absent or null object on the way makes
    the field absent; any other value there is no object to read it from, so the
    cell's null is not absence."""
    for path, is_bool in paths:
        node: Any = record
        for name in path[:-1]:
            node = node.get(name)
            if node is None:
                break
            if not isinstance(node, Mapping):
                return False
        else:
            if path[-1] not in node:
                continue
            value = node[path[-1]]
            if not (isinstance(value, bool) if is_bool else isinstance(value, str)):
                return False
    return True


def flatten(record: Mapping[str, Any], time_field: str = "eventTime") -> dict[str, Any] | None:
    """Schema cells for one record, without the provenance columns (``time_field``:
    ``time`` for an EventBridge event that is its own record).

    Returns None when the record has no usable time there (the caller rejects it).
    """
    when = parse_event_time(record.get(time_field))
    if when is None:
        return None
    identity = _obj(record.get("userIdentity"))
    issuer = _obj(_obj(identity.get("sessionContext")).get("sessionIssuer"))
    return {
        S.EVENT_TIME: when,
        S.EVENT_VERSION: _str(record.get("eventVersion")),
        S.EVENT_SOURCE: _str(record.get("eventSource")),
        S.EVENT_NAME: _str(record.get("eventName")),
        S.EVENT_TYPE: _str(record.get("eventType")),
        S.EVENT_CATEGORY: _str(record.get("eventCategory")),
        S.AWS_REGION: _str(record.get("awsRegion")),
        S.SOURCE_IP: _str(record.get("sourceIPAddress")),
        S.USER_AGENT: _str(record.get("userAgent")),
        S.ERROR_CODE: _str(record.get("errorCode")),
        S.ERROR_MESSAGE: _str(record.get("errorMessage")),
        S.READ_ONLY: _bool(record.get("readOnly")),
        S.MANAGEMENT_EVENT: _bool(record.get("managementEvent")),
        S.RECIPIENT_ACCOUNT_ID: _str(record.get("recipientAccountId")),
        S.EVENT_ID: _str(record.get("eventID")),
        S.REQUEST_ID: _str(record.get("requestID")),
        S.SHARED_EVENT_ID: _str(record.get("sharedEventID")),
        S.VPC_ENDPOINT_ID: _str(record.get("vpcEndpointId")),
        S.IDENTITY_TYPE: _str(identity.get("type")),
        S.IDENTITY_ARN: _str(identity.get("arn")),
        S.IDENTITY_ACCOUNT_ID: _str(identity.get("accountId")),
        S.IDENTITY_PRINCIPAL_ID: _str(identity.get("principalId")),
        S.IDENTITY_ACCESS_KEY_ID: _str(identity.get("accessKeyId")),
        S.IDENTITY_SESSION_ISSUER_ARN: _str(issuer.get("arn")),
        S.IDENTITY_INVOKED_BY: _str(identity.get("invokedBy")),
        S.KEY_IDS: key_ids(record),
        S.NULLS_ABSENT: nulls_absent(record, _TYPED),
    }
