"""One CloudTrail digest file → a checked, typed :class:`Digest`.

A digest is attacker-controlled input like any log: its size is capped before and
while inflating, its JSON goes through the hardened parse every record gets
(:func:`kmslog.decode.jsontext.loads_record`: depth, UTF-8, numbers), a field CloudTrail
writes twice at the top level is refused (parsers disagree on which copy wins), and
every field is checked for its type and form. Anything wrong raises
:class:`DigestFormatError` with a reason; the caller names the file.

Fields and their forms: ``docs/verify.md`` ("What a digest file holds").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kmslog.decode.jsontext import RecordTextError, duplicate_key, loads_record
from kmslog.sources.base import SourceError
from kmslog.sources.local import GZIP_MAGIC, READ_SIZE, inflate
from kmslog.sources.regular import open_failure, open_regular

# An hourly digest lists the log files of one hour: a few hundred bytes each, so even
# a very busy Region stays far below these.
MAX_DIGEST_BYTES = 64 * 1024 * 1024
MAX_LOG_ENTRIES = 200_000
MAX_KEY_LENGTH = 1024  # S3 object keys are at most 1,024 bytes
MAX_SIGNATURE_HEX = 4096  # an RSA-16384 signature; CloudTrail's are RSA-2048

REQUIRED = (
    # The fields the AWS CLI requires before validating (docs/verify.md [V]).
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
)
TOP_LEVEL = (
    "awsAccountId",
    *REQUIRED,
    "digestSignatureAlgorithm",
    "previousDigestS3Bucket",
    "previousDigestS3Object",
    "previousDigestHashValue",
    "previousDigestHashAlgorithm",
    "logFiles",
)
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$")
SIGNATURE_ALGORITHM = "SHA256withRSA"
HASH_ALGORITHM = "SHA-256"


class DigestFormatError(ValueError):
    """A digest file that cannot be used; ``reason`` is meant for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LogEntry:
    """One ``logFiles[]`` entry: a log file the digest vouches for."""

    s3_bucket: str
    s3_object: str
    hash_value: str  # lower-case hex SHA-256 of the log file's uncompressed content
    oldest_event: str | None
    newest_event: str | None


@dataclass(frozen=True)
class Digest:
    """A parsed digest file. ``inflated_sha256`` is the hex SHA-256 of its
    decompressed bytes (what the signing string holds); ``stored_sha256`` that of the
    file's bytes as read (the gzip object, when it is compressed)."""

    path: str
    inflated_sha256: str
    stored_sha256: str
    account: str | None
    start_text: str
    end_text: str
    start: datetime
    end: datetime
    bucket: str
    s3_object: str
    fingerprint: str
    signature_algorithm: str | None
    previous_bucket: str | None
    previous_object: str | None
    previous_hash: str | None
    previous_signature: str | None
    logs: tuple[LogEntry, ...]


def parse_time(text: str, name: str) -> datetime:
    if not _TIME.match(text):
        raise DigestFormatError(f"{name} is not an ISO 8601 UTC time: {text[:64]!r}")
    try:
        return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise DigestFormatError(f"{name} is not a valid time: {text[:64]!r}") from None


def _string(
    obj: dict[str, Any],
    name: str,
    *,
    nullable: bool = False,
    where: str = "",
    limit: int = MAX_KEY_LENGTH,
) -> Any:
    value = obj.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        what = "missing" if name not in obj else f"not a string ({type(value).__name__})"
        raise DigestFormatError(f"{where}{name} is {what}")
    if len(value) > limit:
        raise DigestFormatError(f"{where}{name} is longer than {limit} characters")
    return value


def _log_entry(item: Any, index: int) -> LogEntry:
    where = f"logFiles[{index}]."
    if not isinstance(item, dict):
        raise DigestFormatError(f"logFiles[{index}] is not an object")
    bucket = _string(item, "s3Bucket", where=where)
    key = _string(item, "s3Object", where=where)
    value = _string(item, "hashValue", where=where)
    if not _HEX64.match(value):
        raise DigestFormatError(f"{where}hashValue is not a hex SHA-256: {value[:80]!r}")
    algorithm = _string(item, "hashAlgorithm", nullable=True, where=where)
    if algorithm is not None and algorithm != HASH_ALGORITHM:
        raise DigestFormatError(f"{where}hashAlgorithm {algorithm[:40]!r} is not SHA-256")
    return LogEntry(
        s3_bucket=bucket,
        s3_object=key,
        hash_value=value.lower(),
        oldest_event=_string(item, "oldestEventTime", nullable=True, where=where),
        newest_event=_string(item, "newestEventTime", nullable=True, where=where),
    )


