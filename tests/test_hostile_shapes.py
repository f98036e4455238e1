"""Hostile file structure: one bad record costs one record, never the file or the run."""

import json
import tracemalloc

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.decode import records as R
from kmslog.decode import scanner, shapes
from kmslog.decode import schema as S
from kmslog.decode.scanner import MAX_DEPTH, SHALLOW_DEPTH, Scanner, duplicate_keys, scan
from kmslog.sources import local
from kmslog.sources.local import SourceError
from tests.ingest_fixtures import encode, record

DEPTH_REASON = f"nested deeper than {MAX_DEPTH} levels"
SEPARABLE = ("records", "array", "ndjson", "eventbridge", "history")
MARK = "__MARK__"


def _read(data: bytes):
    chunks = list(R.decode_bytes(data, "f"))
    table = pa.Table.from_batches([c.batch for c in chunks], schema=S.SCHEMA)
    rejections = [r for c in chunks for r in c.rejections]
    return table, rejections, sum(c.seen for c in chunks)


def _planted(shape: str, value: bytes, field: str = "additionalEventData") -> bytes:
    """Three records in ``shape`` (one for "single"); the second (the only one
    for "single") holds ``value`` as raw JSON text in a field kmslog never reads."""
    bad = record(1, **{field: MARK})
    records = [bad] if shape == "single" else [record(0), bad, record(2)]
    data = encode(records, shape)
    if shape == "history":  # the record is a JSON string inside the entry
        return data.replace(
            b'\\"' + MARK.encode() + b'\\"', json.dumps(value.decode())[1:-1].encode()
        )
    return data.replace(b'"' + MARK.encode() + b'"', value)


def _deep(levels: int) -> bytes:
    half = levels // 2
    return b'{"a":' * half + b"[" * (levels - half) + b"]" * (levels - half) + b"}" * half


def _expect_one_rejected(shape: str, data: bytes, reason: str) -> None:
    table, rejections, seen = _read(data)
    bad_position = {"single": 0, "ndjson": 2}.get(shape, 1)
    kind = "line" if shape == "ndjson" else "record"
    assert [(r.position, r.position_kind) for r in rejections] == [(bad_position, kind)]
    assert rejections[0].reason.startswith(reason), rejections[0].reason
    kept = [] if shape == "single" else ["evt-000000", "evt-000002"]
    assert table.column(S.EVENT_ID).to_pylist() == kept
    assert seen == table.num_rows + len(rejections)


@pytest.mark.parametrize("levels", [2_000, 100_000])
@pytest.mark.parametrize("shape", [*SEPARABLE, "single"])
def test_a_record_nested_too_deeply_is_one_rejection(shape, levels):
    _expect_one_rejected(shape, _planted(shape, _deep(levels)), DEPTH_REASON)


@pytest.mark.parametrize("shape", [*SEPARABLE, "single"])
def test_a_lone_surrogate_escape_costs_nothing(shape):
    # Whoever controls one string field must not be able to make the event vanish:
    # the escape reads as U+FFFD in every shape (docs/ingest.md).
    data = _planted(shape, b'"\\ud800"', field="userAgent")
    if shape == "history":  # in the entry's own string, not in the record it holds
        data = encode([record(0), record(1, userAgent=MARK), record(2)], shape)
        data = data.replace(b'\\"' + MARK.encode() + b'\\"', b'\\"\\ud800\\"')
    table, rejections, seen = _read(data)
    assert rejections == []
    agents = table.column(S.USER_AGENT).to_pylist()
    assert agents[0 if shape == "single" else 1] == "\ufffd"
    assert seen == table.num_rows == (1 if shape == "single" else 3)


def test_nesting_at_the_limit_is_kept():
    levels = MAX_DEPTH - 1  # the record's own braces are one more level
    table, rejections, _ = _read(_planted("array", _deep(levels)))
    assert rejections == [] and table.num_rows == 3


