"""Key-policy versions as findings of the one model: a version that widened who may
use the key (severity by exposure), and policy text that could not be read."""

from __future__ import annotations

from functools import partial
from types import MappingProxyType

from kmslog.analyses.key_policies import KeyPolicies, PolicyVersion
from kmslog.findings.model import SEVERITIES, Evidence, Finding, Subject, define_kind
from kmslog.kms.policy_widen import widening_data

_GUIDE = "https://docs.aws.amazon.com/kms/latest/developerguide/"
_kind = partial(define_kind, "policy", references=(_GUIDE + "key-policies.html",))

WIDENED = _kind(
    "key-policy-widened",
    "Key policy widened who may use the key",
    "high",
    "A new version of the key policy lets more principals (another account, the public, "
    "outside the organisation) do more with the key, conditions taken into account.",
    "Check that the change was intended; narrow the principals or add kms:CallerAccount / "
    "aws:PrincipalOrgID conditions, and review what the new grantees did with the key.",
)
UNREADABLE = _kind(
    "key-policy-unreadable",
    "Key policy text could not be read",
    "medium",
    "The policy a CreateKey or PutKeyPolicy call set cannot be parsed, so who may use "
    "the key after it is unknown.",
    "Read the key's current policy (aws kms get-key-policy) and compare it with the record.",
)


def _evidence(v: PolicyVersion) -> Evidence:
    return Evidence(
        event_id=v.event_id,
        event_time=v.time,
        event_name=v.event_name,
        source=v.source,
        record_index=v.record_index,
    )


def policy_findings(found: KeyPolicies) -> list[Finding]:
    out: list[Finding] = []
    for v in found.versions:
        account = v.key_arn.split(":")[4] if v.key_arn.count(":") >= 5 else None
        subject = Subject(key_arn=v.key_arn, principal=v.by, account=account)
        if v.error is not None:
            out.append(
                Finding(
                    UNREADABLE,
                    subject,
                    v.time,
                    v.time,
                    1,
                    f"{v.event_name} set a policy that cannot be read: {v.error}",
                    (_evidence(v),),
                )
            )
            continue
        if not v.widened:
            continue
        worst = min((w.severity for w in v.widened), key=SEVERITIES.index)
        prefix = "" if not v.first_seen else "(no earlier version in the logs) "
        out.append(
            Finding(
                WIDENED,
                subject,
                v.time,
                v.time,
                1,
                prefix + "; ".join(w.summary for w in v.widened),
                (_evidence(v),),
                severity=worst,
                details=MappingProxyType(
                    {
                        "added": [widening_data(w) for w in v.widened],
                        "first_seen": v.first_seen,
                    }
                ),
            )
        )
    return out
