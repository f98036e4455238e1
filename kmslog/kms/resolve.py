"""Time-aware key resolution: which key a record touched, at the time it was made.

Key ARNs and bare key ids name a key for ever; alias names and alias ARNs name
whatever key the alias pointed to at that moment, and aliases move
(``CreateAlias`` / ``UpdateAlias`` / ``DeleteAlias``). :class:`AliasHistory`
replays the alias events in time order, and also learns from use: a record that
names ``alias/x`` in its request and the key ARN in ``resources[]`` shows where
the alias pointed then, which covers aliases created before the logs begin.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kmslog.decode.flatten import parse_event_time
from kmslog.kms.keys import IdKind, KeyRef, key_arn, parse_key_ref

ALIAS_EVENTS = frozenset({"CreateAlias", "UpdateAlias", "DeleteAlias"})

# "<key ARN> is pending deletion." and friends: the ARN names the key even when the
# failed call carries no resources[].
_ERROR_ARN = re.compile(r"(arn:aws[a-z-]*:kms:[^:\s]*:\d*:key/[A-Za-z0-9-]+)")


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class AliasScope:
    """Aliases are names inside one account and Region."""

    account: str
    region: str
    name: str  # "alias/<name>"


@dataclass(frozen=True)
class AliasEvent:
    time: datetime
    event_name: str
    scope: AliasScope
    target: str | None  # key ARN; for DeleteAlias the key it pointed to, when logged
    event_id: str | None


@dataclass(frozen=True)
class AliasObservation:
    """A use that named the alias and showed the key it resolved to."""

    scope: AliasScope
    key_arn: str
    first: datetime
    last: datetime


@dataclass(frozen=True)
class AliasBinding:
    """The alias pointed at ``key_arn`` from ``start`` to ``end`` (None: open)."""

    scope: AliasScope
    key_arn: str
    start: datetime | None
    end: datetime | None
    start_event_id: str | None = None
    end_event_id: str | None = None
    observed: bool = False  # learnt from use, not from an alias event

    def covers(self, when: datetime) -> bool:
        return (self.start is None or self.start <= when) and (self.end is None or when < self.end)


def scope_of(ref: KeyRef, region: str | None, account: str | None) -> AliasScope | None:
    """The alias scope a reference names, completing a bare alias with the record's place."""
    if ref.alias is None:
        return None
    acct = ref.account or account or ""
    reg = ref.region or region or ""
    return AliasScope(acct, reg, ref.alias)


def to_key_arn(ref: KeyRef, region: str | None, account: str | None) -> str | None:
    """A key ARN for a key ARN or bare key id (the latter placed in the record's Region)."""
    if ref.kind is IdKind.KEY_ARN:
        return ref.text
    if ref.kind is IdKind.KEY_ID and region and account:
        return key_arn(ref.text, region, account)
    return None