@pytest.mark.parametrize("shape", ["records", "ndjson", "history", "single"])
def test_deep_records_through_the_cli_reconcile(tmp_path, shape):
    path = tmp_path / "f.json"
    path.write_bytes(_planted(shape, _deep(100_000)))
    result = CliRunner().invoke(
        app, ["scan", "--no-progress", "--fail-on", "none", "--format", "json", str(path)]
    )
    # A single record rejected leaves nothing readable (exit 2); the JSON is written.
    assert result.exit_code == (2 if shape == "single" else 0), result.output
    summary = json.loads(result.stdout)["summary"]
    counts = summary["records"]
    assert counts["seen"] == counts["kept"] + counts["duplicate"] + counts["rejected"]
    assert counts["rejected"] == 1
    assert counts["kept"] == (0 if shape == "single" else 2)
    assert summary["rejections_by_reason"] == [{"reason": DEPTH_REASON, "count": 1}]


@pytest.mark.parametrize(
    "first",
    [
        b'{"eventTime": "2024-05-01T10:00:00Z", "eventName":',  # cut short
        b"not json",
        b'{"eventTime": "unterminated',
        b"[" * 5_000,
    ],
)
def test_a_broken_first_ndjson_line_costs_that_line(first):
    data = first + b"\n" + b"".join(json.dumps(record(i)).encode() + b"\n" for i in range(3))
    table, rejections, seen = _read(data)
    assert table.column(S.EVENT_ID).to_pylist() == ["evt-000000", "evt-000001", "evt-000002"]
    assert table.column(S.RECORD_INDEX).to_pylist() == [1, 2, 3]
    assert [(r.position, r.position_kind) for r in rejections] == [(1, "line")]
    assert seen == 4


def test_a_document_with_one_record_per_line_stays_a_document():
    # A Records document written one record per line has lines that are whole
    # objects; a bad record in it must not turn it into NDJSON.
    lines = [json.dumps(record(i)) for i in range(3)]
    lines[1] = lines[1].replace('"aws-cli/2.15"', '"\\ud800"')
    data = ('{"Records": [\n' + ",\n".join(lines) + "\n]}\n").encode()
    table, rejections, _ = _read(data)
    # Indexes in Records (not NDJSON line numbers), the surrogate read as U+FFFD.
    assert table.column(S.RECORD_INDEX).to_pylist() == [0, 1, 2]
    assert rejections == []


def test_a_pretty_printed_invalid_document_still_fails_as_a_file():
    with pytest.raises(SourceError, match="invalid JSON"):
        _read(b'{\n  "eventTime": "2024-05-01T00:00:00Z",\n  ...\n}\n')


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (b"17", "CloudTrailEvent is not a string: got a number"),
        (b"null", "CloudTrailEvent is not a string: got null"),
        (
            b'{"eventTime": "2024-05-01T10:00:00Z"}',
            "CloudTrailEvent is not a string: got an object",
        ),
        (b"[1]", "CloudTrailEvent is not a string: got an array"),
        (b"true", "CloudTrailEvent is not a string: got a boolean"),
        (b'"\\ud800"', "invalid JSON"),
    ],
)
def test_a_bad_event_history_entry_is_one_rejection(event, reason):
    good = [json.dumps({"CloudTrailEvent": json.dumps(record(i))}).encode() for i in (0, 2)]
    data = b'{"Events": [' + good[0] + b', {"CloudTrailEvent": ' + event + b"}, " + good[1] + b"]}"
    table, rejections, seen = _read(data)
    assert table.column(S.RECORD_INDEX).to_pylist() == [0, 2]
    assert [(r.position, r.reason[: len(reason)]) for r in rejections] == [(1, reason)]
    assert seen == 3


