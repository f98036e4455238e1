"""The store's manifest: the one file that says what is committed.

A JSON document replaced atomically (written to a temporary name, flushed to
disk, ``os.replace``d): a reader sees the old manifest or the new one, never a
mix, and reads only the data files it lists, so files a writer is still
renaming into place are invisible. Writers hold an exclusive ``fcntl`` lock on
``DIR/.lock`` for the whole ingest, so two ingests never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from kmslog.decode import schema as S
from kmslog.store.layout import LOCK, MANIFEST

FORMAT = "kmslog-store"
VERSION = 1
# Rejection details kept per source object.
MAX_SOURCE_REJECTIONS = 100


class StoreError(Exception):
    """A store that cannot be used: missing, unreadable, or of another version."""


@dataclass
class SourceEntry:
    """One ingested source object: how it looked when read (``size`` and
    ``mtime_ns`` for a local file, ``etag`` for an S3 object) and what became
    of its records."""

    size: int
    mtime_ns: int | None
    etag: str | None
    stored: int
    duplicates: int
    rejected: int
    # (position, position kind, reason) of the first rejections.
    rejections: list[tuple[int | None, str, str]]
    run: int


@dataclass
class DataFile:
    path: str  # relative to DIR/data
    rows: int
    size: int
    run: int


@dataclass
class Manifest:
    runs: int = 0
    sources: dict[str, SourceEntry] = field(default_factory=dict)
    files: list[DataFile] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)  # relative to DIR
    # Objects the ingests saw and did not read: path → digest, insight or other.
    skipped: dict[str, str] = field(default_factory=dict)
    # What made the hashes (``write.HASH_ENGINE``): other hashes are made again.
    hash_engine: str = ""

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "schema_version": S.SCHEMA_VERSION,
            "runs": self.runs,
            "sources": {k: asdict(v) for k, v in sorted(self.sources.items())},
            "files": [asdict(f) for f in self.files],
            "hashes": self.hashes,
            "skipped": dict(sorted(self.skipped.items())),
            "hash_engine": self.hash_engine,
        }


def _entry(data: dict[str, Any]) -> SourceEntry:
    rejections = [(r[0], str(r[1]), str(r[2])) for r in data["rejections"]]
    return SourceEntry(
        size=int(data["size"]),
        mtime_ns=data["mtime_ns"],
        etag=data["etag"],
        stored=int(data["stored"]),
        duplicates=int(data["duplicates"]),
        rejected=int(data["rejected"]),
        rejections=rejections,
        run=int(data["run"]),
    )


def load(directory: str, *, must_exist: bool) -> Manifest:
    """The committed manifest of the store at ``directory`` (an empty one for a
    new store unless ``must_exist``)."""
    path = os.path.join(directory, MANIFEST)
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read())
    except FileNotFoundError:
        if must_exist:
            raise StoreError(f"{directory}: not a kmslog store (no {MANIFEST})") from None
        return Manifest()
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: unreadable manifest: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise StoreError(f"{path}: not a kmslog store manifest")
    if doc.get("version") != VERSION or doc.get("schema_version") != S.SCHEMA_VERSION:
        raise StoreError(
            f"{path}: store version {doc.get('version')}, schema {doc.get('schema_version')}; "
            f"this kmslog reads version {VERSION}, schema {S.SCHEMA_VERSION} (ingest again "
            "into a new store)"
        )
    try:
        return Manifest(
            runs=int(doc["runs"]),
            sources={str(k): _entry(v) for k, v in doc["sources"].items()},
            files=[
                DataFile(str(f["path"]), int(f["rows"]), int(f["size"]), int(f["run"]))
                for f in doc["files"]
            ],
            hashes=[str(h) for h in doc["hashes"]],
            skipped={str(k): str(v) for k, v in doc["skipped"].items()},
            hash_engine=str(doc.get("hash_engine", "")),
        )
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise StoreError(f"{path}: malformed manifest ({type(exc).__name__}: {exc})") from None


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(directory: str, manifest: Manifest) -> None:
    """Replace the manifest atomically (the caller holds the lock)."""
    path = os.path.join(directory, MANIFEST)
    temp = f"{path}.tmp-{os.getpid()}"
    with open(temp, "wb") as f:
        f.write(json.dumps(manifest.to_json(), ensure_ascii=True, indent=1).encode())
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    _fsync_dir(directory)


@contextlib.contextmanager
def locked(directory: str) -> Iterator[None]:
    """The store's writer lock, held for the block (waits for another writer)."""
    os.makedirs(directory, exist_ok=True)
    fd = os.open(os.path.join(directory, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
