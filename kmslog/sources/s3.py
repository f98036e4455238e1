"""``s3://bucket/prefix`` sources: list the CloudTrail layout with the narrowest
``ListObjectsV2`` prefixes the selection allows, stream each object through the
same inflate as local files.

Settings (profile, client region, endpoint, unsigned requests) come from
:func:`configure` and are exported to the environment so that spawned worker
processes build the same client.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kmslog.sources.base import NoInputError, SourceError
from kmslog.sources.discover import (
    DELIVERY_LAG,
    DELIVERY_SLACK,
    READ_SUFFIXES,
    Discovery,
    SourceFile,
    is_digest,
    is_insight,
    keep,
    parse_layout,
)
from kmslog.sources.local import GZIP_MAGIC, READ_SIZE, ZIP_MAGIC, _plain, inflate
from kmslog.sources.sniff import NotJSONError, sniffed

INSTALL_HINT = "reading s3:// needs boto3: pip install 'kmslog[s3]'"
SETTINGS_ENV = "KMSLOG_S3_SETTINGS"
# Concurrent listing requests.
LIST_CONCURRENCY = 16
# Resumed GETs (Range from where the body stopped) after a mid-stream failure.
STREAM_ATTEMPTS = 5
STREAM_BACKOFF = 0.2


@dataclass(frozen=True)
class S3Settings:
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    no_sign_request: bool = False
    retry_mode: str = "adaptive"
    max_attempts: int = 8


def configure(settings: S3Settings) -> None:
    os.environ[SETTINGS_ENV] = json.dumps(asdict(settings))
    with _lock:
        _clients.clear()


def settings() -> S3Settings:
    text = os.environ.get(SETTINGS_ENV)
    return S3Settings(**json.loads(text)) if text else S3Settings()


_lock = threading.Lock()
_clients: dict[S3Settings, Any] = {}


def client() -> Any:
    """The process's S3 client for the current settings (clients are thread-safe)."""
    chosen = settings()
    with _lock:
        if chosen in _clients:
            return _clients[chosen]
        try:
            import boto3  # type: ignore[import-untyped]
            from botocore import UNSIGNED  # type: ignore[import-untyped]
            from botocore.config import Config  # type: ignore[import-untyped]
        except ImportError:
            raise NoInputError(INSTALL_HINT) from None
        session = boto3.session.Session(profile_name=chosen.profile)
        config = Config(
            retries={"mode": chosen.retry_mode, "max_attempts": chosen.max_attempts},
            max_pool_connections=LIST_CONCURRENCY + 4,
            signature_version=UNSIGNED if chosen.no_sign_request else None,
        )
        made = session.client(
            "s3", region_name=chosen.region, endpoint_url=chosen.endpoint_url, config=config
        )
        _clients[chosen] = made
        return made


def _errors() -> tuple[type[Exception], type[Exception]]:
    """botocore's (ClientError, BotoCoreError), or the install hint when it is missing."""
    try:
        from botocore.exceptions import (  # type: ignore[import-untyped]
            BotoCoreError,
            ClientError,
        )
    except ImportError:
        raise NoInputError(INSTALL_HINT) from None
    return ClientError, BotoCoreError


def split_url(url: str) -> tuple[str, str]:
    rest = url.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise NoInputError(f"no bucket in {url!r}")
    if any(c in key for c in "*?["):
        raise NoInputError(f"{url!r}: globs are not supported in s3:// URLs; give a prefix")
    return bucket, key


