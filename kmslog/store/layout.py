"""Where things live in a store directory, and partition names.

    DIR/manifest.json                 what is committed (``manifest.py``)
    DIR/.lock                         the writers' lock
    DIR/data/account=A/region=R/date=YYYY-MM-DD/part-<run>-<n>.parquet
    DIR/hashes/<run>.npz              dedup hashes of the rows each run stored
    DIR/tmp/<run>/                    a run's work in progress (never read)

Partition values come from the records (recipientAccountId, awsRegion, the UTC
date of eventTime) and are attacker-controlled: any byte outside
``[A-Za-z0-9._-]`` is percent-encoded (so no value can name another directory),
null is Hive's default partition, and a value too long for a file name becomes
a hash of itself. Pruning compares encoded names, so it never needs to decode.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date, datetime

STORE_SCHEME = "store"
PREFIX = f"{STORE_SCHEME}://"
MANIFEST = "manifest.json"
LOCK = ".lock"
DATA = "data"
HASHES = "hashes"
TMP = "tmp"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# Longer encoded values are named by their hash (file names stop at 255 bytes).
MAX_VALUE = 96
PARTITION_KEYS = ("account", "region", "date")

_SAFE = re.compile(r"[A-Za-z0-9._-]")


def _escaped(c: str) -> str:
    return "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))


def encode(value: str | None) -> str:
    """The directory-name form of a partition value."""
    if value is None or value == "":
        return NULL_PARTITION
    out = "".join(
        c
        if _SAFE.fullmatch(c)
        else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for c in value
    )
    if len(out) > MAX_VALUE:
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"__LONG_{digest}"
    return out


def partition_dir(account: str | None, region: str | None, day: date) -> str:
    """The partition of a row, relative to the data directory."""
    return f"account={encode(account)}/region={encode(region)}/date={day.isoformat()}"


def wanted(
    partition: str,
    since: datetime | None,
    until: datetime | None,
    accounts: frozenset[str],
    regions: frozenset[str],
) -> bool:
    """Whether a partition (``partition_dir``'s form) can hold a row the selection
    keeps: rows are selected by exactly the values the partition is named by."""
    parts = dict(p.split("=", 1) for p in partition.split("/"))
    if accounts and parts["account"] not in {encode(a) for a in accounts}:
        return False
    if regions and parts["region"] not in {encode(r) for r in regions}:
        return False
    day = parts["date"]
    if since is not None and day < since.date().isoformat():
        return False
    return not (until is not None and day > until.date().isoformat())


def store_url(directory: str) -> str:
    """The source path that names a store (``--store DIR``)."""
    return PREFIX + directory


def store_dir(url: str) -> str:
    return url[len(PREFIX) :]


def data_url(directory: str, relative: str) -> str:
    """The source path of one committed data file of a store."""
    return PREFIX + os.path.join(directory, DATA, relative) + "#parquet"


def is_store_file(path: str) -> bool:
    return path.startswith(PREFIX) and path.endswith("#parquet")


def data_path(url: str) -> str:
    """The local path of a data file named by ``data_url``."""
    return url[len(PREFIX) : -len("#parquet")]
