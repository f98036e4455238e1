"""The store answers as the logs do: every reading command's JSON on sample_logs/,
read from the gzip files and from a store of them, and the store read directly
with DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kmslog.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = str(ROOT / "sample_logs")
runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, [*args, "--no-progress"])
    assert result.exit_code in (0, 1), result.output
    return result.stdout


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    directory = str(tmp_path_factory.mktemp("store") / "store")
    result = runner.invoke(app, ["ingest", SAMPLE, "--store", directory, "--no-progress"])
    assert result.exit_code == 0, result.output
    return directory


def both(store: str, *args: str) -> tuple[str, str]:
    return invoke(*args, SAMPLE), invoke(*args, "--store", store)


def test_scan_json_is_identical(store):
    logs, stored = both(store, "scan", "--format", "json")
    assert json.loads(logs)["summary"]["records"]["kept"] > 10_000
    assert stored == logs


def test_scan_with_a_selection_and_jobs_finds_the_same(store):
    selection = [
        "--since",
        "2026-09-10",
        "--until",
        "2026-09-20T12:00:00Z",
        "--region",
        "us-east-1",
    ]
    logs = json.loads(invoke("scan", "--format", "json", *selection, SAMPLE))
    stored = json.loads(
        invoke("scan", "--format", "json", "--jobs", "2", *selection, "--store", store)
    )
    for key in ("findings", "alarms", "blind_spots", "grants", "key_policies"):
        assert stored[key] == logs[key], key
    for key in ("kept", "duplicate", "rejected", "event_id_conflict"):
        assert stored["summary"]["records"][key] == logs["summary"]["records"][key], key
    assert stored["summary"]["kms_events"] == logs["summary"]["kms_events"]
    assert stored["summary"]["files"] == logs["summary"]["files"]


def test_filter_with_a_deep_selector_is_identical(store):
    pattern = '{ $.requestParameters.encryptionContext.tenant = * || $.errorCode = "*Denied*" }'
    logs, stored = both(store, "filter", pattern, "--format", "json")
    assert json.loads(logs)["events"]
    assert stored == logs
    logs, stored = both(store, "filter", pattern, "--format", "ndjson")
    assert stored == logs


def test_lifecycle_is_identical(store):
    logs, stored = both(store, "lifecycle", "alias/payments", "--format", "json")
    assert stored == logs
    logs, stored = both(store, "lifecycle", "--all", "--format", "json")
    assert stored == logs


def test_dependents_is_identical(store):
    logs, stored = both(store, "dependents", "--all", "--format", "json")
    assert stored == logs


def test_baseline_profile_is_the_same(store, tmp_path):
    invoke("baseline", SAMPLE, "-o", str(tmp_path / "a.json"))
    invoke("baseline", "--store", store, "-o", str(tmp_path / "b.json"))
    a = json.loads((tmp_path / "a.json").read_text())
    b = json.loads((tmp_path / "b.json").read_text())
    # The profile names what it was learned from: the paths given.
    assert a["corpus"].pop("sources") == [SAMPLE]
    assert b["corpus"].pop("sources") == [f"store://{store}"]
    assert a == b


def test_duckdb_reads_the_store_directly(store):
    duckdb = pytest.importorskip("duckdb")
    summary = json.loads(invoke("scan", "--format", "json", SAMPLE))["summary"]
    files = f"{store}/data/**/*.parquet"
    con = duckdb.connect()
    count = con.execute(
        "SELECT count(*) FROM read_parquet(?, hive_partitioning = true)", [files]
    ).fetchone()
    assert count == (summary["records"]["kept"],)
    rows = con.execute(
        "SELECT event_name, count(*), count(error_code) FROM read_parquet(?, "
        "hive_partitioning = true) WHERE event_source = 'kms.amazonaws.com' "
        "GROUP BY event_name",
        [files],
    ).fetchall()
    assert {name: (calls, errors) for name, calls, errors in rows} == {
        e["event_name"]: (e["calls"], e["errors"]) for e in summary["kms_events"]
    }
    accounts = con.execute(
        "SELECT DISTINCT account FROM read_parquet(?, hive_partitioning = true, "
        "hive_types_autocast = false)",
        [files],
    ).fetchall()
    assert sorted(a for (a,) in accounts) == sorted(a["account"] for a in summary["accounts"])


def test_events_answers_the_same_from_the_store(store):
    logs, stored = both(store, "events", "--key", "alias/payments", "--format", "json")
    assert json.loads(logs)
    assert stored == logs
    logs, stored = both(store, "events", "--errors-only", "--format", "csv")
    assert stored == logs and len(logs.splitlines()) > 1
