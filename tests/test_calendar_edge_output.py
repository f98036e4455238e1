"""Times at year 1 are written with four digits in every output (glibc's strftime
writes year 1 as ``1``, which no ISO 8601 reader takes)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kmslog.cli import app
from tests.ingest_fixtures import record

runner = CliRunner()


def _logs(tmp_path: Path) -> Path:
    disable = record(0, eventName="DisableKey", eventTime="0001-01-01T00:00:05Z")
    decrypt = record(1, eventTime="0001-01-01T00:00:09Z")
    path = tmp_path / "edge.json"
    path.write_text(json.dumps({"Records": [disable, decrypt]}))
    return path


def test_scan_json_writes_year_one_with_four_digits(tmp_path: Path) -> None:
    path = _logs(tmp_path)
    result = runner.invoke(app, ["scan", "--no-progress", "--format", "json", str(path)])
    assert result.exit_code == 1, result.output
    text = result.stdout
    assert '"0001-01-01T00:00:05Z"' in text
    assert '"1-01-01' not in text


def test_console_outputs_write_year_one_with_four_digits(tmp_path: Path) -> None:
    path = _logs(tmp_path)
    for args in (["scan", "--no-progress"], ["lifecycle", "--all", "--no-progress"]):
        result = runner.invoke(app, [*args, str(path)], env={"COLUMNS": "250"})
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "0001-01-01 00:00" in result.stdout, result.stdout
        assert " 1-01-01" not in result.stdout


def test_baseline_profile_writes_year_one_with_four_digits(tmp_path: Path) -> None:
    path = _logs(tmp_path)
    profile = tmp_path / "p.json"
    result = runner.invoke(app, ["baseline", "--no-progress", str(path), "-o", str(profile)])
    assert result.exit_code == 0, result.output
    text = profile.read_text()
    assert "0001-01-01T00:00:05.000Z" in text or "0001-01-01" in text
    assert '"1-01-01' not in text
