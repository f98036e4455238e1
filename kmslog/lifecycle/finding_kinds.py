"""What a key's lifecycle reports, as kinds of the one finding model (data), and the
adapter from a lifecycle result to findings of that model.

The lifecycle keeps its own light records (``lifecycle.model.Finding``: kind, time,
detail, event) because the state machine produces them while it replays; every renderer
outside the lifecycle report reads them through :func:`lifecycle_findings`, with the
kind's title, severity, rationale and remediation. What the logs show that is not a
finding (``enabled_by_use``: a state learned from use) is a fact of the key's record
(``KeyLifecycle.facts``), never a finding.
"""

from __future__ import annotations

from functools import partial

from kmslog.findings.model import Evidence, Finding, FindingKind, Subject, define_kind
from kmslog.lifecycle.model import Finding as LifecycleFinding
from kmslog.lifecycle.model import KeyLifecycle, LifecycleResult

_GUIDE = "https://docs.aws.amazon.com/kms/latest/developerguide/"
_kind = partial(define_kind, "lifecycle")

_STILL_USED = (
    "Find the principal's workload (the calls' source addresses and agents in the usage "
    "table) and move it to another key, or restore the key's state if the change was not "
    "intended."
)

KINDS: dict[str, FindingKind] = {
    "deletion_pending": _kind(
        "lifecycle-deletion-pending",
        "KMS key scheduled for deletion",
        "high",
        "Once deleted, a key is gone with every ciphertext under it; the waiting period is "
        "the only time to notice and cancel.",
        "Confirm the deletion was intended and that nothing still uses the key (the "
        "dependents); otherwise CancelKeyDeletion before the date.",
        (_GUIDE + "deleting-keys.html",),
    ),
    "deletion_not_observed": _kind(
        "lifecycle-deletion-not-observed",
        "Deletion date passed without a logged DeleteKey",
        "low",
        "The key was due for deletion but the logs do not show it happen: the logs may "
        "miss the deletion, or the deletion was cancelled outside them.",
        "Check the key's state with DescribeKey.",
        (_GUIDE + "deleting-keys.html",),
    ),
    "event_after_deletion": _kind(
        "lifecycle-event-after-deletion",
        "Calls on a key after its deletion",
        "medium",
        "A deleted key cannot be used; calls after the deletion show callers that still "
        "depend on it (their data is lost) or records out of order.",
        "Find the callers: their data encrypted under the key cannot be decrypted any more.",
    ),
    "failed_state_change": _kind(
        "lifecycle-failed-state-change",
        "Failed attempt to change a key's state",
        "medium",
        "A refused DisableKey, ScheduleKeyDeletion or similar can be an attempt to destroy "
        "access to data that the key policy stopped.",
        "Find out who tried and why; check the principal's other calls.",
    ),
    "state_conflict": _kind(
        "lifecycle-state-conflict",
        "The logs contradict the key's logged history",
        "low",
        "A call shows the key in another state than the logged changes say: a state change "
        "is missing from these logs.",
        "Read the logs of the missing period (other trails, Regions, accounts).",
    ),
    "material_expired": _kind(
        "lifecycle-material-expired",
        "Imported key material expired",
        "high",
        "A key whose imported material expired is unusable until the material is imported "
        "again: everything encrypted under it fails to decrypt meanwhile.",
        "Re-import the same key material (ImportKeyMaterial) and review its expiration.",
        (_GUIDE + "importing-keys.html",),
    ),
    "material_expiry": _kind(
        "lifecycle-material-expiry",
        "Imported key material expires",
        "medium",
        "Imported key material with an expiration date makes the key unusable on that date "
        "unless the material is imported again.",
        "Re-import the material with a later expiration, or without one, before the date.",
        (_GUIDE + "importing-keys.html",),
    ),
    "policy_wildcard_principal": _kind(
        "lifecycle-policy-wildcard-principal",
        'Key policy allows Principal "*"',
        "high",
        "A wildcard principal with no condition that narrows it lets any AWS principal use "
        "the key.",
        "Narrow the statement to named principals or add conditions (kms:CallerAccount, "
        "aws:PrincipalOrgID).",
        (_GUIDE + "key-policies.html",),
    ),
    "policy_external_principal": _kind(
        "lifecycle-policy-external-principal",
        "Key policy allows principals of other accounts",
        "high",
        "Principals of another account can use the key as their own account's IAM allows, "
        "without any change on this side.",
        "Confirm the other accounts are meant to use the key; remove them otherwise.",
        (_GUIDE + "key-policy-modifying-external-accounts.html",),
    ),
    "used_after_alias_left": _kind(
        "lifecycle-used-after-alias-left",
        "Key still used directly after an alias moved away",
        "low",
        "Callers that keep using a key after its alias pointed elsewhere use its ARN or old "
        "ciphertexts: they still need this key.",
        "Keep the key enabled until these callers are moved; do not schedule its deletion.",
    ),
    "unreadable_record": _kind(
        "lifecycle-unreadable-record",
        "A key's control-plane record could not be read",
        "low",
        "Part of the key's history could not be replayed from this record.",
        "Look at the record (file and position in the finding) by hand.",
    ),
    "unreadable_date": _kind(
        "lifecycle-unreadable-date",
        "A date in a key's record could not be read",
        "low",
        "The date was kept verbatim; times derived from it (deletion, expiry) are unknown.",
        "Look at the record by hand.",
    ),
    "used_while_pending_deletion": _kind(
        "lifecycle-used-while-pending-deletion",
        "Key used while pending deletion",
        "high",
        "Something still uses a key scheduled for deletion: its data will be lost when the "
        "key is deleted.",
        "Cancel the deletion, or move the callers to another key before the date. " + _STILL_USED,
    ),
    "used_while_disabled": _kind(
        "lifecycle-used-while-disabled",
        "Key used while disabled",
        "medium",
        "Calls on a disabled key fail: the callers' data cannot be decrypted meanwhile, and "
        "the disabling may be an attack on the data's availability.",
        _STILL_USED,
    ),
    "used_while_pending_import": _kind(
        "lifecycle-used-while-pending-import",
        "Key used while its key material is missing",
        "medium",
        "Calls on a key waiting for imported material fail until it is imported again.",
        _STILL_USED,
    ),
    "used_after_deletion": _kind(
        "lifecycle-used-after-deletion",
        "Key still called after its deletion",
        "high",
        "A principal still calls a deleted key: whatever it encrypted under the key cannot "
        "be decrypted any more, and its workload is failing.",
        "Find the principal's workload and what data it holds under the deleted key; "
        "restore from backups encrypted under another key.",
    ),
    "used_while_unavailable": _kind(
        "lifecycle-used-while-unavailable",
        "Key used while unavailable",
        "medium",
        "Calls on a key whose custom key store is disconnected fail.",
        _STILL_USED,
    ),
}