@pytest.mark.parametrize(
    ("template", "key", "indexes"),
    [
        ('{{"Records":[{0},{1}],"Records":[]}}', "Records", [0, 1]),
        ('{{"Records":[],"Records":[{0},{1}]}}', "Records", [0, 1]),
        ('{{"Records":[{0}],"Rec\\u006frds":[{1}]}}', "Records", [0, 1]),
        ('{{"Records": [{0}], "x": 1, "Records": [{1}]}}', "Records", [0, 1]),
        ('{{"Events":[{2}],"Events":[{3}]}}', "Events", [0, 1]),
        ('{{"detail-type":"x","detail":{0},"detail":{1}}}', "detail", [0, 1]),
        ('{{"detail-type":"x","detail":{0},"detail-type":"y"}}', "detail-type", [0]),
    ],
)
def test_a_duplicate_decisive_key_is_reported_and_loses_nothing(template, key, indexes):
    a, b = (json.dumps(record(i)) for i in range(2))
    ha, hb = (json.dumps({"CloudTrailEvent": r}) for r in (a, b))
    data = template.format(a, b, ha, hb).encode()
    table, rejections, seen = _read(data)
    assert table.column(S.RECORD_INDEX).to_pylist() == indexes
    assert table.column(S.EVENT_ID).to_pylist() == [f"evt-{i:06d}" for i in indexes]
    (problem,) = rejections
    assert problem.position_kind == "byte"
    assert problem.reason.startswith(f'duplicate "{key}" key')
    assert data[problem.position :].startswith(b'"')  # the second key's own offset
    assert seen == len(indexes) + 1


def test_records_and_events_together_are_both_read_and_reported():
    a, b = (json.dumps(record(i)) for i in range(2))
    data = f'{{"Records":[{a}],"Events":[{json.dumps({"CloudTrailEvent": b})}]}}'.encode()
    table, rejections, _ = _read(data)
    assert table.column(S.RECORD_INDEX).to_pylist() == [0, 1]
    assert [r.reason[:28] for r in rejections] == ['both "Records" and "Events" ']


def _varied_files() -> dict[str, bytes]:
    def deep(shape: str) -> bytes:
        recs = [record(0), record(1, x=MARK), record(2), {"eventTime": 5}, record(4)]
        if shape == "single":
            recs = [record(1, x=MARK)]
        data = encode(recs, shape)
        mark = (
            b'\\"' + MARK.encode() + b'\\"' if shape == "history" else b'"' + MARK.encode() + b'"'
        )
        return data.replace(mark, b"[" * 3_000 + b"]" * 3_000)

    a, b = json.dumps(record(0)), json.dumps(record(1))
    files = {shape: deep(shape) for shape in (*SEPARABLE, "single")}
    files["plain"] = json.dumps({"Records": [record(i) for i in range(50)]}).encode()
    files["compact"] = json.dumps(
        {"Records": [record(i) for i in range(50)]}, separators=(",", ":")
    ).encode()
    files["duplicate"] = f'{{"Records":[{a}],"Records":[{b}, 7, ]}}'.encode()
    files["first line"] = b'{"eventTime": "x\n' + f"{a}\n{b}\n".encode()
    files["surrogate"] = encode([record(0), record(1, userAgent=MARK)], "records").replace(
        b'"' + MARK.encode() + b'"', b'"\\ud800"'
    )
    files["blank padding"] = b'{"Records":[' + b" " * 70_000 + a.encode() + b" " * 999 + b"]}"
    files["truncated"] = b'{"Records": [{"eventTime": "2024-05-01T00:00:00Z"},'
    files["scalar lines"] = f"null\n5\n{a}\n".encode()
    files["spaced"] = json.dumps(
        {"Records": [record(i) for i in range(9)], "x": 1}, indent=2
    ).encode()
    files["bom"] = b"\xef\xbb\xbf" + encode([record(0)], "array")
    return files


def _outcome(path: str):
    try:
        chunks = list(R.read_file(path, 1 << 30))
    except SourceError as exc:
        return "failed", exc.reason, exc.position
    table = pa.Table.from_batches([c.batch for c in chunks], schema=S.SCHEMA)
    rejections = sorted(
        (r.position_kind, r.position, r.reason) for c in chunks for r in c.rejections
    )
    return table.to_pylist(), rejections, sum(c.seen for c in chunks)


