"""CloudTrail's S3 delivery: records → ~5-minute log files, gzip, digests."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from tools.ctgen import clock
from tools.ctgen.ids import IdSource
from tools.ctgen.world import Record

WINDOW = 300


@dataclass
class LogFile:
    account_id: str
    region: str
    stamp: int  # delivery minute (epoch seconds)
    unique: str
    records: list[Record] = field(default_factory=list)

    @property
    def name(self) -> str:
        stamp = clock.file_stamp(self.stamp)
        return f"{self.account_id}_CloudTrail_{self.region}_{stamp}_{self.unique}.json.gz"

    @property
    def key(self) -> str:
        """Object key below the bucket (and optional prefix)."""
        day = clock.day_path(self.stamp)
        return f"AWSLogs/{self.account_id}/CloudTrail/{self.region}/{day}/{self.name}"

    def body(self) -> bytes:
        """Uncompressed file content: compact ``{"Records":[...]}``."""
        return orjson.dumps({"Records": self.records})


def event_epoch(rec: Record) -> int:
    return clock.epoch(rec["eventTime"])


def batch_into_files(
    records: Iterable[Record],
    account_id: str,
    region: str,
    ids: IdSource,
    *,
    window: int = WINDOW,
    late_share: float = 0.015,
) -> list[LogFile]:
    """Group one account-region's records into delivery files.

    Each file holds a ~5-minute window and is stamped a few minutes after its newest
    record; a small share of records arrives one file late (older than the file's
    window, as CloudTrail does), and records inside a file are only roughly ordered.
    """
    rng = ids.rng
    timed = sorted(((event_epoch(r), r["eventID"], r) for r in records), key=lambda x: (x[0], x[1]))
    buckets: dict[int, list[tuple[float, Record]]] = {}
    order: list[int] = []
    for t, _, rec in timed:
        w = t - t % window
        if w not in buckets:
            buckets[w] = []
            order.append(w)
        buckets[w].append((t + rng.random() * 40.0, rec))
    files: list[LogFile] = []
    carry: list[tuple[float, Record]] = []
    for i, w in enumerate(order):
        items = carry + buckets[w]
        carry = []
        if i + 1 < len(order) and order[i + 1] - w <= 4 * window:
            keep: list[tuple[float, Record]] = []
            for item in items:
                (carry if rng.random() < late_share else keep).append(item)
            if not keep:
                keep, carry = carry, []
            items = keep
        newest = max(int(x[0]) for x in items)
        stamp = newest + 120 + rng.randrange(0, 360)
        stamp -= stamp % 60
        items.sort(key=lambda x: x[0])
        files.append(LogFile(account_id, region, stamp, ids.unique_string(), [r for _, r in items]))
    if carry:
        files[-1].records.extend(r for _, r in carry)
    return files


def gzip_bytes(data: bytes, level: int = 9) -> bytes:
    """Deterministic gzip (mtime 0, no file name) with the stdlib's zlib."""
    return gzip.compress(data, compresslevel=level, mtime=0)


def write_file(root: Path, lf: LogFile, *, compress: object = gzip_bytes) -> tuple[Path, bytes]:
    """Write one log file under ``root``; returns its path and uncompressed body."""
    body = lf.body()
    path = root / lf.key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(compress(body))  # type: ignore[operator]
    return path, body


@dataclass
class Digest:
    account_id: str
    region: str
    home_region: str
    trail: str
    bucket: str
    start: int
    end: int
    files: list[tuple[LogFile, bytes]]  # (file, uncompressed body)

    @property
    def key(self) -> str:
        name = (
            f"{self.account_id}_CloudTrail-Digest_{self.region}_{self.trail}_{self.home_region}_"
            f"{clock.digest_stamp(self.end)}.json.gz"
        )
        day = clock.day_path(self.end)
        return f"AWSLogs/{self.account_id}/CloudTrail-Digest/{self.region}/{day}/{name}"


def digest_body(
    d: Digest,
    *,
    fingerprint: str,
    previous: tuple[str, bytes, str] | None,
    digest_key: str | None = None,
    log_key: object = None,
) -> dict:
    """The JSON object of digest ``d``. ``previous`` is (key, uncompressed JSON,
    signature) of the digest before it (None: the first of a chain); ``digest_key``
    and ``log_key`` (a function of a LogFile) give S3 keys other than the plain layout
    (a key prefix, an organisation trail)."""
    key_of = log_key if callable(log_key) else (lambda lf: lf.key)
    times = [
        (min(event_epoch(r) for r in lf.records), max(event_epoch(r) for r in lf.records))
        for lf, _ in d.files
    ]
    return {
        "awsAccountId": d.account_id,
        "digestStartTime": clock.iso(d.start),
        "digestEndTime": clock.iso(d.end),
        "digestS3Bucket": d.bucket,
        "digestS3Object": digest_key or d.key,
        "digestPublicKeyFingerprint": fingerprint,
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": clock.iso(max(t[1] for t in times)) if times else None,
        "oldestEventTime": clock.iso(min(t[0] for t in times)) if times else None,
        "previousDigestS3Bucket": d.bucket if previous else None,
        "previousDigestS3Object": previous[0] if previous else None,
        "previousDigestHashValue": hashlib.sha256(previous[1]).hexdigest() if previous else None,
        "previousDigestHashAlgorithm": "SHA-256" if previous else None,
        "previousDigestSignature": previous[2] if previous else None,
        "logFiles": [
            {
                "s3Bucket": d.bucket,
                "s3Object": key_of(lf),
                "hashValue": hashlib.sha256(raw).hexdigest(),
                "hashAlgorithm": "SHA-256",
                "newestEventTime": clock.iso(tmax),
                "oldestEventTime": clock.iso(tmin),
            }
            for (lf, raw), (tmin, tmax) in zip(d.files, times, strict=True)
        ],
    }


def digest_chain(digests: list[Digest], ids: IdSource) -> list[tuple[str, bytes]]:
    """Bodies of consecutive digests; the first has null ``previous*`` fields (validation
    just started). Returns (key, uncompressed JSON) pairs. Signatures are placeholders
    (``digests.signed_digest_chain`` makes real ones with a generated key)."""
    out: list[tuple[str, bytes]] = []
    prev: tuple[str, bytes, str] | None = None
    for d in digests:
        body = digest_body(d, fingerprint=ids.hex(32), previous=prev)
        raw_digest = orjson.dumps(body)
        out.append((d.key, raw_digest))
        prev = (d.key, raw_digest, ids.hex(512))
    return out
