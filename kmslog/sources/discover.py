"""Find the files a scan reads: walk directories and globs, recognise the CloudTrail
S3 delivery layout and prune by it before any file is opened.

Layout (organization trails add an ``o-…`` level after ``AWSLogs``)::

    …/AWSLogs/[o-orgid/]<account>/CloudTrail/<region>/YYYY/MM/DD/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz

The stamp in the name is the *delivery* minute: a file holds records written at
any time before it, so ``--since`` prunes exactly (a file delivered before the
window opens cannot hold a record inside it) while ``--until`` can only prune
files delivered more than :data:`DELIVERY_LAG` after the window closes.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kmslog.run.api import IngestStats
from kmslog.sources.regular import special_kind

# A record may be delivered long after it happened (service events, retries,
# regional outages); files delivered up to this long after --until are still read.
DELIVERY_LAG = timedelta(days=1)
# The stamp is truncated to the minute and clocks drift: a file delivered this
# long before --since is still read.
DELIVERY_SLACK = timedelta(minutes=15)

# Names a directory walk reads; a file named explicitly is read whatever its name.
READ_SUFFIXES = (".json.gz", ".json", ".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".gz")

_NAME = re.compile(
    r"^(?P<account>\d{12})_CloudTrail_(?P<region>[a-z0-9-]+)_"
    r"(?P<stamp>\d{8}T\d{4}Z)_(?P<unique>[A-Za-z0-9]+)\.json(?:\.gz)?$"
)
_DIGEST_NAME = re.compile(r"_CloudTrail-Digest_")
_INSIGHT_NAME = re.compile(r"_CloudTrail-Insight_")


@dataclass(frozen=True)
class Layout:
    """What the S3 key of a delivered CloudTrail file says about its contents."""

    account: str
    region: str
    delivered: datetime
    org_id: str | None = None


@dataclass(frozen=True)
class SourceFile:
    path: str
    size: int
    layout: Layout | None = None
    # The object's ETag (s3://), what a store's manifest compares to see a change.
    etag: str | None = None


@dataclass
class Discovery:
    files: list[SourceFile] = field(default_factory=list)
    skipped_digest: list[str] = field(default_factory=list)
    skipped_insight: list[str] = field(default_factory=list)
    skipped_other: list[str] = field(default_factory=list)
    # (path, what it is): FIFOs, devices, sockets, broken symlinks, symlink loops.
    skipped_special: list[tuple[str, str]] = field(default_factory=list)
    pruned: int = 0
    missing: list[str] = field(default_factory=list)
    # Counts established before the run, added to its totals (a store's
    # manifest: the objects it ingested, their dropped duplicates and rejections).
    precounted: list[IngestStats] = field(default_factory=list)


def parse_layout(path: str) -> Layout | None:
    """The layout facts of ``path`` when its name and parent folders follow the
    CloudTrail S3 delivery layout exactly; None otherwise."""
    parts = path.replace("\\", "/").split("/")
    match = _NAME.match(parts[-1])
    if match is None or len(parts) < 8:
        return None
    day, month, year, region, service, account = parts[-2], parts[-3], parts[-4], *parts[-5:-8:-1]
    if service != "CloudTrail" or region != match["region"] or account != match["account"]:
        return None
    try:
        index = len(parts) - 8
        org_id: str | None = None
        if parts[index].startswith("o-") and index > 0 and parts[index - 1] == "AWSLogs":
            org_id = parts[index]
        elif parts[index] != "AWSLogs":
            return None
        delivered = datetime.strptime(match["stamp"], "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except (IndexError, ValueError):
        return None
    if (year, month, day) != (f"{delivered:%Y}", f"{delivered:%m}", f"{delivered:%d}"):
        # Folder date and stamp disagree: someone rearranged the files, so neither
        # can be trusted for pruning.
        return None
    return Layout(account=account, region=region, delivered=delivered, org_id=org_id)


def is_digest(path: str) -> bool:
    norm = path.replace("\\", "/")
    return "/CloudTrail-Digest/" in norm or bool(_DIGEST_NAME.search(os.path.basename(norm)))


def is_insight(path: str) -> bool:
    norm = path.replace("\\", "/")
    return "/CloudTrail-Insight/" in norm or bool(_INSIGHT_NAME.search(os.path.basename(norm)))


def keep(
    layout: Layout,
    since: datetime | None,
    until: datetime | None,
    accounts: frozenset[str],
    regions: frozenset[str],
) -> bool:
    """Whether a file with this layout can hold a record the selection wants."""
    if accounts and layout.account not in accounts:
        return False
    if regions and layout.region not in regions:
        return False
    if since is not None and layout.delivered + DELIVERY_SLACK < since:
        return False
    return not (until is not None and layout.delivered - DELIVERY_LAG > until)


def _walk(root: str) -> Iterable[tuple[str, bool]]:
    """(path, named explicitly) for ``root`` itself unless it is a directory, else for
    every non-directory entry under it (symlinked directories are not followed)."""
    if not os.path.isdir(root):
        yield root, True
        return
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            yield os.path.join(dirpath, name), False


def _expand(spec: str) -> list[str] | None:
    # lexists: a broken symlink named explicitly is skipped with its reason, not "missing".
    if os.path.lexists(spec):
        return [spec]
    if glob.has_magic(spec):
        matches = sorted(glob.glob(spec, recursive=True))
        return matches or None
    return None


def discover(
    paths: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
    accounts: frozenset[str] = frozenset(),
    regions: frozenset[str] = frozenset(),
) -> Discovery:
    """Every file to read, sorted by path (the order results are combined in),
    with what was skipped or pruned and which inputs do not exist."""
    found = Discovery()
    seen: set[str] = set()
    files: list[SourceFile] = []
    for spec in paths:
        expanded = _expand(spec)
        if expanded is None:
            found.missing.append(spec)
            continue
        for root in expanded:
            for path, explicit in _walk(root):
                real = os.path.realpath(path)
                if real in seen:
                    continue
                seen.add(real)
                # What the path is decides before what it is called: nothing that is
                # not a regular file is ever opened, whatever its name.
                info, kind = special_kind(path)
                if kind is not None:
                    found.skipped_special.append((path, kind))
                    continue
                if is_digest(path):
                    found.skipped_digest.append(path)
                    continue
                if is_insight(path):
                    found.skipped_insight.append(path)
                    continue
                name = os.path.basename(path)
                if not explicit and (name.startswith(".") or not name.endswith(READ_SUFFIXES)):
                    found.skipped_other.append(path)
                    continue
                layout = parse_layout(path)
                if layout is not None and not keep(layout, since, until, accounts, regions):
                    found.pruned += 1
                    continue
                # No stat (permission denied, say): the reader reports why.
                size = 0 if info is None else info.st_size
                files.append(SourceFile(path=path, size=size, layout=layout))
    found.files = sorted(files, key=lambda f: f.path)
    return found
