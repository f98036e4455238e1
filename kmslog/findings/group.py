"""Findings grouped for a reader: kind (the rule) → key → principal.

A responder acts on one key used by one principal; a list of events (or of findings
that differ only in their time) hides that. This is a pure function over the one
finding model, so every renderer can show the same grouping and none needs to know
which analysis made a finding.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kmslog.findings.model import SEVERITIES, Finding, FindingKind

# The alias names a key had over a span of time (first, last): from the alias history.
AliasLookup = Callable[[str, datetime | None, datetime | None], Sequence[str]]


@dataclass(frozen=True)
class PrincipalGroup:
    """The findings of one kind about one key and one principal (None: no caller)."""

    principal: str | None
    findings: tuple[Finding, ...]
    count: int  # events behind the findings
    first: datetime | None
    last: datetime | None
    ongoing: bool  # a finding still open at the end of the logs (its last is unknown)
    source_ips: tuple[str, ...]  # most often seen first
    user_agents: tuple[str, ...]
    summaries: tuple[str, ...]  # distinct, in order of first appearance


@dataclass(frozen=True)
class KeyGroup:
    """The findings of one kind about one key; a finding about no key (a trail, a
    Region) is grouped by its account and Region instead."""

    key_arn: str | None
    account: str | None
    region: str | None
    aliases: tuple[str, ...]
    principals: tuple[PrincipalGroup, ...]
    count: int
    first: datetime | None
    last: datetime | None
    ongoing: bool  # a finding still open at the end of the logs (its last is unknown)


@dataclass(frozen=True)
class KindGroup:
    kind: FindingKind
    severity: str  # the most urgent effective severity among its findings
    keys: tuple[KeyGroup, ...]
    count: int
    findings: int
    first: datetime | None
    last: datetime | None
    ongoing: bool  # a finding still open at the end of the logs (its last is unknown)

    @property
    def principals(self) -> int:
        return len({p.principal for k in self.keys for p in k.principals})


def _span(found: Iterable[Finding]) -> tuple[datetime | None, datetime | None, bool]:
    """First and last times of ``found``, and whether one is still open (a first
    without a last: it lasts to the end of the logs)."""
    items = list(found)
    firsts = [f.first for f in items if f.first is not None]
    lasts = [f.last if f.last is not None else f.first for f in items]
    ends = [t for t in lasts if t is not None]
    ongoing = any(f.first is not None and f.last is None for f in items)
    return (min(firsts) if firsts else None, max(ends) if ends else None, ongoing)


def _ranked(found: Sequence[Finding], detail: str, field: str) -> tuple[str, ...]:
    """Values of an evidence field (or of the finding's ``detail`` list, which covers
    events past the evidence cap), most often seen first, then in text order."""
    seen: Counter[str] = Counter()
    for f in found:
        for e in f.evidence:
            value = getattr(e, field)
            if isinstance(value, str) and value:
                seen[value] += 1
        listed = f.details.get(detail)
        if isinstance(listed, (list, tuple)):
            for value in listed:
                if isinstance(value, str) and value:
                    seen[value] += 0
    return tuple(v for v, _ in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0])))


def _principal_group(principal: str | None, found: list[Finding]) -> PrincipalGroup:
    first, last, ongoing = _span(found)
    summaries = tuple(dict.fromkeys(f.summary for f in found if f.summary))
    return PrincipalGroup(
        principal=principal,
        findings=tuple(found),
        count=sum(f.count for f in found),
        first=first,
        last=last,
        ongoing=ongoing,
        source_ips=_ranked(found, "source_ips", "source_ip"),
        user_agents=_ranked(found, "user_agents", "user_agent"),
        summaries=summaries,
    )


def _key_group(
    place: tuple[str | None, str | None, str | None],
    found: list[Finding],
    aliases: AliasLookup | None,
) -> KeyGroup:
    key_arn, account, region = place
    first, last, ongoing = _span(found)
    names: dict[str, None] = {}
    for f in found:
        names.update(dict.fromkeys(f.subject.aliases))
    if key_arn is not None and aliases is not None:
        names.update(dict.fromkeys(aliases(key_arn, first, last)))
    by_principal: dict[str | None, list[Finding]] = {}
    for f in found:
        by_principal.setdefault(f.subject.principal, []).append(f)
    principals = sorted(
        (_principal_group(p, fs) for p, fs in by_principal.items()),
        key=lambda g: (-g.count, g.principal or ""),
    )
    return KeyGroup(
        key_arn=key_arn,
        account=account,
        region=region,
        aliases=tuple(sorted(names)),
        principals=tuple(principals),
        count=sum(g.count for g in principals),
        first=first,
        last=last,
        ongoing=ongoing,
    )


def group_findings(found: Iterable[Finding], aliases: AliasLookup | None = None) -> list[KindGroup]:
    """``found`` as kind → key → principal groups: kinds most urgent first (then the
    earliest first), keys and principals with the most events first."""
    by_kind: dict[str, list[Finding]] = {}
    for f in found:
        by_kind.setdefault(f.kind.id, []).append(f)
    groups: list[KindGroup] = []
    for items in by_kind.values():
        by_place: dict[tuple[str | None, str | None, str | None], list[Finding]] = {}
        for f in items:
            s = f.subject
            # A key ARN names account and Region itself; other findings keep theirs.
            place = (s.key_arn, None, None) if s.key_arn else (None, s.account, s.region)
            by_place.setdefault(place, []).append(f)
        keys = sorted(
            (_key_group(p, fs, aliases) for p, fs in by_place.items()),
            key=lambda g: (-g.count, g.key_arn or "", g.account or "", g.region or ""),
        )
        first, last, ongoing = _span(items)
        groups.append(
            KindGroup(
                kind=items[0].kind,
                severity=min(
                    (f.effective_severity for f in items), key=SEVERITIES.index, default="info"
                ),
                keys=tuple(keys),
                count=sum(f.count for f in items),
                findings=len(items),
                first=first,
                last=last,
                ongoing=ongoing,
            )
        )
    groups.sort(
        key=lambda g: (
            SEVERITIES.index(g.severity),
            g.first is None,
            g.first.isoformat() if g.first else "",
            g.kind.id,
        )
    )
    return groups


def in_short(values: Sequence[str], top: int = 3) -> tuple[list[str], int]:
    """The first ``top`` values and how many more there are (shown as "+N more")."""
    return list(values[:top]), max(0, len(values) - top)