def parse_digest(path: str, stored: bytes) -> Digest:
    """The digest in ``stored`` (the file's bytes: gzip, or already decompressed)."""
    if stored.startswith(GZIP_MAGIC):
        blocks = (stored[i : i + READ_SIZE] for i in range(0, len(stored), READ_SIZE))
        try:
            inflated = b"".join(inflate(blocks, MAX_DIGEST_BYTES))
        except SourceError as exc:
            where = "" if exc.position is None else f" (byte {exc.position})"
            raise DigestFormatError(f"not a readable gzip file{where}: {exc.reason}") from None
    else:
        inflated = stored
    try:
        doc = loads_record(inflated)
    except RecordTextError as exc:
        where = "" if exc.offset is None else f" (byte {exc.offset} of the JSON)"
        raise DigestFormatError(f"invalid JSON{where}: {exc.reason}") from None
    if not isinstance(doc, dict):
        raise DigestFormatError(f"the JSON is a {type(doc).__name__}, not an object")
    twice = duplicate_key(inflated, TOP_LEVEL)
    if twice is not None:
        raise DigestFormatError(f"field {twice[0]} appears twice (byte {twice[1]} of the JSON)")
    for name in REQUIRED:
        if name not in doc:
            raise DigestFormatError(f"required field {name} is missing")
    start_text = _string(doc, "digestStartTime")
    end_text = _string(doc, "digestEndTime")
    previous_signature = _string(
        doc, "previousDigestSignature", nullable=True, limit=MAX_SIGNATURE_HEX
    )
    if previous_signature is not None and not _HEX.match(previous_signature):
        raise DigestFormatError("previousDigestSignature is not a hex signature")
    previous_hash = _string(doc, "previousDigestHashValue", nullable=True)
    if previous_hash is not None and not _HEX64.match(previous_hash):
        raise DigestFormatError(
            f"previousDigestHashValue is not a hex SHA-256: {previous_hash[:80]!r}"
        )
    previous_algorithm = _string(doc, "previousDigestHashAlgorithm", nullable=True)
    if previous_algorithm is not None and previous_algorithm != HASH_ALGORITHM:
        raise DigestFormatError(
            f"previousDigestHashAlgorithm {previous_algorithm[:40]!r} is not SHA-256"
        )
    algorithm = _string(doc, "digestSignatureAlgorithm", nullable=True)
    if algorithm is not None and algorithm != SIGNATURE_ALGORITHM:
        raise DigestFormatError(f"digestSignatureAlgorithm {algorithm[:40]!r} is not SHA256withRSA")
    logs = doc.get("logFiles", [])
    if logs is None:
        logs = []
    if not isinstance(logs, list):
        raise DigestFormatError(f"logFiles is not a list ({type(logs).__name__})")
    if len(logs) > MAX_LOG_ENTRIES:
        raise DigestFormatError(f"logFiles lists more than {MAX_LOG_ENTRIES} files")
    start = parse_time(start_text, "digestStartTime")
    end = parse_time(end_text, "digestEndTime")
    if end < start:
        raise DigestFormatError("digestEndTime is before digestStartTime")
    return Digest(
        path=path,
        inflated_sha256=hashlib.sha256(inflated).hexdigest(),
        stored_sha256=hashlib.sha256(stored).hexdigest(),
        account=_string(doc, "awsAccountId", nullable=True),
        start_text=start_text,
        end_text=end_text,
        start=start,
        end=end,
        bucket=_string(doc, "digestS3Bucket"),
        s3_object=_string(doc, "digestS3Object"),
        fingerprint=_string(doc, "digestPublicKeyFingerprint").lower(),
        signature_algorithm=algorithm,
        previous_bucket=_string(doc, "previousDigestS3Bucket", nullable=True),
        previous_object=_string(doc, "previousDigestS3Object", nullable=True),
        previous_hash=None if previous_hash is None else previous_hash.lower(),
        previous_signature=previous_signature,
        logs=tuple(_log_entry(item, i) for i, item in enumerate(logs)),
    )


def read_limited(path: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, refused beyond ``limit`` bytes."""
    try:
        handle = open_regular(path)
    except OSError as exc:
        raise DigestFormatError(open_failure(exc)) from None
    with handle:
        try:
            chunks: list[bytes] = []
            size = 0
            while size <= limit and (chunk := handle.read(min(READ_SIZE, limit + 1 - size))):
                chunks.append(chunk)
                size += len(chunk)
            data = b"".join(chunks)
        except OSError as exc:
            raise DigestFormatError(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise DigestFormatError(f"file is larger than the cap of {limit} bytes")
    return data


def read_digest(path: str) -> Digest:
    """Read and parse the digest file at ``path``."""
    return parse_digest(path, read_limited(path, MAX_DIGEST_BYTES))
