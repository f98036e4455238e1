"""``kmslog events``: the KMS records that match a who-did-what query, as a fold.

``update`` narrows each frame with tests on typed columns (event name, error, caller,
source address, and for a key id / key ARN query a literal test on the identifiers the
record names) and keeps the survivors' evidence; it also keeps the alias changes and the
uses that show where an alias pointed, for every record, whatever the query. ``finish``
rebuilds the alias history from them (as the lifecycle does) and resolves each kept
record's keys at the record's own time: a record that names ``alias/x`` is about the key
``alias/x`` pointed to at that second, and an alias query matches the records about the
key it pointed to at each record's time. Results are ordered by time, then source and
record index, so they do not depend on how files were split between workers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, ClassVar

import polars as pl

from kmslog.analyses.dependents import ALIAS_EVENT_COLUMNS, alias_events_of
from kmslog.analyses.lifecycle import KMS_SOURCE, _refs_expr, alias_uses
from kmslog.decode import schema as S
from kmslog.kms.keys import IdKind, KeyRef, parse_key_ref
from kmslog.kms.principals import principal_expr, principal_filter
from kmslog.kms.resolve import ALIAS_EVENTS, AliasBinding, AliasHistory, scope_of
from kmslog.lifecycle.build import observations

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ROW_COLUMNS = (
    S.EVENT_TIME,
    S.EVENT_NAME,
    S.AWS_REGION,
    S.RECIPIENT_ACCOUNT_ID,
    S.IDENTITY_ARN,
    "principal",
    S.SOURCE_IP,
    S.USER_AGENT,
    S.ERROR_CODE,
    S.EVENT_ID,
    S.SOURCE,
    S.RECORD_INDEX,
    "refs",
)
ORDER = (S.EVENT_TIME, S.SOURCE, S.RECORD_INDEX)
KEY_QUERY_KINDS = (IdKind.KEY_ARN, IdKind.KEY_ID, IdKind.ALIAS_NAME, IdKind.ALIAS_ARN)


class QueryError(ValueError):
    """A query value that cannot mean anything; ``option`` names the option."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option
        self.message = message


def parse_key_query(text: str) -> KeyRef:
    ref = parse_key_ref(text.strip())
    if ref.kind not in KEY_QUERY_KINDS:
        raise QueryError(
            "--key",
            f"{text!r} is not a key id, key ARN, mrk- id, alias/NAME or alias ARN",
        )
    return ref


def parse_network(text: str) -> Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise QueryError(
            "--source-ip", f"{text!r} is not an IP address or CIDR block (e.g. 10.0.0.0/8)"
        ) from None


@dataclass(frozen=True)
class EventQuery:
    """What ``kmslog events`` asks; every part given narrows the answer (parts ANDed,
    repeated values of one part ORed)."""

    key: str | None = None
    principals: tuple[str, ...] = ()
    event_names: tuple[str, ...] = ()
    source_ips: tuple[str, ...] = ()
    errors_only: bool = False

    def __post_init__(self) -> None:
        # Refuse a bad value before any file is read.
        if self.key is not None:
            parse_key_query(self.key)
        self.networks()

    def networks(self) -> tuple[Network, ...]:
        return tuple(parse_network(text) for text in self.source_ips)


@dataclass(frozen=True)
class MatchedEvent:
    time: datetime
    event_name: str | None
    key_arn: str | None  # the matched key (the record's first key without --key)
    aliases: tuple[str, ...]  # aliases that pointed at the key at that time, or the one named
    principal: str  # the caller, assumed-role sessions folded to their role
    identity_arn: str | None
    source_ip: str | None
    user_agent: str | None
    error_code: str | None
    event_id: str | None
    account: str | None
    region: str | None
    source: str
    record_index: int


@dataclass(frozen=True)
class EventsResult:
    query: EventQuery
    events: tuple[MatchedEvent, ...]
    alias_bindings: tuple[AliasBinding, ...] = ()


@dataclass
class EventsPartial:
    rows: list[pl.DataFrame] = field(default_factory=list)
    alias_events: list[pl.DataFrame] = field(default_factory=list)
    alias_uses: list[pl.DataFrame] = field(default_factory=list)


def _in_networks(values: Sequence[str | None], networks: tuple[Network, ...]) -> list[str]:
    """The values that are addresses inside one of ``networks`` (service names such as
    ``kms.amazonaws.com`` are not addresses and never match)."""
    found: list[str] = []
    for value in values:
        if value is None:
            continue
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            continue
        if any(address.version == n.version and address in n for n in networks):
            found.append(value)
    return found


