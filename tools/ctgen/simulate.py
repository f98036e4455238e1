"""Whole-estate helpers for harnesses: background for every account-region, then delivery."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from tools.ctgen.delivery import LogFile, batch_into_files, gzip_bytes, write_file
from tools.ctgen.ids import IdSource
from tools.ctgen.traffic import NoiseProfile, background
from tools.ctgen.world import Record, World


def simulate_background(
    world: World,
    start: int,
    end: int,
    seed: int,
    *,
    profile: NoiseProfile | None = None,
    profiles: dict[str, NoiseProfile] | None = None,
) -> list[Record]:
    """Ordinary traffic of every account-region of ``world`` in ``[start, end)``.

    Each account-region draws from its own stream (seeded by seed, account, region), so adding
    an account does not change the others' records. ``profiles`` overrides per account.
    """
    out: list[Record] = []
    for acct in world.accounts:
        prof = (profiles or {}).get(acct.account_id, profile)
        for region in acct.regions:
            ids = IdSource("background", seed, acct.account_id, region)
            out.extend(background(world, acct.account_id, region, start, end, ids, prof))
    return out


def deliver(
    records: Iterable[Record],
    out: Path,
    seed: int,
    *,
    compress: Callable[[bytes], bytes] = gzip_bytes,
) -> list[LogFile]:
    """Write records as CloudTrail would deliver them: one stream per
    (recipientAccountId, awsRegion), ~5-minute files in the S3 layout under ``out``."""
    streams: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        streams[(r["recipientAccountId"], r["awsRegion"])].append(r)
    files: list[LogFile] = []
    for (acct, region), recs in sorted(streams.items()):
        batch = batch_into_files(recs, acct, region, IdSource("delivery", seed, acct, region))
        for lf in batch:
            write_file(out, lf, compress=compress)
        files.extend(batch)
    return files
