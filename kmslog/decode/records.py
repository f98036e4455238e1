"""Record text → RecordBatches of the event schema, fast.

The cells must equal :func:`kmslog.decode.flatten.flatten` exactly. The fast
path decodes only the needed fields into ``gc=False`` msgspec Structs whose
field types encode the typing rule (``str | None``); a record that does not fit
them (a number where a string was expected, an object that is not one, …) is
re-read by the reference ``flatten`` instead, so the rule holds either way.

With ``columns`` (see :func:`normalize`) only those columns are built, from
Structs holding only the fields they come from; the others are all null.
"""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import msgspec
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from msgspec import Raw

from kmslog.decode import jsontext
from kmslog.decode import schema as S
from kmslog.decode.flatten import (
    NO_EVENT_TIME,
    event_time_problem,
    flatten,
    nulls_absent,
    parse_event_time,
    typed_paths,
)
from kmslog.decode.scanner import ScanError
from kmslog.decode.shapes import Entry, Wrapped, split_records, stream_entries
from kmslog.run.api import Rejection
from kmslog.sources.base import SourceError
from kmslog.sources.names import display_name
from kmslog.sources.registry import decompressed_chunks

# Rows per batch, and raw bytes per batch (string offsets are 32-bit).
CHUNK_ROWS = 8_192
CHUNK_BYTES = 256 * 1024 * 1024
# Files whose decompressed text is larger are split as a stream, never held whole
# (a whole file costs about four times its size at peak: text, records, columns).
WHOLE_FILE_BYTES = 64 * 1024 * 1024
# Record text per segment of a streamed file.
STREAM_SEGMENT_BYTES = 16 * 1024 * 1024


class _Issuer(msgspec.Struct, gc=False):
    arn: str | None = None


class _Session(msgspec.Struct, gc=False):
    sessionIssuer: _Issuer | None = None


class _Identity(msgspec.Struct, gc=False):
    # Declared in the order CloudTrail writes them: msgspec tries the next
    # declared field first, so matching order saves lookups.
    type: str | None = None
    principalId: str | None = None
    arn: str | None = None
    accountId: str | None = None
    accessKeyId: str | None = None
    sessionContext: _Session | None = None
    invokedBy: str | None = None


class _Resource(msgspec.Struct, gc=False):
    ARN: str | None = None


class _Request(msgspec.Struct, gc=False):
    keyId: str | None = None
    targetKeyId: str | None = None
    sourceKeyId: str | None = None
    destinationKeyId: str | None = None


class _Metadata(msgspec.Struct, gc=False):
    arn: str | None = None


class _Response(msgspec.Struct, gc=False):
    keyId: str | None = None
    keyMetadata: _Metadata | None = None
    replicaKeyMetadata: _Metadata | None = None


class _Service(msgspec.Struct, gc=False):
    keyId: str | None = None


class _Record(msgspec.Struct, gc=False):
    eventVersion: str | None = None
    userIdentity: _Identity | None = None
    eventTime: str | None = None
    eventSource: str | None = None
    eventName: str | None = None
    awsRegion: str | None = None
    sourceIPAddress: str | None = None
    userAgent: str | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    requestParameters: _Request | None = None
    responseElements: _Response | None = None
    requestID: str | None = None
    eventID: str | None = None
    readOnly: bool | None = None
    resources: list[_Resource] | None = None
    eventType: str | None = None
    managementEvent: bool | None = None
    recipientAccountId: str | None = None
    sharedEventID: str | None = None
    vpcEndpointId: str | None = None
    eventCategory: str | None = None
    serviceEventDetails: _Service | None = None


class _Document(msgspec.Struct, gc=False):
    Records: list[_Record]


Columns = frozenset[str] | None
"""Names of the schema columns to fill (None: all). The others come out as
all-null arrays of their schema type, so a frame's schema never changes."""

