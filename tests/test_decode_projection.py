"""Column projection: decoding only the columns the analyses read gives the same
cells in those columns as the full decode, all nulls elsewhere, the same
rejections, and the same results end to end."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kmslog.analyses.detections import DetectionsAnalysis
from kmslog.analyses.filtering import FilterAnalysis
from kmslog.analyses.summary import SummaryAnalysis
from kmslog.cli import app
from kmslog.decode import jsontext
from kmslog.decode import records as R
from kmslog.decode import schema as S
from kmslog.decode.flatten import nulls_absent
from kmslog.patterns import parse
from kmslog.run import worker
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run
from tests.ingest_fixtures import KEY, SHAPES, encode, layout_path, record, write, write_trail
from tests.test_decode_fast import VARIED, _external_records, _hostile_text, _json, _record

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"

# Records that take every path: typed fast decode, the reference path (a field
# of an unexpected type), rejections (no usable eventTime, not an object, bad JSON).
ODD: list[Any] = [
    record(0),
    record(1, userIdentity=None, resources=None, requestParameters=None),
    record(2, userIdentity={"type": 7, "arn": ["x"]}, readOnly="yes"),
    record(3, eventName=12, errorCode="AccessDenied", errorMessage="no"),
    record(4, eventTime="2024-05-01 10:00:04"),
    record(5, eventTime="not a time"),
    record(6, responseElements={"keyMetadata": {"arn": KEY}}, serviceEventDetails={"keyId": "k"}),
    record(7, userIdentity={"sessionContext": {"sessionIssuer": None}}),
    record(8, resources="not a list", recipientAccountId=5),
    7,
    record(9, eventSource=None, userAgent="ü ☃"),
]

COLUMN_SETS = [
    frozenset(),
    frozenset({S.EVENT_NAME}),
    SummaryAnalysis.columns,
    frozenset({S.KEY_IDS, S.IDENTITY_ARN}),
    frozenset({S.IDENTITY_SESSION_ISSUER_ARN, S.READ_ONLY, S.USER_AGENT}),
    frozenset(S.SCHEMA.names) - {S.KEY_IDS},
    frozenset({S.NULLS_ABSENT, S.USER_AGENT, S.IDENTITY_ARN, S.READ_ONLY}),
]


def _texts(records: list[Any]) -> list[bytes]:
    return [orjson.dumps(r) for r in records]


def _check_projection(full: pa.RecordBatch, part: pa.RecordBatch, columns: frozenset[str]) -> None:
    assert part.schema == full.schema == S.SCHEMA
    assert part.num_rows == full.num_rows
    built = R.ALWAYS | columns
    for name in S.SCHEMA.names:
        if name == S.NULLS_ABSENT and name in built:
            # Speaks of the columns read, so it is checked against the reference.
            scope = R.null_scope(R.normalize(columns))
            expected = [
                nulls_absent(jsontext.loads_record(raw.encode()), scope)
                for raw in part.column(S.RAW).to_pylist()
            ]
            assert part.column(name).to_pylist() == expected
        elif name in built:
            assert part.column(name).equals(full.column(name)), name
        else:
            assert part.column(name).null_count == part.num_rows, name


@pytest.mark.parametrize("columns", COLUMN_SETS, ids=lambda c: ",".join(sorted(c)) or "none")
@pytest.mark.parametrize("mixed", [False, True], ids=["typed", "with-odd-records"])
def test_projected_cells_equal_the_full_decode(columns, mixed):
    records = ODD if mixed else [record(i) for i in range(20)] + [ODD[1], ODD[6], ODD[7]]
    raws = _texts(records) + ([b'{"eventTime": '] if mixed else [])
    indexes = list(range(len(raws)))
    full, full_rejected = R.decode_chunk(raws, indexes, "f")
    part, part_rejected = R.decode_chunk(raws, indexes, "f", columns=columns)
    _check_projection(full, part, columns)
    assert part_rejected == full_rejected
    if mixed:
        assert len(full_rejected) == 3  # no usable eventTime, not an object, bad JSON


@pytest.mark.parametrize("columns", COLUMN_SETS[1:4], ids=["name", "summary", "keys"])
def test_assembled_segments_of_many_files(columns):
    files = [
        encode([record(10 * f + i) for i in range(5)] + ([ODD[2]] if f == 1 else []), "records")
        for f in range(3)
    ]

    def batch(cols: frozenset[str] | None) -> pa.RecordBatch:
        assembler = R.Assembler(cols)
        for f, data in enumerate(files):
            for segment in R.segments(data, f"f{f}", cols):
                assembler.add(segment)
        out, late = assembler.take()
        assert late == []
        return out

    _check_projection(batch(None), batch(columns), columns)


def _whole(data: bytes, columns: frozenset[str] | None) -> tuple[pa.Table, list[Any]]:
    chunks = list(R.decode_bytes(data, "mem", columns))
    table = pa.Table.from_batches([c.batch for c in chunks], schema=S.SCHEMA)
    return table, [(c.seen, c.rejections) for c in chunks]


def _same_but_projected(data: bytes, columns: frozenset[str]) -> None:
    full, full_counts = _whole(data, None)
    part, part_counts = _whole(data, columns)
    assert part_counts == full_counts
    batch = full.combine_chunks().to_batches()
    if batch:
        _check_projection(batch[0], part.combine_chunks().to_batches()[0], columns)
    else:
        assert part.num_rows == 0


_columns = st.sets(st.sampled_from(S.SCHEMA.names)).map(frozenset)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    records=st.lists(st.one_of(_record, _record, _record, _json), min_size=1, max_size=6),
    shape=st.sampled_from([s for s in SHAPES if s not in ("single", "records_gz")]),
    columns=_columns,
)
def test_any_records_projected_read_back_as_full(records, shape, columns):
    _same_but_projected(encode(records, shape), columns)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raws=st.lists(_hostile_text, min_size=1, max_size=5), columns=_columns)
def test_hostile_texts_projected_read_back_as_full(raws, columns):
    indexes = list(range(len(raws)))
    full, full_rejected = R.decode_chunk(raws, indexes, "h")
    part, part_rejected = R.decode_chunk(raws, indexes, "h", columns=R.normalize(columns))
    assert part_rejected == full_rejected
    _check_projection(full, part, columns)


@pytest.mark.parametrize("columns", COLUMN_SETS, ids=lambda c: ",".join(sorted(c)) or "none")
def test_projection_on_varied_and_external_records(columns):
    _same_but_projected(encode(VARIED, "records"), columns)
    try:
        external = _external_records()
    except pytest.skip.Exception:
        return
    _same_but_projected(encode(external, "records"), columns)


def test_normalize():
    assert R.normalize(None) is None
    assert R.normalize(S.SCHEMA.names) is None
    assert R.normalize([S.EVENT_NAME]) == R.ALWAYS | {S.EVENT_NAME}
    with pytest.raises(ValueError, match="nope"):
        R.normalize(["nope"])


@dataclass(frozen=True)
class Everything(SummaryAnalysis):
    """The summary without a column declaration: makes the runner decode all."""

    columns = None  # type: ignore[assignment]
    name: str = "everything"


@dataclass(frozen=True)
class Names:
    name: str = "names"
    columns = frozenset({S.EVENT_NAME})

    def start(self) -> list[str | None]:
        return []

    def update(self, state: list[str | None], frame: Any) -> list[str | None]:
        # Columns it did not declare arrive all null.
        assert frame[S.USER_AGENT].null_count() == frame.height
        return state + frame[S.EVENT_NAME].to_list()

    def combine(self, a: list[str | None], b: list[str | None]) -> list[str | None]:
        return a + b

    def finish(self, state: list[str | None]) -> list[str | None]:
        return state


def test_needed_columns():
    assert worker.needed_columns((SummaryAnalysis(), Everything())) is None
    assert worker.needed_columns(()) == R.normalize(worker.SELECTION_COLUMNS | {S.EVENT_ID})
    assert worker.needed_columns((Names(),)) == R.normalize(
        {S.EVENT_NAME, S.EVENT_ID, S.RECIPIENT_ACCOUNT_ID, S.AWS_REGION}
    )


def test_run_with_projection_equals_the_full_decode(tmp_path):
    a = [record(i) for i in range(6)] + [{**ODD[2], "eventID": "o2"}, {**ODD[3], "eventID": "o3"}]
    b = [record(i + 100) for i in range(4)] + [a[2], a[2], record(5, recipientAccountId="x")]
    c = [record(200, eventID=None), record(200, eventID=None), {"eventTime": "nope"}, 7]
    write_trail(layout_path(tmp_path, stamp="20240501T1000Z", unique="A" * 16), a)
    write_trail(layout_path(tmp_path, stamp="20240501T1100Z", unique="B" * 16), b)
    write(tmp_path / "extra" / "c.ndjson", encode(c, "ndjson"))
    since = datetime(2024, 5, 1, 10, 0, 3, tzinfo=UTC)
    for options in [ScanOptions(jobs=1), ScanOptions(jobs=1, since=since)]:
        projected = run([str(tmp_path)], [SummaryAnalysis()], options)
        full = run([str(tmp_path)], [Everything()], options)
        assert projected.stats == full.stats
        assert projected.results["summary"] == full.results["everything"]
        assert projected.stats.records_duplicate == (2 if options.since is None else 0)
        names = run([str(tmp_path)], [Names()], options)
        assert names.stats == full.stats
        assert len(names.results["names"]) == full.stats.records_kept
        assert names.results["names"].count(12) == 0  # a number is no string: null
        assert None in names.results["names"]


def test_declared_columns_of_expression_analyses():
    detections = DetectionsAnalysis().columns
    assert detections is not None
    assert {S.EVENT_NAME, S.ERROR_MESSAGE, S.RAW} <= detections  # evidence: re-decoded
    assert S.MANAGEMENT_EVENT not in detections
    text = FilterAnalysis(parse('{ $.readOnly IS FALSE && $.eventName = "Decrypt" }')).columns
    assert text is not None and {S.READ_ONLY, S.EVENT_NAME, S.RAW} <= text
    assert S.USER_AGENT not in text


PATTERNS = [
    '{ $.eventSource = kms* && $.errorMessage = "* is pending deletion." }',
    '{ $.requestParameters.encryptionContext.a = "b" }',
    '{ $.userIdentity.type = "AssumedRole" && $.readOnly IS TRUE }',
    "{ $.eventName = 12 || $.recipientAccountId = 5 }",
    "Decrypt",
    '"aws-cli"',
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_filter_with_projection_equals_the_full_decode(tmp_path, monkeypatch, pattern):
    records = [record(i) for i in range(5)] + [
        {**r, "eventID": f"o{i}"} for i, r in enumerate(ODD) if isinstance(r, dict)
    ]
    write_trail(layout_path(tmp_path), records)
    analysis = FilterAnalysis(parse(pattern))
    assert analysis.columns is not None
    projected = run([str(tmp_path)], [analysis], ScanOptions(jobs=1))
    monkeypatch.setattr(worker, "needed_columns", lambda analyses: None)
    full = run([str(tmp_path)], [analysis], ScanOptions(jobs=1))
    assert projected.stats == full.stats
    assert projected.results["filter"].matches.equals(full.results["filter"].matches)
    assert projected.results["filter"].scanned == full.results["filter"].scanned


def test_parallel_projected_run_equals_serial_full(tmp_path):
    for f in range(4):
        records = [record(100 * f + i) for i in range(30)] + [{**ODD[2], "eventID": f"o{f}"}]
        write_trail(layout_path(tmp_path, stamp=f"20240501T10{f}0Z", unique=f"{f}" * 16), records)
    parallel = run([str(tmp_path)], [SummaryAnalysis()], ScanOptions(jobs=2))
    serial = run([str(tmp_path)], [Everything()], ScanOptions(jobs=1))
    assert parallel.stats == serial.stats
    assert parallel.results["summary"] == serial.results["everything"]


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")
def test_scan_output_unchanged_by_projection(monkeypatch):
    built: list[frozenset[str] | None] = []
    needed = worker.needed_columns

    def spy(analyses: Any) -> frozenset[str] | None:
        built.append(needed(analyses))
        return built[-1]

    def scan() -> dict[str, Any]:
        out = CliRunner().invoke(
            app, ["scan", "--no-progress", "--jobs", "1", "--format", "json", str(SAMPLE)]
        )
        assert out.exit_code in (0, 1), out.output
        return json.loads(out.stdout)

    monkeypatch.setattr(worker, "needed_columns", spy)
    projected = scan()
    # (managementEvent is read: the EventBridge replay tells data events by it.)
    assert built and all(c is not None and S.VPC_ENDPOINT_ID not in c for c in built)
    monkeypatch.setattr(worker, "needed_columns", lambda analyses: None)
    assert scan() == projected