@pytest.mark.parametrize("name", list(_varied_files()))
def test_a_streamed_file_reads_exactly_as_a_whole_one(tmp_path, monkeypatch, name):
    path = tmp_path / "f.json"
    path.write_bytes(_varied_files()[name])
    whole = _outcome(str(path))
    # Every file is now "big", and arrives in pieces that cut tokens anywhere.
    monkeypatch.setattr(R, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(local, "READ_SIZE", 61)
    monkeypatch.setattr(local, "PIECE_SIZE", 61)
    assert _outcome(str(path)) == whole


def test_streamed_segments_stay_small(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    path.write_bytes(json.dumps({"Records": [record(i) for i in range(25)]}).encode())
    monkeypatch.setattr(R, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(R, "CHUNK_ROWS", 10)
    segments = list(R.read_segments(str(path), 1 << 30))
    assert [s.seen for s in segments] == [10, 10, 5]
    assert [i for s in segments for i in s.indexes] == list(range(25))


def test_a_streamed_file_in_no_shape_fails_before_any_record(tmp_path, monkeypatch):
    path = tmp_path / "f.json"
    path.write_bytes(json.dumps({"Records": [record(i) for i in range(30)]}).encode()[:-2])
    monkeypatch.setattr(R, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(R, "CHUNK_ROWS", 10)
    pieces = R.read_segments(str(path), 1 << 30)
    with pytest.raises(SourceError, match="invalid JSON"):
        next(pieces)


def test_the_scanner_holds_blank_padding_and_huge_records_in_bounded_memory(monkeypatch):
    monkeypatch.setattr(scanner, "MAX_RECORD_BYTES", 1 << 20)
    piece = b" " * (1 << 20)
    tracemalloc.start()
    try:
        reader = Scanner(keep={"Records"})
        items = reader.feed(b'{"Records":[')
        for _ in range(48):  # 48 MiB of blanks between elements
            items += reader.feed(piece)
        items += reader.feed(b"[")
        for _ in range(24):  # then a 24 MiB element, longer than a record may be
            items += reader.feed(b'"' + b"y" * (1 << 20) + b'",')
        items += reader.feed(b"1], 1]}")
        items += reader.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20
    elements = [i for i in items if i.kind == "element"]
    assert [(e.ordinal, e.text is None) for e in elements] == [(0, True), (1, False)]
    assert elements[0].stop - elements[0].start > 24 << 20


# JSON values of any nesting; strings with quotes, backslashes and brackets.
_text = st.text(alphabet=st.sampled_from('ab"\\[]{},: \n\u00e9\u2028'), max_size=8)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=30,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(_json, max_size=6),
    wrap=st.booleans(),
    indent=st.sampled_from([None, 1]),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
)
def test_random_cuts_give_the_scanner_the_same_items(values, wrap, indent, cuts):
    document = {"x": [1], "Records": values} if wrap else values
    data = json.dumps(document, indent=indent, ensure_ascii=False).encode()
    keep = {"", "Records"}
    whole = scan(data, keep)
    elements = [i for i in whole if i.kind == "element"]
    assert [json.loads(e.text) for e in elements] == values
    assert [e.depth for e in elements] == [max(_depth(v), SHALLOW_DEPTH) for v in values]
    assert all(data[e.start : e.stop] == e.text for e in elements)
    bounds = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    reader = Scanner(keep)
    pieced = [i for a, b in zip(bounds, bounds[1:], strict=False) for i in reader.feed(data[a:b])]
    assert pieced + reader.close() == whole


@settings(max_examples=50, deadline=None)
@given(levels=st.integers(min_value=1, max_value=3_000), cut=st.integers(min_value=1))
def test_deep_values_measure_exactly_across_cuts(levels, cut):
    data = b'{"Records":[' + _deep(levels) + b',"x"]}'
    at = cut % len(data)
    reader = Scanner()
    items = reader.feed(data[:at]) + reader.feed(data[at:]) + reader.close()
    depths = [i.depth for i in items if i.kind == "element"]
    assert depths == [max(levels, SHALLOW_DEPTH), SHALLOW_DEPTH]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (b'{"eventID":"a","x":{"eventID":"b"}}', set()),
        (b'{"eventID":"a","eventName":"X","eventID":"b"}', {"eventID"}),
        (b'{"eventTime":"a","event\\u0054ime":"b","eventName":1}', {"eventTime"}),
        (
            b'{"eventName":"a","eventName":"b","userIdentity":{},"userIdentity":1}',
            {"eventName", "userIdentity"},
        ),
        (b'{"eventID":"a","eventID"', set()),  # not whole JSON: no claim
    ],
)
def test_duplicate_keys_of_a_record(text, found):
    names = {"eventID", "eventTime", "eventName", "userIdentity"}
    assert duplicate_keys(text, names) == found


def test_depth_limit_is_defined_once():
    assert shapes.DEPTH_REASON == DEPTH_REASON
    assert shapes.MAX_DEPTH is scanner.MAX_DEPTH


def test_compact_delivery_files_keep_the_one_call_path():
    # The S3 delivery format is split by msgspec alone; only a file with more at
    # its top level (a duplicate key, say) needs the scanner.
    compact = json.dumps({"Records": [record(i) for i in range(3)]}, separators=(",", ":"))
    assert shapes.split_records(compact.encode() + b"\n", "f").document is not None
    a = json.dumps(record(0), separators=(",", ":"))
    doubled = f'{{"Records":[{a}],"Records":[{a}]}}'.encode()
    assert shapes.split_records(doubled, "f").document is None


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        (b'{"Records": [1, {"Records": 2}], "x" : "}"}', [("Records", 1), ("x", 33)]),
        (b' {"Rec\\u006frds":[],"Records":[]}\n', [("Records", 2), ("Records", 20)]),
        (b"{}", []),
        (b'{"Records": [1,}', None),
        (b'{"a": 1} x', None),
        (b"[1]", None),
    ],
)
def test_top_level_keys(text, keys):
    assert scanner.top_level_keys(text) == keys