# The top-level record fields each column is made from. Columns not listed
# (raw, source, record_index) never need a decoded field; event_time is always
# built, since records without a usable one are rejected.
_FIELDS: dict[str, tuple[str, ...]] = {
    S.EVENT_TIME: ("eventTime",),
    S.EVENT_VERSION: ("eventVersion",),
    S.EVENT_SOURCE: ("eventSource",),
    S.EVENT_NAME: ("eventName",),
    S.EVENT_TYPE: ("eventType",),
    S.EVENT_CATEGORY: ("eventCategory",),
    S.AWS_REGION: ("awsRegion",),
    S.SOURCE_IP: ("sourceIPAddress",),
    S.USER_AGENT: ("userAgent",),
    S.ERROR_CODE: ("errorCode",),
    S.ERROR_MESSAGE: ("errorMessage",),
    S.READ_ONLY: ("readOnly",),
    S.MANAGEMENT_EVENT: ("managementEvent",),
    S.RECIPIENT_ACCOUNT_ID: ("recipientAccountId",),
    S.EVENT_ID: ("eventID",),
    S.REQUEST_ID: ("requestID",),
    S.SHARED_EVENT_ID: ("sharedEventID",),
    S.VPC_ENDPOINT_ID: ("vpcEndpointId",),
    S.IDENTITY_TYPE: ("userIdentity",),
    S.IDENTITY_ARN: ("userIdentity",),
    S.IDENTITY_ACCOUNT_ID: ("userIdentity",),
    S.IDENTITY_PRINCIPAL_ID: ("userIdentity",),
    S.IDENTITY_ACCESS_KEY_ID: ("userIdentity",),
    S.IDENTITY_SESSION_ISSUER_ARN: ("userIdentity",),
    S.IDENTITY_INVOKED_BY: ("userIdentity",),
    S.KEY_IDS: ("resources", "requestParameters", "responseElements", "serviceEventDetails"),
}
# Built whatever is asked: cheap, and needed to reject records or place rows.
ALWAYS = frozenset({S.EVENT_TIME, S.RAW, S.SOURCE, S.RECORD_INDEX})


class _Decoders(NamedTuple):
    records: msgspec.json.Decoder[Any]  # a JSON array of records
    document: msgspec.json.Decoder[Any]  # {"Records": [...]}
    record: msgspec.json.Decoder[Any]  # one record


def normalize(columns: Iterable[str] | None) -> Columns:
    """The column set to build (with the ones always built), or None for all."""
    if columns is None:
        return None
    wanted = ALWAYS | frozenset(columns)
    unknown = wanted - set(S.SCHEMA.names)
    if unknown:
        raise ValueError(f"not columns of the event schema: {sorted(unknown)}")
    return None if wanted == frozenset(S.SCHEMA.names) else wanted


def _watched() -> frozenset[str]:
    """A column per meaning-changing key (``jsontext.MEANINGFUL_KEYS``): the Python
    path rejects a record holding one of them twice whatever the projection, and the
    native decoder sees repeated keys only among the fields it reads, so it always
    reads these (the cells of unasked ones are then dropped)."""
    chosen: dict[str, str] = {}
    for name, path in S.COLUMN_PATHS.items():
        if path and path[0] in jsontext.MEANINGFUL_KEYS:
            chosen.setdefault(path[0], name)
    return frozenset(chosen.values())


WATCHED = _watched()


def read_for(columns: Columns) -> Columns:
    """The columns a decode of ``columns`` reads from the record (None: all)."""
    return None if columns is None else columns | WATCHED


@functools.cache
def null_scope(columns: Columns) -> tuple[tuple[tuple[str, ...], bool], ...]:
    """The paths ``nulls_absent`` speaks of in a decode of ``columns``: the string
    and boolean columns it reads, the same as the native decoder's."""
    return typed_paths(read_for(columns))


def _wants_nulls(columns: Columns) -> bool:
    return columns is None or S.NULLS_ABSENT in columns


_WS = "[ \\t\\n\\r]*"


@functools.cache
def _null_suspect(columns: Columns) -> re.Pattern[str]:
    """A superset of the texts whose ``nulls_absent`` is false once the fast decoder
    took them: a name on a path read followed by a value that cannot be there (a
    leaf neither a string nor a boolean as its column wants, an object on the way
    neither an object nor null), or an escape that could spell a name. The fast
    decoder checks types only for the columns asked; the paths read are more."""
    allowed: dict[str, set[str]] = {}
    for path, is_bool in null_scope(columns):
        for name in path[:-1]:
            allowed.setdefault(name, {"{", "n"})
            allowed[name] &= {"{", "n"}
        leaf = path[-1]
        allowed.setdefault(leaf, {"t", "f"} if is_bool else {'"'})
        allowed[leaf] &= {"t", "f"} if is_bool else {'"'}
    alternatives = []
    for name, firsts in sorted(allowed.items()):
        value = "[^" + re.escape("".join(sorted(firsts))) + " \\t\\n\\r]" if firsts else ""
        alternatives.append('"' + re.escape(name) + '"' + _WS + ":" + _WS + value)
    return re.compile("|".join([*alternatives, "\\\\u"]))


def _nulls_absent_column(texts: pa.Array, columns: Columns) -> pa.Array:
    """``nulls_absent`` of rows the fast decoder took: a text search, then the
    reference test on the few texts it finds."""
    pattern = _null_suspect(columns)
    if len(texts) < _SCREEN_IN_POLARS:
        suspects = [i for i, t in enumerate(texts.to_pylist()) if pattern.search(t)]
    else:
        hits = pl.Series(pl.from_arrow(texts)).str.contains(pattern.pattern)
        suspects = hits.arg_true().to_list() if hits.any() else []
    out = np.ones(len(texts), dtype=bool)
    scope = null_scope(columns)
    for i in suspects:
        try:
            record = jsontext.loads_record(texts[i].as_py().encode())
        except jsontext.RecordTextError:
            out[i] = False
            continue
        out[i] = isinstance(record, dict) and nulls_absent(record, scope)
    return pa.array(out, pa.bool_())


