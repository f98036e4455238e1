"""Who may do what with a key, as its key policy says: :func:`access`.

Each Allow statement yields one :class:`Grant` per grantee, classed as

* ``public`` — ``*`` / ``{"AWS": "*"}`` (or an Allow with ``NotPrincipal``, which grants
  everyone but the listed) with no condition that certainly narrows the caller;
* ``account`` — another AWS account, named by an account id, an ARN, or a
  ``kms:CallerAccount`` / ``aws:PrincipalAccount`` / ``aws:PrincipalArn`` condition that
  narrows ``*``; principals KMS stores by unique id (``AIDA…``) keep ``account=None``;
* ``outside-org`` — ``*`` narrowed by ``aws:PrincipalOrgID`` to an organisation that is not
  the known one;
* ``organisation`` — ``*`` narrowed to the known organisation (or to one when none is known);
* ``own`` — the key's account (its root) or principals of it;
* ``service`` — a ``Service`` principal, with the accounts ``aws:SourceAccount`` /
  ``aws:SourceArn`` let it act for;
* ``federated`` — a ``Federated`` principal;
* ``conditional`` — ``*`` with a condition this analysis cannot evaluate: "conditional
  (unverified)", never called public, never called safe.

``via`` carries ``kms:ViaService`` (and ``aws:CalledVia…``) services the requests must come
through. ``outside_org`` is True for a grant outside the organisation when ``org_id`` is
known and no ``aws:PrincipalOrgID`` condition holds it in (None when unknown).

Deny statements subtract actions where they certainly apply (no condition, and a principal
that covers the grantee: ``*``, the same principal, or the grantee's account); otherwise a
Deny that names some of the grant's actions sets ``narrowed_by_deny`` ("may be narrowed by
Deny"). ``Resource`` is not evaluated: in a key policy it can only mean the key itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from kmslog.kms.policy_actions import GRANT_OPERATIONS, statement_actions
from kmslog.kms.policy_conditions import Restriction, evaluate
from kmslog.kms.policy_parse import Policy, Principal, Statement

MAX_PRINCIPAL_CHARS = 256

_ACCOUNT = re.compile(r"^\d{12}$")
_IAM_ARN = re.compile(r"^arn:[a-z0-9-]+:(?:iam|sts)::(\d{12}):(.*)$")


@dataclass(frozen=True)
class Grant:
    # public | account | outside-org | organisation | own | service | federated | conditional
    grantee: str
    principal: str  # "*", an account id, an ARN, a service, an organisation id
    account: str | None
    actions: frozenset[str]
    sid: str
    via: tuple[str, ...] = ()
    outside_org: bool | None = None
    narrowed_by_deny: bool = False
    unverified: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "conditional (unverified)" if self.grantee == "conditional" else self.grantee


@dataclass(frozen=True)
class Access:
    key_account: str
    org_id: str | None
    grants: tuple[Grant, ...]

    def entitlements(self) -> frozenset[tuple[str, str, tuple[str, ...], str]]:
        """``(grantee, principal, via, action)`` for every action of every grant."""
        return frozenset(
            (g.grantee, g.principal, g.via, action) for g in self.grants for action in g.actions
        )

    @property
    def public(self) -> bool:
        return any(g.grantee == "public" for g in self.grants)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_PRINCIPAL_CHARS else text[: MAX_PRINCIPAL_CHARS - 3] + "..."


def _aws_account(value: str) -> tuple[str, str | None]:
    """(principal as shown, account) of an ``AWS`` principal value; root ARNs fold to the id."""
    if _ACCOUNT.match(value):
        return value, value
    arn = _IAM_ARN.match(value)
    if arn:
        return (
            (arn.group(1), arn.group(1)) if arn.group(2) == "root" else (_clip(value), arn.group(1))
        )
    return _clip(value), None


def _outside(org_id: str | None, restriction: Restriction) -> bool | None:
    if org_id is None:
        return None
    return restriction.orgs is None or org_id not in restriction.orgs


def _account_grant(account: str | None, key_account: str) -> str:
    return "own" if account == key_account else "account"


def _anyone(
    st: Statement, r: Restriction, actions: frozenset[str], key_account: str, org_id: str | None
) -> list[Grant]:
    base = Grant(
        "public", "*", None, actions, st.sid, r.via, _outside(org_id, r), False, r.unverified
    )
    if r.accounts is not None:
        return [
            replace(
                base,
                grantee=_account_grant(a, key_account),
                principal=a,
                account=a,
                outside_org=None if a == key_account else base.outside_org,
            )
            for a in sorted(r.accounts)
        ]
    if r.orgs is not None:
        return [
            replace(
                base,
                grantee="organisation" if org_id in (None, org) else "outside-org",
                principal=_clip(org),
                outside_org=None if org_id is None else org != org_id,
            )
            for org in sorted(r.orgs)
        ]
    if r.unverified or r.source_accounts is not None:
        return [replace(base, grantee="conditional")]
    return [base]


def _principal_grants(
    st: Statement,
    p: Principal,
    r: Restriction,
    actions: frozenset[str],
    key_account: str,
    org_id: str | None,
) -> list[Grant]:
    if p.anyone:
        return _anyone(st, r, actions, key_account, org_id)
    grants: list[Grant] = []
    for value in p.aws:
        shown, account = _aws_account(value)
        if r.accounts is not None and account is not None and account not in r.accounts:
            continue  # the condition excludes this principal's account: the statement never applies
        kind = _account_grant(account, key_account)
        outside = None if kind == "own" else _outside(org_id, r)
        grants.append(
            Grant(kind, shown, account, actions, st.sid, r.via, outside, False, r.unverified)
        )
    for service in p.service:
        for source in sorted(r.source_accounts) if r.source_accounts is not None else [None]:
            grants.append(
                Grant(
                    "service",
                    _clip(service),
                    source,
                    actions,
                    st.sid,
                    r.via,
                    None,
                    False,
                    r.unverified,
                )
            )
    for value in p.federated:
        grants.append(
            Grant(
                "federated",
                _clip(value),
                None,
                actions,
                st.sid,
                r.via,
                _outside(org_id, r),
                False,
                r.unverified,
            )
        )
    for kind, value in p.other:
        grants.append(
            Grant(
                "account",
                _clip(f"{kind}:{value}"),
                None,
                actions,
                st.sid,
                r.via,
                _outside(org_id, r),
                False,
                r.unverified,
            )
        )
    return grants


def _allow(st: Statement, key_account: str, org_id: str | None) -> list[Grant]:
    r = evaluate(st.conditions)
    actions = statement_actions(st.actions, st.not_actions)
    if r.grant_only:
        actions &= GRANT_OPERATIONS
    if r.never or not actions:
        return []
    # An Allow with NotPrincipal grants everyone except the listed: treated as "*".
    principal = st.principal if st.principal is not None else Principal(anyone=True)
    return _principal_grants(st, principal, r, actions, key_account, org_id)


def _deny_covers(deny: Statement, grant: Grant) -> bool:
    p = deny.principal
    if p is None or deny.conditions:
        return False
    if p.anyone:
        return True
    if grant.grantee == "service":
        return grant.principal in p.service
    for value in p.aws:
        shown, account = _aws_account(value)
        if shown == grant.principal or (shown == account and account == grant.account):
            return True
    return False


def _apply_denies(grant: Grant, denies: list[tuple[Statement, frozenset[str]]]) -> Grant:
    actions, narrowed = grant.actions, grant.narrowed_by_deny
    for deny, denied in denies:
        overlap = actions & denied
        if not overlap:
            continue
        if _deny_covers(deny, grant):
            actions = actions - overlap
        else:
            narrowed = True
    return replace(grant, actions=actions, narrowed_by_deny=narrowed)


def access(policy: Policy, key_account: str, org_id: str | None = None) -> Access:
    """Every grant ``policy`` makes on a key of ``key_account`` (see the module docstring)."""
    denies = [
        (st, statement_actions(st.actions, st.not_actions))
        for st in policy.statements
        if st.effect == "Deny"
    ]
    grants: list[Grant] = []
    for st in policy.statements:
        if st.effect != "Allow":
            continue
        for grant in _allow(st, key_account, org_id):
            kept = _apply_denies(grant, denies)
            if kept.actions:
                grants.append(kept)
    return Access(key_account, org_id, tuple(grants))
