"""Signed digest trails: CloudTrail's hourly digest chain with real SHA256withRSA
signatures, made with an RSA key generated here, exactly per AWS's documented algorithm
(docs/verify.md, "The signature"):

* each listed log file's ``hashValue`` is the hex SHA-256 of its *uncompressed* content;
* a digest's signing string is ``digestEndTime``, ``digestS3Bucket/digestS3Object``, the
  hex SHA-256 of the digest's uncompressed JSON and ``previousDigestSignature`` (``null``
  for the first digest of a chain), joined by ``\\n``; the signature is RSASSA-PKCS1-v1_5
  with SHA-256 over it, hex-encoded (what S3 keeps as ``x-amz-meta-signature``);
* ``previousDigestHashValue`` is the SHA-256 of the previous digest's uncompressed JSON.

This module builds the signing string itself (not through ``kmslog.verify``), so a test
that verifies what it writes checks kmslog against the documented algorithm, not
against itself. The public key is written as ``aws cloudtrail list-public-keys`` prints
it: base64 DER PKCS#1 ``RSAPublicKey`` with its validity and fingerprint.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tools.ctgen import clock
from tools.ctgen.delivery import Digest, LogFile, digest_body, gzip_bytes
from tools.ctgen.ids import IdSource

HOUR = 3600


@dataclass(frozen=True)
class SigningKey:
    """A Region's digest signing key pair as CloudTrail would hold it."""

    private: rsa.RSAPrivateKey
    fingerprint: str

    @property
    def der(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.PKCS1
        )

    def public_key_entry(self, valid_from: int, valid_to: int) -> dict:
        """One ``PublicKeyList`` entry of ``aws cloudtrail list-public-keys`` (CLI v2
        prints the validity times as ISO 8601)."""
        return {
            "Value": base64.b64encode(self.der).decode("ascii"),
            "ValidityStartTime": clock.iso(valid_from),
            "ValidityEndTime": clock.iso(valid_to),
            "Fingerprint": self.fingerprint,
        }


def new_signing_key(bits: int = 2048) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    # A 32-hex-digit fingerprint, the form CloudTrail's have; only equality matters.
    return SigningKey(private, hashlib.md5(der).hexdigest())


def sign_digest(
    key: SigningKey,
    end_time: str,
    bucket: str,
    s3_object: str,
    uncompressed: bytes,
    previous_signature: str | None,
) -> str:
    """The hex SHA256withRSA signature CloudTrail puts in ``x-amz-meta-signature``."""
    to_sign = "{}\n{}/{}\n{}\n{}".format(
        end_time,
        bucket,
        s3_object,
        hashlib.sha256(uncompressed).hexdigest(),
        "null" if previous_signature is None else previous_signature,
    ).encode("utf-8")
    return key.private.sign(to_sign, padding.PKCS1v15(), hashes.SHA256()).hex()


def s3_key(key: str, *, prefix: str = "", org_id: str | None = None) -> str:
    """A plain-layout key (``AWSLogs/<acct>/…``) with an optional key prefix and
    organisation level (``AWSLogs/o-…/<acct>/…``)."""
    if org_id:
        key = key.replace("AWSLogs/", f"AWSLogs/{org_id}/", 1)
    return prefix + key


@dataclass(frozen=True)
class SignedDigest:
    key: str  # S3 key
    body: bytes  # uncompressed JSON
    signature: str

    @property
    def document(self) -> dict:
        return orjson.loads(self.body)


def signed_digest_chain(
    digests: Iterable[Digest],
    key: SigningKey,
    *,
    prefix: str = "",
    org_id: str | None = None,
    fingerprint: str | None = None,
) -> list[SignedDigest]:
    """The chain of ``digests`` (oldest first), each signed with ``key``; the first has
    null ``previous*`` fields. ``fingerprint`` overrides the one written into the digests
    (a forger signing with their own key still names CloudTrail's)."""
    out: list[SignedDigest] = []
    previous: tuple[str, bytes, str] | None = None
    for d in digests:
        digest_key = s3_key(d.key, prefix=prefix, org_id=org_id)
        body = orjson.dumps(
            digest_body(
                d,
                fingerprint=fingerprint or key.fingerprint,
                previous=previous,
                digest_key=digest_key,
                log_key=lambda lf: s3_key(lf.key, prefix=prefix, org_id=org_id),
            )
        )
        previous_signature = previous[2] if previous else None
        signature = sign_digest(
            key, clock.iso(d.end), d.bucket, digest_key, body, previous_signature
        )
        out.append(SignedDigest(digest_key, body, signature))
        previous = (digest_key, body, signature)
    return out


