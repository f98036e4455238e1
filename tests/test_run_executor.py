import json
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl
import pytest

from kmslog.analyses.summary import SummaryAnalysis
from kmslog.decode import schema as S
from kmslog.run import executor
from kmslog.run.api import ScanOptions
from kmslog.run.executor import NoInputError, StrictError, run
from tests.ingest_fixtures import encode, layout_path, record, write, write_trail


@dataclass(frozen=True)
class Rows:
    """Collects (source, record_index, event_id) of every row it is fed."""

    name: str = "rows"

    def start(self) -> list[tuple[str, int, str | None]]:
        return []

    def update(self, state, frame: pl.DataFrame):
        return state + list(
            zip(frame[S.SOURCE], frame[S.RECORD_INDEX], frame[S.EVENT_ID], strict=True)
        )

    def combine(self, a, b):
        return a + b

    def finish(self, state):
        return state


def _reconciles(stats) -> bool:
    return stats.records_seen == (
        stats.records_kept
        + stats.records_duplicate
        + stats.records_rejected
        + stats.records_out_of_window
    )


def _corpus(tmp_path):
    a = [record(i) for i in range(6)]
    b = [record(i + 100) for i in range(4)] + [a[2], a[2], record(5, recipientAccountId="x")]
    c = [record(200, eventID=None), record(200, eventID=None), {"eventTime": "nope"}, 7]
    write_trail(layout_path(tmp_path, stamp="20240501T1000Z", unique="A" * 16), a)
    write_trail(layout_path(tmp_path, stamp="20240501T1100Z", unique="B" * 16), b)
    write(tmp_path / "extra" / "c.ndjson", encode(c, "ndjson"))
    write(tmp_path / "extra" / "broken.json.gz", b"\x1f\x8b\x08\x00" + b"x" * 30)
    return tmp_path


def test_totals_reconcile_and_duplicates_are_dropped_across_files(tmp_path):
    root = _corpus(tmp_path)
    result = run([str(root)], [Rows(), SummaryAnalysis()], ScanOptions(jobs=1))
    stats = result.stats
    assert (stats.files_read, stats.files_failed) == (3, 1)
    assert stats.records_seen == 6 + 7 + 4
    # a[2] twice more in file b; record(5) under another recipient account is not a duplicate.
    assert stats.records_duplicate == 2
    assert stats.records_rejected == 2
    assert _reconciles(stats)
    ids = [r[2] for r in result.results["rows"]]
    assert ids.count("evt-000002") == 1
    assert ids.count("evt-000005") == 2
    assert ids.count(None) == 2  # no eventID: never a duplicate
    assert result.results["summary"].records == stats.records_kept
    reasons = {r.reason.split(":")[0] for r in stats.rejections}
    assert {"record has no usable eventTime", "record is not a JSON object"} <= reasons
    assert any(r.source.endswith("broken.json.gz") for r in stats.rejections)
    late = [r for r in stats.rejections if r.source.endswith("c.ndjson")]
    assert [(r.position, r.position_kind) for r in late] == [(3, "line"), (4, "line")]


@pytest.mark.parametrize("group_bytes", [1, 1 << 20])
def test_parallel_equals_serial(tmp_path, monkeypatch, group_bytes):
    # group_bytes=1: one file per task, so duplicates cross tasks and the
    # overlapping ones are re-read; 1 MiB: every file in one shared batch.
    monkeypatch.setattr(executor, "GROUP_BYTES", group_bytes)
    monkeypatch.setattr(executor, "NATIVE_GROUP_BYTES", group_bytes)
    root = _corpus(tmp_path)
    for i in range(6):
        extra = [record(1000 * (i + 1) + j) for j in range(50)] + [record(3)]
        write_trail(layout_path(root, stamp=f"20240502T0{i}00Z", unique=f"{i}" * 16), extra)
    serial = run([str(root)], [Rows(), SummaryAnalysis()], ScanOptions(jobs=1))
    parallel = run([str(root)], [Rows(), SummaryAnalysis()], ScanOptions(jobs=2))
    assert serial.results == parallel.results
    assert serial.stats == parallel.stats
    assert serial.stats.records_duplicate == 2 + 6


