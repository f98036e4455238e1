"""Hostile record contents: deep nesting, lone surrogates, numbers beyond float
range, eventTime at the calendar's edge, repeated meaningful keys. Each is kept
(with the cells the typing rule gives) or rejected with its position and reason,
the same way on the fast and the reference path, and never raises."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.decode import jsontext
from kmslog.decode import schema as S
from kmslog.decode.flatten import NO_EVENT_TIME, OUT_OF_RANGE, event_time_problem, parse_event_time
from kmslog.decode.records import _reference_cells, decode_bytes, decode_chunk, event_times
from kmslog.patterns import parse
from tests.ingest_fixtures import record

CELLS = [f.name for f in S.SCHEMA if f.name not in (S.RAW, S.SOURCE, S.RECORD_INDEX)]
runner = CliRunner()


def text(i: int = 0, extra: bytes = b"", **overrides: Any) -> bytes:
    """A record's JSON text with raw ``extra`` members spliced in before the end."""
    body = json.dumps(record(i, **overrides)).encode()
    return body[:-1] + (b", " + extra if extra else b"") + b"}"


def deep(levels: int) -> bytes:
    """A value nested ``levels`` arrays deep."""
    return b"[" * levels + b"]" * levels


DEPTH_LIMIT_TEXT = text(0, b'"x": ' + deep(jsontext.MAX_DEPTH - 1))
TOO_DEEP_TEXT = text(0, b'"x": ' + deep(jsontext.MAX_DEPTH))
# (case, record text, expected: ("kept", {column: cell}) or ("rejected", reason))
CASES: list[tuple[str, bytes, tuple[str, Any]]] = [
    (
        "surrogate-user-agent",
        text(0, b'"userAgent": "\\ud800"'),
        ("kept", {S.USER_AGENT: "\ufffd"}),
    ),
    ("surrogate-low", text(0, b'"userAgent": "a\\udc00b"'), ("kept", {S.USER_AGENT: "a\ufffdb"})),
    ("surrogate-unread", text(0, b'"tag": "\\udbff"'), ("kept", {S.EVENT_NAME: "Decrypt"})),
    ("surrogate-pair", text(0, b'"userAgent": "\\ud83d\\ude00"'), ("kept", {S.USER_AGENT: "😀"})),
    (
        "escaped-backslash-not-surrogate",
        text(0, b'"userAgent": "\\\\ud800"'),
        ("kept", {S.USER_AGENT: "\\ud800"}),
    ),
    (
        "surrogate-event-time",
        b'{"eventTime": "2024-05-01T10:00:00\\ud800Z"}',
        ("rejected", NO_EVENT_TIME),
    ),
    ("huge-unread", text(0, b'"x": 1e400'), ("kept", {S.EVENT_NAME: "Decrypt"})),
    ("huge-user-agent", text(0, b'"userAgent": -1e400'), ("kept", {S.USER_AGENT: None})),
    ("huge-read-only", text(0, b'"readOnly": ' + b"9" * 400), ("kept", {S.READ_ONLY: None})),
    (
        "huge-key-id",
        text(0, requestParameters={"keyId": 0}).replace(b'"keyId": 0', b'"keyId": 1e999'),
        ("kept", {S.KEY_IDS: [record(0)["resources"][0]["ARN"]]}),
    ),
    ("at-depth-limit", DEPTH_LIMIT_TEXT, ("kept", {S.EVENT_NAME: "Decrypt"})),
    (
        "too-deep-unread",
        TOO_DEEP_TEXT,
        (
            "rejected",
            jsontext.too_deep(TOO_DEEP_TEXT.index(b'"x": [') + 5 + jsontext.MAX_DEPTH - 1),
        ),
    ),
    (
        "too-deep-3000",
        text(0, b'"x": ' + deep(3000)),
        ("rejected", "nested too deep: more than 512 levels"),
    ),
    (
        "too-deep-request",
        text(0, b'"requestParameters": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000),
        ("rejected", "nested too deep: more than 512 levels"),
    ),
    ("brackets-in-strings", text(0, b'"x": "' + b"[" * 3000 + b'"'), ("kept", {})),
    ("time-number", b'{"eventTime": 1714557600}', ("rejected", NO_EVENT_TIME)),
    ("time-object", b'{"eventTime": {"t": "2024-05-01T10:00:00Z"}}', ("rejected", NO_EVENT_TIME)),
    (
        "time-before-year-1",
        b'{"eventTime": "0001-01-01T00:00:00+01:00"}',
        ("rejected", OUT_OF_RANGE),
    ),
    ("time-after-9999", b'{"eventTime": "9999-12-31T23:59:59-01:00"}', ("rejected", OUT_OF_RANGE)),
    ("time-year-0", b'{"eventTime": "0000-01-01T00:00:00Z"}', ("rejected", NO_EVENT_TIME)),
    ("time-offset-99", b'{"eventTime": "2024-05-01T10:00:00+99:99"}', ("rejected", NO_EVENT_TIME)),
    ("time-last-second", b'{"eventTime": "9999-12-31T23:59:59Z"}', ("kept", {})),
    ("time-first-second", b'{"eventTime": "0001-01-01T01:00:00+01:00"}', ("kept", {})),
    (
        "time-long-fraction",
        b'{"eventTime": "9999-12-31T23:59:59.' + b"9" * 200 + b'Z"}',
        ("kept", {}),
    ),
    ("invalid-utf8", text(0, b'"userAgent": "\xff"'), ("rejected", "invalid UTF-8: at byte ")),
    ("nan", text(0, b'"x": NaN'), ("rejected", "invalid JSON: ")),
    *[
        (
            f"duplicate-{name}",
            # errorCode is not in the base record: one more next to its own
            text(
                0,
                f'"{name}": "other"'.encode(),
                **({"errorCode": "X"} if name == "errorCode" else {}),
            ),
            ("rejected", f"duplicate key: {name} at byte "),
        )
        for name in jsontext.MEANINGFUL_KEYS
    ],
    (
        "duplicate-escaped",
        text(0, b'"event\\u004eame": "ScheduleKeyDeletion"'),
        ("rejected", "duplicate key: eventName at byte "),
    ),
    (
        "nested-names-are-not-duplicates",
        text(0, b'"x": {"eventName": "a", "eventTime": ["eventID"]}, "y": "eventName"'),
        ("kept", {S.EVENT_NAME: "Decrypt"}),
    ),
    ("duplicate-unread-key", text(0, b'"userAgent": "second"'), ("kept", {S.USER_AGENT: "second"})),
]
IDS = [c[0] for c in CASES]
GOOD = json.dumps(record(1)).encode()


def outcome(batch: pa.RecordBatch, rejections: list[Any], row: int) -> tuple[str, Any]:
    rejected = [r.reason for r in rejections if r.position == row]
    if rejected:
        return "rejected", rejected[0]
    rows = [r for r in batch.to_pylist() if r[S.RECORD_INDEX] == row]
    assert len(rows) == 1
    return "kept", {c: rows[0][c] for c in CELLS}


def check(expected: tuple[str, Any], got: tuple[str, Any]) -> None:
    assert got[0] == expected[0], got
    if expected[0] == "rejected":
        assert got[1].startswith(expected[1]), got
    else:
        for column, cell in expected[1].items():
            assert got[1][column] == cell


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=IDS)
def test_alone_in_a_chunk(raw, expected):
    batch, rejections = decode_chunk([raw], [0], "f")
    check(expected, outcome(batch, rejections, 0))


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=IDS)
def test_among_sound_records_only_the_record_is_concerned(raw, expected):
    raws = [GOOD, raw, GOOD]
    batch, rejections = decode_chunk(raws, [0, 1, 2], "f")
    check(expected, outcome(batch, rejections, 1))
    assert {outcome(batch, rejections, i)[0] for i in (0, 2)} == {"kept"}
    assert batch.num_rows + len(rejections) == 3


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in CASES], ids=IDS)
def test_fast_and_reference_paths_agree(raw, expected):
    cells, reason = _reference_cells(raw)
    batch, rejections = decode_chunk([raw], [0], "f")
    fast = outcome(batch, rejections, 0)
    if cells is None:
        assert fast == ("rejected", reason)
    else:
        reference = pa.Table.from_pylist(
            [cells], schema=pa.schema([S.SCHEMA.field(c) for c in CELLS])
        ).to_pylist()[0]
        assert fast == ("kept", reference)