@functools.cache
def _decoders(columns: Columns) -> _Decoders:
    """Decoders into structs holding only the fields ``columns`` are made from:
    msgspec skips the other fields without building (or type-checking) them."""
    record: type[Any] = _Record
    if columns is not None:
        fields = {f for c in columns for f in _FIELDS.get(c, ())}
        record = msgspec.defstruct(
            "_Projected",
            [
                (f.name, f.type, f.default)
                for f in msgspec.structs.fields(_Record)
                if f.name in fields
            ],
            gc=False,
        )
    document = msgspec.defstruct(
        "_ProjectedDocument", [("Records", list.__class_getitem__(record))], gc=False
    )
    return _Decoders(
        msgspec.json.Decoder(list.__class_getitem__(record)),
        msgspec.json.Decoder(document),
        msgspec.json.Decoder(record),
    )


def _key_ids(r: Any) -> list[str]:
    """Same order and de-duplication as ``flatten.key_ids`` (unrolled, each
    attribute read once: it runs once per record)."""
    found: list[str] = []
    resources = r.resources
    if resources:
        for x in resources:
            if (v := x.ARN) and ":kms:" in v:
                found.append(v)
    q = r.requestParameters
    if q is not None:
        if v := q.keyId:
            found.append(v)
        if v := q.targetKeyId:
            found.append(v)
        if v := q.sourceKeyId:
            found.append(v)
        if v := q.destinationKeyId:
            found.append(v)
    p = r.responseElements
    if p is not None:
        if v := p.keyId:
            found.append(v)
        if (m := p.keyMetadata) is not None and (v := m.arn):
            found.append(v)
        if (m := p.replicaKeyMetadata) is not None and (v := m.arn):
            found.append(v)
    d = r.serviceEventDetails
    if d is not None and (v := d.keyId):
        found.append(v)
    n = len(found)
    if n < 2 or (n == 2 and found[0] != found[1]):
        return found
    if n == 2:
        return found[:1]
    return list(dict.fromkeys(found))


_STRICT_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9]Z$"


_TIME = pl.col("t")
# One polars query: canonical strings parsed, everything else null.
_CANONICAL_TIME = (
    pl.when(_TIME.str.contains(_STRICT_TIME) & ~_TIME.str.starts_with("0000"))
    .then(
        _TIME.str.to_datetime(
            "%Y-%m-%dT%H:%M:%SZ", time_unit="ms", time_zone="UTC", strict=False, exact=True
        )
    )
    .otherwise(None)
)


def event_times(values: Sequence[str | None]) -> pa.Array:
    """``parse_event_time`` over a column, vectorized for the canonical
    ``YYYY-MM-DDTHH:MM:SSZ`` form; other forms go through the reference parser."""
    frame = pl.DataFrame({"t": pl.Series(values, dtype=pl.String)})
    result = frame.select(_CANONICAL_TIME).to_series().to_arrow().cast(S.UTC_TS)
    if not result.null_count:
        return result
    mask = result.is_null()
    missing = np.flatnonzero(mask.to_numpy(zero_copy_only=False)).tolist()
    # The reference conversion (Python datetime → Arrow) for the odd forms.
    slow = pa.array([parse_event_time(values[i]) for i in missing], S.UTC_TS)
    return pc.replace_with_mask(result, mask, slow)


def _string_array(raws: Sequence[bytes | Raw], data: bytes | None = None) -> pa.Array:
    """One string array over the record texts (``data``: their concatenation, if
    already made) without a Python str per record. Chunks stay under
    CHUNK_BYTES, so 32-bit offsets suffice."""
    offsets = np.zeros(len(raws) + 1, dtype=np.int32)
    np.cumsum(np.fromiter(map(len, raws), dtype=np.int32, count=len(raws)), out=offsets[1:])
    if data is None:
        data = b"".join(raws)
    return pa.StringArray.from_buffers(len(raws), pa.py_buffer(offsets), pa.py_buffer(data))


