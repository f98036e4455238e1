"""The fast decoder must give exactly the cells of the reference ``flatten``."""

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslog.decode import schema as S
from kmslog.decode.flatten import flatten, parse_event_time
from kmslog.decode.jsontext import MAX_DEPTH, MEANINGFUL_KEYS
from kmslog.decode.records import _reference_cells, decode_bytes, decode_chunk, event_times
from tests.ingest_fixtures import SHAPES, encode, record

CELLS = [f.name for f in S.SCHEMA if f.name not in (S.RAW, S.SOURCE, S.RECORD_INDEX, S.ENVELOPE)]
EXTERNAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "external"


def reference(records: list[Any]) -> list[dict[str, Any] | None]:
    """Cells per record through ``flatten`` (None: rejected), as Arrow would store them."""
    out: list[dict[str, Any] | None] = []
    for rec in records:
        cells = flatten(rec) if isinstance(rec, dict) else None
        if cells is None:
            out.append(None)
            continue
        row = pa.Table.from_pylist([cells], schema=pa.schema([S.SCHEMA.field(c) for c in CELLS]))
        out.append(row.to_pylist()[0])
    return out


def fast(records: list[Any], shape: str = "records") -> list[dict[str, Any] | None]:
    data = encode(records, shape)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    chunks = list(decode_bytes(data, "mem"))
    table = pa.Table.from_batches([c.batch for c in chunks], schema=S.SCHEMA)
    out: list[dict[str, Any] | None] = [None] * sum(c.seen for c in chunks)
    for row in table.to_pylist():
        assert json.loads(row[S.RAW]) == records[row[S.RECORD_INDEX]]
        if shape == "eventbridge":  # the envelope it came in, as it was
            assert json.loads(row[S.ENVELOPE])["detail"] == records[row[S.RECORD_INDEX]]
        else:
            assert row[S.ENVELOPE] is None
        out[row[S.RECORD_INDEX]] = {c: row[c] for c in CELLS}
    rejected = {
        (r.position or 0) - (r.position_kind == "line") for c in chunks for r in c.rejections
    }
    assert rejected == {i for i, cells in enumerate(out) if cells is None}
    return out


VARIED = [
    record(0),
    record(1, userIdentity={"type": "Root", "sessionContext": "not an object"}),
    record(2, userAgent=42, errorCode=["x"], readOnly="true", managementEvent=None),
    record(3, resources=None, requestParameters="keyId"),
    record(
        4,
        resources=[
            {"ARN": "arn:aws:kms:us-east-1:1:key/a"},
            {"ARN": "arn:aws:s3:::bucket"},
            {"ARN": 5},
            "junk",
            {"ARN": "arn:aws:kms:us-east-1:1:key/a"},
        ],
        requestParameters={"keyId": "alias/x", "targetKeyId": "", "sourceKeyId": 7},
        responseElements={
            "keyId": "arn:aws:kms:us-east-1:1:key/b",
            "keyMetadata": {"arn": "arn:aws:kms:us-east-1:1:key/a"},
            "replicaKeyMetadata": {"arn": "arn:aws:kms:eu-west-1:1:key/c"},
        },
        serviceEventDetails={"keyId": "d"},
    ),
    record(5, eventTime="2024-05-01T10:00:00.123456Z"),
    record(6, eventTime="2024-05-01T12:00:00+02:00"),
    record(7, eventTime="2024-02-30T00:00:00Z"),
    record(8, eventTime="2016-12-31T23:59:60Z"),
    record(9, eventTime=" 2024-05-01T10:00:00Z "),
    {"eventTime": "2024-05-01T10:00:00Z"},
    {"eventTime": "2024-05-01T10:00:00Z", "userIdentity": None, "responseElements": []},
    {"eventTime": "0001-01-01T00:00:00Z", "eventName": "Ancient"},
    {"eventTime": "0000-01-01T00:00:00Z"},
    {"eventTime": "1969-12-31T23:59:59.9999Z"},
    {"eventTime": "2024-05-01T10:00:00Z", "eventName": "\u202eevil\x1b[2J"},
]


def test_fast_path_equals_reference_on_varied_records():
    assert fast(VARIED) == reference(VARIED)


def test_event_times_vectorized_equals_reference():
    values = [r["eventTime"] for r in VARIED] + [
        None,
        "2024-13-01T00:00:00Z",
        "2024-05-01T24:00:00Z",
    ]
    expected = pa.array([parse_event_time(v) for v in values], S.UTC_TS)
    assert event_times(values).equals(expected)


def _external_records() -> list[Any]:
    if not EXTERNAL.is_dir():
        pytest.skip("../shared/external is not present")
    found: list[Any] = []
    for path in sorted(EXTERNAL.rglob("*.json")):
        try:
            doc = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
            found.extend(doc["Records"])
        elif isinstance(doc, list):
            found.extend(doc)
        else:
            found.append(doc)
    return found


