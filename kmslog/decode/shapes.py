"""Split one decompressed file into the original text of each CloudTrail record.

Shapes accepted (all seen in material people hand over):

* ``{"Records": [record, …]}`` — the S3 delivery format;
* a bare JSON array of records (or of EventBridge envelopes);
* NDJSON / JSON Lines: one record (or envelope) per line;
* a single record per file;
* an EventBridge envelope ``{"detail-type": …, "detail": record}``;
* CloudTrail event history (LookupEvents) output
  ``{"Events": [{"CloudTrailEvent": "<record as a JSON string>"}, …]}``.

Records are kept as byte slices of the input (``msgspec.Raw``), never
re-serialised, so ``raw`` is exactly the text that was delivered.

The S3 delivery format and bare arrays are split by msgspec in one call. Every
other file, and any file msgspec refuses as a whole, is taken apart by the
structural scanner (:mod:`kmslog.decode.scanner`), so that where records are
separable (``Records``, bare array, NDJSON, event history) a bad record costs
that record only: one nested deeper than :data:`~kmslog.decode.scanner.MAX_DEPTH`
levels, larger than :data:`~kmslog.decode.scanner.MAX_RECORD_BYTES`, or not
decodable, is a rejection at its position and the others are kept. The same
scanner splits files too big to hold whole (:func:`stream_entries`).

A top-level key that decides what the records are (``Records``, ``Events``,
``detail``, ``detail-type``) appearing twice is ambiguous (JSON readers keep the
first or the last); every value is read and the duplicate is a counted problem
at its byte offset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import msgspec
import orjson
from msgspec import UNSET, Raw, UnsetType

from kmslog.decode import scanner
from kmslog.decode.scanner import MAX_DEPTH, MAX_RECORD_BYTES, RECORD_ARRAYS, Item, ScanError
from kmslog.run.api import Rejection
from kmslog.sources.local import SourceError


class _Probe(msgspec.Struct, gc=False):
    Records: Raw | UnsetType = UNSET
    Events: Raw | UnsetType = UNSET
    detail: Raw | UnsetType = UNSET
    detail_type: Raw | UnsetType = msgspec.field(default=UNSET, name="detail-type")


class _RecordsDocument(msgspec.Struct, gc=False):
    Records: list[Raw] | UnsetType = UNSET


class _HistoryEntry(msgspec.Struct, gc=False):
    CloudTrailEvent: Raw | UnsetType = UNSET


_raw_list = msgspec.json.Decoder(list[Raw])
_probe = msgspec.json.Decoder(_Probe)
_records_document = msgspec.json.Decoder(_RecordsDocument)
_history_entry = msgspec.json.Decoder(_HistoryEntry)
_string = msgspec.json.Decoder(str)
_NON_BLANK = re.compile(rb"[^ \t\r\n]")


def only_lone_surrogates(text: bytes | Raw) -> bool:
    """Whether ``text`` is valid JSON but for lone surrogate escapes (which msgspec
    and orjson refuse and the stdlib keeps): the record's own problem, read as
    U+FFFD by the record decoder, not a reason to lose the record."""
    data = bytes(text)
    if b"\\u" not in data or scanner.max_depth(data) > MAX_DEPTH:
        return False
    try:
        json.loads(data.decode("utf-8"))
    except ValueError:  # invalid UTF-8 or invalid JSON for the stdlib too
        return False
    return True


def _string_lenient(text: bytes) -> str:
    """A JSON string's value; unlike msgspec, a lone surrogate escape is accepted
    (the stdlib keeps it as a surrogate character)."""
    try:
        return _string.decode(text)
    except msgspec.DecodeError:
        if not only_lone_surrogates(text):
            raise
        value = json.loads(text.decode("utf-8"))
        if not isinstance(value, str):
            raise ValueError("not a JSON string") from None
        return value


_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"
# Top-level keys whose repetition changes what the file holds.
_DECISIVE = frozenset({"Records", "Events", "detail", "detail-type"})
# What the scanner must hand over as text: record arrays, the top-level array,
# EventBridge details.
_KEEP = RECORD_ARRAYS | {"", "detail"}
# ``{"Records":[`` and ``]}``: the bytes of a compact S3 file outside its records.
_COMPACT_FRAME = 14

DEPTH_REASON = f"nested deeper than {MAX_DEPTH} levels"
SIZE_REASON = f"record larger than {MAX_RECORD_BYTES} bytes"


@dataclass
class Split:
    """The records of one file: their text, their position in the file, and the
    entries that could not even be taken apart as records."""

    shape: str
    raws: list[bytes | Raw] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    position_kind: str = "record"
    # The JSON array text holding exactly ``raws`` when the input has one (the
    # "Records" value): decoders can read it in one call, without re-joining.
    array: bytes | Raw | None = None
    # The file's text when it is a ``{"Records": [...]}`` document holding
    # exactly ``raws`` and nothing else: decoders can read the records from it.
    document: bytes | None = None

    @property
    def seen(self) -> int:
        return len(self.raws) + len(self.rejections)

    def add(self, entry: Entry) -> None:
        if isinstance(entry, Rejection):
            self.rejections.append(entry)
        else:
            self.raws.append(entry[0])
            self.indexes.append(entry[1])


Entry = tuple[bytes | Raw, int] | Rejection
"""A record's text and index (or line number, 0-based), or a rejection."""


