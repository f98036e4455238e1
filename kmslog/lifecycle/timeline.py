"""One control-plane record → a readable timeline line, per API.

Each describer reads the parsed record (it is rare enough to afford it) and says
what the call did in words: grantee and operations of a grant, the policy diff,
the deletion date, the alias move. Dates inside KMS records are Java-style
strings; one that cannot be read is shown verbatim and reported as a warning.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kmslog.decode.flatten import parse_event_time
from kmslog.kms.dates import EARLIEST, LATEST, parse_kms_date, readable, shifted
from kmslog.lifecycle.fields import field_text as _s
from kmslog.lifecycle.policy_diff import PolicyDiff, diff_policies
from kmslog.lifecycle.state_machine import StateInput, state_from_error

CATEGORIES: dict[str, str] = {
    "CreateKey": "state",
    "EnableKey": "state",
    "DisableKey": "state",
    "ScheduleKeyDeletion": "state",
    "CancelKeyDeletion": "state",
    "DeleteKey": "state",
    "PutKeyPolicy": "policy",
    "CreateGrant": "grant",
    "RetireGrant": "grant",
    "RevokeGrant": "grant",
    "CreateAlias": "alias",
    "UpdateAlias": "alias",
    "DeleteAlias": "alias",
    "EnableKeyRotation": "rotation",
    "DisableKeyRotation": "rotation",
    "RotateKey": "rotation",
    "RotateKeyOnDemand": "rotation",
    "TagResource": "tag",
    "UntagResource": "tag",
    "UpdateKeyDescription": "description",
    "GetParametersForImport": "import",
    "ImportKeyMaterial": "import",
    "DeleteImportedKeyMaterial": "import",
    "DeleteExpiredKeyMaterial": "import",
    "ReplicateKey": "replication",
    "UpdatePrimaryRegion": "replication",
}

CONTROL_EVENTS = frozenset(CATEGORIES)

DEFAULT_PENDING_WINDOW_DAYS = 30


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def pending_window(value: Any) -> int | None:
    """``pendingWindowInDays`` as a whole number of days; None when it is not one
    (wrong JSON type, fraction, bool)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def deletion_after(event_time: datetime, days: int) -> datetime | None:
    """When a deletion scheduled at ``event_time`` for ``days`` falls due; None when
    that is outside the calendar (a window of 10^12 days, a call at 9999-12-31)."""
    if abs(days) > _CALENDAR_DAYS:
        return None  # beyond what timedelta holds, and beyond any representable date
    return shifted(event_time, timedelta(days=days))


_CALENDAR_DAYS = (LATEST - EARLIEST).days


@dataclass(frozen=True)
class DateValue:
    """A date read from a KMS record: parsed when possible, always with its raw text."""

    raw: str
    value: datetime | None

    def show(self) -> str:
        return readable(self.value) if self.value else repr(self.raw)


def read_date(raw: Any) -> DateValue | None:
    if raw is None:
        return None
    return DateValue(_s(raw), parse_kms_date(raw))


@dataclass
class Described:
    detail: str
    warnings: list[str] = field(default_factory=list)
    deletion_date: DateValue | None = None
    valid_to: DateValue | None = None
    policy_diff: PolicyDiff | None = None


@dataclass
class Grant:
    """A grant on the key, from its CreateGrant to its retirement or revocation."""

    grant_id: str
    grantee: str
    operations: tuple[str, ...]
    retiring_principal: str | None
    name: str | None
    created: datetime | None
    created_event_id: str | None
    ended: datetime | None = None
    ended_by: str | None = None  # "retired" or "revoked"
    ended_event_id: str | None = None


@dataclass
class KeyMemory:
    """What earlier records of the key told: the last policy (so the next PutKeyPolicy
    can be diffed) and the grants (so a retirement can say whose grant ended)."""

    text: str | None = None
    grants: dict[str, Grant] = field(default_factory=dict)


def _date_detail(label: str, date: DateValue | None, out: Described) -> str:
    if date is None:
        return ""
    if date.value is None:
        out.warnings.append(f"unreadable {label} kept verbatim: {date.raw!r}")
    return f"{label} {date.show()}"