def test_fast_path_equals_reference_on_external_records():
    records = _external_records()
    assert len(records) > 100
    assert fast(records) == reference(records)


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), _text)
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
    max_leaves=6,
)
_stringish = st.one_of(_text, st.sampled_from(["kms.amazonaws.com", "Decrypt", "alias/a"]), _json)
_times = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")),
    st.datetimes().map(lambda d: d.isoformat()),
    st.sampled_from(["2024-02-30T00:00:00Z", "2024-05-01T10:00:00.5Z", "bad", ""]),
    _json,
)
_arn = st.one_of(st.just("arn:aws:kms:us-east-1:1:key/k"), _stringish)
_record = st.fixed_dictionaries(
    {"eventTime": _times},
    optional={
        "eventName": _stringish,
        "eventSource": _stringish,
        "awsRegion": _stringish,
        "userAgent": _stringish,
        "errorMessage": _stringish,
        "readOnly": st.one_of(st.booleans(), _json),
        "recipientAccountId": _stringish,
        "eventID": _stringish,
        "userIdentity": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": _stringish,
                    "arn": _stringish,
                    "invokedBy": _stringish,
                    "sessionContext": st.one_of(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                "sessionIssuer": st.one_of(
                                    st.fixed_dictionaries({}, optional={"arn": _stringish}), _json
                                )
                            },
                        ),
                        _json,
                    ),
                },
            ),
            _json,
        ),
        "resources": st.one_of(
            st.lists(st.one_of(st.fixed_dictionaries({"ARN": _arn}), _json), max_size=3), _json
        ),
        "requestParameters": st.one_of(
            st.fixed_dictionaries({}, optional={"keyId": _arn, "targetKeyId": _arn}), _json
        ),
        "responseElements": st.one_of(
            st.fixed_dictionaries(
                {}, optional={"keyId": _arn, "keyMetadata": st.fixed_dictionaries({"arn": _arn})}
            ),
            _json,
        ),
        "serviceEventDetails": st.one_of(st.fixed_dictionaries({"keyId": _arn}), _json),
        "extra": _json,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(st.one_of(_record, _record, _record, _json), min_size=1, max_size=6),
    shape=st.sampled_from(SHAPES),
)
def test_any_records_in_any_shape_read_back_as_reference(records, shape):
    if shape == "single":
        records = records[:1]
    if shape in ("single", "ndjson") and len(records) == 1 and isinstance(records[0], list):
        return  # one line holding an array is a bare-array file: ambiguous by nature
    assert fast(records, shape) == reference(records)


def test_chunk_fallback_keeps_order():
    raws = [json.dumps(r).encode() for r in VARIED]
    batch, rejections = decode_chunk(raws, list(range(len(raws))), "s")
    assert batch.column(S.RECORD_INDEX).to_pylist() == sorted(
        batch.column(S.RECORD_INDEX).to_pylist()
    )
    assert batch.num_rows + len(rejections) == len(VARIED)


# --- hostile record texts ------------------------------------------------------------
# Written as text, spliced into generated records: JSON that Python values
# cannot produce (lone surrogate escapes, numbers beyond float range), nesting
# around the depth limit, eventTime at the calendar's edge, repeated keys.

_EDGE_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59." + "9" * 40 + "Z",
    "2024-05-01T10:00:00+99:99",
]
_hostile_value = st.one_of(
    # json.dumps writes a lone surrogate as its \\uXXXX escape
    st.text(st.characters(categories=("Cs", "Lu")), min_size=1, max_size=3).map(json.dumps),
    st.sampled_from(["1e400", "-1e400", "9" * 400, "1e309", "-0.0", "NaN", "1e-400"]),
    st.integers(MAX_DEPTH - 3, MAX_DEPTH + 3).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.sampled_from(_EDGE_TIMES).map(json.dumps),
)
_hostile_field = st.sampled_from(
    [*MEANINGFUL_KEYS, "userAgent", "readOnly", "requestParameters", "resources", "x"]
)


def _splice(rec: Any, members: list[tuple[str, str]]) -> bytes:
    body = json.dumps(rec)
    if not members or not body.endswith("}"):
        return body.encode()
    extra = ", ".join(f'"{name}": {value}' for name, value in members)
    return (body[:-1] + (", " if body != "{}" else "") + extra + "}").encode()


_hostile_text = st.builds(
    _splice,
    st.one_of(_record, _record, _json),
    st.lists(st.tuples(_hostile_field, _hostile_value), max_size=3),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raws=st.lists(_hostile_text, min_size=1, max_size=5))
def test_hostile_texts_fast_path_equals_reference_path(raws):
    batch, rejections = decode_chunk(raws, list(range(len(raws))), "hostile")
    batch.validate(full=True)  # Arrow strings stay valid UTF-8
    rows = {r[S.RECORD_INDEX]: {c: r[c] for c in CELLS} for r in batch.to_pylist()}
    reasons = {r.position: r.reason for r in rejections}
    assert len(rows) + len(reasons) == len(raws)
    for i, raw in enumerate(raws):
        cells, reason = _reference_cells(raw)
        if cells is None:
            assert reasons.get(i) == reason
        else:
            table = pa.Table.from_pylist(
                [cells], schema=pa.schema([S.SCHEMA.field(c) for c in CELLS])
            )
            assert rows.get(i) == table.to_pylist()[0]