# Column lists from the structs: a comprehension per column is the cheapest
# transposition CPython offers (about twice as fast as ``map(attrgetter(…))``).
_TOP: dict[str, Callable[[Sequence[Any]], list[Any]]] = {
    S.EVENT_VERSION: lambda recs: [r.eventVersion for r in recs],
    S.EVENT_SOURCE: lambda recs: [r.eventSource for r in recs],
    S.EVENT_NAME: lambda recs: [r.eventName for r in recs],
    S.EVENT_TYPE: lambda recs: [r.eventType for r in recs],
    S.EVENT_CATEGORY: lambda recs: [r.eventCategory for r in recs],
    S.AWS_REGION: lambda recs: [r.awsRegion for r in recs],
    S.SOURCE_IP: lambda recs: [r.sourceIPAddress for r in recs],
    S.USER_AGENT: lambda recs: [r.userAgent for r in recs],
    S.ERROR_CODE: lambda recs: [r.errorCode for r in recs],
    S.ERROR_MESSAGE: lambda recs: [r.errorMessage for r in recs],
    S.READ_ONLY: lambda recs: [r.readOnly for r in recs],
    S.MANAGEMENT_EVENT: lambda recs: [r.managementEvent for r in recs],
    S.RECIPIENT_ACCOUNT_ID: lambda recs: [r.recipientAccountId for r in recs],
    S.EVENT_ID: lambda recs: [r.eventID for r in recs],
    S.REQUEST_ID: lambda recs: [r.requestID for r in recs],
    S.SHARED_EVENT_ID: lambda recs: [r.sharedEventID for r in recs],
    S.VPC_ENDPOINT_ID: lambda recs: [r.vpcEndpointId for r in recs],
    S.KEY_IDS: lambda recs: [_key_ids(r) for r in recs],
}
_IDENTITY: dict[str, Callable[[Sequence[Any]], list[Any]]] = {
    S.IDENTITY_TYPE: lambda ids: [i.type for i in ids],
    S.IDENTITY_ARN: lambda ids: [i.arn for i in ids],
    S.IDENTITY_ACCOUNT_ID: lambda ids: [i.accountId for i in ids],
    S.IDENTITY_PRINCIPAL_ID: lambda ids: [i.principalId for i in ids],
    S.IDENTITY_ACCESS_KEY_ID: lambda ids: [i.accessKeyId for i in ids],
    S.IDENTITY_INVOKED_BY: lambda ids: [i.invokedBy for i in ids],
    S.IDENTITY_SESSION_ISSUER_ARN: lambda ids: [
        None if c is None or c.sessionIssuer is None else c.sessionIssuer.arn
        for c in [i.sessionContext for i in ids]
    ],
}


def _columns(recs: Sequence[Any], columns: Columns) -> dict[str, list[Any]]:
    """Column lists of the wanted columns (but event_time) from the structs."""
    cols = {
        name: column(recs) for name, column in _TOP.items() if columns is None or name in columns
    }
    identity = [n for n in _IDENTITY if columns is None or n in columns]
    if identity:
        ids = [r.userIdentity for r in recs]
        if None in ids:
            blank = _Identity()
            ids = [blank if i is None else i for i in ids]
        for name in identity:
            cols[name] = _IDENTITY[name](ids)
    return cols


# Below this many rows the screen counts in Python; above, one polars pass.
_SCREEN_IN_POLARS = 64
_TEXT = pl.col("t")
# Each meaningful key name, and each escape that could spell one (the closer
# look decodes keys), found in one multi-literal pass.
_ESCAPE = "\\u00"
_FOUND = _TEXT.str.extract_all(
    "(?:" + "|".join(jsontext.MEANINGFUL_KEYS) + ')"|' + _ESCAPE.replace("\\", "\\\\")
).alias("found")
_F = pl.col("found")
# A superset of the records jsontext.record_problem rejects: more brackets than
# the depth limit, a key name found twice, or an escape.
_SUSPECT = (
    (_TEXT.str.count_matches(r"[\[{]") > jsontext.MAX_DEPTH)
    | (_F.list.n_unique() < _F.list.len())
    | _F.list.contains(pl.lit(_ESCAPE))
)


def _screen(texts: pa.Array) -> dict[int, str]:
    """Rows (of records that parsed) to reject for their nesting or a repeated
    meaningful key, with the reason: the fast path must reject what
    ``loads_record`` and the reference path reject, though msgspec takes them."""
    raws: dict[int, bytes]
    if len(texts) < _SCREEN_IN_POLARS:
        raws = {i: t.as_py().encode() for i, t in enumerate(texts)}
        suspects = [i for i, raw in raws.items() if jsontext.may_hold_problem(raw)]
    else:
        frame = pl.DataFrame({"t": pl.from_arrow(texts)})
        mask = frame.lazy().with_columns(_FOUND).select(_SUSPECT).collect().to_series()
        suspects = mask.arg_true().to_list() if mask.any() else []
        raws = {i: texts[i].as_py().encode() for i in suspects}
    found: dict[int, str] = {}
    for i in suspects:
        reason = jsontext.record_problem(raws[i])
        if reason is not None:
            found[i] = reason
    return found


