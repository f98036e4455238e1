"""What the user supplies offline: public keys and digest signatures.

* Public keys: the JSON ``aws cloudtrail list-public-keys`` prints,
  ``{"PublicKeyList": [{"Value", "ValidityStartTime", "ValidityEndTime", "Fingerprint"}]}``
  (or just the list). ``Value`` is base64 of a DER PKCS#1 ``RSAPublicKey``; the validity
  times are epoch seconds (CLI v1) or ISO 8601 text (CLI v2).
* Signatures: the signature of a digest is S3 object metadata (``x-amz-meta-signature``),
  lost by ``aws s3 cp``/``sync``. It is taken from a ``--signatures`` file (a JSON object
  mapping each digest's S3 key, or ``s3://bucket/key``, to the hex signature or to the
  object's metadata map), or from a sidecar ``<digest file>.metadata.json`` holding
  ``aws s3api head-object`` output or its ``Metadata`` map.

Both are user input: sizes are capped and every malformed entry is an error that names
the file and the entry.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kmslog.decode.jsontext import RecordTextError, loads_record
from kmslog.verify.digest import (
    MAX_SIGNATURE_HEX,
    SIGNATURE_ALGORITHM,
    DigestFormatError,
    read_limited,
)
from kmslog.verify.layout import tail

MAX_KEY_FILE_BYTES = 16 * 1024 * 1024
MAX_SIDECAR_BYTES = 1024 * 1024
SIDECAR_SUFFIX = ".metadata.json"
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")


class InputFileError(ValueError):
    """A public-key, signature or sidecar file that cannot be used."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class PublicKey:
    fingerprint: str  # lower case
    key: rsa.RSAPublicKey
    valid_from: datetime | None
    valid_to: datetime | None
    source: str  # the file it came from


@dataclass(frozen=True)
class Signature:
    """A digest's signature and where it was found (shown when sources disagree)."""

    hex: str
    source: str


def _load_json(path: str, limit: int) -> Any:
    try:
        data = read_limited(path, limit)
    except DigestFormatError as exc:
        raise InputFileError(path, exc.reason) from None
    try:
        return loads_record(data)
    except RecordTextError as exc:
        raise InputFileError(path, f"invalid JSON: {exc.reason}") from None


def _instant(value: Any, path: str, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputFileError(path, f"{where} is not a time")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            raise InputFileError(path, f"{where} is out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputFileError(path, f"{where} is not an ISO 8601 time: {value[:40]!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise InputFileError(path, f"{where} is not a time")


def parse_public_keys(doc: Any, path: str) -> list[PublicKey]:
    """The keys in a ``list-public-keys`` document."""
    entries = doc.get("PublicKeyList") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise InputFileError(path, "expected the JSON of `aws cloudtrail list-public-keys`")
    keys = []
    for i, entry in enumerate(entries):
        where = f"PublicKeyList[{i}]"
        if not isinstance(entry, dict):
            raise InputFileError(path, f"{where} is not an object")
        value, fingerprint = entry.get("Value"), entry.get("Fingerprint")
        if not isinstance(value, str) or not isinstance(fingerprint, str):
            raise InputFileError(path, f"{where} needs Value and Fingerprint strings")
        try:
            der = base64.b64decode(value, validate=True)
            loaded = serialization.load_der_public_key(der)
        except (binascii.Error, ValueError, TypeError):
            raise InputFileError(
                path, f"{where}.Value is not a base64 DER RSA public key"
            ) from None
        if not isinstance(loaded, rsa.RSAPublicKey):
            raise InputFileError(path, f"{where}.Value is not an RSA key")
        keys.append(
            PublicKey(
                fingerprint=fingerprint.strip().lower(),
                key=loaded,
                valid_from=_instant(entry.get("ValidityStartTime"), path, where),
                valid_to=_instant(entry.get("ValidityEndTime"), path, where),
                source=path,
            )
        )
    return keys


def load_public_keys(path: str) -> list[PublicKey]:
    return parse_public_keys(_load_json(path, MAX_KEY_FILE_BYTES), path)


def _signature_from(value: Any, path: str, where: str) -> str:
    """The hex signature in a metadata value: the hex itself, a metadata map, or
    ``head-object`` output (``{"Metadata": {...}}``)."""
    if isinstance(value, dict) and isinstance(value.get("Metadata"), dict):
        value = value["Metadata"]
    if isinstance(value, dict):
        algorithm = value.get("signature-algorithm", value.get("x-amz-meta-signature-algorithm"))
        if algorithm is not None and algorithm != SIGNATURE_ALGORITHM:
            raise InputFileError(path, f"{where}: signature-algorithm is not {SIGNATURE_ALGORITHM}")
        value = value.get("signature", value.get("x-amz-meta-signature"))
    if not isinstance(value, str):
        raise InputFileError(path, f"{where}: no signature (a hex string or metadata map)")
    text = value.strip()
    if len(text) > MAX_SIGNATURE_HEX or not _HEX.match(text):
        raise InputFileError(path, f"{where}: the signature is not hex")
    return text.lower()


def parse_signatures(doc: Any, path: str) -> dict[str, Signature]:
    """Digest key tail → signature, from a ``--signatures`` document."""
    if not isinstance(doc, Mapping):
        raise InputFileError(path, "expected a JSON object mapping digest S3 keys to signatures")
    found: dict[str, Signature] = {}
    for key, value in doc.items():
        name = key[5:].partition("/")[2] if key.startswith("s3://") else key
        key_tail = tail(name)
        if key_tail is None:
            raise InputFileError(path, f"{key[:200]!r} is not a CloudTrail digest key (AWSLogs/…)")
        signature = _signature_from(value, path, repr(key[:200]))
        known = found.get(key_tail)
        if known is not None and known.hex != signature:
            raise InputFileError(path, f"two different signatures for {key_tail!r}")
        found[key_tail] = Signature(signature, path)
    return found


def load_signatures(path: str) -> dict[str, Signature]:
    return parse_signatures(_load_json(path, MAX_KEY_FILE_BYTES), path)


def sidecar_path(digest_path: str) -> str:
    return digest_path + SIDECAR_SUFFIX


def read_sidecar(digest_path: str) -> Signature | None:
    """The signature in ``<digest_path>.metadata.json``, None when there is no such file."""
    path = sidecar_path(digest_path)
    if not os.path.lexists(path):
        return None
    return Signature(_signature_from(_load_json(path, MAX_SIDECAR_BYTES), path, "metadata"), path)