def _fallback(kind: str) -> FindingKind:
    """A kind this table does not list yet keeps its name and a low severity rather than
    disappearing from the outputs."""
    return _kind(
        "lifecycle-" + kind.replace("_", "-"),
        kind.replace("_", " "),
        "low",
        "Reported by the key's lifecycle.",
        "See the key's lifecycle report.",
    )


def kind_of(kind: str) -> FindingKind:
    return KINDS.get(kind) or _fallback(kind)


def key_findings(life: KeyLifecycle) -> list[Finding]:
    return [_finding(life, f) for f in life.findings]


def _finding(life: KeyLifecycle, f: LifecycleFinding) -> Finding:
    arn = life.key.arn
    parts = arn.split(":")
    return Finding(
        kind=kind_of(f.kind),
        subject=Subject(
            key_arn=arn,
            aliases=tuple(b.scope.name for b in life.key.aliases),
            account=parts[4] if len(parts) > 5 else None,
            region=parts[3] if len(parts) > 5 else None,
        ),
        first=f.time,
        last=f.time,
        count=1,
        summary=f.detail,
        evidence=(Evidence(event_id=f.event_id, event_time=f.time),) if f.event_id else (),
    )


def lifecycle_findings(result: LifecycleResult) -> list[Finding]:
    return [found for life in result.keys for found in key_findings(life)]