def test_arrow_strings_stay_valid_utf8():
    raws = [c[1] for c in CASES if c[2][0] == "kept"]
    batch, _ = decode_chunk(raws, list(range(len(raws))), "f")
    assert batch.num_rows == len(raws)
    batch.validate(full=True)


# Taking a file apart is the splitter's business: these cases reach decoding
# through event history (below) and decode_chunk (above).
SPLITTER = {"too-deep-3000", "too-deep-request"} | {
    c[0] for c in CASES if c[0].startswith("surrogate-") and c[0] != "surrogate-pair"
}
IN_FILES = [c for c in CASES if c[0] not in SPLITTER]


def test_positions_in_an_ndjson_file_and_counts_reconcile():
    data = b"\n".join(c[1] for c in IN_FILES) + b"\n"
    chunks = list(decode_bytes(data, "hostile.ndjson"))
    seen = sum(c.seen for c in chunks)
    kept = sum(c.batch.num_rows for c in chunks)
    rejections = [r for c in chunks for r in c.rejections]
    assert seen == len(IN_FILES) == kept + len(rejections)
    by_line = {r.position: r.reason for r in rejections}
    for line, (_, _, (verdict, detail)) in enumerate(IN_FILES, start=1):
        if verdict == "rejected":
            assert by_line[line].startswith(detail)
        else:
            assert line not in by_line
    assert {r.position_kind for r in rejections} == {"line"}