def _fast_batch(
    recs: Sequence[Any],
    texts: pa.Array,
    indexes: Sequence[int],
    sources: pa.Array,
    columns: Columns = None,
    envelopes: Sequence[str | None] | None = None,
) -> tuple[pa.RecordBatch, list[tuple[int, str]]]:
    """Batch of the records kept, and the positions (in ``recs``) of those
    rejected with the reason: no usable eventTime, or what :func:`_screen` finds."""
    stamps = [r.eventTime for r in recs]
    times = event_times(stamps)
    cols: dict[str, Any] = _columns(recs, columns)
    if _wants_nulls(columns):
        cols[S.NULLS_ABSENT] = _nulls_absent_column(texts, columns)
    if envelopes is not None and (columns is None or S.ENVELOPE in columns):
        cols[S.ENVELOPE] = pa.array(envelopes, pa.string())
    n = len(recs)
    arrays = [times]
    for f in S.SCHEMA:
        if f.name in (S.EVENT_TIME, S.RAW, S.SOURCE, S.RECORD_INDEX):
            continue
        values = cols.get(f.name)
        if isinstance(values, pa.Array):
            arrays.append(values)
            continue
        arrays.append(pa.nulls(n, f.type) if values is None else pa.array(values, f.type))
    arrays.append(texts)
    arrays.append(sources)
    arrays.append(pa.array(indexes, pa.int64()))
    batch = pa.RecordBatch.from_arrays(arrays, schema=S.SCHEMA)
    reasons = _screen(texts)
    if times.null_count:
        untimed = np.flatnonzero(~pc.is_valid(times).to_numpy(zero_copy_only=False)).tolist()
        for i in untimed:
            reasons.setdefault(i, event_time_problem(stamps[i]) or NO_EVENT_TIME)
    if not reasons:
        return batch, []
    keep = np.ones(n, dtype=bool)
    keep[list(reasons)] = False
    return batch.filter(pa.array(keep)), sorted(reasons.items())


def _blank(batch: pa.RecordBatch, columns: Columns) -> pa.RecordBatch:
    """``batch`` with the columns outside ``columns`` all null (rows the
    reference path built have every cell)."""
    if columns is None:
        return batch
    arrays = [
        col if f.name in columns else pa.nulls(batch.num_rows, f.type)
        for f, col in zip(S.SCHEMA, batch.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=S.SCHEMA)


def _repeat(source: str, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(source, pa.string()), n)


def _is_envelope(raw: bytes | Raw) -> bool:
    return isinstance(raw, Wrapped) and raw.is_envelope


def _envelope_text(raw: bytes | Raw) -> str | None:
    """The ``envelope`` cell of a record text (the envelope it was read from)."""
    if not isinstance(raw, Wrapped):
        return None
    return raw.envelope.decode(errors="replace")


def _envelopes(raws: Sequence[bytes | Raw]) -> list[str | None] | None:
    found = [_envelope_text(r) for r in raws]
    return found if any(e is not None for e in found) else None


def _reference_cells(
    raw: bytes | Raw, columns: Columns = None
) -> tuple[dict[str, Any] | None, str | None]:
    """(cells, None) or (None, rejection reason) through the reference path."""
    text = bytes(raw)
    try:
        record = jsontext.loads_record(text)
    except jsontext.RecordTextError as exc:
        return None, exc.reason
    if not isinstance(record, dict):
        return None, f"record is not a JSON object: got {type(record).__name__}"
    if jsontext.may_hold_problem(text):
        reason = jsontext.record_problem(text)
        if reason is not None:
            return None, reason
    time_field = "time" if _is_envelope(raw) else "eventTime"
    cells = flatten(record, time_field)
    if cells is None:
        return None, event_time_problem(record.get(time_field))
    cells[S.ENVELOPE] = _envelope_text(raw)
    if columns is not None:
        cells[S.NULLS_ABSENT] = nulls_absent(record, null_scope(columns))
    return cells, None


def _valid_text(raws: Sequence[bytes | Raw]) -> pa.Array | None:
    """The record texts as a string array, or None when one is not valid UTF-8."""
    data = b"".join(raws)
    texts = _string_array(raws, data)
    if data.isascii():  # the usual case, and then valid UTF-8 by construction
        return texts
    try:
        texts.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return texts


class Segment(NamedTuple):
    """Records of one file (or one part of a big file), decoded but not yet
    columnar: fast rows as structs, or rows already built by the reference path."""

    source: str
    kind: str  # how positions count: "record" (index) or "line" (1-based)
    seen: int
    rejections: list[Rejection]
    recs: list[Any]  # structs of the decoder for the wanted columns
    texts: pa.Array | None
    indexes: list[int]
    batch: pa.RecordBatch | None = None
    # Per fast row, the EventBridge envelope it was read from (None: no row was).
    envelopes: list[str | None] | None = None


def decode_segment(
    raws: Sequence[bytes | Raw],
    indexes: Sequence[int],
    source: str,
    kind: str = "record",
    array: bytes | Raw | None = None,
    document: bytes | None = None,
    columns: Iterable[str] | None = None,
) -> Segment:
    """Decode record texts into structs (or, when one does not fit the fast
    decoder, into reference rows). ``array``, when given, is the text of a JSON
    array holding exactly ``raws`` (saves joining them); ``document``, a
    ``{"Records": [...]}`` document holding exactly ``raws``. Only the fields
    ``columns`` need are decoded (see :func:`normalize`)."""
    columns = normalize(columns)
    decoders = _decoders(columns)
    # A file holding the text of exactly these records has no envelopes in it.
    wrapped = array is None and document is None and any(isinstance(r, Wrapped) for r in raws)
    if wrapped and any(_is_envelope(r) for r in raws):
        # An event that is its own record is timed by its ``time``: the reference reads it.
        batch, rejections = _mixed_chunk(raws, indexes, source, kind, columns)
        return Segment(source, kind, len(raws), rejections, [], None, [], batch)
    recs: list[Any] | None
    try:
        if document is not None:
            recs = decoders.document.decode(document).Records
        else:
            if array is None:
                array = b"[" + b",".join(raws) + b"]"
            recs = decoders.records.decode(array) if raws else []
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError):
        recs = None
    except RecursionError:
        # msgspec's nesting limit is the Python stack's: record by record,
        # the depth is measured and the too deep ones rejected for it.
        recs = None
    if recs is not None and len(recs) != len(raws):
        # Texts joined into one array can read as more or fewer elements than
        # there are texts (an empty text, or ``{…},{…}`` inside one event string).
        recs = None
    texts = None if recs is None else _valid_text(raws)
    if recs is not None and texts is not None:
        envelopes = _envelopes(raws) if wrapped else None
        return Segment(source, kind, len(raws), [], recs, texts, list(indexes), None, envelopes)
    batch, rejections = _mixed_chunk(raws, indexes, source, kind, columns)
    return Segment(source, kind, len(raws), rejections, [], None, [], batch)


