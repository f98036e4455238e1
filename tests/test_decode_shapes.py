import gzip
import json

import pyarrow as pa
import pytest

from kmslog.decode import schema as S
from kmslog.decode.records import decode_bytes
from kmslog.sources.local import SourceError
from tests.ingest_fixtures import SHAPES, encode, record


def _read(data: bytes, source: str = "f"):
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    chunks = list(decode_bytes(data, source))
    table = pa.Table.from_batches([c.batch for c in chunks], schema=S.SCHEMA)
    rejections = [r for c in chunks for r in c.rejections]
    return table, rejections, sum(c.seen for c in chunks)


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_reads_the_same_rows(shape):
    records = [record(i) for i in range(1 if shape == "single" else 5)]
    table, rejections, seen = _read(encode(records, shape))
    assert rejections == []
    assert seen == len(records)
    assert table.column(S.EVENT_ID).to_pylist() == [r["eventID"] for r in records]
    assert [json.loads(t) for t in table.column(S.RAW).to_pylist()] == records
    assert table.column(S.RECORD_INDEX).to_pylist() == list(range(len(records)))


def test_raw_is_the_original_text_not_a_reserialisation():
    text = b'{"Records": [ {"eventTime" : "2024-05-01T00:00:00Z",\n  "eventName":"A"} ]}'
    table, _, _ = _read(text)
    assert table.column(S.RAW).to_pylist() == [
        '{"eventTime" : "2024-05-01T00:00:00Z",\n  "eventName":"A"}'
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b'{"Records": [{"eventTime": "2024-05-01T00:00:00Z"},', "invalid JSON"),
        (b'{"Records": {"a": 1}}', '"Records" is not a JSON array'),
        (b"not json at all", "invalid JSON"),
        (b'{\n  "eventTime": "2024-05-01T00:00:00Z",\n  ...\n}\n', "invalid JSON"),
    ],
)
def test_files_not_in_any_shape_are_source_errors(data, reason):
    with pytest.raises(SourceError, match=reason):
        _read(data)


def test_bad_records_are_rejected_with_position_and_reason():
    records = [
        record(0),
        {"eventTime": 17, "eventName": "X"},
        [1, 2],
        "text",
        record(1, eventTime="yesterday"),
        record(2),
        {"no": "time"},
    ]
    table, rejections, seen = _read(encode(records, "records"), "file.json")
    assert seen == 7
    assert table.column(S.RECORD_INDEX).to_pylist() == [0, 5]
    assert [(r.source, r.position, r.position_kind) for r in rejections] == [
        ("file.json", i, "record") for i in (1, 2, 3, 4, 6)
    ]
    assert [r.reason for r in rejections] == [
        "record has no usable eventTime",
        "record is not a JSON object: got list",
        "record is not a JSON object: got str",
        "record has no usable eventTime",
        "record has no usable eventTime",
    ]


def test_lone_scalar_document_is_one_rejected_record():
    table, rejections, seen = _read(b'"just a string"')
    assert (table.num_rows, seen, rejections[0].reason) == (
        0,
        1,
        "record is not a JSON object: got str",
    )


def test_ndjson_bad_lines_rejected_by_line_number():
    lines = [json.dumps(record(0)), "", "{broken", json.dumps(record(1)), "1, 2"]
    table, rejections, seen = _read("\n".join(lines).encode())
    assert seen == 4
    assert table.column(S.RECORD_INDEX).to_pylist() == [0, 3]
    assert [(r.position, r.position_kind) for r in rejections] == [(3, "line"), (5, "line")]
    assert rejections[0].reason.startswith("invalid JSON")


def test_invalid_utf8_record_rejected_not_mangled():
    good = json.dumps(record(0)).encode()
    bad = json.dumps(record(1, userAgent="XX")).encode().replace(b"XX", b"\xff\xfe")
    table, rejections, seen = _read(b'{"Records":[' + good + b"," + bad + b"]}")
    assert seen == 2
    assert table.num_rows == 1
    assert rejections[0].position == 1
    assert "UTF-8" in rejections[0].reason


def test_event_history_entry_without_record_is_rejected():
    data = json.dumps(
        {"Events": [{"CloudTrailEvent": json.dumps(record(0))}, {"EventId": "x"}]}
    ).encode()
    table, rejections, seen = _read(data)
    assert (table.num_rows, seen) == (1, 2)
    assert rejections[0].position == 1
    assert "no CloudTrailEvent" in rejections[0].reason


def test_big_file_comes_in_bounded_chunks(monkeypatch):
    from kmslog.decode import records as R

    monkeypatch.setattr(R, "CHUNK_ROWS", 7)
    chunks = list(decode_bytes(encode([record(i) for i in range(20)], "records"), "f"))
    assert [c.batch.num_rows for c in chunks] == [7, 7, 6]
    assert sum(c.seen for c in chunks) == 20


def test_non_ascii_utf8_text_is_kept_verbatim():
    rec = record(0, userAgent="Ünïcødé ✓ 日本", errorMessage="\u202eevil")
    data = json.dumps({"Records": [rec]}, ensure_ascii=False).encode()
    table, rejections, _ = _read(data)
    assert rejections == []
    assert table.column(S.USER_AGENT).to_pylist() == ["Ünïcødé ✓ 日本"]
    assert json.loads(table.column(S.RAW)[0].as_py()) == rec
    assert "日本" in table.column(S.RAW)[0].as_py()
