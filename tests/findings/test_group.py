"""Findings grouped kind → key → principal (``findings/group.py``): counts, spans,
aliases at the time, source IPs and user agents ranked, most urgent kinds first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from kmslog.findings.group import group_findings, in_short
from kmslog.findings.model import Evidence, Finding, FindingKind, Subject

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
KEY_A = "arn:aws:kms:us-east-1:111122223333:key/aaaaaaaa-0000-0000-0000-000000000001"
KEY_B = "arn:aws:kms:eu-west-1:111122223333:key/bbbbbbbb-0000-0000-0000-000000000002"
ROLE = "arn:aws:iam::111122223333:role/app"
OTHER = "arn:aws:iam::111122223333:role/admin"
MEDIUM = FindingKind("test-medium", "Medium kind", "medium", "rule")
HIGH = FindingKind("test-high", "High kind", "high", "rule", remediation="Do this.")
INFO = FindingKind("test-info", "Info kind", "info", "blind_spot")


def finding(
    kind: FindingKind,
    key: str | None,
    principal: str | None,
    start: int,
    end: int,
    count: int = 1,
    ips: Sequence[str] = (),
    agents: Sequence[str] = (),
    **subject: str,
) -> Finding:
    return Finding(
        kind=kind,
        subject=Subject(key_arn=key, principal=principal, **subject),  # type: ignore[arg-type]
        first=T0 + timedelta(hours=start),
        last=T0 + timedelta(hours=end),
        count=count,
        summary=f"{count} event(s) from hour {start}",
        evidence=tuple(
            Evidence(event_id=f"e{i}", source_ip=ip, user_agent=agent)
            for i, (ip, agent) in enumerate(zip(ips, agents, strict=True))
        ),
        details=MappingProxyType({"source_ips": sorted(set(ips)), "user_agents": []}),
    )


def test_kind_key_principal_with_counts_and_spans() -> None:
    found = [
        finding(MEDIUM, KEY_A, ROLE, 0, 2, count=3),
        finding(MEDIUM, KEY_A, OTHER, 5, 6, count=1),
        finding(MEDIUM, KEY_B, ROLE, 1, 1, count=4),
        finding(HIGH, KEY_B, ROLE, 3, 4, count=2),
    ]
    groups = group_findings(found)
    assert [g.kind.id for g in groups] == ["test-high", "test-medium"]  # most urgent first
    medium = groups[1]
    assert (medium.count, medium.findings, medium.principals) == (8, 3, 2)
    assert (medium.first, medium.last) == (T0, T0 + timedelta(hours=6))
    # keys with the most events first; in a key, principals with the most events first
    assert [k.key_arn for k in medium.keys] == [KEY_B, KEY_A]
    key_a = medium.keys[1]
    assert [p.principal for p in key_a.principals] == [ROLE, OTHER]
    assert [p.count for p in key_a.principals] == [3, 1]
    assert key_a.principals[0].summaries == ("3 event(s) from hour 0",)
    assert (key_a.first, key_a.last) == (T0, T0 + timedelta(hours=6))


def test_same_principal_findings_merge_and_keep_distinct_summaries() -> None:
    found = [finding(MEDIUM, KEY_A, ROLE, 0, 1), finding(MEDIUM, KEY_A, ROLE, 4, 5)]
    (group,) = group_findings(found)
    (key,) = group.keys
    (who,) = key.principals
    assert who.count == 2 and len(who.findings) == 2
    assert who.summaries == ("1 event(s) from hour 0", "1 event(s) from hour 4")
    assert (who.first, who.last) == (T0, T0 + timedelta(hours=5))


def test_findings_without_a_key_group_by_account_and_region() -> None:
    found = [
        finding(INFO, None, None, 0, 0, account="444455556666", region="us-west-2"),
        finding(INFO, None, None, 1, 1, account="777788889999", region="us-west-2"),
        finding(INFO, None, None, 2, 2, account="444455556666", region="us-west-2"),
    ]
    (group,) = group_findings(found)
    places = [(k.key_arn, k.account, k.region, k.count) for k in group.keys]
    assert places == [
        (None, "444455556666", "us-west-2", 2),
        (None, "777788889999", "us-west-2", 1),
    ]


def test_source_ips_most_seen_first_and_listed_ones_kept() -> None:
    ips = ["10.0.0.9", "10.0.0.1", "10.0.0.9", "10.0.0.9", "10.0.0.1", "10.0.0.5"]
    agents = ["cli", "sdk", "cli", "cli", "sdk", "console"]
    f = finding(MEDIUM, KEY_A, ROLE, 0, 1, count=7, ips=ips, agents=agents)
    # an IP past the evidence cap, known only from the finding's details
    f = Finding(
        f.kind,
        f.subject,
        f.first,
        f.last,
        f.count,
        f.summary,
        f.evidence,
        details=MappingProxyType({"source_ips": [*ips, "192.0.2.1"]}),
    )
    (who,) = group_findings([f])[0].keys[0].principals
    assert who.source_ips == ("10.0.0.9", "10.0.0.1", "10.0.0.5", "192.0.2.1")
    assert who.user_agents == ("cli", "sdk", "console")


def test_aliases_from_the_lookup_over_the_key_span_and_from_the_subject() -> None:
    asked: list[tuple[str, datetime | None, datetime | None]] = []

    def lookup(key: str, first: datetime | None, last: datetime | None) -> tuple[str, ...]:
        asked.append((key, first, last))
        return ("alias/orders",) if key == KEY_A else ()

    found = [
        finding(MEDIUM, KEY_A, ROLE, 0, 1),
        finding(MEDIUM, KEY_A, OTHER, 3, 8),
        Finding(MEDIUM, Subject(key_arn=KEY_B, aliases=("alias/b",)), T0, T0, 1, "x"),
    ]
    (group,) = group_findings(found, lookup)
    by_key = {k.key_arn: k.aliases for k in group.keys}
    assert by_key == {KEY_A: ("alias/orders",), KEY_B: ("alias/b",)}
    assert (KEY_A, T0, T0 + timedelta(hours=8)) in asked


def test_severity_of_a_kind_is_its_most_urgent_finding() -> None:
    raised = Finding(MEDIUM, Subject(key_arn=KEY_A), T0, T0, 1, "x", severity="critical")
    groups = group_findings([finding(HIGH, KEY_A, ROLE, 0, 0), raised])
    assert [(g.kind.id, g.severity) for g in groups] == [
        ("test-medium", "critical"),
        ("test-high", "high"),
    ]


def test_in_short() -> None:
    assert in_short(["a", "b", "c", "d", "e"]) == (["a", "b", "c"], 2)
    assert in_short(["a"], 2) == (["a"], 0)


def test_a_finding_open_at_the_end_of_the_logs_makes_its_groups_ongoing() -> None:
    open_window = Finding(INFO, Subject(account="1", region="r"), T0, None, 1, "open")
    closed = Finding(INFO, Subject(account="2", region="r"), T0, T0 + timedelta(hours=1), 1, "x")
    (group,) = group_findings([open_window, closed])
    assert group.ongoing and (group.first, group.last) == (T0, T0 + timedelta(hours=1))
    by_account = {k.account: (k.ongoing, k.principals[0].ongoing) for k in group.keys}
    assert by_account == {"1": (True, True), "2": (False, False)}
