"""Re-encryption out of the account as findings of the one model."""

from __future__ import annotations

from types import MappingProxyType

from kmslog.analyses.reencrypt import ReEncryptOut, ReEncryptResult
from kmslog.decode import schema as S
from kmslog.findings.model import Evidence, Finding, Subject, define_kind

# A burst: this many re-encryptions into another account's key within one clock hour.
BURST_PER_HOUR = 50

REENCRYPT_OUT = define_kind(
    "cross_account",
    "kms-reencrypt-out-of-account",
    "Data re-encrypted under another account's key",
    "high",
    "ReEncrypt decrypts under the source key and encrypts under the destination key "
    "inside KMS: data of this account now opens only with a key another account controls "
    "(the KMS side of a ransomware move), unless that account is your own.",
    "Confirm the destination account is yours; if not, revoke the principal's kms:ReEncrypt* "
    "permissions on the source key and find the data re-encrypted (the evidence calls).",
    ("https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html",),
)


def _finding(item: ReEncryptOut) -> Finding:
    burst = item.busiest_hour >= BURST_PER_HOUR
    return Finding(
        kind=REENCRYPT_OUT,
        subject=Subject(
            key_arn=item.source_key,
            principal=item.principal,
            account=item.source_key.split(":")[4] if item.source_key.count(":") >= 5 else None,
            resource=item.destination,
        ),
        first=item.first,
        last=item.last,
        count=item.calls,
        summary=(
            f"{item.calls} ReEncrypt call(s) by {item.principal or 'an unknown principal'} "
            f"from key {item.source_key} into {item.destination} of account "
            f"{item.destination_account} (at most {item.busiest_hour} in one hour"
            + (", a burst)" if burst else ")")
        ),
        evidence=tuple(
            Evidence(
                event_id=e.get(S.EVENT_ID),
                event_time=e.get(S.EVENT_TIME),
                event_name="ReEncrypt",
                source=e.get(S.SOURCE),
                record_index=e.get(S.RECORD_INDEX),
            )
            for e in item.evidence
        ),
        severity="critical" if burst else None,
        details=MappingProxyType(
            {
                "destination_account": item.destination_account,
                "busiest_hour": item.busiest_hour,
                "burst": burst,
            }
        ),
    )


def reencrypt_findings(result: ReEncryptResult) -> list[Finding]:
    return [_finding(item) for item in result.out]