class Assembler:
    """Collects segments (of one or many files) and turns them into one
    RecordBatch at a time, so per-batch costs are paid once for many small files.
    ``columns`` must be the ones the segments were decoded for."""

    def __init__(self, columns: Iterable[str] | None = None) -> None:
        self.columns = normalize(columns)
        self._segments: list[Segment] = []
        self.rows = 0
        self.bytes = 0

    def add(self, segment: Segment) -> None:
        self._segments.append(segment)
        self.rows += len(segment.recs) + (0 if segment.batch is None else segment.batch.num_rows)
        if segment.texts is not None:
            self.bytes += segment.texts.buffers()[2].size

    def full(self, rows: int = CHUNK_ROWS) -> bool:
        """Whether the rows added so far make a batch of the target size."""
        return self.rows >= rows or self.bytes >= CHUNK_BYTES

    def take(self) -> tuple[pa.RecordBatch, list[Rejection]]:
        """The rows added so far, in order, and the records rejected while
        building them (no usable eventTime); resets the assembler."""
        parts, rejections = self.take_parts()
        if not parts:
            return S.empty_batch(), rejections
        if len(parts) == 1:
            return parts[0], rejections
        return pa.Table.from_batches(parts).combine_chunks().to_batches()[0], rejections

    def take_parts(self) -> tuple[list[pa.RecordBatch], list[Rejection]]:
        """As ``take``, the rows as consecutive batches (none empty), not copied
        into one: a natively decoded batch is passed on as it came."""
        segments, self._segments, self.rows, self.bytes = self._segments, [], 0, 0
        parts: list[pa.RecordBatch] = []
        rejections: list[Rejection] = []
        run: list[Segment] = []
        for segment in [*segments, None]:
            if segment is not None and segment.batch is None:
                if segment.recs:
                    run.append(segment)
                continue
            if run:
                parts.append(_build_run(run, rejections, self.columns))
                run = []
            if segment is not None and segment.batch is not None and segment.batch.num_rows:
                parts.append(segment.batch)
        return [p for p in parts if p.num_rows], rejections


