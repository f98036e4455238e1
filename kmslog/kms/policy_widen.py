"""What a new key policy grants that the previous one did not: :func:`widening`.

Grants are compared as ``(grantee, principal, via, action)`` entitlements. An action the
old policy already gave is not a widening when it was given to the same grantee without a
``via`` restriction, or to everyone (a public grant covers any narrower one), or — for a
principal of the key's own account — to the account itself, whose grant IAM policies
already delegate. Severity:
public → critical; another account, outside the organisation, a federated principal →
high; conditional (unverified), the organisation, a service acting for any or another
account → medium; the key's own account or a service acting for it → low.
"""

from __future__ import annotations

from dataclasses import dataclass

from kmslog.kms.policy_access import Access, Grant
from kmslog.kms.policy_actions import ALL_ACTIONS

_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)
class Widening:
    grantee: str
    principal: str
    account: str | None
    via: tuple[str, ...]
    actions: frozenset[str]
    severity: str
    summary: str


def _severity(grant: Grant, key_account: str) -> str:
    if grant.grantee == "public":
        return "critical"
    if grant.grantee in ("account", "outside-org", "federated"):
        return "high"
    if grant.grantee == "own" or (grant.grantee == "service" and grant.account == key_account):
        return "low"
    return "medium"


def _who(grant: Grant) -> str:
    if grant.grantee == "public":
        return "anyone (public)"
    if grant.grantee == "conditional":
        return "anyone, under conditions not verified"
    if grant.grantee == "account":
        return f"account {grant.principal}" if grant.principal == grant.account else grant.principal
    if grant.grantee == "own":
        return f"own account ({grant.principal})"
    if grant.grantee in ("organisation", "outside-org"):
        place = "outside the organisation" if grant.grantee == "outside-org" else "organisation"
        return f"{place} {grant.principal}"
    if grant.grantee == "service" and grant.account:
        return f"service {grant.principal} for account {grant.account}"
    return f"{grant.grantee} {grant.principal}"


def _actions_text(actions: frozenset[str]) -> str:
    if actions >= ALL_ACTIONS:
        return "every KMS action"
    listed = sorted(actions)
    if len(listed) > 4:
        return ", ".join(listed[:4]) + f" (+{len(listed) - 4} more)"
    return ", ".join(listed)


def _summary(grant: Grant, actions: frozenset[str], new_grantee: bool) -> str:
    verb = "may now" if new_grantee else "may now also"
    via = f" through {', '.join(grant.via)}" if grant.via else ""
    tail = "; may be narrowed by Deny" if grant.narrowed_by_deny else ""
    return f"{_who(grant)} {verb} call {_actions_text(actions)}{via}{tail}"


def widening(old: Access | None, new: Access) -> list[Widening]:
    """Grantees and actions ``new`` adds to ``old`` (``None``: nothing was known before),
    most severe first."""
    before = old.entitlements() if old is not None else frozenset()
    public_before = {
        action for grantee, _p, via, action in before if grantee == "public" and not via
    }
    # The account principal delegates to IAM: what it had, any principal of the account
    # could already be given, so naming one of them adds nothing.
    own_before = {
        action
        for grantee, principal, via, action in before
        if grantee == "own" and principal == new.key_account and not via
    }
    seen_grantees = {(g, p) for g, p, _v, _a in before}
    merged: dict[tuple[str, str, str | None, tuple[str, ...]], tuple[Grant, set[str]]] = {}
    for grant in new.grants:
        added = {
            a
            for a in grant.actions
            if (grant.grantee, grant.principal, grant.via, a) not in before
            and (grant.grantee, grant.principal, (), a) not in before
            and a not in public_before
            and not (grant.grantee == "own" and a in own_before)
        }
        if not added:
            continue
        key = (grant.grantee, grant.principal, grant.account, grant.via)
        if key in merged:
            merged[key][1].update(added)
        else:
            merged[key] = (grant, added)
    found = [
        Widening(
            grant.grantee,
            grant.principal,
            grant.account,
            grant.via,
            frozenset(actions),
            _severity(grant, new.key_account),
            _summary(
                grant, frozenset(actions), (grant.grantee, grant.principal) not in seen_grantees
            ),
        )
        for grant, actions in merged.values()
    ]
    return sorted(found, key=lambda w: (_RANK[w.severity], w.grantee, w.principal, w.via))


def widening_data(w: Widening) -> dict[str, object]:
    """A widening as JSON-ready data (findings' details, lifecycle's policy_access)."""
    return {
        "grantee": w.grantee,
        "principal": w.principal,
        "account": w.account,
        "via": list(w.via),
        "actions": sorted(w.actions),
        "severity": w.severity,
        "summary": w.summary,
    }
