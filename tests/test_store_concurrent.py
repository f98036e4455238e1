"""Two ``kmslog ingest`` processes on one store at once leave it consistent: every
source recorded once, every record stored once, the manifest matching the files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.store.manifest import load
from tests.ingest_fixtures import layout_path, record, write_trail

ROOT = Path(__file__).resolve().parents[1]


def make_logs(root: Path, part: str, first: int, files: int, per_file: int) -> None:
    for f in range(files):
        base = first + f * per_file
        unique = f"{part}{f:015d}"
        write_trail(
            layout_path(root / part, unique=unique), [record(base + i) for i in range(per_file)]
        )


def test_two_processes_ingesting_at_once(tmp_path):
    logs, store = tmp_path / "logs", tmp_path / "store"
    # B is given to both processes; A and C to one each.
    make_logs(logs, "A", 0, 30, 200)
    make_logs(logs, "B", 6_000, 30, 200)
    make_logs(logs, "C", 12_000, 30, 200)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "kmslog",
        "ingest",
        "--no-progress",
        "--format",
        "json",
        "--store",
        str(store),
    ]
    procs = [
        subprocess.Popen(
            [*command, str(logs / "A"), str(logs / "B")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ),
        subprocess.Popen(
            [*command, str(logs / "C"), str(logs / "B")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ),
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err.decode()
    reports = [json.loads(out) for out, _ in outs]
    assert sum(r["records"]["added"] for r in reports) == 18_000
    # Whichever ran second found B already stored and did not read it again.
    assert sum(r["sources"]["unchanged"] for r in reports) == 30

    committed = load(str(store), must_exist=True)
    assert len(committed.sources) == 90
    assert committed.runs == 2
    ids: list[str] = []
    for f in committed.files:
        table = pq.read_table(store / "data" / f.path, columns=["event_id"])
        assert table.num_rows == f.rows
        ids += table.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)) == 18_000
    on_disk = {
        os.path.relpath(os.path.join(d, n), store / "data")
        for d, _, names in os.walk(store / "data")
        for n in names
    }
    assert on_disk == {f.path for f in committed.files}
    assert not (store / "tmp").exists()
    assert not [n for n in os.listdir(store) if ".tmp-" in n]
    result = CliRunner().invoke(
        app,
        ["scan", "--no-progress", "--fail-on", "none", "--format", "json", "--store", str(store)],
    )
    assert json.loads(result.stdout)["summary"]["records"]["kept"] == 18_000