def test_duplicate_key_offset_is_the_second_occurrence():
    raw = text(0, b'"eventName": "ScheduleKeyDeletion"')
    _, rejections = decode_chunk([raw], [0], "f")
    second = raw.rindex(b'"eventName"')
    assert rejections[0].reason == f"duplicate key: eventName at byte {second}"


EDGE_TIMES = [
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:59:59.999+01:00",
    "0001-01-01T01:00:00+01:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T22:59:59-01:00",
    "9999-12-31T23:59:59.999999999999Z",
    "0000-01-01T00:00:00Z",
    "2024-05-01T10:00:00+99:99",
    "2024-05-01T10:00:00+24:00",
    "2024-05-01T10:00:00-23:59",
]


def test_event_time_at_the_calendar_edge_never_raises_and_paths_agree():
    expected = pa.array([parse_event_time(v) for v in EDGE_TIMES], S.UTC_TS)
    assert event_times(EDGE_TIMES).equals(expected)
    problems = [event_time_problem(v) for v in EDGE_TIMES]
    assert problems[1] == problems[2] == problems[5] == OUT_OF_RANGE
    assert problems[0] is problems[3] is problems[4] is problems[6] is None
    assert [p is None for p in problems] == [t is not None for t in expected.to_pylist()]


# --- loads_record itself --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (
            b'{"a": 1e400, "b": [-1e400, 2], "c": "1e400"}',
            {"a": math.inf, "b": [-math.inf, 2], "c": "1e400"},
        ),
        (b"[" + b"1" * 400 + b"]", [math.inf]),
        (b'{"a": "\\ud800", "b": "\\\\ud800"}', {"a": "\ufffd", "b": "\\ud800"}),
        ('{"a": "é"}', {"a": "é"}),
        (b'{"a": 1e-400}', {"a": 0.0}),
    ],
)
def test_loads_record_values(raw, value):
    assert jsontext.loads_record(raw) == value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            deep(jsontext.MAX_DEPTH + 1),
            f"nested too deep: more than 512 levels at byte {jsontext.MAX_DEPTH}",
        ),
        (deep(100_000), "nested too deep: more than 512 levels at byte 512"),
        (b'{"a": "\xc3\x28"}', "invalid UTF-8: at byte 7"),
        (
            b'{"a": 1e400, "b": x}',
            "invalid JSON: unexpected character, expected a JSON value at byte 18",
        ),
        (b'{"a": NaN}', "invalid JSON: "),
        (b'{"a": 1} trailing', "invalid JSON: "),
        ('{"a": "\ud800"}', "unpaired surrogate: U+D800 at character 7"),
    ],
)
def test_loads_record_errors(raw, reason):
    with pytest.raises(jsontext.RecordTextError) as caught:
        jsontext.loads_record(raw)
    assert caught.value.reason.startswith(reason)
    assert str(caught.value) == caught.value.reason


def test_loads_record_at_the_depth_limit():
    assert jsontext.loads_record(deep(jsontext.MAX_DEPTH)) is not None