@dataclass(frozen=True)
class EventsAnalysis:
    query: EventQuery = EventQuery()
    name: str = "events"
    columns: ClassVar[frozenset[str]] = frozenset(
        {
            S.EVENT_TIME,
            S.EVENT_SOURCE,
            S.EVENT_NAME,
            S.AWS_REGION,
            S.RECIPIENT_ACCOUNT_ID,
            S.ERROR_CODE,
            S.ERROR_MESSAGE,
            S.EVENT_ID,
            S.KEY_IDS,
            S.IDENTITY_TYPE,
            S.IDENTITY_ARN,
            S.IDENTITY_ACCOUNT_ID,
            S.IDENTITY_SESSION_ISSUER_ARN,
            S.IDENTITY_INVOKED_BY,
            S.SOURCE_IP,
            S.USER_AGENT,
            S.SOURCE,
            S.RECORD_INDEX,
            S.RAW,
        }
    )

    def start(self) -> EventsPartial:
        return EventsPartial()

    def _narrow(self, kms: pl.DataFrame) -> pl.DataFrame:
        q = self.query
        keep = pl.lit(True)
        if q.event_names:
            keep = keep & pl.col(S.EVENT_NAME).is_in(q.event_names).fill_null(False)
        if q.errors_only:
            keep = keep & pl.col(S.ERROR_CODE).is_not_null()
        if q.key is not None:
            keep = keep & self._may_name_key(parse_key_query(q.key))
        rows = kms.filter(keep)
        if q.principals and rows.height:
            rows = rows.with_columns(principal_expr())
            wanted = pl.lit(False)
            for text in q.principals:
                wanted = wanted | principal_filter(text)
            rows = rows.filter(wanted)
        if q.source_ips and rows.height:
            values = rows[S.SOURCE_IP].unique().to_list()
            rows = rows.filter(pl.col(S.SOURCE_IP).is_in(_in_networks(values, q.networks())))
        return rows

    @staticmethod
    def _may_name_key(ref: KeyRef) -> pl.Expr:
        """A cheap superset of the records about the asked key: for a key id or ARN the
        records that name its id (or name only aliases, resolved at the end); for an
        alias every record, since the keys it pointed to are known only at the end."""
        if ref.key_id is None:
            return pl.lit(True)
        joined = pl.col(S.KEY_IDS).list.join("\x1f").fill_null("")
        names_key = joined.str.contains(ref.key_id, literal=True) | pl.col(
            S.ERROR_MESSAGE
        ).str.contains(ref.key_id, literal=True).fill_null(False)
        alias_only = joined.str.contains("alias/", literal=True) & ~joined.str.contains(
            ":key/", literal=True
        )
        return names_key | alias_only

    def update(self, state: EventsPartial, frame: pl.DataFrame) -> EventsPartial:
        kms = frame.filter(pl.col(S.EVENT_SOURCE) == KMS_SOURCE)
        if kms.height == 0:
            return state
        is_alias_event = pl.col(S.EVENT_NAME).is_in(ALIAS_EVENTS).fill_null(False)
        uses = alias_uses(kms.filter(~is_alias_event))
        alias_events = kms.filter(is_alias_event & pl.col(S.ERROR_CODE).is_null())
        rows = self._narrow(kms)
        if rows.height:
            if "principal" not in rows.columns:
                rows = rows.with_columns(principal_expr())
            rows = rows.with_columns(_refs_expr()).select(ROW_COLUMNS)
            if self.query.key is not None:
                # A record that names no key can answer no key query: not kept.
                rows = rows.filter(pl.col("refs").list.len() > 0)
        return EventsPartial(
            state.rows + ([rows] if rows.height else []),
            state.alias_events
            + ([alias_events.select(ALIAS_EVENT_COLUMNS)] if alias_events.height else []),
            state.alias_uses + ([uses] if uses is not None else []),
        )

    def combine(self, a: EventsPartial, b: EventsPartial) -> EventsPartial:
        return EventsPartial(
            a.rows + b.rows, a.alias_events + b.alias_events, a.alias_uses + b.alias_uses
        )

    def finish(self, state: EventsPartial) -> EventsResult:
        history = AliasHistory(alias_events_of(state.alias_events), observations(state.alias_uses))
        frames = [f for f in state.rows if f.height]
        if not frames:
            return EventsResult(self.query, (), tuple(self._bindings(history)))
        rows = pl.concat(frames, how="vertical_relaxed").sort(ORDER)
        bindings = self._bindings(history)
        # Each key's alias bindings, once: looking them up per record would walk them all.
        by_key: dict[str, list[AliasBinding]] = {}
        for scope in history.scopes:
            for binding in history.bindings(scope):
                if _same_place(binding, binding.key_arn):
                    by_key.setdefault(binding.key_arn, []).append(binding)
        found = []
        for row in rows.iter_rows(named=True):
            event = self._match(row, history, bindings, by_key)
            if event is not None:
                found.append(event)
        return EventsResult(self.query, tuple(found), tuple(bindings))

    def _bindings(self, history: AliasHistory) -> list[AliasBinding]:
        if self.query.key is None:
            return []
        ref = parse_key_query(self.query.key)
        if ref.alias is None:
            return []
        scope = scope_of(ref, None, None)
        assert scope is not None  # an alias reference always has a scope
        return history.bindings_named(ref.alias, scope.account or None, scope.region or None)

    def _match(
        self,
        row: dict[str, Any],
        history: AliasHistory,
        bindings: list[AliasBinding],
        by_key: dict[str, list[AliasBinding]],
    ) -> MatchedEvent | None:
        when: datetime = row[S.EVENT_TIME]
        region, account = row[S.AWS_REGION], row[S.RECIPIENT_ACCOUNT_ID]
        keys: list[str] = []
        named_aliases: list[str] = []
        for ref_text in row["refs"] or ():
            ref = _key_ref(ref_text)
            if ref.kind is IdKind.KEY_ARN:
                keys.append(ref_text)
                continue
            named_aliases.append(ref_text)
            scope = scope_of(ref, region, account)
            resolved = history.resolve(scope, when) if scope is not None else None
            if resolved is not None and resolved not in keys:
                keys.append(resolved)
        key = self._matched_key(keys, named_aliases, when, bindings, region, account)
        if key is False:
            return None
        aliases = {_key_ref(a).alias or a for a in named_aliases} if key is None else set()
        if isinstance(key, str):
            aliases.update(b.scope.name for b in by_key.get(key, ()) if b.covers(when))
        return MatchedEvent(
            time=when,
            event_name=row[S.EVENT_NAME],
            key_arn=key if isinstance(key, str) else None,
            aliases=tuple(sorted(aliases)),
            principal=row["principal"],
            identity_arn=row[S.IDENTITY_ARN],
            source_ip=row[S.SOURCE_IP],
            user_agent=row[S.USER_AGENT],
            error_code=row[S.ERROR_CODE],
            event_id=row[S.EVENT_ID],
            account=account,
            region=region,
            source=row[S.SOURCE],
            record_index=row[S.RECORD_INDEX],
        )

    def _matched_key(
        self,
        keys: list[str],
        named_aliases: list[str],
        when: datetime,
        bindings: list[AliasBinding],
        region: str | None,
        account: str | None,
    ) -> str | None | bool:
        """The key shown for a row: the asked key it touched, the row's first key without
        --key, None when it names only an alias no history resolves; False: no match."""
        if self.query.key is None:
            return keys[0] if keys else None
        ref = parse_key_query(self.query.key)
        if ref.kind is IdKind.KEY_ARN:
            return ref.text if ref.text in keys else False
        if ref.kind is IdKind.KEY_ID:
            return next((k for k in keys if k.endswith("/" + ref.text)), False)
        for binding in bindings:
            if binding.covers(when) and binding.key_arn in keys:
                return binding.key_arn
        if not keys and any(_same_alias(ref, named, region, account) for named in named_aliases):
            # Called through the alias, which no history resolves at that time: the
            # record is still about the alias asked for.
            return None
        return False


@lru_cache(maxsize=1 << 16)
def _key_ref(text: str) -> KeyRef:
    """:func:`parse_key_ref`, cached: the same few key names recur on every record."""
    return parse_key_ref(text)


def _same_alias(query: KeyRef, named: str, region: str | None, account: str | None) -> bool:
    """Whether an alias a record names (placed in the record's account and Region when
    bare) is the alias ``query`` asks for (a bare alias name: in any account and Region)."""
    scope = scope_of(_key_ref(named), region, account)
    asked = scope_of(query, None, None)
    if scope is None or asked is None or scope.name != asked.name:
        return False
    return (not asked.account or asked.account == scope.account) and (
        not asked.region or asked.region == scope.region
    )


def _same_place(binding: AliasBinding, key: str) -> bool:
    """An alias names keys of its own account and Region only."""
    ref = _key_ref(key)
    return (not binding.scope.account or binding.scope.account == ref.account) and (
        not binding.scope.region or binding.scope.region == ref.region
    )
