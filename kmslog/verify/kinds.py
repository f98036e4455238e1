"""The finding kinds ``kmslog verify`` reports, registered in the one finding model.

Failures (:data:`FAILURES`) make the command exit 1; the other kinds say what could
not be checked, or note a gap CloudTrail itself explains (logging or validation off).
"""

from __future__ import annotations

from functools import partial

from kmslog.findings.model import define_kind

_REF = (
    "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
    "cloudtrail-log-file-custom-validation.html",
)


_kind = partial(define_kind, "integrity", references=_REF)

LOG_MODIFIED = _kind(
    "verify-log-modified",
    "Log file changed after delivery",
    "critical",
    "The SHA-256 of the log file's content differs from the hash its digest recorded "
    "when CloudTrail delivered it (or the file can no longer be read).",
    "Treat the records in this file as untrusted; restore the original object from a "
    "versioned or replicated copy and find out who wrote it.",
)
LOG_MISSING = _kind(
    "verify-log-missing",
    "Log file listed in a digest is missing",
    "high",
    "A digest lists this log file but no copy of it is among the files given.",
    "Download it again; if it was deleted from the bucket, its events are lost: "
    "review who deleted it (S3 data events, bucket policy).",
)
LOG_UNCOVERED = _kind(
    "verify-log-uncovered",
    "Log file that no digest lists",
    "high",
    "The file lies inside the hours the digests cover, but none of them lists it: "
    "CloudTrail did not deliver it there (a planted file) or its digest is missing.",
    "Do not trust its records; check whether a backfill digest or another trail's digest lists it.",
)
DIGEST_MISSING = _kind(
    "verify-digest-missing",
    "Digest file missing from the chain",
    "high",
    "A digest names its predecessor, which is absent although older digests of the "
    "same chain are present: a digest was deleted.",
    "Download it again; if it is gone from the bucket, the log files of its hour "
    "cannot be verified.",
)
DIGEST_INVALID = _kind(
    "verify-digest-invalid",
    "Digest file is invalid",
    "high",
    "The digest cannot be read, was moved from the key it names, or does not match "
    "what the next digest recorded about it (hash or signature).",
    "Download the digest again from its original key; if it still fails, treat the "
    "hour it covers as tampered with.",
)
SIGNATURE_INVALID = _kind(
    "verify-signature-invalid",
    "Digest signature does not verify",
    "critical",
    "The digest's SHA256withRSA signature does not verify with the CloudTrail public "
    "key its fingerprint names (or no such key was given): it was not written by "
    "CloudTrail as it is.",
    "Treat the digest and every log file it lists as forged until proven otherwise.",
)
SIGNATURE_UNCHECKED = _kind(
    "verify-signature-unchecked",
    "Digest signature not checked",
    "info",
    "No public key or no signature was given for this digest, so its authenticity "
    "is unknown (its hashes were still compared).",
    "Pass --public-keys (aws cloudtrail list-public-keys) and the digest's signature "
    "(--signatures or a .metadata.json sidecar).",
)
CHAIN_UNCHECKED = _kind(
    "verify-chain-unchecked",
    "Digest chain not checked beyond the files given",
    "info",
    "The oldest digest given names a predecessor that is not among the files, and "
    "the newest one may have successors: the chain outside is unknown.",
    "Give the neighbouring digests too to check the chain across them.",
)
CHAIN_GAP = _kind(
    "verify-chain-gap",
    "Digest chain restarts: no digest for a period",
    "low",
    "A digest starts a new chain although older digests exist: logging or log file "
    "validation was off in between, or the trail was re-created. CloudTrail delivers "
    "no digest for such a period.",
    "Check the trail's StopLogging/UpdateTrail/DeleteTrail events for that period.",
)
LOG_UNCHECKED = _kind(
    "verify-log-unchecked",
    "Log files no digest given can vouch for",
    "info",
    "These log files lie outside every digest given (or at the edge of one), so "
    "nothing here says whether CloudTrail delivered them as they are.",
    "Give the digests of their hours too.",
)

FAILURES = frozenset(
    k.id
    for k in (
        LOG_MODIFIED,
        LOG_MISSING,
        LOG_UNCOVERED,
        DIGEST_MISSING,
        DIGEST_INVALID,
        SIGNATURE_INVALID,
    )
)
