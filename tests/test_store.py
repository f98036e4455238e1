"""The Parquet store: incremental ingest, dedup across runs, crash leftovers,
hostile partition values, and reads through --store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.decode import schema as S
from kmslog.store import layout
from kmslog.store.manifest import load
from tests.ingest_fixtures import ACCOUNT, layout_path, record, write, write_trail

runner = CliRunner()


def ingest(*args: str):
    result = runner.invoke(app, ["ingest", "--no-progress", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def scan(*args: str) -> dict:
    result = runner.invoke(
        app, ["scan", "--no-progress", "--fail-on", "none", "--format", "json", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def stored_rows(store: Path) -> list[dict]:
    rows: list[dict] = []
    for f in load(str(store), must_exist=True).files:
        rows += pq.read_table(store / "data" / f.path).to_pylist()
    return rows


def trail_file(root: Path, unique: str, records: list[dict], stamp: str = "20240501T1005Z"):
    return write_trail(layout_path(root, unique=unique, stamp=stamp), records)


def test_second_ingest_adds_nothing_then_only_new_files(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    trail_file(logs, "A" * 16, [record(i) for i in range(5)])
    first = ingest(str(logs), "--store", str(store))
    assert first["sources"]["ingested"] == 1
    assert first["records"]["added"] == 5
    again = ingest(str(logs), "--store", str(store))
    assert again["sources"] == {"seen": 1, "unchanged": 1, "ingested": 0, "failed": 0}
    assert again["records"]["added"] == 0
    assert load(str(store), must_exist=True).rows == 5

    # A new file holding two stored records again (CloudTrail redelivers) and three new.
    trail_file(logs, "B" * 16, [record(3), record(4), *(record(i) for i in range(5, 8))])
    third = ingest(str(logs), "--store", str(store))
    assert third["sources"]["ingested"] == 1
    assert third["sources"]["unchanged"] == 1
    assert third["records"] == {
        "seen": 5,
        "added": 3,
        "duplicate": 2,
        "rejected": 0,
        "event_id_conflict": 0,
    }
    rows = stored_rows(store)
    assert sorted(r["event_id"] for r in rows) == [f"evt-{i:06d}" for i in range(8)]
    assert scan("--store", str(store))["summary"]["records"]["kept"] == 8


def test_other_content_under_a_stored_event_id_is_kept_as_a_conflict(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    trail_file(logs, "A" * 16, [record(1)])
    ingest(str(logs), "--store", str(store))
    trail_file(logs, "B" * 16, [record(1, sourceIPAddress="198.51.100.9")])
    out = ingest(str(logs), "--store", str(store))
    assert out["records"]["added"] == 1
    assert out["records"]["event_id_conflict"] == 1
    summary = scan("--store", str(store))["summary"]
    assert summary["records"]["kept"] == 2
    assert summary["records"]["event_id_conflict"] == 1


def test_changed_file_is_read_again_and_adds_only_its_new_records(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    path = trail_file(logs, "A" * 16, [record(i) for i in range(3)])
    ingest(str(logs), "--store", str(store))
    trail_file(logs, "A" * 16, [record(i) for i in range(5)])
    os.utime(path, ns=(1, 1))  # a new mtime whatever the clock's resolution
    out = ingest(str(logs), "--store", str(store))
    assert out["sources"]["ingested"] == 1
    assert out["records"] == {
        "seen": 5,
        "added": 2,
        "duplicate": 3,
        "rejected": 0,
        "event_id_conflict": 0,
    }


def test_store_totals_reconcile_as_the_logs_do(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    trail_file(logs, "A" * 16, [record(0), record(1), record(1), {"eventTime": "later"}])
    write(logs / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/d.json.gz", b"x")
    ingest(str(logs), "--store", str(store))
    from_logs = scan(str(logs), "--jobs", "1")["summary"]
    from_store = scan("--store", str(store), "--jobs", "1")["summary"]
    assert from_store["records"] == from_logs["records"]
    assert from_store["records"]["duplicate"] == 1
    assert from_store["records"]["rejected"] == 1
    assert from_store["files"] == from_logs["files"]
    assert from_store["rejections"] == from_logs["rejections"]
    # The store as a PATH is the same source as --store.
    assert scan(f"store://{store}", "--jobs", "1")["summary"] == from_store


def test_partition_pruning_by_name_keeps_the_answer(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    trail_file(logs, "A" * 16, [record(i) for i in range(3)])
    other = [
        record(10 + i, awsRegion="eu-west-1", eventTime="2024-05-03T10:00:00Z") for i in range(2)
    ]
    write_trail(layout_path(logs, region="eu-west-1", stamp="20240503T1005Z"), other)
    ingest(str(logs), "--store", str(store))
    names = {os.path.dirname(f.path) for f in load(str(store), must_exist=True).files}
    assert names == {
        f"account={ACCOUNT}/region=us-east-1/date=2024-05-01",
        f"account={ACCOUNT}/region=eu-west-1/date=2024-05-03",
    }
    for selection in (
        ["--region", "eu-west-1"],
        ["--since", "2024-05-02"],
        ["--until", "2024-05-01"],
        ["--account", "999999999999"],
    ):
        a = scan(str(logs), *selection)["summary"]
        b = scan("--store", str(store), *selection)["summary"]
        assert b["records"]["kept"] == a["records"]["kept"], selection
        assert b["kms_events"] == a["kms_events"], selection
    assert scan("--store", str(store), "--region", "eu-west-1")["summary"]["records"]["seen"] == 2


def test_hostile_partition_values_stay_inside_the_store(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    hostile = ["../../escape", "a/b", "%2e%2e", "x" * 300, ""]
    path = logs / "odd.json"
    write(
        path,
        json.dumps(
            {
                "Records": [
                    record(i, awsRegion=r, recipientAccountId=r) for i, r in enumerate(hostile)
                ]
            }
        ).encode(),
    )
    ingest(str(path), "--store", str(store))
    for f in load(str(store), must_exist=True).files:
        full = (store / "data" / f.path).resolve()
        assert str(full).startswith(str((store / "data").resolve()) + os.sep)
        assert len(full.parent.parent.name) <= len("region=") + layout.MAX_VALUE
    assert not (tmp_path / "escape").exists()
    for value in hostile[:4]:
        got = scan("--store", str(store), "--region", value)["summary"]["records"]["kept"]
        assert got == 1, value


def test_readers_ignore_and_ingest_removes_what_a_crash_left(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    trail_file(logs, "A" * 16, [record(i) for i in range(3)])
    ingest(str(logs), "--store", str(store))
    committed = load(str(store), must_exist=True).files[0]
    # A data file renamed into place by a run that died before its manifest commit.
    orphan = store / "data" / os.path.dirname(committed.path) / "part-000009-0.parquet"
    orphan.write_bytes((store / "data" / committed.path).read_bytes())
    (store / "tmp" / "000009").mkdir(parents=True)
    assert scan("--store", str(store))["summary"]["records"]["kept"] == 3
    trail_file(logs, "B" * 16, [record(7)])
    ingest(str(logs), "--store", str(store))
    assert not orphan.exists()
    assert not (store / "tmp").exists()
    assert scan("--store", str(store))["summary"]["records"]["kept"] == 4


def test_failed_source_is_not_recorded_and_is_tried_again(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    bad = write(layout_path(logs, unique="C" * 16), b"\x1f\x8b\x08\x00broken")
    trail_file(logs, "A" * 16, [record(1)])
    result = runner.invoke(
        app, ["ingest", "--no-progress", "--format", "json", str(logs), "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["sources"]["failed"] == 1
    assert str(bad) not in load(str(store), must_exist=True).sources
    write_trail(bad, [record(2)])
    assert ingest(str(logs), "--store", str(store))["records"]["added"] == 1


def test_not_a_store_is_a_usage_error_naming_it(tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["scan", "--no-progress", "--store", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert "not a kmslog store" in result.output
    result = runner.invoke(app, ["scan", "--no-progress"])
    assert result.exit_code == 2
    assert "--store" in result.output


def test_ingest_of_a_store_or_of_nothing_is_a_usage_error(tmp_path):
    for source in (f"store://{tmp_path}", str(tmp_path), str(tmp_path / "missing")):
        result = runner.invoke(
            app, ["ingest", source, "--store", str(tmp_path / "s"), "--no-progress"]
        )
        assert result.exit_code == 2, source
        assert "error:" in result.output


@pytest.mark.parametrize("value", [None, "", "us-east-1", "a/b", "../x", "é"])
def test_encode_is_a_safe_file_name(value):
    name = layout.encode(value)
    assert "/" not in name and name not in (".", "..")
    assert len(name) <= layout.MAX_VALUE
    assert set(name) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-%")


def test_hashes_of_another_polars_are_made_again(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    trail_file(logs, "A" * 16, [record(i) for i in range(3)])
    ingest(str(logs), "--store", str(store))
    manifest = store / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["hash_engine"] = "polars 0.0.0"
    old = doc["hashes"]
    # Saved hashes that match nothing: only hashes made again can catch the copies.
    for name in old:
        np.savez(
            store / name, keys=np.arange(3, dtype=np.uint64), contents=np.arange(3, dtype=np.uint64)
        )
    manifest.write_text(json.dumps(doc))
    trail_file(logs, "B" * 16, [record(1), record(2), record(9)])
    out = ingest(str(logs), "--store", str(store))
    assert out["records"]["added"] == 1
    assert out["records"]["duplicate"] == 2
    doc = json.loads(manifest.read_text())
    assert doc["hash_engine"].startswith("polars ") and doc["hash_engine"] != "polars 0.0.0"
    assert doc["hashes"] == ["hashes/000002.npz"]
    # The next ingest uses the saved hashes again and still knows every record.
    trail_file(logs, "C" * 16, [record(0), record(9)])
    assert ingest(str(logs), "--store", str(store))["records"]["duplicate"] == 2


def test_a_store_inside_its_source_directory_is_not_ingested(tmp_path):
    logs = tmp_path / "logs"
    trail_file(logs, "A" * 16, [record(i) for i in range(3)])
    ingest(str(logs), "--store", str(logs / "store"))
    again = ingest(str(logs), "--store", str(logs / "store"))
    assert again["sources"] == {"seen": 1, "unchanged": 1, "ingested": 0, "failed": 0}
    assert load(str(logs / "store"), must_exist=True).skipped == {}


def test_data_files_are_zstd_with_bounded_row_groups(tmp_path, monkeypatch):
    from kmslog.store import write as store_write

    monkeypatch.setattr(store_write, "ROW_GROUP_ROWS", 4)
    logs, store = tmp_path / "logs", tmp_path / "store"
    trail_file(logs, "A" * 16, [record(i) for i in range(10)])
    ingest(str(logs), "--store", str(store))
    (f,) = load(str(store), must_exist=True).files
    meta = pq.ParquetFile(store / "data" / f.path).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [4, 4, 2]
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_schema(store / "data" / f.path).names == S.SCHEMA.names


def test_store_reads_only_the_columns_the_analyses_declare(tmp_path, monkeypatch):
    from kmslog.analyses.summary import SummaryAnalysis
    from kmslog.run.api import ScanOptions
    from kmslog.run.executor import run
    from kmslog.run.worker import needed_columns

    logs, store = tmp_path / "logs", tmp_path / "store"
    trail_file(logs, "A" * 16, [record(i) for i in range(3)])
    ingest(str(logs), "--store", str(store))
    asked: list[list[str]] = []
    original = pq.ParquetFile.read_row_group

    def spy(self, index, columns=None, **kwargs):
        asked.append(list(columns))
        return original(self, index, columns=columns, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy)
    result = run([layout.store_url(str(store))], [SummaryAnalysis()], ScanOptions(jobs=1))
    assert result.stats.records_kept == 3
    wanted = needed_columns((SummaryAnalysis(),))
    assert wanted is not None and S.USER_AGENT not in wanted
    assert asked and all(set(columns) == wanted for columns in asked)
