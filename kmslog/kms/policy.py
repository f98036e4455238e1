"""Key-policy analysis: who can do what with a KMS key, and when a version widens it.

The pieces, all pure functions over frozen dataclasses (docs/key-policies.md):

* :func:`parse_policy` — the policy text logged by ``CreateKey``/``PutKeyPolicy`` →
  :class:`Policy`, or a :class:`PolicyError` with a reason (never raises);
* :func:`access` — each Allow statement's grantee class and KMS actions, conditions and
  Deny statements taken into account (:mod:`kmslog.kms.policy_access`,
  :mod:`kmslog.kms.policy_conditions`);
* :func:`widening` — what a new version grants that the previous one did not, with a
  severity and a one-line summary (:mod:`kmslog.kms.policy_widen`).

Typical use::

    policy = parse_policy(text)
    if isinstance(policy, PolicyError):
        ...  # report policy.reason
    else:
        for w in widening(previous_access, access(policy, key_account, org_id)):
            print(w.severity, w.summary)
"""

from __future__ import annotations

from kmslog.kms.policy_access import Access, Grant, access
from kmslog.kms.policy_actions import ALL_ACTIONS, GRANT_OPERATIONS, expand
from kmslog.kms.policy_conditions import Restriction, evaluate
from kmslog.kms.policy_parse import (
    Condition,
    Policy,
    PolicyError,
    Principal,
    Statement,
    parse_policy,
)
from kmslog.kms.policy_widen import Widening, widening

__all__ = [
    "ALL_ACTIONS",
    "GRANT_OPERATIONS",
    "Access",
    "Condition",
    "Grant",
    "Policy",
    "PolicyError",
    "Principal",
    "Restriction",
    "Statement",
    "Widening",
    "access",
    "evaluate",
    "expand",
    "parse_policy",
    "widening",
]