def test_spaced_delivery_files_keep_the_one_call_path():
    spaced = json.dumps({"Records": [record(i) for i in range(3)], "x": 1}, indent=2).encode()
    assert shapes.split_records(spaced, "f").document is not None
    events = json.dumps({"Records": [record(0)], "Events": []}).encode()
    assert shapes.split_records(events, "f").document is None


def test_a_streamed_file_that_changes_between_reads_ends_in_a_rejection(tmp_path, monkeypatch):
    sound = json.dumps({"Records": [record(i) for i in range(3)]}).encode()
    reads = []

    def pieces(path, max_size):
        reads.append(path)
        # Sound for the size check and the structure pass, cut short after.
        yield sound if len(reads) <= 2 else sound[:-2]

    monkeypatch.setattr(R, "WHOLE_FILE_BYTES", 0)
    monkeypatch.setattr(R, "decompressed_chunks", pieces)
    segments = list(R.read_segments("f", 1 << 30))
    rejections = [r for s in segments for r in s.rejections]
    assert [r.reason[:23] for r in rejections] == ["file changed while read"]
    assert sum(s.seen for s in segments) == len(rejections) + sum(len(s.indexes) for s in segments)


@pytest.mark.parametrize("blank", [b" " * 100, b"\n" * 5_000, b"\r\n\t" * 40])
@pytest.mark.parametrize("shape", ["records", "array", "ndjson", "single"])
def test_leading_blanks_of_any_length_are_not_an_empty_file(shape, blank):
    data = encode([record(0)], shape)
    table, rejections, seen = _read(blank + data)
    assert rejections == [] and seen == 1
    assert table.column(S.EVENT_ID).to_pylist() == ["evt-000000"]


@pytest.mark.parametrize(
    "events",
    [
        ["", None],
        [" "],
        ["{a},{b}"],
        ["{a},{b}", "{a}"],
        ["{a}", "", "{b}"],
    ],
)
def test_event_strings_that_join_into_another_count_lose_nothing(events):
    """Event strings are joined into one array for the fast decoder: an empty one,
    or one holding two records side by side, must not shift the others."""
    a, b = (json.dumps(record(i)) for i in range(2))
    entries = [
        {"EventId": "e", "CloudTrailEvent": e.replace("{a}", a).replace("{b}", b)}
        if isinstance(e, str)
        else {"EventId": "e", "CloudTrailEvent": []}
        for e in events
    ]
    table, rejections, seen = _read(json.dumps({"Events": entries}).encode())
    good = [i for i, e in enumerate(events) if e in ("{a}", "{b}")]
    assert table.column(S.RECORD_INDEX).to_pylist() == good
    assert sorted(r.position for r in rejections) == [
        i for i in range(len(events)) if i not in good
    ]
    assert seen == len(events)