def _create_key(rec: Mapping[str, Any], out: Described, policy: KeyMemory) -> str:
    req, meta = (
        _obj(rec.get("requestParameters")),
        _obj(_obj(rec.get("responseElements")).get("keyMetadata")),
    )
    origin = meta.get("origin") or req.get("origin") or "AWS_KMS"
    spec = meta.get("keySpec") or req.get("keySpec") or req.get("customerMasterKeySpec")
    usage = meta.get("keyUsage") or req.get("keyUsage")
    bits = [f"origin {_s(origin)}", f"{_s(spec)} {_s(usage)}".strip()]
    if meta.get("multiRegion") or req.get("multiRegion"):
        bits.append("multi-Region")
    if isinstance(req.get("policy"), str):
        policy.text = req["policy"]
        bits.append("with policy")
    if req.get("description"):
        bits.append(f"description {_s(req['description'])!r}")
    return "created: " + ", ".join(b for b in bits if b)


def _schedule(rec: Mapping[str, Any], out: Described, policy: KeyMemory) -> str:
    req, resp = _obj(rec.get("requestParameters")), _obj(rec.get("responseElements"))
    window = _window_field(req, resp)
    out.deletion_date = read_date(resp.get("deletionDate"))
    if window is None:
        parts = [f"window {DEFAULT_PENDING_WINDOW_DAYS} days (default)"]
    elif pending_window(window) is None:
        parts = [f"window {_s(window)!r} (not a number of days)"]
    else:
        parts = [f"window {window} days"]
    days = DEFAULT_PENDING_WINDOW_DAYS if window is None else pending_window(window)
    if out.deletion_date is None and days is not None:
        when = parse_event_time(rec.get("eventTime"))
        if when is not None and deletion_after(when, days) is None:
            out.warnings.append(
                f"pendingWindowInDays {days} puts the deletion date outside the calendar: "
                "no deletion date"
            )
    if out.deletion_date is not None:
        parts.append(_date_detail("deletion date", out.deletion_date, out))
    elif resp.get("keyState") == "PendingReplicaDeletion":
        parts.append("waits for replicas to be deleted")
    return "deletion scheduled: " + ", ".join(parts)


def _window_field(req: Mapping[str, Any], resp: Mapping[str, Any]) -> Any:
    window = req.get("pendingWindowInDays")
    return resp.get("pendingWindowInDays") if window is None else window


def _put_policy(rec: Mapping[str, Any], out: Described, policy: KeyMemory) -> str:
    req = _obj(rec.get("requestParameters"))
    new = req.get("policy") if isinstance(req.get("policy"), str) else None
    diff = diff_policies(policy.text, new)
    out.policy_diff = diff
    if new is not None and not diff.unreadable:
        policy.text = new
    extra = " (lockout safety check bypassed)" if req.get("bypassPolicyLockoutSafetyCheck") else ""
    return f"policy {_s(req.get('policyName') or 'default')}: {diff.summary()}{extra}"


def _create_grant(rec: Mapping[str, Any], out: Described, memory: KeyMemory) -> str:
    req, resp = _obj(rec.get("requestParameters")), _obj(rec.get("responseElements"))
    ops = req.get("operations")
    ops_text = ", ".join(_s(o) for o in ops) if isinstance(ops, list) else _s(ops)
    parts = [f"grantee {_s(req.get('granteePrincipal'))}", f"operations [{ops_text}]"]
    if req.get("retiringPrincipal"):
        parts.append(f"retiring principal {_s(req.get('retiringPrincipal'))}")
    constraints = _obj(req.get("constraints"))
    for kind, value in constraints.items():
        if isinstance(value, Mapping):
            parts.append(f"{kind} {{{', '.join(sorted(str(k) for k in value))}}}")
    if req.get("name"):
        parts.append(f"name {_s(req.get('name'))}")
    grant_id = resp.get("grantId")
    if isinstance(grant_id, str) and grant_id:
        parts.append(f"grant {grant_id[:16]}…")
        memory.grants[grant_id] = Grant(
            grant_id=grant_id,
            grantee=_s(req.get("granteePrincipal")),
            operations=tuple(_s(o) for o in ops) if isinstance(ops, list) else (),
            retiring_principal=_s(req.get("retiringPrincipal")) or None,
            name=_s(req.get("name")) or None,
            created=parse_event_time(rec.get("eventTime")),
            created_event_id=_s(rec.get("eventID")) or None,
        )
    return "grant created: " + ", ".join(parts)


