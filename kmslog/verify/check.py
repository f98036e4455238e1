"""The checks of ``kmslog verify``: digests, their signatures, the chain, the log files.

Pure in the sense that matters: it reads only the files it is given and returns values
(findings and counts); it prints nothing. The order of the checks follows AWS's
custom-validation steps (docs/verify.md): a digest's format and location, its
signature, the link to its predecessor, then the log files it lists; then the log files
no digest lists.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from kmslog.findings.model import Evidence, Finding, FindingKind, Subject
from kmslog.kms.dates import iso_z
from kmslog.sources.base import SourceError
from kmslog.sources.discover import parse_layout
from kmslog.sources.local import GZIP_MAGIC, READ_SIZE, inflate
from kmslog.sources.names import display_name
from kmslog.sources.regular import open_failure, open_regular
from kmslog.verify import kinds
from kmslog.verify.digest import Digest, DigestFormatError, read_digest
from kmslog.verify.keys import InputFileError, PublicKey, Signature, read_sidecar
from kmslog.verify.layout import DigestName, parse_digest_name, tail
from kmslog.verify.signing import string_to_sign, verify_signature

# Keys rotate; a digest signed just after a rotation may carry an end time a little
# outside its key's validity (the AWS CLI widens its key query by two hours for this).
KEY_VALIDITY_SLACK = timedelta(hours=2)
LOG_STAMP_SPAN = timedelta(minutes=1)  # a log file's name holds its delivery minute


@dataclass(frozen=True)
class VerifyInputs:
    """What to check. ``public_keys`` None: none were given (signatures are then not
    checked); an empty list means keys were given and none matched anything."""

    digest_paths: Sequence[str]
    log_paths: Sequence[str]
    public_keys: Sequence[PublicKey] | None = None
    signatures: Mapping[str, Signature] = field(default_factory=dict)
    max_log_bytes: int = 4 * 1024**3
    read_sidecars: bool = True


@dataclass
class Counts:
    digests: int = 0
    digests_invalid: int = 0
    signatures_verified: int = 0
    signatures_failed: int = 0
    signatures_unchecked: int = 0
    chain_links_verified: int = 0
    logs_listed: int = 0
    logs_valid: int = 0
    logs_modified: int = 0
    logs_missing: int = 0
    logs_uncovered: int = 0
    logs_unchecked: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class VerifyResult:
    findings: tuple[Finding, ...]
    counts: Counts
    notes: tuple[str, ...]

    @property
    def failures(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind.id in kinds.FAILURES)

    @property
    def unchecked(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.kind.id not in kinds.FAILURES)

    @property
    def passed(self) -> bool:
        return not self.failures


def _finding(
    kind: FindingKind,
    summary: str,
    *,
    key: str | None,
    path: str | None = None,
    account: str | None = None,
    region: str | None = None,
    first: datetime | None = None,
    last: datetime | None = None,
    count: int = 1,
    details: Mapping[str, Any] | None = None,
) -> Finding:
    evidence = () if path is None else (Evidence(event_id=None, source=display_name(path)),)
    return Finding(
        kind=kind,
        subject=Subject(account=account, region=region, resource=key),
        first=first,
        last=last if last is not None else first,
        count=count,
        summary=summary,
        evidence=evidence,
        details=MappingProxyType(dict(details or {})),
    )


def _digest_finding(
    kind: FindingKind, d: Digest, key: str, summary: str, **details: Any
) -> Finding:
    name = parse_digest_name(key)
    return _finding(
        kind,
        summary,
        key=key,
        path=d.path,
        account=name.account if name else d.account,
        region=name.region if name else None,
        first=d.start,
        last=d.end,
        details={"digest": key, "path": display_name(d.path), **details},
    )


def log_sha256(path: str, max_size: int) -> str:
    """Hex SHA-256 of a log file's uncompressed content (gzip inflated, plain as is),
    streamed; raises :class:`SourceError` when it cannot be read or exceeds the cap."""
    try:
        handle = open_regular(path)
    except OSError as exc:
        raise SourceError(open_failure(exc)) from None
    digest = hashlib.sha256()
    with handle:
        try:
            first = handle.read(READ_SIZE)

            def blocks() -> Iterator[bytes]:
                yield first
                while block := handle.read(READ_SIZE):
                    yield block

            if first.startswith(GZIP_MAGIC):
                for piece in inflate(blocks(), max_size):
                    digest.update(piece)
            else:
                total = 0
                for block in blocks():
                    total += len(block)
                    if total > max_size:
                        raise SourceError(f"file size exceeds the cap of {max_size} bytes", 0)
                    digest.update(block)
        except OSError as exc:
            raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    return digest.hexdigest()


@dataclass
class _Run:
    inputs: VerifyInputs
    findings: list[Finding] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    # Digest key tail → the parsed local copies found there (at their original key).
    digests: dict[str, list[Digest]] = field(default_factory=dict)
    names: dict[str, DigestName | None] = field(default_factory=dict)
    candidates: dict[str, list[Signature]] = field(default_factory=lambda: defaultdict(list))
    log_hashes: dict[str, str | SourceError] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)


def _read_digests(run: _Run) -> None:
    for path in run.inputs.digest_paths:
        run.counts.digests += 1
        key = tail(path)
        try:
            d = read_digest(path)
        except DigestFormatError as exc:
            run.counts.digests_invalid += 1
            run.add(
                _finding(
                    kinds.DIGEST_INVALID,
                    f"digest {display_name(path)}: invalid format: {exc.reason}",
                    key=key,
                    path=path,
                    details={"path": display_name(path), "reason": exc.reason},
                )
            )
            continue
        named = tail(d.s3_object)
        if key is None or named != key:
            run.counts.digests_invalid += 1
            run.add(
                _digest_finding(
                    kinds.DIGEST_INVALID,
                    d,
                    key or display_name(path),
                    f"digest {display_name(path)} has been moved from its original location "
                    f"{d.s3_object!r} (digestS3Object)",
                    digest_s3_object=d.s3_object,
                )
            )
            continue
        run.digests.setdefault(key, []).append(d)
        run.names[key] = parse_digest_name(key)


def _collect_signatures(run: _Run) -> None:
    for key, copies in run.digests.items():
        explicit = run.inputs.signatures.get(key)
        if explicit is not None:
            run.candidates[key].append(explicit)
        if run.inputs.read_sidecars:
            for d in copies:
                try:
                    side = read_sidecar(d.path)
                except InputFileError as exc:
                    run.add(
                        _digest_finding(
                            kinds.SIGNATURE_UNCHECKED,
                            d,
                            key,
                            f"digest {key}: its sidecar {display_name(exc.path)} is unusable: "
                            f"{exc.reason}",
                        )
                    )
                    continue
                if side is not None:
                    run.candidates[key].append(side)
        for d in copies:
            previous = None if d.previous_object is None else tail(d.previous_object)
            if previous is not None and d.previous_signature is not None:
                run.candidates[previous].append(
                    Signature(
                        d.previous_signature.lower(),
                        f"previousDigestSignature of {key}",
                    )
                )


def _key_valid_at(key: PublicKey, moment: datetime) -> bool:
    if key.valid_from is not None and moment < key.valid_from - KEY_VALIDITY_SLACK:
        return False
    return not (key.valid_to is not None and moment > key.valid_to + KEY_VALIDITY_SLACK)


def _check_signatures(run: _Run) -> None:
    keys = run.inputs.public_keys
    by_fingerprint: dict[str, list[PublicKey]] = defaultdict(list)
    for k in keys or ():
        by_fingerprint[k.fingerprint].append(k)
    for key, copies in run.digests.items():
        found = run.candidates.get(key, [])
        distinct = sorted({s.hex for s in found})
        if len(distinct) > 1:
            sources = "; ".join(f"{s.source}: {s.hex[:16]}…" for s in found)
            run.add(
                _digest_finding(
                    kinds.DIGEST_INVALID,
                    copies[0],
                    key,
                    f"digest {key}: its signature sources disagree ({sources})",
                    signatures=[{"source": s.source, "signature": s.hex} for s in found],
                )
            )
        for d in copies:
            _check_one_signature(run, key, d, found, keys, by_fingerprint)


def _check_one_signature(
    run: _Run,
    key: str,
    d: Digest,
    found: list[Signature],
    keys: Sequence[PublicKey] | None,
    by_fingerprint: Mapping[str, list[PublicKey]],
) -> None:
    def unchecked(why: str) -> None:
        run.counts.signatures_unchecked += 1
        run.add(
            _digest_finding(
                kinds.SIGNATURE_UNCHECKED, d, key, f"digest {key}: signature not checked: {why}"
            )
        )

    def failed(why: str, **details: Any) -> None:
        run.counts.signatures_failed += 1
        run.add(
            _digest_finding(
                kinds.SIGNATURE_INVALID,
                d,
                key,
                f"digest {key}: INVALID signature: {why}",
                fingerprint=d.fingerprint,
                **details,
            )
        )

    if keys is None:
        unchecked("no public keys given (--public-keys)")
        return
    if not found:
        unchecked(
            "its signature is not known (the newest digest of a chain needs --signatures "
            "or a .metadata.json sidecar)"
        )
        return
    matching = by_fingerprint.get(d.fingerprint, [])
    if not matching:
        failed(
            f"no public key with fingerprint {d.fingerprint} among the keys given "
            "(aws cloudtrail list-public-keys in the digest's Region and time)"
        )
        return
    valid = [k for k in matching if _key_valid_at(k, d.end)]
    if not valid:
        k = matching[0]
        span = f"{_iso(k.valid_from)} to {_iso(k.valid_to)}"
        failed(f"key {d.fingerprint} is valid from {span}, not at digestEndTime {d.end_text}")
        return
    message = string_to_sign(d)
    for signature in found:
        if any(verify_signature(k.key, signature.hex, message) for k in valid):
            run.counts.signatures_verified += 1
            return
    failed(
        f"the signature ({found[0].source}) does not verify with key {d.fingerprint}",
        signature_source=found[0].source,
    )


def _iso(moment: datetime | None) -> str:
    return "-" if moment is None else iso_z(moment)


def _chains(run: _Run) -> dict[Any, list[tuple[str, Digest]]]:
    groups: dict[Any, list[tuple[str, Digest]]] = defaultdict(list)
    for key, copies in run.digests.items():
        name = run.names.get(key)
        group = name.chain if name is not None else ("unnamed", key)
        groups[group].append((key, copies[0]))
    for members in groups.values():
        members.sort(key=lambda m: (m[1].end, m[0]))
    return groups


def _check_chain(run: _Run) -> None:
    for members in _chains(run).values():
        for index, (key, _) in enumerate(members):
            older = members[index - 1] if index > 0 else None
            for copy in run.digests[key]:
                _check_link(run, key, copy, older)


def _check_link(run: _Run, key: str, d: Digest, older: tuple[str, Digest] | None) -> None:
    if d.previous_object is None and d.previous_bucket is None:
        if older is not None:
            run.add(
                _digest_finding(
                    kinds.CHAIN_GAP,
                    d,
                    key,
                    f"no digest between {older[1].end_text} and {d.start_text}: the chain "
                    f"restarts at {key} (logging or validation was off, or the trail was "
                    "re-created; CloudTrail digests nothing delivered in between)",
                    previous_digest=older[0],
                )
            )
        return
    previous = None if d.previous_object is None else tail(d.previous_object)
    if (
        previous is None
        or d.previous_bucket is None
        or d.previous_hash is None
        or d.previous_signature is None
    ):
        run.add(
            _digest_finding(
                kinds.DIGEST_INVALID,
                d,
                key,
                f"digest {key}: its previous digest is named incompletely "
                f"(previousDigestS3Bucket {d.previous_bucket!r}, previousDigestS3Object "
                f"{d.previous_object!r}, previousDigestHashValue and previousDigestSignature "
                "must all be set, or all null for the first digest of a chain)",
            )
        )
        return
    copies = run.digests.get(previous)
    if not copies:
        if older is not None:
            run.add(
                _digest_finding(
                    kinds.DIGEST_MISSING,
                    d,
                    previous,
                    f"digest {previous} is missing: {key} names it as its previous digest, "
                    f"and the older digest {older[0]} is present",
                    named_by=key,
                )
            )
        else:
            run.add(
                _digest_finding(
                    kinds.CHAIN_UNCHECKED,
                    d,
                    key,
                    f"chain before {key} not checked: its previous digest {previous} is not "
                    "among the files given",
                    previous_digest=previous,
                )
            )
        return
    for p in copies:
        # The hash is that of the previous digest file's content; AWS does not say
        # whether of the gzip object or of its JSON, so either matches (docs/verify.md).
        if d.previous_hash in (p.inflated_sha256, p.stored_sha256):
            run.counts.chain_links_verified += 1
            continue
        run.add(
            _digest_finding(
                kinds.DIGEST_INVALID,
                p,
                previous,
                f"digest {previous} does not match the hash its successor {key} recorded: "
                f"expected {d.previous_hash}, its SHA-256 is {p.inflated_sha256}",
                expected=d.previous_hash,
                actual=p.inflated_sha256,
                named_by=key,
            )
        )


@dataclass(frozen=True)
class _LocalLog:
    path: str
    key: str | None
    org_id: str | None
    account: str | None
    region: str | None
    delivered: datetime | None


def _local_logs(paths: Sequence[str]) -> list[_LocalLog]:
    logs = []
    for path in paths:
        layout = parse_layout(path)
        key = tail(path)
        logs.append(
            _LocalLog(
                path=path,
                key=key,
                org_id=layout.org_id if layout else None,
                account=layout.account if layout else None,
                region=layout.region if layout else None,
                delivered=layout.delivered if layout else None,
            )
        )
    return logs


def _hash(run: _Run, path: str) -> str | SourceError:
    known = run.log_hashes.get(path)
    if known is None:
        try:
            known = log_sha256(path, run.inputs.max_log_bytes)
        except SourceError as exc:
            known = exc
        run.log_hashes[path] = known
    return known


def _check_logs(run: _Run, logs: list[_LocalLog]) -> set[str]:
    by_key: dict[str, list[_LocalLog]] = defaultdict(list)
    for log in logs:
        if log.key is not None:
            by_key[log.key].append(log)
    listed: set[str] = set()
    done: set[tuple[str, str]] = set()
    for key, copies in run.digests.items():
        for d in copies:
            for entry in d.logs:
                log_key = tail(entry.s3_object)
                if log_key is None or (log_key, entry.hash_value) in done:
                    if log_key is None:
                        run.add(
                            _digest_finding(
                                kinds.DIGEST_INVALID,
                                d,
                                key,
                                f"digest {key} lists {entry.s3_object!r}, not a CloudTrail "
                                "log file key",
                            )
                        )
                    continue
                done.add((log_key, entry.hash_value))
                listed.add(log_key)
                run.counts.logs_listed += 1
                _check_entry(run, key, d, log_key, entry.hash_value, by_key.get(log_key, []))
    return listed


def _check_entry(
    run: _Run, key: str, d: Digest, log_key: str, expected: str, copies: list[_LocalLog]
) -> None:
    layout = parse_layout(log_key)
    where: dict[str, Any] = {
        "account": layout.account if layout else None,
        "region": layout.region if layout else None,
        "first": layout.delivered if layout else d.end,
    }
    if not copies:
        run.counts.logs_missing += 1
        run.add(
            _finding(
                kinds.LOG_MISSING,
                f"log file {log_key} is missing (listed in digest {key})",
                key=log_key,
                details={"digest": key, "expected": expected},
                **where,
            )
        )
        return
    for log in copies:
        actual = _hash(run, log.path)
        if isinstance(actual, SourceError):
            run.counts.logs_modified += 1
            run.add(
                _finding(
                    kinds.LOG_MODIFIED,
                    f"log file {log_key} cannot be read ({actual.reason}); digest {key} "
                    f"recorded SHA-256 {expected}",
                    key=log_key,
                    path=log.path,
                    details={"digest": key, "expected": expected, "reason": actual.reason},
                    **where,
                )
            )
        elif actual != expected:
            run.counts.logs_modified += 1
            run.add(
                _finding(
                    kinds.LOG_MODIFIED,
                    f"log file {log_key} has been modified: SHA-256 of its content is "
                    f"{actual}, digest {key} recorded {expected}",
                    key=log_key,
                    path=log.path,
                    details={"digest": key, "expected": expected, "actual": actual},
                    **where,
                )
            )
        else:
            run.counts.logs_valid += 1


@dataclass(frozen=True)
class _Spans:
    """The digests' time spans of one account and Region, for "is this minute wholly
    inside one of them" in O(log n): spans sorted by start, with the running maximum
    of their ends."""

    starts: tuple[datetime, ...]
    max_ends: tuple[datetime, ...]

    @classmethod
    def of(cls, spans: list[tuple[datetime, datetime]]) -> _Spans:
        spans = sorted(spans)
        ends: list[datetime] = []
        for _, end in spans:
            ends.append(end if not ends or end > ends[-1] else ends[-1])
        return cls(tuple(s for s, _ in spans), tuple(ends))

    def covers(self, start: datetime, end: datetime) -> bool:
        i = bisect_right(self.starts, start)
        return i > 0 and self.max_ends[i - 1] >= end


def _check_uncovered(run: _Run, logs: list[_LocalLog], listed: set[str]) -> None:
    collected: dict[tuple[str | None, str, str], list[tuple[datetime, datetime]]] = defaultdict(
        list
    )
    for key, copies in run.digests.items():
        name = run.names.get(key)
        if name is not None:
            for d in copies:
                collected[(name.org_id, name.account, name.region)].append((d.start, d.end))
    spans = {group: _Spans.of(found) for group, found in collected.items()}
    unchecked: dict[tuple[str | None, str | None, str | None], list[_LocalLog]] = defaultdict(list)
    for log in logs:
        if log.key is not None and log.key in listed:
            continue
        if log.delivered is None or log.account is None or log.region is None:
            unchecked[(None, None, None)].append(log)
            continue
        at = log.delivered
        group_spans = spans.get((log.org_id, log.account, log.region))
        if group_spans is None or not group_spans.covers(at, at + LOG_STAMP_SPAN):
            unchecked[(log.org_id, log.account, log.region)].append(log)
            continue
        run.counts.logs_uncovered += 1
        run.add(
            _finding(
                kinds.LOG_UNCOVERED,
                f"log file {log.key} is not listed in any digest, although digests given "
                f"cover its delivery time {iso_z(at)}",
                key=log.key,
                path=log.path,
                account=log.account,
                region=log.region,
                first=at,
            )
        )
    for (_, account, region), group in sorted(
        unchecked.items(), key=lambda item: tuple(x or "" for x in item[0])
    ):
        run.counts.logs_unchecked += len(group)
        times = sorted(g.delivered for g in group if g.delivered is not None)
        where = f"account {account} {region}" if account else "files outside the CloudTrail layout"
        shown = ", ".join(display_name(g.path) for g in group[:3])
        more = f" and {len(group) - 3} more" if len(group) > 3 else ""
        run.add(
            _finding(
                kinds.LOG_UNCHECKED,
                f"{len(group)} log file{'s' if len(group) != 1 else ''} ({where}) not checked: "
                f"no digest given covers them ({shown}{more})",
                key=None,
                account=account,
                region=region,
                first=times[0] if times else None,
                last=times[-1] if times else None,
                count=len(group),
                details={"paths": [display_name(g.path) for g in group[:100]]},
            )
        )


NOTES = (
    "Digests newer than the newest one given, and their log files, cannot be known "
    "offline: list the bucket (or run aws cloudtrail validate-logs) to see them.",
    "Buckets are not checked locally (files are matched on their key from AWSLogs/ on); "
    "the bucket is part of what a digest's signature covers.",
)


def verify(inputs: VerifyInputs) -> VerifyResult:
    """Check the digests and log files in ``inputs``."""
    run = _Run(inputs)
    _read_digests(run)
    _collect_signatures(run)
    _check_signatures(run)
    _check_chain(run)
    logs = _local_logs(inputs.log_paths)
    listed = _check_logs(run, logs)
    _check_uncovered(run, logs, listed)
    return VerifyResult(tuple(run.findings), run.counts, NOTES)
