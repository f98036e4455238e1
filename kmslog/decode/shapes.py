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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from msgspec import UNSET, Raw, UnsetType

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
    CloudTrailEvent: str | UnsetType = UNSET


_raw_list = msgspec.json.Decoder(list[Raw])
_probe = msgspec.json.Decoder(_Probe)
_records_document = msgspec.json.Decoder(_RecordsDocument)
_history = msgspec.json.Decoder(list[_HistoryEntry])
_WS = b" \t\r\n"


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

    @property
    def seen(self) -> int:
        return len(self.raws) + len(self.rejections)


def _unwrap(raw: bytes | Raw) -> bytes | Raw:
    """The record inside an EventBridge envelope; anything else unchanged."""
    if b'"detail"' not in (raw if isinstance(raw, bytes) else bytes(raw)):
        return raw
    try:
        probe = _probe.decode(raw)
    except msgspec.DecodeError:
        return raw
    if probe.detail is not UNSET and probe.detail_type is not UNSET:
        return probe.detail
    return raw


def _object_shape(data: bytes, source: str) -> Split:
    try:
        # The S3 delivery shape in one pass; anything else is probed below.
        document = _records_document.decode(data)
        if document.Records is not UNSET:
            raws = document.Records
            return Split("records", raws, list(range(len(raws))))
    except msgspec.ValidationError:
        pass
    probe = _probe.decode(data)
    if probe.Records is not UNSET:
        try:
            raws = _raw_list.decode(probe.Records)
        except msgspec.DecodeError:
            raise SourceError('"Records" is not a JSON array', None) from None
        return Split("records", raws, list(range(len(raws))), array=probe.Records)
    if probe.Events is not UNSET:
        try:
            entries = _history.decode(probe.Events)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise SourceError(f'"Events" is not event-history output: {exc}', None) from None
        split = Split("event-history")
        for index, entry in enumerate(entries):
            if isinstance(entry.CloudTrailEvent, str):
                split.raws.append(entry.CloudTrailEvent.encode())
                split.indexes.append(index)
            else:
                split.rejections.append(
                    Rejection(source, index, "record", "event-history entry has no CloudTrailEvent")
                )
        return split
    if probe.detail is not UNSET and probe.detail_type is not UNSET:
        return Split("eventbridge", [probe.detail], [0])
    return Split("single", [data.strip(_WS)], [0])


def _lines(data: bytes, source: str) -> Split | None:
    """NDJSON when the first non-blank line is a JSON value of its own; None otherwise."""
    split = Split("ndjson", position_kind="line")
    first = True
    for number, line in enumerate(data.split(b"\n")):
        text = line.strip(_WS)
        if not text:
            continue
        try:
            values = _raw_list.decode(b"[" + text + b"]")
            problem = None if len(values) == 1 else "more than one JSON value on the line"
        except msgspec.DecodeError as exc:
            problem = f"invalid JSON: {exc}"
        if problem is not None:
            if first:
                return None
            split.rejections.append(Rejection(source, number + 1, "line", problem))
            continue
        raw = values[0]
        first = False
        split.raws.append(_unwrap(raw))
        split.indexes.append(number)
    return None if first else split


def split_records(data: bytes, source: str) -> Split:
    """The records of a decompressed file. Raises :class:`SourceError` when the
    file as a whole is not in any accepted shape."""
    head = data[:64].lstrip(_WS)
    if head.startswith(b"\xef\xbb\xbf"):
        data = data.lstrip(_WS)[3:]
        head = head[3:]
    if not head:
        raise SourceError("empty file (no JSON)", 0)
    try:
        if head.startswith(b"{"):
            return _object_shape(data, source)
        if head.startswith(b"["):
            raws = _raw_list.decode(data)
            records = [_unwrap(r) for r in raws]
            plain = all(a is b for a, b in zip(raws, records, strict=True))
            return Split("array", records, list(range(len(raws))), array=data if plain else None)
        # A lone scalar: one record, which decoding will reject as not an object.
        msgspec.json.decode(data)
        return Split("single", [data.strip(_WS)], [0])
    except msgspec.DecodeError as exc:
        if "trailing characters" in str(exc):
            split = _lines(data, source)
            if split is not None:
                return split
        raise SourceError(f"invalid JSON: {exc}", _byte_of(exc)) from None


def _byte_of(exc: Exception) -> int | None:
    message = str(exc)
    marker = "(byte "
    start = message.rfind(marker)
    if start < 0:
        return None
    digits = message[start + len(marker) :].rstrip(")")
    return int(digits) if digits.isdigit() else None