def _grant_end(verb: str) -> Callable[[Mapping[str, Any], Described, KeyMemory], str]:
    def describe(rec: Mapping[str, Any], out: Described, memory: KeyMemory) -> str:
        grant = _obj(rec.get("requestParameters")).get("grantId") or _obj(
            rec.get("additionalEventData")
        ).get("grantId")
        known = memory.grants.get(grant) if isinstance(grant, str) else None
        if known is None:
            return f"grant {verb}: {_s(grant) or 'grant id not logged'}"
        known.ended = parse_event_time(rec.get("eventTime"))
        known.ended_by = verb
        known.ended_event_id = _s(rec.get("eventID")) or None
        return (
            f"grant {verb}: {known.grant_id[:16]}… of grantee {known.grantee} "
            f"[{', '.join(known.operations)}]"
        )

    return describe


def _alias(rec: Mapping[str, Any], out: Described, policy: KeyMemory) -> str:
    req = _obj(rec.get("requestParameters"))
    name = _s(req.get("aliasName"))
    verb = {"CreateAlias": "created", "UpdateAlias": "moved to", "DeleteAlias": "deleted"}.get(
        _s(rec.get("eventName")), "changed"
    )
    target = req.get("targetKeyId")
    return f"alias {name} {verb}" + (f" → {_s(target)}" if target else "")


def _rotation(rec: Mapping[str, Any], out: Described, policy: KeyMemory) -> str:
    name = rec.get("eventName")
    req, details = _obj(rec.get("requestParameters")), _obj(rec.get("serviceEventDetails"))
    if name == "EnableKeyRotation":
        period = req.get("rotationPeriodInDays")
        return "automatic rotation enabled" + (f", every {_s(period)} days" if period else "")
    if name == "DisableKeyRotation":
        return "automatic rotation disabled"
    if name == "RotateKeyOnDemand":
        return "on-demand rotation requested"
    kind = details.get("rotationType")
    return "key material rotated" + (f" ({_s(kind).lower()})" if kind else "")


def _tags(rec: Mapping[str, Any], out: Described, policy: KeyMemory) -> str:
    req = _obj(rec.get("requestParameters"))
    if rec.get("eventName") == "TagResource":
        tags = req.get("tags")
        pairs = [
            f"{_s(_obj(t).get('tagKey'))}={_s(_obj(t).get('tagValue'))}"
            for t in (tags if isinstance(tags, list) else [])
        ]
        return "tags set: " + ", ".join(pairs)
    keys = req.get("tagKeys")
    return "tags removed: " + ", ".join(_s(k) for k in (keys if isinstance(keys, list) else []))


def _description(rec: Mapping[str, Any], out: Described, policy: KeyMemory) -> str:
    return f"description set to {_s(_obj(rec.get('requestParameters')).get('description'))!r}"


def _import(rec: Mapping[str, Any], out: Described, policy: KeyMemory) -> str:
    name = rec.get("eventName")
    req = _obj(rec.get("requestParameters"))
    if name == "GetParametersForImport":
        return f"import parameters fetched ({_s(req.get('wrappingAlgorithm'))})"
    if name == "ImportKeyMaterial":
        model = _s(req.get("expirationModel")) or "expiration model not logged"
        out.valid_to = read_date(req.get("validTo"))
        if out.valid_to is not None:
            return f"key material imported, {model}, " + _date_detail("valid to", out.valid_to, out)
        return f"key material imported, {model}"
    if name == "DeleteExpiredKeyMaterial":
        return "imported key material expired and was deleted"
    return "imported key material deleted"


