"""Whether a key policy by itself may let one principal make one call:
:func:`policy_may_allow`. "May", because a principal of an account the policy trusts
(its root) still needs that account's IAM to allow the call, which the logs do not show;
what this can say for certain is the opposite: the policy names neither the principal
nor its account nor anyone who could be it, so whatever let the call through, it was not
the key policy (a grant, when the call was made with one)."""

from __future__ import annotations

from kmslog.kms.policy_access import Access

# Grantee classes that may cover a principal of any account (or that cannot be
# evaluated): the policy may allow the call, so nothing certain can be said.
_OPEN = frozenset({"public", "organisation", "outside-org", "conditional", "federated"})


def policy_may_allow(access: Access, principal: str, account: str | None, action: str) -> bool:
    """``principal``: the caller as the ledger folds it (an assumed role's session
    folded to the role); ``account``: its account; ``action``: ``kms:Operation``."""
    for grant in access.grants:
        if action not in grant.actions:
            continue
        if grant.grantee in _OPEN:
            return True
        if grant.grantee in ("account", "own"):
            if grant.account is None:
                return True  # a principal stored by unique id: it could be anyone
            if grant.principal == grant.account:
                if grant.account == account:
                    return True  # the account's root: its IAM decides
            elif grant.principal == principal:
                return True
    return False