def _list(bucket: str, prefix: str, delimiter: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """Every object and (with ``delimiter``) common prefix directly under ``prefix``."""
    ClientError, BotoCoreError = _errors()  # noqa: N806
    args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if delimiter:
        args["Delimiter"] = "/"
    objects: list[dict[str, Any]] = []
    folders: list[str] = []
    try:
        for page in client().get_paginator("list_objects_v2").paginate(**args):
            objects.extend(page.get("Contents", ()))
            folders.extend(p["Prefix"] for p in page.get("CommonPrefixes", ()))
    except ClientError as exc:
        error = exc.response.get("Error", {})  # type: ignore[attr-defined]
        raise NoInputError(
            f"cannot list s3://{bucket}/{prefix}: {error.get('Code')}: {error.get('Message')}"
        ) from None
    except BotoCoreError as exc:
        raise NoInputError(f"cannot list s3://{bucket}/{prefix}: {exc}") from None
    return objects, folders


def _days(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    low = datetime(1970, 1, 1, tzinfo=UTC) if since is None else since - DELIVERY_SLACK
    high = datetime(9999, 1, 1, tzinfo=UTC) if until is None else until + DELIVERY_LAG
    return low, high


def _date_ok(name: str, depth: int, parents: list[int], low: datetime, high: datetime) -> bool:
    """Whether the folder ``name`` at date depth ``depth`` (0 year, 1 month, 2 day)
    can hold a file delivered in [low, high]."""
    try:
        parts = [*parents, int(name)]
        month, day = (parts[1:] + [1, 1])[:2]
        start = datetime(parts[0], month, day, tzinfo=UTC)
    except (ValueError, TypeError):
        return True  # not a date folder: read it like local discovery would
    if depth == 0:
        end = start.replace(year=start.year + 1)
    elif depth == 1:
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        end = start + timedelta(days=1)
    return end > low and start <= high


class _Lister:
    """Walks a trail with delimiter listings, never listing a pruned prefix."""

    def __init__(self, bucket: str, since: Any, until: Any, accounts: Any, regions: Any) -> None:
        self.bucket = bucket
        self.accounts = accounts
        self.regions = regions
        self.low, self.high = _days(since, until)
        self.objects: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def walk(self, roots: list[tuple[str, str, list[int]]]) -> list[dict[str, Any]]:
        pending = roots
        with ThreadPoolExecutor(LIST_CONCURRENCY, thread_name_prefix="kmslog-s3-list") as pool:
            while pending:
                results = list(pool.map(self._visit, pending))
                pending = [child for children in results for child in children]
        return self.objects

    def _visit(self, item: tuple[str, str, list[int]]) -> list[tuple[str, str, list[int]]]:
        prefix, level, dates = item
        if level == "flat":
            objects, _ = _list(self.bucket, prefix, delimiter=False)
            with self.lock:
                self.objects.extend(objects)
            return []
        objects, folders = _list(self.bucket, prefix, delimiter=True)
        with self.lock:
            self.objects.extend(objects)
        children: list[tuple[str, str, list[int]]] = []
        for folder in folders:
            name = folder[len(prefix) : -1]
            child = self._child(level, name, dates)
            if child is not None:
                children.append((folder, *child))
        return children

    def _child(self, level: str, name: str, dates: list[int]) -> tuple[str, list[int]] | None:
        if level == "top":
            return ("awslogs", []) if name == "AWSLogs" else ("top", [])
        if level in ("awslogs", "org"):
            if level == "awslogs" and name.startswith("o-"):
                return ("org", [])
            if name.isdigit() and len(name) == 12:
                return None if self.accounts and name not in self.accounts else ("account", [])
            return ("flat", [])
        if level == "account":
            if name == "CloudTrail":
                return ("regions", [])
            # Digest and Insights folders: skipped unread whatever they hold.
            return None if name in ("CloudTrail-Digest", "CloudTrail-Insight") else ("flat", [])
        if level == "regions":
            return None if self.regions and name not in self.regions else ("date0", [])
        depth = int(level[-1])
        if not _date_ok(name, depth, dates, self.low, self.high):
            return None
        if not name.isdigit():
            return ("flat", [])
        return ("flat", []) if depth == 2 else (f"date{depth + 1}", [*dates, int(name)])


def discover(
    urls: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
    accounts: frozenset[str] = frozenset(),
    regions: frozenset[str] = frozenset(),
) -> Discovery:
    """The objects under ``urls``, listed by the narrowest prefixes the selection
    allows, filtered like local files (digests, Insights, names, layout)."""
    found = Discovery()
    seen: set[str] = set()
    selective = bool(since or until or accounts or regions)
    for url in urls:
        bucket, key = split_url(url)
        lister = _Lister(bucket, since, until, accounts, regions)
        if key and not key.endswith("/"):
            exact, folders = _list(bucket, key, delimiter=True)
            objects = [o for o in exact if o["Key"] == key]
            if not objects and key + "/" not in folders:
                found.missing.append(url)
                continue
            explicit = bool(objects)
            if not explicit:
                key += "/"
        else:
            explicit = False
        if not explicit:
            level = "flat"
            if selective:
                parts = key.rstrip("/").split("/") if key else []
                level = "awslogs" if parts and parts[-1] == "AWSLogs" else "top"
                if "AWSLogs" in parts[:-1]:
                    level = "flat"  # below the layout's root: list it whole
            objects = lister.walk([(key, level, [])])
            if not objects and not key:
                pass
        for obj in objects:
            path = f"s3://{bucket}/{obj['Key']}"
            if path in seen or obj["Key"].endswith("/"):
                continue
            seen.add(path)
            if is_digest(path):
                found.skipped_digest.append(path)
                continue
            if is_insight(path):
                found.skipped_insight.append(path)
                continue
            name = path.rsplit("/", 1)[-1]
            if not explicit and (name.startswith(".") or not name.endswith(READ_SUFFIXES)):
                found.skipped_other.append(path)
                continue
            layout = parse_layout(path)
            if layout is not None and not keep(layout, since, until, accounts, regions):
                found.pruned += 1
                continue
            etag = obj.get("ETag")
            found.files.append(
                SourceFile(
                    path=path,
                    size=int(obj.get("Size", 0)),
                    layout=layout,
                    etag=None if etag is None else str(etag),
                )
            )
    found.files.sort(key=lambda f: f.path)
    return found


def _body(bucket: str, key: str) -> Iterator[bytes]:
    """The object's bytes, READ_SIZE at a time; a body cut mid-stream is resumed
    with a Range request pinned to the same ETag (with backoff)."""
    ClientError, BotoCoreError = _errors()  # noqa: N806
    offset = 0
    etag: str | None = None
    failures = 0
    while True:
        args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if etag is not None:
            args.update(Range=f"bytes={offset}-", IfMatch=etag)
        try:
            response = client().get_object(**args)
            etag = etag or response.get("ETag")
            for block in response["Body"].iter_chunks(READ_SIZE):
                offset += len(block)
                yield block
            return
        except ClientError as exc:
            error = exc.response.get("Error", {})  # type: ignore[attr-defined]
            code = error.get("Code")
            if code in ("PreconditionFailed", "412"):
                raise SourceError("object changed while read", offset) from None
            raise SourceError(f"cannot read object: {code}: {error.get('Message')}") from None
        except (BotoCoreError, OSError, ValueError) as exc:
            failures += 1
            if failures >= STREAM_ATTEMPTS:
                raise SourceError(
                    f"cannot read object: {failures} attempts failed, last: {exc}", offset
                ) from None
            time.sleep(STREAM_BACKOFF * 2**failures * random.random())


def object_bytes(url: str, limit: int) -> bytes | None:
    """The object's bytes as stored (gzip or plain) when they are at most ``limit``;
    None beyond it (the read stops there)."""
    bucket, key = split_url(url)
    parts: list[bytes] = []
    size = 0
    for block in _body(bucket, key):
        size += len(block)
        if size > limit:
            return None
        parts.append(block)
    return b"".join(parts)


def decompressed_chunks(url: str, max_size: int) -> Iterator[bytes]:
    """The decompressed bytes of the object ``url``, streamed (never held whole),
    with the same checks and errors as a local file."""
    bucket, key = split_url(url)
    blocks = _body(bucket, key)
    first = next(blocks, b"")
    compressed = first.startswith(GZIP_MAGIC)
    try:
        if first.startswith(ZIP_MAGIC):
            raise SourceError("zip archive: unpack it first (only gzip and plain JSON are read)", 0)

        def again() -> Iterator[bytes]:
            yield first
            yield from blocks

        pieces = inflate(again(), max_size) if compressed else _plain(again(), max_size)
        yield from sniffed(pieces)
    except NotJSONError as exc:
        raise SourceError(exc.reason, None if compressed else exc.offset) from None
