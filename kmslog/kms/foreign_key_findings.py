"""S3 objects written under another account's KMS key as findings of the one model."""

from __future__ import annotations

from types import MappingProxyType

from kmslog.analyses.foreign_key_objects import ForeignKeyObjects, ForeignKeyObjectsResult
from kmslog.findings.model import Evidence, Finding, Subject, define_kind

# A burst: this many object writes under another account's key within one clock hour.
BURST_PER_HOUR = 50

FOREIGN_KEY_OBJECTS = define_kind(
    "cross_account",
    "s3-objects-encrypted-with-external-key",
    "S3 objects encrypted under another account's KMS key",
    "high",
    "An object written (PutObject, CopyObject, CreateMultipartUpload) with SSE-KMS under a "
    "key of another account than the bucket's opens only with that account's consent: "
    "rewriting objects in place this way is the S3 side of a ransomware move, unless the "
    "key's account is your own.",
    "Confirm the key's account is yours; if not, deny s3:PutObject with a foreign "
    "x-amz-server-side-encryption-aws-kms-key-id in the bucket policy, stop the principal, "
    "and restore the objects named in the evidence from earlier versions.",
    (
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html",
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/cloudtrail-logging-s3-info.html",
    ),
)


def _finding(item: ForeignKeyObjects) -> Finding:
    burst = item.busiest_hour >= BURST_PER_HOUR
    return Finding(
        kind=FOREIGN_KEY_OBJECTS,
        subject=Subject(
            key_arn=item.key_arn,
            principal=item.principal,
            account=item.bucket_account,
            resource=f"arn:aws:s3:::{item.bucket}" if item.bucket else None,
        ),
        first=item.first,
        last=item.last,
        count=item.writes,
        summary=(
            f"{item.writes} object write(s) ({item.objects} object(s)) by "
            f"{item.principal or 'an unknown principal'} into bucket {item.bucket or '?'} "
            f"of account {item.bucket_account} under key {item.key_arn} of account "
            f"{item.key_account} (at most {item.busiest_hour} in one hour"
            + (", a burst)" if burst else ")")
        ),
        evidence=tuple(
            Evidence(
                event_id=w.event_id,
                event_time=w.event_time,
                event_name=w.event_name,
                source=w.source,
                record_index=w.record_index,
            )
            for w in item.evidence
        ),
        severity="critical" if burst else None,
        details=MappingProxyType(
            {
                "bucket": item.bucket,
                "bucket_account": item.bucket_account,
                "key_account": item.key_account,
                "objects": item.objects,
                "object_keys": [w.object_key for w in item.evidence if w.object_key],
                "busiest_hour": item.busiest_hour,
                "burst": burst,
            }
        ),
    )


def foreign_key_findings(result: ForeignKeyObjectsResult) -> list[Finding]:
    return [_finding(item) for item in result.found]