class _NotJson(Exception):
    """The file as one document is not JSON (``reason``, byte ``position``)."""

    def __init__(self, reason: str, position: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.position = position


class _Trailing(Exception):
    """Text follows the first top-level value: the file is NDJSON."""


class Wrapped(bytes):
    """A record's text read from an EventBridge envelope; ``envelope`` is the
    envelope's own text (the same text when the envelope carries no CloudTrail
    record, e.g. KMS's ``KMS CMK Rotation``: the event is then its own record)."""

    envelope: bytes

    @property
    def is_envelope(self) -> bool:
        """The text is the whole envelope (its ``detail`` is no CloudTrail record)."""
        return self.envelope is self


def _wrapped(text: bytes | Raw, envelope: bytes | None = None) -> Wrapped:
    out = Wrapped(bytes(text))
    out.envelope = out if envelope is None else envelope
    return out


class _DetailProbe(msgspec.Struct, gc=False):
    eventTime: Raw | UnsetType = UNSET


_detail_probe = msgspec.json.Decoder(_DetailProbe)


def _holds_record(detail: bytes | Raw) -> bool:
    """A ``detail`` that is a CloudTrail record (an object with an ``eventTime``);
    the three KMS events' ``{"key-id": …}`` is not."""
    try:
        return _detail_probe.decode(detail).eventTime is not UNSET
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        # One msgspec refuses (lone surrogates, depth): read as a record when it may
        # be one, so that decoding names its problem.
        return b'"eventTime"' in bytes(detail)


def _unwrap(raw: bytes | Raw) -> bytes | Raw:
    """The record inside an EventBridge envelope, carrying the envelope's text; the
    envelope itself when it carries no record; anything else unchanged."""
    if b'"detail"' not in (raw if isinstance(raw, bytes) else bytes(raw)):
        return raw
    try:
        probe = _probe.decode(raw)
    except RecursionError:
        return raw
    except msgspec.DecodeError:
        if not only_lone_surrogates(raw):
            return raw
        # msgspec refuses lone surrogate escapes, which are the record's own
        # problem (read as U+FFFD): find the envelope's parts with the scanner.
        return _unwrap_scanned(bytes(raw))
    if probe.detail is not UNSET and probe.detail_type is not UNSET:
        if _holds_record(probe.detail):
            return _wrapped(probe.detail, bytes(raw))
        return _wrapped(raw)
    return raw


def _unwrap_scanned(raw: bytes) -> bytes:
    try:
        items = scanner.scan(raw, keep=("detail",))
    except scanner.ScanError:
        return raw
    keys = {item.name for item in items if item.kind == "key"}
    detail = [item.text for item in items if item.kind == "value" and item.name == "detail"]
    if {"detail", "detail-type"} <= keys and len(detail) == 1 and detail[0] is not None:
        if _holds_record(detail[0]):
            return _wrapped(detail[0], raw)
        return _wrapped(raw)
    return raw


def json_problem(text: bytes | Raw, exc: Exception | None = None) -> str:
    """Why ``text`` is not JSON, in the clearest words available: orjson names
    lone surrogates and the like where msgspec says "truncated"."""
    try:
        orjson.loads(bytes(text))
    except orjson.JSONDecodeError as error:
        return f"invalid JSON: {error}"
    return f"invalid JSON: {exc}" if exc is not None else "invalid JSON"


def _compact(data: bytes, raws: list[Raw]) -> bool:
    """Whether ``data`` is exactly ``{"Records":[`` records ``]}`` (blank-padded):
    then it has no other top-level key, duplicated or not."""
    tail = data[-64:]
    blank = len(tail) - len(tail.rstrip(_WS))
    outside = len(data) - blank - sum(map(len, raws)) - max(len(raws) - 1, 0)
    return outside == _COMPACT_FRAME and data.startswith(b'{"Records":[')


def _plain(data: bytes, raws: list[Raw]) -> bool:
    """Whether ``data``, a document msgspec read, has exactly one record array
    and no other decisive key (compact S3 files are seen to at once)."""
    if _compact(data, raws):
        return True
    keys = scanner.top_level_keys(data)
    if keys is None:
        return False
    names = [name for name, _ in keys if name in _DECISIVE]
    return names == ["Records"]


def split_records(data: bytes, source: str) -> Split:
    """The records of a decompressed file. Raises :class:`SourceError` when the
    file as a whole is not in any accepted shape."""
    # Found by search, not by stripping a fixed-size head: leading blanks of any
    # length must not make a file look empty, nor be copied.
    first = _NON_BLANK.search(data)
    if first is not None and data.startswith(_BOM, first.start()):
        data = data[first.start() + len(_BOM) :]
        first = _NON_BLANK.search(data)
    if first is None:
        raise SourceError("empty file (no JSON)", 0)
    head = data[first.start() : first.start() + 64]
    try:
        if head.startswith(b"{"):
            document = _records_document.decode(data)
            if document.Records is not UNSET and _plain(data, document.Records):
                found: list[bytes | Raw] = list(document.Records)
                return Split("records", found, list(range(len(found))), document=data)
        elif head.startswith(b"["):
            raws = _raw_list.decode(data)
            records = [_unwrap(r) for r in raws]
            plain = all(a is b for a, b in zip(raws, records, strict=True))
            return Split("array", records, list(range(len(raws))), array=data if plain else None)
        else:
            # A lone scalar: one record, which decoding will reject as not an object.
            msgspec.json.decode(data)
            return Split("single", [data.strip(_WS)], [0])
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        return _by_scanner(data, source, exc)
    return _by_scanner(data, source, None)


def _by_scanner(data: bytes, source: str, exc: BaseException | None) -> Split:
    """Take ``data`` apart with the scanner (``exc``: why msgspec could not)."""
    walker = _Walker(source, data, failure=exc)
    try:
        split = Split("array")
        for entry in walker.walk(scanner.iter_items([data], _KEEP)):
            split.add(entry)
        split.shape = walker.shape
        return split
    except _Trailing:
        return _lines([data], source)
    except (ScanError, _NotJson) as error:
        if _is_ndjson(_iter_lines([data])):
            return _lines([data], source)
        # The scanner's reason, not msgspec's: a streamed file gets the same one.
        raise SourceError(f"invalid JSON: {error.reason}", error.position) from None


class _Walker:
    """Turns scanner items into records and rejections (see the module docstring).
    ``whole`` is the file's text when held in memory; without it, a file that is a
    single record or envelope is only recognised (``shape``)."""

    def __init__(
        self,
        source: str,
        whole: bytes | None,
        survey: bool = False,
        failure: BaseException | None = None,
    ) -> None:
        self.source = source
        self.whole = whole
        self.failure = failure  # why msgspec refused the whole text, if it did
        self.survey = survey  # only check the structure: no records out
        self.shape = "array"
        self.keys: set[str] = set()
        self.index = 0  # across every record array, in file order
        self.details: list[Item] = []

    def walk(self, items: Iterable[Item]) -> Iterator[Entry]:
        for item in items:
            kind = item.kind
            if kind == "element":
                index = self.index
                self.index += 1
                if self.survey:
                    continue
                if item.name == "Events":
                    yield self._history(item, index)
                else:
                    yield self._record(item, index, unwrap=item.name == "")
            elif kind == "key":
                yield from self._key(item)
            elif kind == "value":
                if item.name in RECORD_ARRAYS:
                    raise SourceError(f'"{item.name}" is not a JSON array', item.start)
                if item.name == "detail":
                    self.details.append(item)
            elif kind == "end":
                yield from self._end(item)
            else:
                raise _Trailing

    def _key(self, item: Item) -> Iterator[Entry]:
        name = item.name
        if name not in _DECISIVE:
            return
        if name in self.keys:
            yield self._problem(
                item,
                f'duplicate "{name}" key: JSON readers keep one value or the other; '
                "kmslog reads every value",
            )
        elif name in RECORD_ARRAYS and RECORD_ARRAYS & self.keys:
            yield self._problem(
                item, 'both "Records" and "Events" keys: kmslog reads the records of both'
            )
        self.keys.add(name)
        if name == "Records":
            self.shape = "records"
        elif name == "Events" and self.shape != "records":
            self.shape = "event-history"

    def _problem(self, item: Item, reason: str) -> Rejection:
        return Rejection(self.source, item.start, "byte", reason)

    def _reject(self, index: int, reason: str) -> Rejection:
        return Rejection(self.source, index, "record", reason)

    def _checked(self, item: Item, index: int) -> bytes | Rejection:
        """The element's text, or why it cannot be a record whatever it holds."""
        if item.stop - item.start > MAX_RECORD_BYTES:
            return self._reject(index, SIZE_REASON)
        if item.depth > MAX_DEPTH:
            return self._reject(index, DEPTH_REASON)
        if item.start == item.stop:
            return self._reject(index, "invalid JSON: empty array element")
        assert item.text is not None
        return item.text

    def _record(self, item: Item, index: int, unwrap: bool) -> Entry:
        text = self._checked(item, index)
        if isinstance(text, Rejection):
            return text
        return (_unwrap(text) if unwrap else text), index

    def _history(self, item: Item, index: int) -> Entry:
        text = self._checked(item, index)
        if isinstance(text, Rejection):
            return text
        try:
            entry = _history_entry.decode(text)
        except msgspec.ValidationError:
            return self._reject(index, "event-history entry is not a JSON object")
        except msgspec.DecodeError as exc:
            if not only_lone_surrogates(text):
                return self._reject(index, json_problem(text, exc))
            return self._lenient_history(text, index)
        if entry.CloudTrailEvent is UNSET:
            return self._reject(index, "event-history entry has no CloudTrailEvent")
        event = bytes(entry.CloudTrailEvent)
        if not event.startswith(b'"'):
            return self._reject(index, f"CloudTrailEvent is not a string: got {_kind(event)}")
        try:
            # A lone surrogate in the string itself can only stand inside a string
            # of the record: written back as its JSON escape, the record decoder
            # reads it as U+FFFD like a lone surrogate escape anywhere else.
            record = _string_lenient(event).encode("utf-8", "backslashreplace")
        except (msgspec.DecodeError, ValueError) as exc:
            reason = json_problem(event, exc).removeprefix("invalid JSON: ")
            return self._reject(index, f"CloudTrailEvent is not a valid JSON string: {reason}")
        # The record was text inside a string: its nesting is measured only now.
        if len(record) > MAX_RECORD_BYTES:
            return self._reject(index, SIZE_REASON)
        if scanner.value_depth(record) > MAX_DEPTH:
            return self._reject(index, DEPTH_REASON)
        return record, index

    def _lenient_history(self, text: bytes, index: int) -> Entry:
        """An entry msgspec refuses only for a lone surrogate escape (in the entry or
        in its CloudTrailEvent string), read with the stdlib, which keeps them."""
        entry = json.loads(text.decode("utf-8"))  # only_lone_surrogates said it is
        event = entry.get("CloudTrailEvent") if isinstance(entry, dict) else None
        if not isinstance(event, str):
            return self._reject(index, "event-history entry has no CloudTrailEvent string")
        record = event.encode("utf-8", "backslashreplace")
        if len(record) > MAX_RECORD_BYTES:
            return self._reject(index, SIZE_REASON)
        if scanner.value_depth(record) > MAX_DEPTH:
            return self._reject(index, DEPTH_REASON)
        return record, index

    def _end(self, item: Item) -> Iterator[Entry]:
        if item.name == "array" or self.keys & RECORD_ARRAYS:
            return
        if self.whole is None:
            self.shape = "object"  # a single record or envelope: read whole later
            return
        envelope = {"detail", "detail-type"} <= self.keys
        self.shape = "eventbridge" if envelope else "single"
        text = self.whole[item.start : item.stop]
        if item.depth > MAX_DEPTH:
            if not envelope:
                yield self._reject(0, DEPTH_REASON)
                return
        elif self.failure is not None:
            # Not separable: the document must be JSON as a whole, a lone
            # surrogate escape excepted (that is the record's own problem).
            try:
                orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                if "surrogate" not in str(exc):
                    raise _NotJson(str(exc), item.start + exc.pos) from None
        if envelope:
            for index, detail in enumerate(self.details):
                yield self._record(detail, index, unwrap=False)
        else:
            yield text, 0


def _kind(raw: bytes) -> str:
    first = raw[:1]
    names = {b"{": "an object", b"[": "an array", b"n": "null", b"t": "a boolean"}
    return names.get(first, "a boolean" if first == b"f" else "a number")


def _iter_lines(pieces: Iterable[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """(0-based number, text) of each line of a text given in pieces; the text
    is None for a line longer than MAX_RECORD_BYTES (never held whole)."""
    number = 0
    tail = b""
    skipping = False  # inside a line too long to hold
    for piece in pieces:
        if skipping:
            cut = piece.find(b"\n")
            if cut < 0:
                continue
            yield number, None
            number += 1
            piece = piece[cut + 1 :]
            skipping = False
        lines = (tail + piece).split(b"\n")
        tail = lines.pop()
        for line in lines:
            yield number, (line if len(line) <= MAX_RECORD_BYTES else None)
            number += 1
        if len(tail) > MAX_RECORD_BYTES:
            tail = b""
            skipping = True
    if skipping:
        yield number, None
    elif tail:
        yield number, tail


def _line_entry(number: int, line: bytes | None, source: str) -> Entry | None:
    """The record on one NDJSON line, a rejection, or None for a blank line."""
    if line is None:
        return Rejection(source, number + 1, "line", SIZE_REASON)
    text = line.strip(_WS)
    if not text:
        return None
    try:
        values = _raw_list.decode(b"[" + text + b"]")
    except RecursionError:
        depth = scanner.max_depth(text)
        reason = DEPTH_REASON if depth > MAX_DEPTH else f"nested too deeply to decode ({depth})"
        return Rejection(source, number + 1, "line", reason)
    except msgspec.DecodeError as exc:
        if not only_lone_surrogates(text):
            return Rejection(source, number + 1, "line", json_problem(text, exc))
        return _unwrap(text), number
    if len(values) != 1:
        return Rejection(source, number + 1, "line", "more than one JSON value on the line")
    return _unwrap(values[0]), number


def _line_entries(pieces: Iterable[bytes], source: str) -> Iterator[Entry]:
    for number, line in _iter_lines(pieces):
        entry = _line_entry(number, line, source)
        if entry is not None:
            yield entry


def _lines(pieces: Iterable[bytes], source: str) -> Split:
    split = Split("ndjson", position_kind="line")
    for entry in _line_entries(pieces, source):
        split.add(entry)
    return split


def _is_ndjson(lines: Iterable[tuple[int, bytes | None]]) -> bool:
    """Whether a text that is not one JSON document is NDJSON: its first non-blank
    line is a whole JSON value followed by more lines, or a later line is a whole,
    non-empty JSON object (then the first line is a bad record). A pretty-printed
    document never has such a line, unless it is valid and read as one."""
    first: bool | None = None  # whether the first non-blank line is a whole value
    for _, line in lines:
        text = None if line is None else line.strip(_WS)
        if text == b"":
            continue
        if first is None:
            first = text is not None and _whole_value(text)
            continue
        if first:
            return True
        if text and text.startswith(b'{"') and text.endswith(b"}") and _whole_value(text):
            return True
    return False


def _whole_value(text: bytes) -> bool:
    try:
        msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True


def _debom(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """``pieces`` with a leading byte-order mark removed, as split_records does."""
    first = True
    for piece in pieces:
        if first and piece:
            first = False
            if piece[:64].lstrip(_WS).startswith(_BOM):
                piece = piece.lstrip(_WS)[3:]
        yield piece


def stream_entries(
    open_pieces: Callable[[], Iterator[bytes]], source: str
) -> tuple[str, Iterator[Entry]]:
    """The records of a file too big to hold, read twice from ``open_pieces()``
    (its decompressed text in pieces): once to check its structure, so that a file
    that is not in an accepted shape raises :class:`SourceError` here, before any
    record comes out (as with :func:`split_records`), then to hand out records as
    they are found. Returns the position kind ("record" or "line") and the entries.
    The same entries as :func:`split_records` on the whole text."""
    walker = _Walker(source, None, survey=True)
    try:
        for _ in walker.walk(scanner.iter_items(_debom(open_pieces()), _KEEP)):
            pass
    except _Trailing:
        return "line", _line_entries(open_pieces(), source)
    except ScanError as error:
        if _is_ndjson(_iter_lines(open_pieces())):
            return "line", _line_entries(open_pieces(), source)
        raise SourceError(f"invalid JSON: {error.reason}", error.position) from None
    if walker.shape == "object":
        return "record", _whole_object(open_pieces, source)
    entries = _Walker(source, None).walk(scanner.iter_items(_debom(open_pieces()), _KEEP))
    return "record", entries


def _whole_object(open_pieces: Callable[[], Iterator[bytes]], source: str) -> Iterator[Entry]:
    """A single record or envelope: read whole when small enough to be a record."""
    pieces: list[bytes] = []
    size = 0
    for piece in open_pieces():
        size += len(piece)
        if size > MAX_RECORD_BYTES:
            yield Rejection(source, 0, "record", SIZE_REASON)
            return
        pieces.append(piece)
    split = split_records(b"".join(pieces), source)
    yield from split.rejections
    yield from zip(split.raws, split.indexes, strict=True)
