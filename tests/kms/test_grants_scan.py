"""The grant ledger in ``kmslog scan``: grants to other accounts are findings (exit 1),
routine service grants are ledger entries only (exit 0), in every output format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.kms.grant_findings import EXTERNAL_GRANTEE
from tests.kms import grant_records as G


def scan(tmp_path: Path, records: list[dict[str, Any]], *options: str) -> Any:
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": records}), encoding="utf-8")
    return CliRunner().invoke(app, ["scan", str(path), "--no-progress", *options])


def test_external_grant_is_a_finding_and_fails_the_scan(tmp_path):
    result = scan(tmp_path, [G.external_grant()], "--format", "json")
    assert result.exit_code == 1, result.output
    grants = json.loads(result.stdout)["grants"]
    kinds = [f["kind"] for f in grants["findings"]]
    assert "grant-external-grantee" in kinds
    (external,) = [f for f in grants["findings"] if f["kind"] == "grant-external-grantee"]
    assert external["key_arn"] == G.KEY and G.OTHER in external["summary"]


def test_service_grants_are_in_the_ledger_and_nowhere_else(tmp_path):
    result = scan(tmp_path, [G.ebs_grant(), G.dynamodb_grant()], "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["grants"]["findings"] == []
    assert document["grants"]["service_grants"] == 2
    assert not [f for f in document["findings"] if f["event_name"] == "CreateGrant"]


def test_grant_findings_reach_csv_and_the_terminal(tmp_path):
    rows = list(
        csv.reader(io.StringIO(scan(tmp_path, [G.external_grant()], "--format", "csv").stdout))
    )
    assert "grant-external-grantee" in {r[1] for r in rows[1:]}
    table = " ".join(scan(tmp_path, [G.external_grant()]).stdout.split())
    assert "Grants: 2 finding(s)" in table  # to another account, and never retired
    assert f"HIGH {EXTERNAL_GRANTEE.title}" in table