def _build_run(run: list[Segment], rejections: list[Rejection], columns: Columns) -> pa.RecordBatch:
    enabled = gc.isenabled()
    gc.disable()
    try:
        envelopes: list[str | None] | None = None
        if any(seg.envelopes is not None for seg in run):
            envelopes = [e for seg in run for e in (seg.envelopes or [None] * len(seg.recs))]
        if len(run) == 1:
            (one,) = run
            recs, texts, indexes = one.recs, one.texts, one.indexes
            sources = _repeat(one.source, len(recs))
        else:
            recs = [r for seg in run for r in seg.recs]
            texts = pa.concat_arrays([seg.texts for seg in run])
            indexes = [i for seg in run for i in seg.indexes]
            names = pa.array([seg.source for seg in run], pa.string())
            owner = np.repeat(np.arange(len(run)), [len(seg.recs) for seg in run])
            sources = names.take(pa.array(owner))
        assert texts is not None
        batch, bad = _fast_batch(recs, texts, indexes, sources, columns, envelopes)
        if bad:
            ends = np.cumsum([len(seg.recs) for seg in run])
            for row, reason in bad:
                seg = run[int(np.searchsorted(ends, row, side="right"))]
                rejections.append(
                    Rejection(seg.source, _pos(indexes[row], seg.kind), seg.kind, reason)
                )
        return batch
    finally:
        if enabled:
            gc.enable()


def decode_chunk(
    raws: Sequence[bytes | Raw],
    indexes: Sequence[int],
    source: str,
    kind: str = "record",
    columns: Columns = None,
) -> tuple[pa.RecordBatch, list[Rejection]]:
    """Decode one chunk of record texts into a batch, plus the rejected records
    (rows keep the order of ``raws``)."""
    segment = decode_segment(raws, indexes, source, kind, columns=columns)
    assembler = Assembler(columns)
    assembler.add(segment)
    batch, late = assembler.take()
    return batch, sorted(segment.rejections + late, key=lambda r: r.position or 0)


def _pos(index: int, kind: str) -> int:
    return index + 1 if kind == "line" else index


def _mixed_chunk(
    raws: Sequence[bytes | Raw], indexes: Sequence[int], source: str, kind: str, columns: Columns
) -> tuple[pa.RecordBatch, list[Rejection]]:
    """Record by record: the fast decoder where it fits, the reference elsewhere."""
    decoder = _decoders(columns).record
    fast: list[int] = []
    recs: list[Any] = []
    slow_rows: list[dict[str, Any]] = []
    rejections: list[Rejection] = []
    for i, raw in enumerate(raws):
        text = bytes(raw)
        try:
            text.decode()
        except UnicodeDecodeError as exc:
            why = f"invalid UTF-8: at byte {exc.start}"
            rejections.append(Rejection(source, _pos(indexes[i], kind), kind, why))
            continue
        try:
            # An event that is its own record is timed by its ``time``: the reference reads it.
            if not _is_envelope(raw):
                recs.append(decoder.decode(text))
                fast.append(i)
                continue
        except (msgspec.DecodeError, msgspec.ValidationError):
            pass
        except RecursionError:
            pass  # the reference path measures the depth and says why
        cells, reason = _reference_cells(raw, columns)
        if cells is None:
            rejections.append(Rejection(source, _pos(indexes[i], kind), kind, reason or ""))
            continue
        cells[S.RAW] = bytes(raw).decode()
        cells[S.SOURCE] = source
        cells[S.RECORD_INDEX] = indexes[i]
        slow_rows.append(cells)
    parts: list[pa.RecordBatch] = []
    if recs:
        texts = _string_array([raws[i] for i in fast])
        batch, bad = _fast_batch(
            recs,
            texts,
            [indexes[i] for i in fast],
            _repeat(source, len(recs)),
            columns,
            _envelopes([raws[i] for i in fast]),
        )
        rejections.extend(
            Rejection(source, _pos(indexes[fast[i]], kind), kind, reason) for i, reason in bad
        )
        parts.append(batch)
    if slow_rows:
        parts.append(_blank(pa.RecordBatch.from_pylist(slow_rows, schema=S.SCHEMA), columns))
    rejections.sort(key=lambda r: r.position or 0)
    if not parts:
        return pa.RecordBatch.from_pylist([], schema=S.SCHEMA), rejections
    table = pa.Table.from_batches(parts).combine_chunks()
    if not table.num_rows:
        return S.empty_batch(), rejections
    order = pc.sort_indices(table.column(S.RECORD_INDEX))
    return table.take(order).combine_chunks().to_batches()[0], rejections


def chunks(raws: Sequence[bytes | Raw]) -> Iterator[tuple[int, int]]:
    """[start, stop) ranges of at most CHUNK_ROWS rows and about CHUNK_BYTES bytes."""
    start = 0
    size = 0
    for i, raw in enumerate(raws):
        if i > start and (i - start >= CHUNK_ROWS or size + len(raw) > CHUNK_BYTES):
            yield start, i
            start, size = i, 0
        size += len(raw)
    if start < len(raws):
        yield start, len(raws)


