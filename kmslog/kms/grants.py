"""The grant ledger: every grant on every key, from CreateGrant to RetireGrant or
RevokeGrant, with the calls that used it.

Pure functions over event-table rows (dicts with the table's columns and ``raw``). The
result does not depend on the order of the rows: they are sorted by time and event id
first, and each grant is assembled from all of its records at once, so a retirement
delivered in an earlier file than the grant's creation still ends the grant.

CloudTrail shapes relied on (docs/grants.md): CreateGrant has the grant's terms in
``requestParameters`` and its id in ``responseElements.grantId``; RetireGrant has null
``requestParameters`` and the id in ``additionalEventData.grantId``; RevokeGrant names it
in ``requestParameters.grantId``. A call made with a grant carries the grant's id in
``additionalEventData.grantId`` or only its tokens in ``requestParameters.grantTokens``;
tokens are opaque (CloudTrail never logs the token a CreateGrant returned), so a
token-only use is attributed to a grant only when exactly one live grant on the key
names the caller as grantee and allows the operation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from kmslog.decode import schema as S
from kmslog.decode.flatten import parse_event_time
from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.kms.principals import fold_principal
from kmslog.kms.resolve import record_keys
from kmslog.kms.shared_events import one_copy_each

# Everything kept from a record is attacker-controlled: bounded so one record cannot
# make the ledger large.
MAX_TEXT = 2048
MAX_ITEMS = 64
MAX_USE_EVIDENCE = 20

GRANT_CALLS = frozenset({"CreateGrant", "RetireGrant", "RevokeGrant"})
_EC2_INFRASTRUCTURE = re.compile(r"^(\d{12}):aws:ec2-infrastructure:")
_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:(\d{12}):")
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class Cite:
    """One record behind a ledger entry: when, who, and where to find it again."""

    event_id: str | None
    event_time: datetime | None
    event_name: str | None
    by: str  # the caller, assumed-role sessions folded to their role
    invoked_by: str | None = None
    source: str | None = None
    record_index: int | None = None
    source_ip: str | None = None
    error_code: str | None = None


@dataclass(frozen=True)
class Grant:
    """A grant on one key as the logs tell it. ``created`` is None when only its end or
    its uses were seen (the CreateGrant is older than the logs)."""

    key_arn: str
    grant_id: str
    created: Cite | None = None
    grantee: str | None = None
    retiring_principal: str | None = None
    operations: tuple[str, ...] = ()
    constraints: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    name: str | None = None
    service: str | None = None  # the AWS service that made it for an AWS resource
    ended: Cite | None = None
    ended_how: str | None = None  # "retired" or "revoked"
    uses: int = 0
    use_evidence: tuple[Cite, ...] = ()  # the earliest uses, at most MAX_USE_EVIDENCE
    # The first use by each principal that used it (at most MAX_ITEMS principals).
    users: tuple[Cite, ...] = ()

    @property
    def for_aws_resource(self) -> bool:
        return self.service is not None

    @property
    def open(self) -> bool:
        return self.ended is None


@dataclass(frozen=True)
class FailedGrant:
    """A CreateGrant that did not succeed."""

    key_arn: str | None
    cite: Cite
    grantee: str | None
    operations: tuple[str, ...]
    error_message: str | None
    service: str | None


@dataclass(frozen=True)
class Ledger:
    """Grants per key ARN (each key's grants in creation order), failed attempts,
    token-only uses no single grant explains (per key), and the last time seen."""

    grants: Mapping[str, tuple[Grant, ...]]
    failed: tuple[FailedGrant, ...]
    unattributed_token_uses: Mapping[str, int]
    last: datetime | None

    def grant(self, grant_id: str) -> Grant | None:
        for grants in self.grants.values():
            for g in grants:
                if g.grant_id == grant_id:
                    return g
        return None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value[:MAX_TEXT]
    return None


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strings(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else []
    return tuple(t for t in (_text(v) for v in items[:MAX_ITEMS]) if t is not None)


def _constraints(value: Any) -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    out = []
    for kind, context in list(_obj(value).items())[:MAX_ITEMS]:
        pairs = sorted(
            (str(k)[:MAX_TEXT], v[:MAX_TEXT])
            for k, v in list(_obj(context).items())[:MAX_ITEMS]
            if isinstance(v, str)
        )
        out.append((str(kind)[:MAX_TEXT], tuple(pairs)))
    return tuple(sorted(out))


def principal_account(principal: str | None) -> str | None:
    """The account a grantee or retiring principal belongs to; None for a service
    principal or anything unreadable."""
    if not principal:
        return None
    for pattern in (_ARN_ACCOUNT, _EC2_INFRASTRUCTURE):
        match = pattern.match(principal)
        if match:
            return match[1]
    return principal if _ACCOUNT.match(principal) else None


def key_account(key_arn: str) -> str | None:
    match = _ARN_ACCOUNT.match(key_arn)
    return match[1] if match else None


def service_of(invoked_by: str | None, grantee: str | None) -> str | None:
    """The AWS service that made a grant for an AWS resource, if one did: the service in
    ``invokedBy`` (what kms:GrantIsForAWSResource sees), or EC2 when the grantee is an
    instance's infrastructure principal, which no caller can name itself."""
    if invoked_by and invoked_by.endswith(".amazonaws.com"):
        return invoked_by
    if grantee and _EC2_INFRASTRUCTURE.match(grantee):
        return "ec2.amazonaws.com"
    return None


@dataclass(frozen=True)
class _Event:
    """One row read once: the parts of its record the ledger needs."""

    cite: Cite
    key_arn: str | None
    request: Mapping[str, Any]
    response: Mapping[str, Any]
    extra: Mapping[str, Any]
    callers: frozenset[str]
    error_message: str | None
    shared: str | None = None  # sharedEventID: the call's other copy has it too
    recipient: str | None = None


def _read(row: Mapping[str, Any]) -> _Event | None:
    raw = row.get(S.RAW)
    if not isinstance(raw, str | bytes):
        return None
    try:
        record = loads_record(raw)
    except RecordTextError:
        return None
    if not isinstance(record, dict):
        return None
    identity = _obj(record.get("userIdentity"))
    when = row.get(S.EVENT_TIME)
    if not isinstance(when, datetime):
        when = parse_event_time(record.get("eventTime"))
    arn = _text(identity.get("arn"))
    invoked_by = _text(identity.get("invokedBy"))
    issuer = _text(_obj(_obj(identity.get("sessionContext")).get("sessionIssuer")).get("arn"))
    by = fold_principal(
        arn, issuer, _text(identity.get("type")), invoked_by, _text(identity.get("accountId"))
    )[:MAX_TEXT]
    cite = Cite(
        event_id=_text(record.get("eventID")),
        event_time=when,
        event_name=_text(record.get("eventName")),
        by=by,
        invoked_by=invoked_by,
        source=row.get(S.SOURCE) if isinstance(row.get(S.SOURCE), str) else None,
        record_index=row.get(S.RECORD_INDEX) if isinstance(row.get(S.RECORD_INDEX), int) else None,
        source_ip=_text(record.get("sourceIPAddress")),
        error_code=_text(record.get("errorCode")),
    )
    callers = {by} | {c for c in (arn, _text(identity.get("principalId"))) if c}
    return _Event(
        cite=cite,
        key_arn=record_keys(record).key,
        request=_obj(record.get("requestParameters")),
        response=_obj(record.get("responseElements")),
        extra=_obj(record.get("additionalEventData")),
        callers=frozenset(callers),
        error_message=_text(record.get("errorMessage")),
        shared=_text(record.get("sharedEventID")),
        recipient=_text(record.get("recipientAccountId")),
    )


def _sort_key(event: _Event) -> tuple[bool, float, str]:
    when = event.cite.event_time
    return (when is None, when.timestamp() if when else 0.0, event.cite.event_id or "")


def _grant_id(event: _Event) -> str | None:
    return _text(event.request.get("grantId")) or _text(event.extra.get("grantId"))


def _created(event: _Event, grant_id: str, key_arn: str) -> Grant:
    grantee = _text(event.request.get("granteePrincipal"))
    return Grant(
        key_arn=key_arn,
        grant_id=grant_id,
        created=event.cite,
        grantee=grantee,
        retiring_principal=_text(event.request.get("retiringPrincipal")),
        operations=_strings(event.request.get("operations")),
        constraints=_constraints(event.request.get("constraints")),
        name=_text(event.request.get("name")),
        service=service_of(event.cite.invoked_by, grantee),
    )


def _failed(event: _Event) -> FailedGrant:
    grantee = _text(event.request.get("granteePrincipal"))
    return FailedGrant(
        key_arn=event.key_arn,
        cite=event.cite,
        grantee=grantee,
        operations=_strings(event.request.get("operations")),
        error_message=event.error_message,
        service=service_of(event.cite.invoked_by, grantee),
    )


def _live_at(grant: Grant, when: datetime | None) -> bool:
    if when is None:
        return grant.open
    start = grant.created.event_time if grant.created else None
    end = grant.ended.event_time if grant.ended else None
    return (start is None or start <= when) and (end is None or when <= end)


def _token_grant(event: _Event, grants: Iterable[Grant]) -> Grant | None:
    """The one live grant that explains a token-only use, or None."""
    name = event.cite.event_name
    candidates = [
        g
        for g in grants
        if g.grantee in event.callers
        and (not g.operations or name in g.operations)
        and _live_at(g, event.cite.event_time)
    ]
    return candidates[0] if len(candidates) == 1 else None


def _with_use(grant: Grant, cite: Cite) -> Grant:
    evidence = grant.use_evidence
    if len(evidence) < MAX_USE_EVIDENCE:
        evidence = (*evidence, cite)
    users = grant.users
    if len(users) < MAX_ITEMS and all(u.by != cite.by for u in users):
        users = (*users, cite)
    return replace(grant, uses=grant.uses + 1, use_evidence=evidence, users=users)


def build_ledger(rows: Iterable[Mapping[str, Any]]) -> Ledger:
    """The ledger of every grant the rows tell of (see the module docstring)."""
    read = sorted((e for e in map(_read, rows) if e is not None), key=_sort_key)
    # The two copies of a cross-account call (caller's and owner's account) are one call.
    events = one_copy_each(
        read,
        shared=lambda e: e.shared,
        call=lambda e: (e.cite.event_name or "",),
        is_owner=lambda e: e.key_arn is not None and e.recipient == key_account(e.key_arn),
        order=lambda e: (e.recipient or "", e.cite.event_id or ""),
    )
    grants: dict[str, Grant] = {}
    failed: list[FailedGrant] = []
    ends: list[_Event] = []
    uses: list[_Event] = []
    for event in events:
        name = event.cite.event_name
        if name == "CreateGrant":
            grant_id = _text(event.response.get("grantId"))
            if event.cite.error_code is not None or grant_id is None:
                failed.append(_failed(event))
            elif event.key_arn is not None and grant_id not in grants:
                grants[grant_id] = _created(event, grant_id, event.key_arn)
        elif name in ("RetireGrant", "RevokeGrant"):
            if event.cite.error_code is None:
                ends.append(event)
        elif event.cite.error_code is None and (
            _grant_id(event) is not None or _strings(event.request.get("grantTokens"))
        ):
            uses.append(event)
    for event in ends:
        grant_id = _grant_id(event)
        if grant_id is None or (event.key_arn is None and grant_id not in grants):
            continue
        grant = grants.get(grant_id) or Grant(key_arn=event.key_arn or "", grant_id=grant_id)
        if grant.ended is None:
            how = "retired" if event.cite.event_name == "RetireGrant" else "revoked"
            grants[grant_id] = replace(grant, ended=event.cite, ended_how=how)
    unattributed: dict[str, int] = {}
    for event in uses:
        grant_id = _grant_id(event)
        if grant_id is None:
            on_key = (g for g in grants.values() if g.key_arn == event.key_arn)
            found = _token_grant(event, on_key)
            if found is None:
                key = event.key_arn or ""
                unattributed[key] = unattributed.get(key, 0) + 1
                continue
            grant_id = found.grant_id
        elif grant_id not in grants:
            if event.key_arn is None:
                continue
            grants[grant_id] = Grant(key_arn=event.key_arn, grant_id=grant_id)
        grants[grant_id] = _with_use(grants[grant_id], event.cite)
    per_key: dict[str, list[Grant]] = {}
    for grant in sorted(grants.values(), key=_grant_order):
        per_key.setdefault(grant.key_arn, []).append(grant)
    times = [e.cite.event_time for e in events if e.cite.event_time is not None]
    return Ledger(
        grants=MappingProxyType({k: tuple(v) for k, v in sorted(per_key.items())}),
        failed=tuple(failed),
        unattributed_token_uses=MappingProxyType(dict(sorted(unattributed.items()))),
        last=max(times) if times else None,
    )


def _grant_order(grant: Grant) -> tuple[Any, ...]:
    when = grant.created.event_time if grant.created else None
    return (grant.key_arn, when is None, when.timestamp() if when else 0.0, grant.grant_id)


def grant_rows(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows the ledger reads: grant calls and calls made with a grant (a cheap
    preselection on ``event_name`` and the raw text, before any parse)."""
    out = []
    for row in rows:
        name = row.get(S.EVENT_NAME)
        raw = row.get(S.RAW)
        text = raw if isinstance(raw, str) else ""
        if name in GRANT_CALLS or "grantTokens" in text or "grantId" in text:
            out.append(row)
    return out