def _replication(rec: Mapping[str, Any], out: Described, policy: KeyMemory) -> str:
    req, resp = _obj(rec.get("requestParameters")), _obj(rec.get("responseElements"))
    if rec.get("eventName") == "ReplicateKey":
        replica = _obj(resp.get("replicaKeyMetadata")).get("arn")
        return f"replicated to {_s(req.get('replicaRegion'))}" + (
            f" as {_s(replica)}" if replica else ""
        )
    return f"primary Region changed to {_s(req.get('primaryRegion'))}"


def _simple(text: str) -> Callable[[Mapping[str, Any], Described, KeyMemory], str]:
    return lambda rec, out, policy: text


_DESCRIBERS: dict[str, Callable[[Mapping[str, Any], Described, KeyMemory], str]] = {
    "CreateKey": _create_key,
    "EnableKey": _simple("enabled"),
    "DisableKey": _simple("disabled"),
    "ScheduleKeyDeletion": _schedule,
    "CancelKeyDeletion": _simple("deletion cancelled (key left Disabled)"),
    "DeleteKey": _simple("key deleted by KMS at the end of the waiting period"),
    "PutKeyPolicy": _put_policy,
    "CreateGrant": _create_grant,
    "RetireGrant": _grant_end("retired"),
    "RevokeGrant": _grant_end("revoked"),
    "CreateAlias": _alias,
    "UpdateAlias": _alias,
    "DeleteAlias": _alias,
    "EnableKeyRotation": _rotation,
    "DisableKeyRotation": _rotation,
    "RotateKey": _rotation,
    "RotateKeyOnDemand": _rotation,
    "TagResource": _tags,
    "UntagResource": _tags,
    "UpdateKeyDescription": _description,
    "GetParametersForImport": _import,
    "ImportKeyMaterial": _import,
    "DeleteImportedKeyMaterial": _import,
    "DeleteExpiredKeyMaterial": _import,
    "ReplicateKey": _replication,
    "UpdatePrimaryRegion": _replication,
}


def describe(record: Mapping[str, Any], policy: KeyMemory | None = None) -> Described:
    """What the record did, in words. A failed call says what was attempted and why it failed."""
    memory = policy if policy is not None else KeyMemory()
    out = Described("")
    name = _s(record.get("eventName"))
    error = record.get("errorCode")
    describer = _DESCRIBERS.get(name)
    if error:
        message = _s(record.get("errorMessage"))
        out.detail = f"FAILED {_s(error)}" + (f": {message}" if message else "")
        return out
    out.detail = describer(record, out, memory) if describer else name
    return out


def state_input(
    record: Mapping[str, Any], event_time: datetime, described: Described
) -> StateInput:
    """The state machine's view of one control-plane record."""
    name = _s(record.get("eventName"))
    response = _obj(record.get("responseElements"))
    meta = _obj(response.get("keyMetadata")) or _obj(response.get("replicaKeyMetadata"))
    request = _obj(record.get("requestParameters"))
    key_state = response.get("keyState") or meta.get("keyState")
    origin = meta.get("origin") or request.get("origin")
    deletion = described.deletion_date.value if described.deletion_date else None
    if (
        name == "ScheduleKeyDeletion"
        and deletion is None
        and not record.get("errorCode")
        and key_state != "PendingReplicaDeletion"
    ):
        window = _window_field(request, response)
        # An unreadable window leaves the date unknown rather than guessing 30 days.
        days = DEFAULT_PENDING_WINDOW_DAYS if window is None else pending_window(window)
        deletion = None if days is None else deletion_after(event_time, days)
    return StateInput(
        time=event_time,
        event_name=name,
        success=not record.get("errorCode"),
        event_id=record.get("eventID") if isinstance(record.get("eventID"), str) else None,
        key_state=key_state if isinstance(key_state, str) else None,
        origin=origin if isinstance(origin, str) else None,
        evidence=state_from_error(_s(record.get("errorMessage")))
        if record.get("errorCode")
        else None,
        deletion_date=deletion,
    )