def test_window_and_account_selection_counted_as_out_of_window(tmp_path):
    root = _corpus(tmp_path)
    options = ScanOptions(
        jobs=1,
        since=datetime(2024, 5, 1, 10, 0, 3, tzinfo=UTC),
        until=datetime(2024, 5, 1, 10, 1, 41, tzinfo=UTC),
    )
    result = run([str(root)], [Rows()], options)
    kept = sorted(r[2] for r in result.results["rows"])
    assert kept == [
        "evt-000003",
        "evt-000004",
        "evt-000005",
        "evt-000005",
        "evt-000100",
        "evt-000101",
    ]
    assert _reconciles(result.stats)
    assert result.stats.records_out_of_window > 0
    accounts = run([str(root)], [Rows()], ScanOptions(jobs=1, accounts=frozenset({"x"})))
    # Both layout files are delivered to another account: pruned unopened. The loose
    # NDJSON file is read and its rows (all for 111122223333 or none) filtered out.
    assert accounts.results["rows"] == []
    assert accounts.stats.files_pruned == 2
    assert accounts.stats.records_out_of_window == 2
    assert _reconciles(accounts.stats)


def test_strict_stops_at_first_problem_in_file_order(tmp_path):
    root = _corpus(tmp_path)
    with pytest.raises(StrictError, match=r"c\.ndjson \(line 3\): record has no usable eventTime"):
        run([str(root / "extra" / "c.ndjson")], [Rows()], ScanOptions(jobs=1, strict=True))
    with pytest.raises(StrictError, match="broken.json.gz"):
        run([str(root)], [Rows()], ScanOptions(jobs=2, strict=True))


def test_no_input(tmp_path):
    with pytest.raises(NoInputError, match="no such file"):
        run([str(tmp_path / "nope")], [Rows()], ScanOptions())
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoInputError, match="no input files"):
        run([str(tmp_path / "empty")], [Rows()], ScanOptions())
    write(tmp_path / "docs" / "README.md", b"notes")
    with pytest.raises(NoInputError, match=r"\(1 skipped"):
        run([str(tmp_path / "docs")], [Rows()], ScanOptions())


def test_rows_keep_provenance(tmp_path):
    path = write(tmp_path / "one.json", json.dumps({"Records": [record(1), record(2)]}).encode())
    result = run([str(path)], [Rows()], ScanOptions(jobs=1))
    assert result.results["rows"] == [
        (str(path), 0, "evt-000001"),
        (str(path), 1, "evt-000002"),
    ]


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_reaches_the_totals(tmp_path, jobs):
    root = _corpus(tmp_path)
    calls: list[tuple[int, int, int, int]] = []
    run([str(root)], [Rows()], ScanOptions(jobs=jobs), progress=lambda *a: calls.append(a))
    files, total_bytes = calls[-1][1], calls[-1][3]
    assert calls[0] == (0, files, 0, total_bytes)
    assert calls[-1] == (files, files, total_bytes, total_bytes)
    assert files == 4


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_with_records_counts_them_up_to_the_total(tmp_path, jobs):
    root = _corpus(tmp_path)
    calls: list[tuple[int, int, int, int, int]] = []

    def progress(files_done, files_total, bytes_done, bytes_total, records=0):
        calls.append((files_done, files_total, bytes_done, bytes_total, records))

    result = run([str(root)], [Rows()], ScanOptions(jobs=jobs), progress=progress)
    assert calls[0][0] == 0 and calls[0][4] == 0
    records = [c[4] for c in calls]
    assert records == sorted(records)
    assert records[-1] == result.stats.records_seen > 0
    assert calls[-1][:4] == (4, 4, calls[-1][3], calls[-1][3])