def segments(data: bytes, source: str, columns: Columns = None) -> Iterator[Segment]:
    """Segments of one decompressed file, in file order; the first carries the
    rejections found while taking the file apart.

    Raises :class:`~kmslog.sources.local.SourceError` before yielding anything
    when the file is not in an accepted shape.
    """
    split = split_records(data, source)
    if len(split.raws) <= CHUNK_ROWS and len(data) <= CHUNK_BYTES:
        ranges = [(0, len(split.raws))] if split.raws else []
    else:
        ranges = list(chunks(split.raws))
    single = len(ranges) == 1
    pending = list(split.rejections)
    for start, stop in ranges:
        segment = decode_segment(
            split.raws[start:stop],
            split.indexes[start:stop],
            source,
            split.position_kind,
            array=split.array if single else None,
            document=split.document if single else None,
            columns=columns,
        )
        if pending:
            segment = segment._replace(
                seen=segment.seen + len(pending), rejections=pending + segment.rejections
            )
            pending = []
        yield segment
    if pending or not split.raws:
        yield Segment(source, split.position_kind, len(pending), pending, [], None, [])


def read_segments(path: str, max_size: int, columns: Columns = None) -> Iterator[Segment]:
    """Decompress (when gzip) and take apart one file; see :func:`segments`.

    A file whose decompressed text exceeds WHOLE_FILE_BYTES is never held whole:
    it is read twice as a stream (structure first, so that a file in no accepted
    shape still fails before yielding anything), in segments of at most
    CHUNK_ROWS records and about STREAM_SEGMENT_BYTES bytes. Same records,
    positions and rejections as the whole-file path."""
    source = display_name(path)
    pieces = decompressed_chunks(path, max_size)
    held: list[bytes] = []
    size = 0
    for piece in pieces:
        held.append(piece)
        size += len(piece)
        if size > WHOLE_FILE_BYTES:
            break
    else:
        data = b"".join(held)
        del held  # the pieces, once joined, are garbage
        yield from segments(data, source, columns)
        return
    del held, pieces  # the whole-file attempt's text and inflater are released here
    yield from _streamed(lambda: decompressed_chunks(path, max_size), source, columns)


def _streamed(
    open_pieces: Callable[[], Iterator[bytes]], source: str, columns: Columns
) -> Iterator[Segment]:
    kind, entries = stream_entries(open_pieces, source)
    raws: list[bytes | Raw] = []
    indexes: list[int] = []
    pending: list[Rejection] = []
    size = 0
    for entry in _guarded(entries, source):
        if isinstance(entry, Rejection):
            pending.append(entry)
            continue
        raws.append(entry[0])
        indexes.append(entry[1])
        size += len(entry[0])
        if len(raws) >= CHUNK_ROWS or size >= STREAM_SEGMENT_BYTES:
            yield _with(decode_segment(raws, indexes, source, kind, columns=columns), pending)
            raws, indexes, pending, size = [], [], [], 0
    if raws:
        yield _with(decode_segment(raws, indexes, source, kind, columns=columns), pending)
    elif pending:
        yield Segment(source, kind, len(pending), pending, [], None, [])


def _guarded(entries: Iterator[Entry], source: str) -> Iterator[Entry]:
    """``entries``, ending in a rejection if the second read fails: the first
    read found the file sound, so it changed in between; records already handed
    out stay counted."""
    try:
        yield from entries
    except (SourceError, ScanError) as exc:
        kind = "file" if exc.position is None else "byte"
        yield Rejection(source, exc.position, kind, f"file changed while read: {exc.reason}")


def _with(segment: Segment, rejections: list[Rejection]) -> Segment:
    """``segment`` also carrying ``rejections`` found before its records."""
    if not rejections:
        return segment
    return segment._replace(
        seen=segment.seen + len(rejections), rejections=rejections + segment.rejections
    )


class Chunk(NamedTuple):
    """One decoded batch of a file, the records rejected in it and how many
    records it covered (kept in the batch + rejected)."""

    batch: pa.RecordBatch
    rejections: list[Rejection]
    seen: int


def _chunks_of(pieces: Iterable[Segment], columns: Columns) -> Iterator[Chunk]:
    for segment in pieces:
        assembler = Assembler(columns)
        assembler.add(segment)
        batch, late = assembler.take()
        rejections = sorted(segment.rejections + late, key=lambda r: r.position or 0)
        yield Chunk(batch, rejections, segment.seen)


def decode_bytes(data: bytes, source: str, columns: Columns = None) -> Iterator[Chunk]:
    """Batches of one decompressed file, in file order (a batch per segment)."""
    yield from _chunks_of(segments(data, source, columns), columns)


def read_file(path: str, max_size: int, columns: Columns = None) -> Iterator[Chunk]:
    """Decompress (when gzip) and decode one file; see :func:`read_segments`."""
    yield from _chunks_of(read_segments(path, max_size, columns), columns)
