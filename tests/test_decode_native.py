"""The native engine equals the Python decoder: a file it decodes has exactly the
Python path's table (cell by cell), no rejection and the same count; any other
file is handed to the Python path. Generated records in every shape, hostile
texts, sample_logs/ and ../shared/external/, and whole runs for any --jobs."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslog.analyses.detections import DetectionsAnalysis
from kmslog.analyses.summary import SummaryAnalysis
from kmslog.decode import native
from kmslog.decode import records as R
from kmslog.decode import schema as S
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run
from kmslog.sources.local import GZIP_MAGIC, SourceError, gunzip
from tests.ingest_fixtures import KEY, SHAPES, encode, layout_path, record, write
from tests.test_decode_fast import EXTERNAL, _json, _record

# CI builds the extension and sets KMSLOG_REQUIRE_NATIVE, so there these tests
# cannot be skipped; elsewhere they skip when it is not built.
if os.environ.get("KMSLOG_REQUIRE_NATIVE") and not native.available():
    raise RuntimeError("KMSLOG_REQUIRE_NATIVE is set but kmslog._native does not import")
pytestmark = pytest.mark.skipif(not native.available(), reason="native extension not built")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
CAP = 1 << 30
COLUMN_SETS: list[frozenset[str] | None] = [
    None,
    SummaryAnalysis.columns,
    frozenset({S.KEY_IDS, S.IDENTITY_SESSION_ISSUER_ARN, S.READ_ONLY}),
    frozenset({S.NULLS_ABSENT, S.USER_AGENT, S.IDENTITY_INVOKED_BY, S.READ_ONLY}),
]


def python_side(data: bytes, columns: frozenset[str] | None) -> Any:
    """(table, rejections, seen) of the Python decoder, or the file error."""
    try:
        text = gunzip(data, CAP) if data.startswith(GZIP_MAGIC) else data
        chunks = list(R.decode_bytes(text, "f", columns))
    except SourceError as exc:
        return ("error", exc.reason)
    table = pa.Table.from_batches([c.batch for c in chunks], schema=S.SCHEMA)
    return table, [r for c in chunks for r in c.rejections], sum(c.seen for c in chunks)


def native_side(data: bytes, columns: frozenset[str] | None) -> Any:
    """The native decoder's table and count, or None when it hands the file over."""
    (result,) = native.decode_contents([(data, "f")], CAP, columns)
    if result.batch is None:
        return None
    segments = list(native.segments(result))
    batches = [s.batch for s in segments if s.batch is not None]
    return pa.Table.from_batches(batches, schema=S.SCHEMA), sum(s.seen for s in segments)


def assert_same(data: bytes, columns: frozenset[str] | None = None) -> bool:
    """Native equals Python on ``data``; True when native decoded it itself."""
    got = native_side(data, columns)
    if got is None:
        return False
    expected = python_side(data, columns)
    assert expected[0] != "error", expected
    table, rejections, seen = expected
    assert rejections == []
    assert got[1] == seen == table.num_rows
    for name in S.SCHEMA.names:
        assert got[0].column(name).equals(table.column(name)), name
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(st.one_of(_record, _record, _record, _json), min_size=1, max_size=6),
    shape=st.sampled_from(SHAPES),
    columns=st.sampled_from(COLUMN_SETS),
)
def test_generated_records_in_every_shape(records, shape, columns):
    if shape == "single":
        records = records[:1]
    assert_same(encode(records, shape), columns)


def _good(i: int) -> dict[str, Any]:
    return record(
        i,
        resources=[{"ARN": KEY}, {"ARN": "arn:aws:s3:::b"}, {"ARN": KEY + "x"}],
        requestParameters={"keyId": KEY, "targetKeyId": "alias/a", "sourceKeyId": ""},
        responseElements={"keyMetadata": {"arn": KEY}, "replicaKeyMetadata": {"arn": "r"}},
        serviceEventDetails={"keyId": "alias/a"},
        readOnly=i % 2 == 0,
        managementEvent=None,
        errorMessage='ü ☃ " \\ \n \t \u2028 😀',
    )


@pytest.mark.parametrize("shape", ["records", "records_gz", "array", "ndjson", "single"])
@pytest.mark.parametrize("columns", COLUMN_SETS, ids=["all", "summary", "some", "nulls"])
def test_common_shapes_are_decoded_natively(shape, columns):
    records = [_good(i) for i in range(1 if shape == "single" else 40)]
    assert assert_same(encode(records, shape), columns)


def _doc(records: list[Any]) -> bytes:
    return json.dumps({"Records": records}).encode()


GOOD = json.dumps(_good(1))


def _extra(value: bytes) -> bytes:
    """A Records document whose one record has an extra field ``"x": value``."""
    return b'{"Records": [' + GOOD[:-1].encode() + b', "x": ' + value + b"}]}"