def hourly_digests(
    files: list[LogFile],
    *,
    account_id: str,
    region: str,
    trail: str,
    bucket: str,
    start: int,
    hours: int,
    home_region: str | None = None,
) -> list[Digest]:
    """One digest per hour from ``start``, listing the files delivered in that hour
    (an hour with none gives a digest with an empty ``logFiles``)."""
    out = []
    for i in range(hours):
        s, e = start + i * HOUR, start + (i + 1) * HOUR
        members = [
            (f, f.body())
            for f in files
            if f.account_id == account_id and f.region == region and s <= f.stamp < e
        ]
        out.append(Digest(account_id, region, home_region or region, trail, bucket, s, e, members))
    return out


def minimal_files(
    account_id: str, region: str, start: int, hours: int, per_hour: int, ids: IdSource
) -> list[LogFile]:
    """Small log files (two KMS records each), ``per_hour`` an hour, delivered inside
    the hours from ``start``: enough for integrity tests, which never read records."""
    files = []
    step = HOUR // (per_hour + 1)
    for h in range(hours):
        for j in range(per_hour):
            stamp = start + h * HOUR + (j + 1) * step
            stamp -= stamp % 60
            if stamp < start + h * HOUR:
                stamp += 60
            records = [
                {
                    "eventVersion": "1.08",
                    "eventTime": clock.iso(stamp - 200 + 30 * k),
                    "eventSource": "kms.amazonaws.com",
                    "eventName": "Decrypt",
                    "awsRegion": region,
                    "eventID": ids.uuid(),
                    "readOnly": True,
                    "eventType": "AwsApiCall",
                    "recipientAccountId": account_id,
                }
                for k in range(2)
            ]
            files.append(LogFile(account_id, region, stamp, ids.unique_string(), records))
    return files


@dataclass
class SignedTrail:
    """What :func:`write_signed_trail` wrote (paths by S3 key)."""

    root: Path
    key: SigningKey
    log_paths: dict[str, Path] = field(default_factory=dict)
    digest_paths: dict[str, Path] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    digests: list[SignedDigest] = field(default_factory=list)
    public_keys_path: Path | None = None
    signatures_path: Path | None = None

    @property
    def newest(self) -> SignedDigest:
        return self.digests[-1]


def write_signed_trail(
    root: Path,
    key: SigningKey,
    *,
    account_id: str = "111122223333",
    region: str = "us-east-1",
    trail: str = "org-trail",
    bucket: str = "amzn-s3-demo-bucket",
    start: int | None = None,
    hours: int = 3,
    per_hour: int = 2,
    prefix: str = "",
    org_id: str | None = None,
    seed: int = 13,
) -> SignedTrail:
    """Write log files, their signed digest chain, the public key as
    ``list-public-keys.json`` and the signatures as ``signatures.json`` (only the
    newest digest's: the others' travel in the chain) under ``root``."""
    ids = IdSource("signed-trail", seed)
    start = clock.epoch("2026-09-15T14:01:31Z") if start is None else start
    files = minimal_files(account_id, region, start, hours, per_hour, ids)
    trail_out = SignedTrail(root=root, key=key)
    for lf in files:
        path = root / s3_key(lf.key, prefix=prefix, org_id=org_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip_bytes(lf.body()))
        trail_out.log_paths[s3_key(lf.key, prefix=prefix, org_id=org_id)] = path
    digests = hourly_digests(
        files,
        account_id=account_id,
        region=region,
        trail=trail,
        bucket=bucket,
        start=start,
        hours=hours,
    )
    for signed in signed_digest_chain(digests, key, prefix=prefix, org_id=org_id):
        path = root / signed.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip_bytes(signed.body))
        trail_out.digest_paths[signed.key] = path
        trail_out.signatures[signed.key] = signed.signature
        trail_out.digests.append(signed)
    keys_path = root.parent / f"{root.name}-list-public-keys.json"
    entry = key.public_key_entry(start - 30 * 86400, start + 365 * 86400)
    keys_path.write_text(json.dumps({"PublicKeyList": [entry]}, indent=2))
    trail_out.public_keys_path = keys_path
    signatures_path = root.parent / f"{root.name}-signatures.json"
    newest = trail_out.newest
    signatures_path.write_text(
        json.dumps({f"s3://{bucket}/{newest.key}": {"signature": newest.signature}}, indent=2)
    )
    trail_out.signatures_path = signatures_path
    return trail_out
