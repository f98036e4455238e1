"""Runs on a Dask cluster (``--dask``): a distributed LocalCluster with real worker
processes on loopback gives exactly what ``--jobs 1`` gives, through the library and
the command line; a bad address or a missing extra is a clear usage error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.run.dask_executor import DaskExecutor, DaskUnavailable, check_address

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_logs"
runner = CliRunner()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    local = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    try:
        yield local
    finally:
        local.close()


def scan_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["scan", "--no-progress", "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs/ absent")
def test_scan_on_a_cluster_equals_one_job(cluster: Any) -> None:
    before = (
        dict(cluster.scheduler.task_prefixes.get("process_group").state_counts)
        if ("process_group" in cluster.scheduler.task_prefixes)
        else {}
    )
    on_cluster = scan_json(str(SAMPLE), "--dask", cluster.scheduler_address)
    assert on_cluster == scan_json(str(SAMPLE), "--jobs", "1")
    # the groups ran as tasks of the cluster
    after = cluster.scheduler.task_prefixes["process_group"].state_counts
    assert sum(after.values()) > sum(before.values())
    # the run left the cluster running for others (only its client was closed)
    assert len(cluster.scheduler.workers) == 2


def test_generated_corpus_with_both_engines(cluster: Any, tmp_path: Path) -> None:
    from tools.ctgen.corpus import generate_corpus  # noqa: PLC0415

    logs = tmp_path / "logs"
    generate_corpus(logs, events=6000, seed=3, mean_per_file=200.0)
    for engine in ("native", "python"):
        on_cluster = scan_json(str(logs), "--dask", cluster.scheduler_address, "--engine", engine)
        assert on_cluster == scan_json(str(logs), "--jobs", "1", "--engine", engine)


def test_library_run_on_an_executor_of_the_cluster(cluster: Any) -> None:
    from kmslog.analyses.summary import SummaryAnalysis  # noqa: PLC0415
    from kmslog.run.api import ScanOptions  # noqa: PLC0415
    from kmslog.run.executor import run  # noqa: PLC0415

    if not SAMPLE.is_dir():
        pytest.skip("sample_logs/ absent")
    executor = DaskExecutor(distributed.Client(cluster.scheduler_address))
    try:
        on_cluster = run([str(SAMPLE)], [SummaryAnalysis()], ScanOptions(), executor=executor)
    finally:
        executor.shutdown()
    alone = run([str(SAMPLE)], [SummaryAnalysis()], ScanOptions(jobs=1))
    assert on_cluster.stats == alone.stats
    assert on_cluster.results == alone.results


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs/ absent")
def test_local_cluster_address() -> None:
    assert scan_json(str(SAMPLE), "--dask", "local:2") == scan_json(str(SAMPLE), "--jobs", "1")


@pytest.mark.parametrize("address", ["http://x:1", "local:0", "local:x", "", "tcp://"])
def test_bad_addresses_are_usage_errors(address: str) -> None:
    with pytest.raises(DaskUnavailable):
        check_address(address)
    result = runner.invoke(app, ["scan", "--no-progress", str(SAMPLE), "--dask", address])
    assert result.exit_code == 2
    assert "--dask" in result.output


def test_unreachable_scheduler_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kmslog.run import dask_executor  # noqa: PLC0415

    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT", "2s")
    (tmp_path / "t.json").write_text('{"Records": []}')
    result = runner.invoke(
        app, ["scan", "--no-progress", str(tmp_path), "--dask", "tcp://127.0.0.1:9"]
    )
    assert result.exit_code == 2, result.output
    assert "cannot reach the scheduler" in result.output


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import builtins  # noqa: PLC0415

    real = builtins.__import__

    def no_distributed(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_distributed)
    (tmp_path / "t.json").write_text('{"Records": []}')
    result = runner.invoke(app, ["scan", "--no-progress", str(tmp_path), "--dask", "local:1"])
    assert result.exit_code == 2
    assert "kmslog[dask]" in result.output


def _out(*args: str) -> str:
    result = runner.invoke(app, [*args, "--no-progress"])
    assert result.exit_code in (0, 1), result.output
    return result.stdout


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs/ absent")
@pytest.mark.parametrize(
    "command",
    [
        ("lifecycle", "--all", "--format", "json"),
        ("dependents", "--all", "--format", "json"),
        ("filter", '{ $.eventName = "Decrypt" }', "--format", "ndjson"),
        ("events", "--key", "alias/payments", "--format", "json"),
    ],
)
def test_every_reading_command_on_a_cluster(cluster: Any, command: tuple[str, ...]) -> None:
    name, *rest = command
    on_cluster = _out(name, *rest, str(SAMPLE), "--dask", cluster.scheduler_address)
    assert on_cluster == _out(name, *rest, str(SAMPLE), "--jobs", "1")


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs/ absent")
def test_the_store_on_a_cluster(cluster: Any, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    done = runner.invoke(app, ["ingest", str(SAMPLE), "--store", store, "--no-progress"])
    assert done.exit_code == 0, done.output
    on_cluster = scan_json("--store", store, "--dask", cluster.scheduler_address)
    assert on_cluster == scan_json(str(SAMPLE), "--jobs", "1")