HOSTILE = {
    "escaped key": _doc([]).replace(b'"Records"', b'"Recor\\u0064s"')[:-2]
    + GOOD.replace('"eventName"', '"event\\u004eame"').encode()
    + b"]}",
    "escaped values": _doc([_good(1)]).replace(b"kms.amazonaws.com", b"kms.amazon\\u0061ws.com"),
    "surrogate pair": _doc([_good(1)]).replace(b"Decrypt", b"Decrypt\\ud83d\\ude00"),
    "lone surrogate": _doc([_good(1)]).replace(b"Decrypt", b"Decrypt\\ud800"),
    "duplicate field": _doc([]).replace(b"[]", b"[" + GOOD[:-1].encode() + b',"eventName":"X"}]'),
    "duplicate Records": b'{"Records":[],"Records":[' + GOOD.encode() + b"]}",
    "deep nesting": _extra(b"[" * 3000 + b"]" * 3000),
    "nesting": _extra(b'{"a": [' * 25 + b"1" + b"]}" * 25),
    "nesting near the limit": _extra(b"[" * 61 + b"]" * 61),
    "nesting past the limit": _extra(b"[" * 62 + b"]" * 62),
    "invalid utf-8": _doc([_good(1)]).replace(b"Decrypt", b"Decr\xffpt"),
    "bom": b"\xef\xbb\xbf" + _doc([_good(1)]),
    "control char": _doc([_good(1)]).replace(b"Decrypt", b"Dec\x01rypt"),
    "big number": _extra(b"1" + b"0" * 40),
    "float": _extra(b"-1.5e-300"),
    "number where string": _doc([_good(1) | {"eventName": 5}]),
    "string where object": _doc([_good(1) | {"userIdentity": "root"}]),
    "resource not an object": _doc([_good(1) | {"resources": ["x"]}]),
    "no eventTime": _doc([{k: v for k, v in _good(1).items() if k != "eventTime"}]),
    "odd eventTime": _doc([_good(1) | {"eventTime": "2024-05-01T10:00:00.123Z"}]),
    "invalid date": _doc([_good(1) | {"eventTime": "2023-02-29T10:00:00Z"}]),
    "not an object": _doc([_good(1), 7]),
    "eventbridge in array": json.dumps([{"detail-type": "x", "detail": _good(1)}]).encode(),
    "event history": json.dumps({"Events": [{"CloudTrailEvent": GOOD}]}).encode(),
    "trailing garbage": _doc([_good(1)]) + b"x",
    "ndjson bad line": (GOOD + "\n{oops\n" + GOOD + "\n").encode(),
    "ndjson scalar line": (GOOD + "\n7\n" + GOOD + "\n").encode(),
    "ndjson crlf": (GOOD + "\r\n\r\n  " + GOOD + " \r\n").encode(),
    "gzip members and padding": gzip.compress(_doc([_good(1)])[:10])
    + gzip.compress(_doc([_good(1)])[10:])
    + b"\0" * 9,
    "gzip truncated": gzip.compress(_doc([_good(1)]))[:-6],
    "gzip garbage": gzip.compress(_doc([_good(1)])) + b"junk",
    "empty": b"",
    "blank": b" \n\t ",
    "empty Records": b'{"Records": []}',
    "Records not a list": b'{"Records": {}}',
    "scalar file": b"42",
    "whitespace everywhere": b' \n{ "Records" : [ \n'
    + GOOD.replace(": ", " :\t").replace(", ", " ,\n").encode()
    + b" ] , "
    b'"x" : [ {"a" : 1} ] } \n',
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_fall_back_or_equal(name):
    assert_same(HOSTILE[name])


def test_unusual_input_is_handed_over_not_decoded():
    # Each of these must reach the Python path (its rejections, errors or exact
    # cells); decoding them natively would need rules this engine does not have.
    for name in [
        "lone surrogate",
        "duplicate field",
        "duplicate Records",
        "deep nesting",
        "nesting past the limit",
        "invalid utf-8",
        "bom",
        "control char",
        "number where string",
        "string where object",
        "no eventTime",
        "odd eventTime",
        "not an object",
        "eventbridge in array",
        "event history",
        "gzip truncated",
        "gzip garbage",
        "empty",
    ]:
        assert native_side(HOSTILE[name], None) is None, name


def test_whitespace_escapes_and_gzip_members_are_native():
    for name in [
        "escaped key",
        "escaped values",
        "nesting",
        "nesting near the limit",
        "float",
        "surrogate pair",
        "ndjson crlf",
        "gzip members and padding",
        "empty Records",
        "whitespace everywhere",
    ]:
        assert assert_same(HOSTILE[name]), name


def test_size_cap_is_enforced_while_inflating():
    data = gzip.compress(_doc([_good(i) for i in range(200)]))
    size = len(gzip.decompress(data))
    (over,) = native.decode_contents([(data, "f")], size - 1)
    assert over.batch is None
    (exact,) = native.decode_contents([(data, "f")], size)
    assert exact.batch is not None and exact.batch.num_rows == 200


def test_sample_logs_decode_natively_as_python():
    paths = sorted(str(p) for p in SAMPLE.rglob("*.gz"))
    native_files = 0
    for i in range(0, len(paths), 300):
        chunk = paths[i : i + 300]
        for result in native.decode_files(chunk, CAP):
            if result.batch is None:
                continue
            native_files += 1
            table = pa.Table.from_batches(
                [c.batch for c in R.read_file(result.source, CAP)], schema=S.SCHEMA
            )
            assert pa.Table.from_batches([result.batch]).equals(table), result.source
    assert native_files > 0.99 * len(paths)


def test_external_records_decode_natively_as_python():
    if not EXTERNAL.is_dir():
        pytest.skip("../shared/external is not present")
    files = sorted(EXTERNAL.rglob("*.json"))
    assert files
    decoded = sum(assert_same(path.read_bytes()) for path in files)
    assert decoded > 0


def _mixed_tree(root: Path) -> Path:
    for n in range(6):
        recs = [_good(n * 50 + i) for i in range(50)]
        write(
            layout_path(root, stamp=f"20240501T10{n:02d}Z", unique=f"u{n}"),
            encode(recs, "records_gz"),
        )
    # A duplicate of an earlier file's records, and files only Python reads.
    write(layout_path(root, stamp="20240501T1010Z", unique="dup"), encode([_good(3)], "records"))
    write(root / "extra" / "hostile.json", HOSTILE["not an object"])
    write(root / "extra" / "lines.ndjson", HOSTILE["ndjson bad line"])
    write(root / "extra" / "history.json", HOSTILE["event history"])
    write(root / "extra" / "broken.json.gz", HOSTILE["gzip truncated"])
    return root


def _outcome(result: Any) -> Any:
    return result.stats, json.dumps(result.results, default=str, sort_keys=True)


@pytest.mark.parametrize("jobs", [1, 2, None], ids=["jobs1", "jobs2", "default"])
def test_runs_equal_for_both_engines_and_any_jobs(tmp_path, jobs):
    root = _mixed_tree(tmp_path)
    analyses = [SummaryAnalysis(), DetectionsAnalysis()]
    reference = _outcome(run([str(root)], analyses, ScanOptions(jobs=1, engine="python")))
    got = _outcome(run([str(root)], analyses, ScanOptions(jobs=jobs, engine="native")))
    assert got == reference
    assert reference[0].records_duplicate >= 1 and reference[0].records_rejected > 0
    python_parallel = _outcome(run([str(root)], analyses, ScanOptions(jobs=jobs, engine="python")))
    assert python_parallel == reference


def test_engine_choice(monkeypatch):
    monkeypatch.delenv(native.ENGINE_ENV, raising=False)
    assert native.resolve_engine(None) == "native"
    monkeypatch.setenv(native.ENGINE_ENV, "python")
    assert native.resolve_engine(None) == "python"
    assert native.resolve_engine("native") == "native"
    with pytest.raises(ValueError):
        native.resolve_engine("fast")


def test_spec_comes_from_the_schema():
    spec = native.column_spec(None)
    built = [n for n in S.SCHEMA.names if n not in native.PYTHON_ONLY]
    assert [name for name, _, _ in spec] == built
    paths = {name: tuple(path) for name, _, path in spec if path}
    assert paths == S.COLUMN_PATHS
    assert {path: column for column, path in paths.items() if column != S.EVENT_TIME} == (
        S.SELECTOR_COLUMNS
    )


def test_big_documents_are_parsed_in_pieces_exactly():
    # Above 8 MiB the Records array is parsed a piece at a time, cut between
    # records; a cut inside a record (a nested object starting with
    # "eventVersion") would leave a piece that is not whole values.
    records = [_good(i) for i in range(7000)]
    records[3001]["requestParameters"] = {"x": [{"a": 1}, {"eventVersion": "1", "b": [2]}]}
    records[5002]["errorMessage"] = '},{"eventVersion":'
    data = gzip.compress(json.dumps({"Records": records}, separators=(",", ":")).encode())
    assert len(gzip.decompress(data)) > 8 * 1024 * 1024
    assert assert_same(data) or native_side(data, None) is None
    plain = [_good(i) for i in range(7000)]
    assert assert_same(json.dumps({"Records": plain}, separators=(",", ":")).encode())
    assert assert_same(json.dumps({"Records": plain}, indent=1).encode())


@pytest.mark.parametrize("key", ["eventName", "eventSource", "awsRegion", "userIdentity"])
@pytest.mark.parametrize("columns", COLUMN_SETS, ids=["all", "summary", "some", "nulls"])
def test_a_repeated_meaningful_key_is_seen_whatever_the_projection(key, columns):
    # The Python path rejects such a record whatever the columns asked for; the
    # native decoder must not keep it because the key's column is not built.
    value = b'{"arn": "b"}' if key == "userIdentity" else b'"other"'
    text = GOOD[:-1].encode() + b', "' + key.encode() + b'": ' + value + b"}"
    data = b'{"Records": [' + GOOD.encode() + b", " + text + b"]}"
    assert native_side(data, columns) is None
    _, rejections, _ = python_side(data, columns)
    assert [r.reason.split(" at ")[0] for r in rejections] == [f"duplicate key: {key}"]
