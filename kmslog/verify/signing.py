"""The digest signature: AWS's signing string and SHA256withRSA verification.

CloudTrail signs, with the Region's private key, the SHA-256 of four lines joined by
``\\n`` (no newline at the end): the ``digestEndTime`` as written in the file, the
digest's ``<digestS3Bucket>/<digestS3Object>``, the hex SHA-256 of the digest file's
decompressed bytes, and ``previousDigestSignature`` (``null`` when it is null). The
signature is RSASSA-PKCS1-v1_5 with SHA-256, hex-encoded into the object's
``x-amz-meta-signature`` metadata. Sources: ``docs/verify.md`` ("The signature").
"""

from __future__ import annotations

import binascii

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from kmslog.verify.digest import Digest


def string_to_sign(digest: Digest) -> bytes:
    """The signing string of ``digest``, as bytes (UTF-8)."""
    previous = digest.previous_signature if digest.previous_signature is not None else "null"
    lines = (
        digest.end_text,
        f"{digest.bucket}/{digest.s3_object}",
        digest.inflated_sha256,
        previous,
    )
    return "\n".join(lines).encode("utf-8")


def verify_signature(key: rsa.RSAPublicKey, signature_hex: str, message: bytes) -> bool:
    """Whether ``signature_hex`` is ``key``'s SHA256withRSA signature of ``message``."""
    try:
        signature = binascii.unhexlify(signature_hex)
    except (binascii.Error, ValueError):
        return False
    try:
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