# --- end to end -------------------------------------------------------------------


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    lines = [
        text(0, eventName="DisableKey", eventTime="0001-01-01T00:00:00Z"),
        text(1, b'"x": 1e400, "big": ' + b"7" * 400),
        text(2, b'"userAgent": 1e400'),
        text(3, eventTime="0001-01-01T00:00:00+01:00"),
        text(4, eventTime="9999-12-31T23:59:59-01:00"),
        text(5, b'"eventName": "ScheduleKeyDeletion"'),
        text(6, b'"x": ' + deep(600)),
        text(7, b'"requestParameters": {"keyId": -1e400}'),
    ]
    (tmp_path / "a.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    pretty = json.dumps(record(8), indent=2).replace('"readOnly": true', '"readOnly": 1e400')
    (tmp_path / "b.json").write_text(pretty)
    history = {
        "Events": [
            {"CloudTrailEvent": text(9, b'"userAgent": "\\ud800"').decode()},
            {"CloudTrailEvent": text(10, b'"tag": "\\udfff", "n": 1e309').decode()},
            {
                "CloudTrailEvent": text(
                    11, b'"userAgent": "\\ud800", "n": -1e400', eventName="DisableKey"
                ).decode()
            },
        ]
    }
    (tmp_path / "c.json").write_text(json.dumps(history))
    return tmp_path


def test_scan_json_reports_each_hostile_record(hostile):
    result = runner.invoke(
        app,
        [
            "scan",
            str(hostile),
            "--format",
            "json",
            "--jobs",
            "1",
            "--no-progress",
            "--fail-on",
            "none",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    records = summary["records"]
    counts = {k: records[k] for k in ("seen", "kept", "duplicate", "rejected", "out_of_window")}
    assert counts == {"seen": 12, "kept": 8, "duplicate": 0, "rejected": 4, "out_of_window": 0}
    found = {(Path(r["source"]).name, r["position"]): r["reason"] for r in summary["rejections"]}
    assert found[("a.ndjson", 4)] == OUT_OF_RANGE
    assert found[("a.ndjson", 5)] == OUT_OF_RANGE
    assert found[("a.ndjson", 6)].startswith("duplicate key: eventName at byte ")
    assert found[("a.ndjson", 7)].startswith("nested too deep: more than 512 levels at byte ")
    assert summary["time_span"]["first"].startswith("0001-01-01T00:00:00")
    # the detections' evidence is decoded again from the record text
    found = json.loads(result.stdout)["findings"]
    disabled = [f for f in found if f["event_id"] == record(11)["eventID"]]
    assert {f["rule"] for f in disabled} >= {"cis-4.7-cmk-disable-or-scheduled-deletion"}
    assert {f["user_agent"] for f in disabled} == {"\ufffd"}


def test_filter_ndjson_and_json_keep_the_records_as_written(hostile):
    args = ["filter", "{ $.eventSource = kms* }", str(hostile), "--jobs", "1", "--no-progress"]
    result = runner.invoke(app, [*args, "--format", "ndjson"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 8
    records = {
        (Path(doc["source"]).name, doc["recordIndex"]): doc for doc in map(json.loads, lines)
    }
    assert records[("b.json", 0)]["record"]["readOnly"] == math.inf  # written 1e400, kept so
    assert b'"readOnly": 1e400' in next(
        line.encode() for line in lines if '"b.json"' in line or "b.json" in line
    )
    assert records[("c.json", 0)]["record"]["userAgent"] == "\ud800"  # the escape, as written
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["recordsScanned"] == 8
    assert [e["timestamp"] for e in doc["events"]][0] == -62135596800000
    assert "1e400" in next(
        e["message"] for e in doc["events"] if e["logStreamName"].endswith("b.json")
    )


# --- the two pattern evaluators on records polars' JSON reader rejects ----------------

PATTERNS = [
    '{ $.requestParameters.keyId = "arn*" }',
    "{ $.x > 5 }",
    "{ $.x NOT EXISTS }",
    "{ $.x IS NULL }",
    "{ $.tag = * }",
    '{ $.requestParameters.encryptionContext.a = "b" }',
    '{ $.eventName = "Decrypt" && $.x NOT EXISTS }',
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_vectorized_patterns_agree_with_the_reference_on_hostile_records(pattern):
    raws = [
        text(0),
        text(1, b'"x": 1e400'),
        text(2, b'"tag": "\\ud800"'),
        text(3, b'"x": ' + deep(200)),  # beyond polars' 128 levels, within ours
        text(4, b'"x": 7'),
        text(5, b'"x": null'),
    ]
    batch, rejections = decode_chunk(raws, list(range(len(raws))), "f")
    assert not rejections
    frame = pl.DataFrame(pl.from_arrow(batch))
    parsed = parse(pattern)
    vectorized = frame.filter(parsed.to_polars())[S.RECORD_INDEX].to_list()
    reference = [
        i for i, raw in zip(frame[S.RECORD_INDEX], frame[S.RAW], strict=True) if parsed.matches(raw)
    ]
    assert vectorized == reference


def test_filter_finds_raw_path_matches_in_records_polars_cannot_parse(hostile):
    result = runner.invoke(
        app,
        [
            "filter",
            '{ $.requestParameters.encryptionContext.a = "b" }',
            str(hostile),
            "--format",
            "ndjson",
            "--jobs",
            "1",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    found = {
        (Path(d["source"]).name, d["recordIndex"])
        for d in map(json.loads, result.stdout.splitlines())
    }
    # a.ndjson 1 holds 1e400, c.json 0 and 1 lone surrogate escapes
    assert {("a.ndjson", 1), ("c.json", 0), ("c.json", 1)} <= found
