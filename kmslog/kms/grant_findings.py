"""What the grant ledger reports, as findings of the one finding model.

Grants AWS services make for AWS resources are in the ledger but never findings: they
are routine (an EBS volume attached, a DynamoDB table opened) and the service retires
them itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from types import MappingProxyType

from kmslog.findings.model import Evidence, Finding, FindingKind, Subject, define_kind
from kmslog.kms.grants import Cite, FailedGrant, Grant, Ledger, key_account, principal_account
from kmslog.kms.policy_access import Access
from kmslog.kms.policy_allows import policy_may_allow

_GUIDE = "https://docs.aws.amazon.com/kms/latest/developerguide/"


_kind = partial(
    define_kind, "grant", references=(_GUIDE + "grants.html", _GUIDE + "grant-manage.html")
)


EXTERNAL_GRANTEE = _kind(
    "grant-external-grantee",
    "KMS grant to a principal of another account",
    "high",
    "A grant lets its grantee use the key without any change to the key policy, and a "
    "grant to another account's principal is how a key is quietly shared outside: the "
    "key policy still looks closed.",
    "Check that the other account is meant to use this key; if not, revoke the grant "
    "(RevokeGrant with the grant id) and find out who created it.",
)
NEVER_RETIRED = _kind(
    "grant-never-retired",
    "KMS grant still in force at the end of the logs",
    "low",
    "Grants are meant for temporary permissions. One that nobody retired or revoked keeps "
    "its grantee's access for as long as the key exists.",
    "List the key's grants (ListGrants) and retire or revoke the ones no longer needed.",
)
CREATE_FAILED = _kind(
    "grant-create-failed",
    "Failed attempt to create a KMS grant",
    "medium",
    "Creating a grant is a way to give oneself or someone else use of a key. A refused "
    "attempt by a person or workload can be an escalation that the key policy stopped.",
    "Find out why the principal tried to create the grant and whether it later succeeded "
    "by other means.",
)


BEYOND_POLICY = _kind(
    "grant-use-beyond-key-policy",
    "KMS key used through a grant by a principal its key policy does not allow",
    "high",
    "The key policy in force at the time names neither this principal nor its account, so "
    "the call went through only because of the grant: access to the key that a review of "
    "the key policy alone would never show.",
    "Check that the grant is meant to give this principal use of the key; if not, revoke it "
    "(RevokeGrant with the grant id), and review who may create grants on the key.",
)


def _evidence(cite: Cite) -> Evidence:
    return Evidence(
        event_id=cite.event_id,
        event_time=cite.event_time,
        event_name=cite.event_name,
        source=cite.source,
        record_index=cite.record_index,
        source_ip=cite.source_ip,
    )


def _details(grant: Grant) -> MappingProxyType[str, object]:
    return MappingProxyType(
        {
            "grant_id": grant.grant_id,
            "grantee": grant.grantee,
            "operations": list(grant.operations),
            "retiring_principal": grant.retiring_principal,
            "uses": grant.uses,
        }
    )


def _grant_finding(kind: FindingKind, grant: Grant, summary: str) -> Finding | None:
    if grant.created is None:
        return None
    cites = (grant.created,) if grant.ended is None else (grant.created, grant.ended)
    return Finding(
        kind=kind,
        subject=Subject(
            key_arn=grant.key_arn,
            principal=grant.created.by,
            account=key_account(grant.key_arn),
            resource=grant.grant_id,
        ),
        first=grant.created.event_time,
        last=(grant.ended or grant.created).event_time,
        count=len(cites),
        summary=summary,
        evidence=tuple(_evidence(c) for c in cites),
        details=_details(grant),
    )


def external_grantee(grant: Grant) -> Finding | None:
    owner = key_account(grant.key_arn)
    other = principal_account(grant.grantee)
    if grant.for_aws_resource or owner is None or other is None or other == owner:
        return None
    return _grant_finding(
        EXTERNAL_GRANTEE,
        grant,
        f"grant {grant.grant_id[:16]}… gives {grant.grantee} (account {other}) "
        f"[{', '.join(grant.operations)}] on a key of account {owner}",
    )


def never_retired(grant: Grant) -> Finding | None:
    if grant.for_aws_resource or not grant.open:
        return None
    return _grant_finding(
        NEVER_RETIRED,
        grant,
        f"grant {grant.grant_id[:16]}… to {grant.grantee} was neither retired nor revoked "
        "by the end of the logs",
    )


def create_failed(failed: FailedGrant) -> Finding | None:
    if failed.service is not None:
        return None
    cite = failed.cite
    return Finding(
        kind=CREATE_FAILED,
        subject=Subject(
            key_arn=failed.key_arn,
            principal=cite.by,
            account=key_account(failed.key_arn) if failed.key_arn else None,
        ),
        first=cite.event_time,
        last=cite.event_time,
        count=1,
        summary=f"{cite.by} failed to create a grant for {failed.grantee or 'an unlogged grantee'}"
        f" ({cite.error_code or 'no error code'})",
        evidence=(_evidence(cite),),
        details=MappingProxyType(
            {
                "grantee": failed.grantee,
                "operations": list(failed.operations),
                "error_code": cite.error_code,
                "error_message": failed.error_message,
            }
        ),
    )


# One key's policy versions in time order: (time, the access it gave, or None when its
# text could not be read).
PolicyTimeline = Sequence[tuple[datetime, Access | None]]


def _in_force(policies: PolicyTimeline, cite: Cite) -> Access | None:
    """The policy in force at the call, when the logs show it (and could read it)."""
    found: Access | None = None
    when = cite.event_time
    if when is None:
        return None
    for at, access in policies:
        if at <= when:
            found = access
    return found


def beyond_policy(grant: Grant, policies: PolicyTimeline) -> list[Finding]:
    """One finding per principal whose use of the grant the key policy in force at its
    first use did not allow."""
    if grant.for_aws_resource or not policies:
        return []
    out = []
    for cite in grant.users:
        access = _in_force(policies, cite)
        if access is None or cite.event_name is None or cite.invoked_by is not None:
            continue
        account = principal_account(cite.by)
        if policy_may_allow(access, cite.by, account, f"kms:{cite.event_name}"):
            continue
        out.append(
            Finding(
                kind=BEYOND_POLICY,
                subject=Subject(
                    key_arn=grant.key_arn,
                    principal=cite.by,
                    account=key_account(grant.key_arn),
                    resource=grant.grant_id,
                ),
                first=cite.event_time,
                last=cite.event_time,
                count=1,
                summary=f"{cite.by} called {cite.event_name} with grant {grant.grant_id[:16]}… "
                f"although the key policy in force names neither it nor account "
                f"{account or '(unknown)'}",
                evidence=tuple(_evidence(c) for c in (grant.created, cite) if c is not None),
                details=_details(grant),
            )
        )
    return out


def grant_findings(
    ledger: Ledger, policies: dict[str, PolicyTimeline] | None = None
) -> tuple[Finding, ...]:
    """Every finding the ledger gives, grants in ledger order, then failed attempts in
    time order. ``policies``: each key's policy versions (``analyses.key_policies``),
    without which no use can be said to go beyond the policy."""
    out: list[Finding] = []
    for key, grants in ledger.grants.items():
        for grant in grants:
            for check in (external_grantee, never_retired):
                found = check(grant)
                if found is not None:
                    out.append(found)
            out += beyond_policy(grant, (policies or {}).get(key, ()))
    out += [f for f in map(create_failed, ledger.failed) if f is not None]
    return tuple(out)