def _key_arns_in_resources(record: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    resources = record.get("resources")
    if isinstance(resources, list):
        for res in resources:
            arn = _str(_obj(res).get("ARN"))
            if arn and parse_key_ref(arn).kind is IdKind.KEY_ARN:
                found.append(arn)
    return found


def alias_event_from_record(record: Mapping[str, Any]) -> AliasEvent | None:
    """The alias change a successful Create/Update/DeleteAlias record made, if any."""
    name = record.get("eventName")
    if name not in ALIAS_EVENTS or record.get("errorCode"):
        return None
    when = parse_event_time(record.get("eventTime"))
    if when is None:
        return None
    region = _str(record.get("awsRegion"))
    account = _str(record.get("recipientAccountId"))
    request = _obj(record.get("requestParameters"))
    alias_text = _str(request.get("aliasName"))
    alias_ref: KeyRef | None = parse_key_ref(alias_text) if alias_text else None
    resources = record.get("resources")
    if isinstance(resources, list):
        for res in resources:
            arn = _str(_obj(res).get("ARN"))
            if arn and parse_key_ref(arn).kind is IdKind.ALIAS_ARN:
                arn_ref = parse_key_ref(arn)
                if alias_ref is None or alias_ref.alias == arn_ref.alias:
                    # The alias ARN is where the alias lives; it wins over awsRegion.
                    alias_ref = arn_ref
                    break
    if alias_ref is None or alias_ref.alias is None:
        return None
    scope = scope_of(alias_ref, region, account)
    if scope is None:
        return None
    resource_keys = _key_arns_in_resources(record)
    target: str | None = None
    target_text = _str(request.get("targetKeyId"))
    if target_text:
        target_ref = parse_key_ref(target_text)
        target = to_key_arn(target_ref, region, account)
        if target_ref.kind is IdKind.KEY_ID:
            # Prefer the ARN in resources[] that carries the same id: it has the true Region.
            for arn in resource_keys:
                if arn.endswith("/" + target_text):
                    target = arn
    if target is None:
        response_key = _str(_obj(record.get("responseElements")).get("keyId"))
        if response_key and parse_key_ref(response_key).kind is IdKind.KEY_ARN:
            target = response_key
    if target is None and resource_keys:
        target = resource_keys[-1]
    return AliasEvent(when, str(name), scope, target, _str(record.get("eventID")))


class AliasHistory:
    """Where each alias pointed over time, rebuilt from alias events and observed uses."""

    def __init__(
        self,
        events: Iterable[AliasEvent] = (),
        observations: Iterable[AliasObservation] = (),
    ) -> None:
        by_scope: dict[AliasScope, list[AliasEvent]] = {}
        for event in events:
            by_scope.setdefault(event.scope, []).append(event)
        self._bindings: dict[AliasScope, list[AliasBinding]] = {}
        for scope, scoped in by_scope.items():
            self._bindings[scope] = _replay(
                sorted(scoped, key=lambda e: (e.time, e.event_name != "DeleteAlias"))
            )
        self._observed: dict[AliasScope, list[AliasObservation]] = {}
        for obs in observations:
            self._observed.setdefault(obs.scope, []).append(obs)
        for scope, found in self._observed.items():
            found.sort(key=lambda o: o.first)
            self._fill_from_observations(scope, found)
        self._starts = {
            scope: [b.start.timestamp() if b.start else float("-inf") for b in spans]
            for scope, spans in self._bindings.items()
        }

    def _fill_from_observations(self, scope: AliasScope, found: list[AliasObservation]) -> None:
        """Before the first alias event (or when there is none), uses tell where it pointed."""
        spans = self._bindings.get(scope, [])
        first_event = spans[0].start if spans and spans[0].start is not None else None
        if spans and spans[0].start is None:
            return  # the first event already said where the alias pointed before the logs
        before = [o for o in found if first_event is None or o.first < first_event]
        if not before:
            return
        keys = {o.key_arn for o in before}
        if len(keys) != 1:
            # Conflicting observations without events between them: keep each as seen.
            extra = [AliasBinding(scope, o.key_arn, o.first, o.last, observed=True) for o in before]
            self._bindings[scope] = sorted(
                extra + spans, key=lambda b: b.start.timestamp() if b.start else float("-inf")
            )
            return
        self._bindings[scope] = [
            AliasBinding(scope, keys.pop(), None, first_event, observed=True),
            *spans,
        ]

    @property
    def scopes(self) -> list[AliasScope]:
        return sorted(self._bindings, key=lambda s: (s.name, s.account, s.region))

    def bindings(self, scope: AliasScope) -> list[AliasBinding]:
        return list(self._bindings.get(scope, []))

    def bindings_named(
        self, name: str, account: str | None = None, region: str | None = None
    ) -> list[AliasBinding]:
        """Every binding of an alias name, optionally narrowed to one account / Region."""
        found: list[AliasBinding] = []
        for scope in self.scopes:
            if scope.name != name:
                continue
            if account and scope.account and scope.account != account:
                continue
            if region and scope.region and scope.region != region:
                continue
            found.extend(self._bindings[scope])
        return found

    def aliases_of(self, key: str) -> list[AliasBinding]:
        return [b for spans in self._bindings.values() for b in spans if b.key_arn == key]

    def names_during(
        self, key: str, start: datetime | None, end: datetime | None
    ) -> tuple[str, ...]:
        """The alias names that pointed at ``key`` at some moment of [start, end]
        (either end open: unbounded), sorted."""
        names = {
            b.scope.name
            for b in self.aliases_of(key)
            if (end is None or b.start is None or b.start <= end)
            and (start is None or b.end is None or start < b.end)
        }
        return tuple(sorted(names))

    def resolve(self, scope: AliasScope, when: datetime) -> str | None:
        spans = self._bindings.get(scope)
        if not spans:
            return None
        index = bisect.bisect_right(self._starts[scope], when.timestamp()) - 1
        # Observed spans may overlap; look back a little for one that covers the time.
        for candidate in reversed(spans[max(0, index - 2) : index + 1]):
            if candidate.covers(when):
                return candidate.key_arn
        return None


def _replay(events: list[AliasEvent]) -> list[AliasBinding]:
    spans: list[AliasBinding] = []
    current: AliasBinding | None = None
    for event in events:
        if current is None and not spans and event.event_name == "DeleteAlias" and event.target:
            # DeleteAlias names the key the alias pointed to before the logs began.
            spans.append(
                AliasBinding(event.scope, event.target, None, event.time, None, event.event_id)
            )
            continue
        if current is not None:
            current = AliasBinding(
                current.scope,
                current.key_arn,
                current.start,
                event.time,
                current.start_event_id,
                event.event_id,
            )
            spans.append(current)
            current = None
        if event.event_name in ("CreateAlias", "UpdateAlias") and event.target:
            current = AliasBinding(event.scope, event.target, event.time, None, event.event_id)
    if current is not None:
        spans.append(current)
    return spans


def error_key_arn(message: str | None) -> str | None:
    """The key ARN a KMS error message names (``<ARN> is disabled.``), if any."""
    if not message:
        return None
    match = _ERROR_ARN.search(message)
    return match.group(1) if match else None


@dataclass(frozen=True)
class RecordKeys:
    """The keys one record touched, and the references it could not resolve."""

    keys: tuple[str, ...]
    unresolved: tuple[str, ...] = ()

    @property
    def key(self) -> str | None:
        return self.keys[0] if self.keys else None


def record_keys(
    record: Mapping[str, Any],
    history: AliasHistory | None = None,
    when: datetime | None = None,
) -> RecordKeys:
    """Every key ARN a record touched, primary first (ReEncrypt: source, then destination).

    CreateKey and ReplicateKey name the created key in their response; otherwise
    ``resources[]`` key ARNs come first, then request and response identifiers,
    service-event details and the ARN in an error message. Aliases are resolved
    through ``history`` at the record's time (``when``, else its ``eventTime``).
    Fields of the wrong JSON type are ignored.
    """
    request = _obj(record.get("requestParameters"))
    response = _obj(record.get("responseElements"))
    service = _obj(record.get("serviceEventDetails"))
    name = record.get("eventName")
    metadata_arn = _str(_obj(response.get("keyMetadata")).get("arn"))
    if name == "CreateKey" and metadata_arn:
        return RecordKeys((metadata_arn,))
    named: list[str | None] = list(_key_arns_in_resources(record))
    # An error message names the real key ARN; a bare id would be placed in the
    # recipient's account, which is wrong for the caller's copy of a cross-account call.
    named.append(error_key_arn(_str(record.get("errorMessage"))))
    if name == "ReplicateKey":
        named.append(_str(_obj(response.get("replicaKeyMetadata")).get("arn")))
    for field in ("keyId", "sourceKeyId", "destinationKeyId", "targetKeyId"):
        named.append(_str(request.get(field)))
    named += [_str(response.get("keyId")), metadata_arn, _str(service.get("keyId"))]
    return keys_named(
        named,
        event_name=name if isinstance(name, str) else None,
        region=_str(record.get("awsRegion")),
        account=_str(record.get("recipientAccountId")),
        when=when if when is not None else parse_event_time(record.get("eventTime")),
        history=history,
    )


def keys_named(
    named: Iterable[str | None],
    *,
    event_name: str | None,
    region: str | None,
    account: str | None,
    when: datetime | None,
    history: AliasHistory | None = None,
) -> RecordKeys:
    """The keys a list of identifiers (in priority order) names, as :func:`record_keys`
    resolves them. Also used for a record whose text cannot be parsed again, from the
    identifiers its decoded ``key_ids`` column holds."""
    found: list[str] = []
    unresolved: list[str] = []
    for text in named:
        if not text:
            continue
        ref = parse_key_ref(text)
        # A bare id is the same key as a resources[] ARN ending with it.
        if ref.kind is IdKind.KEY_ID and any(k.endswith("/" + text) for k in found):
            continue
        arn = to_key_arn(ref, region, account)
        if arn is None and ref.alias is not None:
            if event_name in ALIAS_EVENTS:
                continue  # the alias being changed is not a key reference
            scope = scope_of(ref, region, account)
            if history is not None and scope is not None and when is not None:
                arn = history.resolve(scope, when)
            if arn is None:
                if not found:
                    unresolved.append(text)
                continue
        if arn is not None and arn not in found:
            found.append(arn)
    return RecordKeys(tuple(found), tuple(dict.fromkeys(unresolved)) if not found else ())
