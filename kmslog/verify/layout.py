"""Where a digest or log file sits in CloudTrail's S3 layout, from its key or local path.

A local copy and an S3 key are matched on their *tail*: the part from the ``AWSLogs``
component on (``AWSLogs/[o-ORG/]<account>/CloudTrail[-Digest]/<region>/YYYY/MM/DD/<name>``).
The bucket and any key prefix before ``AWSLogs`` are not part of it, so a tree
downloaded with ``aws s3 sync`` into any directory matches the keys a digest names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_ACCOUNT = re.compile(r"^\d{12}$")
_ORG = re.compile(r"^o-[a-z0-9]{10,32}$")
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d+"
DIGEST_NAME = re.compile(
    rf"^(?P<account>\d{{12}})_CloudTrail-Digest_(?P<region>{_REGION})_(?P<trail>.+)_"
    rf"(?P<home>{_REGION})_(?P<stamp>\d{{8}}T\d{{6}}Z)(?P<backfill>_backfill)?\.json(?:\.gz)?$"
)


def tail(key: str) -> str | None:
    """The part of an S3 key or local path from its ``AWSLogs`` component on (the last
    one followed by an account id or an organisation id); None when there is none."""
    parts = key.replace("\\", "/").split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "AWSLogs" and (_ACCOUNT.match(parts[i + 1]) or _ORG.match(parts[i + 1])):
            return "/".join(parts[i:])
    return None


@dataclass(frozen=True)
class DigestName:
    """What a digest file's key says: the chain it belongs to and its end stamp."""

    org_id: str | None
    account: str
    region: str
    trail: str
    home_region: str
    end: datetime
    backfill: bool

    @property
    def chain(self) -> tuple[str | None, str, str, str, str, bool]:
        """Digests of one chain share this: organisation, account, Region, trail,
        home Region, and whether they are backfill digests (a chain of their own)."""
        return (self.org_id, self.account, self.region, self.trail, self.home_region, self.backfill)


def parse_digest_name(key_tail: str) -> DigestName | None:
    """The facts in a digest key tail when it follows the layout exactly."""
    parts = key_tail.split("/")
    org_id = parts[1] if len(parts) > 1 and _ORG.match(parts[1]) else None
    rest = parts[2:] if org_id else parts[1:]
    if len(rest) != 7 or rest[1] != "CloudTrail-Digest":
        return None
    account, _, region, year, month, day, name = rest
    match = DIGEST_NAME.match(name)
    if match is None or match["account"] != account or match["region"] != region:
        return None
    try:
        end = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    if (year, month, day) != (f"{end:%Y}", f"{end:%m}", f"{end:%d}"):
        return None
    return DigestName(
        org_id=org_id,
        account=account,
        region=region,
        trail=match["trail"],
        home_region=match["home"],
        end=end,
        backfill=match["backfill"] is not None,
    )
