"""Fuzz targets: each takes the raw bytes of one input and checks kmslog's contract on it.

A target returns normally when kmslog handled the input as documented: it either
produced a result whose counts reconcile, or raised the one exception type that
part of kmslog documents for unusable input (``SourceError`` for a file that cannot
be read at all, ``PatternError`` for an invalid filter pattern, ``RuleError`` for an
invalid rule). Any other exception escaping is a crash; a broken invariant raises
:class:`ContractViolation`. Every target takes bytes so that the atheris engine,
the hypothesis engine and the corpus replay test share one input format.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from kmslog.decode import schema as S
from kmslog.decode.records import decode_bytes
from kmslog.decode.shapes import split_records
from kmslog.metrics.loaders import load_rules
from kmslog.metrics.rules import RuleError, RuleSet
from kmslog.patterns import PatternError, parse
from kmslog.patterns.syntax import MAX_PATTERN_LENGTH
from kmslog.sources import local
from kmslog.sources.local import SourceError
from kmslog.verify.digest import DigestFormatError, parse_digest
from kmslog.verify.keys import InputFileError, load_public_keys, load_signatures
from kmslog.verify.signing import string_to_sign

SOURCE = "fuzz"
# Small on purpose: a few KiB of gzip can inflate past it, so the cap's path is reached.
LOCAL_CAP = 256 * 1024
# What the lifecycle analysis reads: a realistic projection, not the full schema.
PROJECTION = frozenset(
    {S.EVENT_NAME, S.EVENT_SOURCE, S.ERROR_CODE, S.KEY_IDS, S.RECIPIENT_ACCOUNT_ID, S.EVENT_ID}
)
# Separates the pattern from the event in ``pattern_event`` inputs.
SEPARATOR = b"\x00"


class ContractViolation(AssertionError):
    """kmslog returned, but what it returned breaks a documented invariant."""


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ContractViolation(message)


def text_of(data: bytes) -> str:
    """Any bytes as text; undecodable bytes become lone surrogates, which a pattern
    read from JSON (``"\\ud800"``) can also hold."""
    return data.decode("utf-8", "surrogateescape")


# --- decoder ---------------------------------------------------------------------------


def _decode(data: bytes, columns: frozenset[str] | None) -> tuple[int, list[pa.RecordBatch], list]:
    seen = 0
    batches: list[pa.RecordBatch] = []
    rejections: list = []
    for chunk in decode_bytes(data, SOURCE, columns):
        _check(chunk.batch.schema.equals(S.SCHEMA), "a batch does not have the event schema")
        _check(
            chunk.seen == chunk.batch.num_rows + len(chunk.rejections),
            f"chunk counts do not reconcile: seen {chunk.seen} != "
            f"{chunk.batch.num_rows} rows + {len(chunk.rejections)} rejections",
        )
        seen += chunk.seen
        batches.append(chunk.batch)
        rejections.extend(chunk.rejections)
    return seen, batches, rejections


def _built(batches: list[pa.RecordBatch], columns: frozenset[str]) -> list[dict[str, Any]]:
    names = sorted(columns | {S.EVENT_TIME, S.RAW, S.RECORD_INDEX})
    return [row for b in batches for row in b.select(names).to_pylist()]


def decode(data: bytes) -> None:
    """``decode_bytes`` with every column and with a projection: only SourceError
    escapes, seen = rows + rejections, and the projection changes neither the counts,
    the rejections nor the cells it builds (docs/ingest.md, "Column projection")."""
    try:
        full = _decode(data, None)
    except SourceError:
        full = None
    try:
        projected = _decode(data, PROJECTION)
    except SourceError:
        projected = None
    _check(
        (full is None) == (projected is None),
        "the file is refused with one column set and accepted with the other",
    )
    if full is None or projected is None:
        return
    _check(full[0] == projected[0], f"seen differs: {full[0]} vs {projected[0]} projected")
    _check(full[2] == projected[2], "rejections differ between full and projected decode")
    _check(
        _built(full[1], PROJECTION) == _built(projected[1], PROJECTION),
        "projected cells differ from the full decode",
    )


def native_engine(data: bytes) -> None:
    """The native decoder never raises, and a file it decodes itself gives exactly
    the Python path's table, with every column and with a projection (it hands
    anything else to the Python path: docs/ingest.md, "Native engine")."""
    from kmslog.decode import native

    if not native.available() or data.startswith(local.GZIP_MAGIC):
        return
    for columns in (None, PROJECTION):
        (result,) = native.decode_contents([(data, SOURCE)], 1 << 30, columns)
        if result.batch is None:
            continue
        try:
            _, batches, rejections = _decode(data, columns)
        except SourceError as exc:
            raise ContractViolation(f"native decoded a file Python refuses: {exc}") from None
        _check(rejections == [], f"native kept a file Python rejects records of: {rejections}")
        parts = [s.batch for s in native.segments(result) if s.batch is not None]
        ours = pa.Table.from_batches(parts, schema=S.SCHEMA)
        theirs = pa.Table.from_batches(batches, schema=S.SCHEMA)
        _check(ours.num_rows == theirs.num_rows, "native and Python row counts differ")
        for name in S.SCHEMA.names:
            _check(ours.column(name).equals(theirs.column(name)), f"column {name} differs")


def split(data: bytes) -> None:
    """``split_records``: only SourceError escapes; one position per record."""
    try:
        result = split_records(data, SOURCE)
    except SourceError:
        return
    _check(len(result.raws) == len(result.indexes), "records and positions differ in number")
    _check(result.seen == len(result.raws) + len(result.rejections), "split counts do not add up")
    for raw in result.raws:
        _check(isinstance(bytes(raw), bytes), "a record text is not bytes")


def local_file(data: bytes) -> None:
    """The bytes as a file on disk, read with a small cap: only SourceError escapes and
    nothing beyond the cap is returned."""
    fd, path = tempfile.mkstemp(prefix="kmslog-fuzz-", suffix=".json.gz")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            out = local.read_source(path, LOCAL_CAP)
        except SourceError:
            out = None
        if out is not None:
            _check(len(out) <= LOCAL_CAP, f"read {len(out)} bytes past the cap of {LOCAL_CAP}")
        stream = getattr(local, "decompressed_chunks", None)
        if stream is not None:
            total = 0
            try:
                for piece in stream(path, LOCAL_CAP):
                    total += len(piece)
                    _check(total <= LOCAL_CAP, f"streamed {total} bytes past the cap")
            except SourceError:
                pass
    finally:
        os.unlink(path)


# --- filter patterns ---------------------------------------------------------------------


def pattern(data: bytes) -> None:
    """Pattern text: only PatternError escapes; a valid pattern builds its polars
    expression and prints back to text that parses to the same tree (when the printed
    text is within the length limit)."""
    text = text_of(data)
    try:
        parsed = parse(text)
    except PatternError as exc:
        _check(isinstance(exc.position, int), "PatternError without a position")
        _check(0 <= exc.position <= max(len(text), 1024), f"position {exc.position} off the text")
        return
    printed = parsed.to_text()
    parsed.to_polars()
    if len(printed) > MAX_PATTERN_LENGTH:
        # The printer normalises spacing and escapes, so a pattern near the length limit
        # may print longer than the limit; kmslog only shows printed text, never reads it.
        return
    try:
        again = parse(printed)
    except PatternError as exc:
        raise ContractViolation(f"printed pattern {printed!r} does not parse: {exc}") from None
    _check(again.ast == parsed.ast, f"printed pattern {printed!r} parses to another tree")


def pattern_event(data: bytes) -> None:
    """A pattern, a NUL byte, an event message: matching and extraction of a valid
    pattern never raise and give a bool and a str -> str map."""
    head, _, tail = data.partition(SEPARATOR)
    try:
        parsed = parse(text_of(head))
    except PatternError:
        return
    message = tail.decode("utf-8", "replace")
    hit = parsed.matches(message)
    _check(isinstance(hit, bool), "matches() did not return a bool")
    values = parsed.extract(message)
    _check(
        all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()),
        "extract() returned something other than str -> str",
    )
    _check(not values or hit, "values extracted from an event that does not match")


# --- rule loaders --------------------------------------------------------------------------


def _load(data: bytes, suffix: str) -> None:
    fd, path = tempfile.mkstemp(prefix="kmslog-fuzz-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            rules = load_rules(path)
        except RuleError as exc:
            _check(bool(exc.rule) and bool(exc.field), "RuleError without rule or field")
            return
    finally:
        os.unlink(path)
    _check(isinstance(rules, RuleSet), "load_rules did not return a RuleSet")
    for rule in rules.filters:
        _check(rule.metric_filter.pattern is not None, "a filter without a pattern")


def rules_toml(data: bytes) -> None:
    """A native TOML rule file: only RuleError (naming rule and field) escapes."""
    _load(data, ".toml")


def rules_json(data: bytes) -> None:
    """describe-metric-filters / describe-alarms JSON: only RuleError escapes."""
    _load(data, ".json")


# --- kmslog verify ------------------------------------------------------------------------


def digest(data: bytes) -> None:
    """A digest file (gzip or plain): only DigestFormatError escapes; a digest that
    parses has a signing string and well-formed hashes."""
    try:
        parsed = parse_digest("fuzz.json.gz", data)
    except DigestFormatError as exc:
        _check(bool(exc.reason), "DigestFormatError without a reason")
        return
    _check(isinstance(string_to_sign(parsed), bytes), "no signing string")
    _check(parsed.start <= parsed.end, "a digest that ends before it starts")
    for entry in parsed.logs:
        _check(
            len(entry.hash_value) == 64 and entry.hash_value == entry.hash_value.lower(),
            "a log hash that is not lower-case hex SHA-256",
        )


def verify_inputs(data: bytes) -> None:
    """The same bytes as a list-public-keys file and as a --signatures file: only
    InputFileError (naming the file) escapes."""
    fd, path = tempfile.mkstemp(prefix="kmslog-fuzz-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        for load in (load_public_keys, load_signatures):
            try:
                load(path)
            except InputFileError as exc:
                _check(exc.path == path and bool(exc.reason), "InputFileError without its file")
    finally:
        os.unlink(path)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "decode": decode,
    "split": split,
    "native": native_engine,
    "local_file": local_file,
    "pattern": pattern,
    "pattern_event": pattern_event,
    "rules_toml": rules_toml,
    "rules_json": rules_json,
    "digest": digest,
    "verify_inputs": verify_inputs,
}
