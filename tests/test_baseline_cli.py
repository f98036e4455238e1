"""``kmslog baseline`` and ``kmslog baseline --merge`` on files, and scan's --baseline errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from kmslog.cli import app
from tests.test_anomaly_records import WINDOW, at, background, ev

RUNNER = CliRunner()


def write_log(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    return path


def test_learn_merge_and_scan(tmp_path):
    records = background(21)
    half = len(records) // 2
    write_log(tmp_path / "a" / "one.json.gz", records[:half])
    write_log(tmp_path / "b" / "two.json.gz", records[half:])
    window = [ev(at(1, 10, i % 60), role="exfil", ip="198.51.100.7") for i in range(40)]
    write_log(tmp_path / "w" / "three.json.gz", window)

    for name in ("a", "b"):
        out = RUNNER.invoke(
            app,
            [
                "baseline",
                str(tmp_path / name),
                "-o",
                str(tmp_path / f"{name}.json"),
                "--no-progress",
            ],
        )
        assert out.exit_code == 0, out.output
    whole = RUNNER.invoke(
        app,
        ["baseline", str(tmp_path / "a"), str(tmp_path / "b"), "-o", str(tmp_path / "all.json")],
    )
    assert whole.exit_code == 0, whole.output
    merged = RUNNER.invoke(
        app,
        [
            "baseline",
            "--merge",
            str(tmp_path / "a.json"),
            str(tmp_path / "b.json"),
            "-o",
            str(tmp_path / "merged.json"),
        ],
    )
    assert merged.exit_code == 0, merged.output
    a = json.loads((tmp_path / "merged.json").read_text())
    b = json.loads((tmp_path / "all.json").read_text())
    # Same history and numbers; only the recorded sources differ.
    assert a["features"] == b["features"] and a["series"] == b["series"]
    assert a["summary"] == b["summary"] and a["window"] == b["window"]
    assert a["corpus"]["events"] == b["corpus"]["events"] == len(records)

    scanned = RUNNER.invoke(
        app,
        [
            "scan",
            str(tmp_path / "w"),
            "--baseline",
            str(tmp_path / "merged.json"),
            "--since",
            WINDOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--format",
            "json",
            "--no-progress",
            "--fail-on",
            "none",
            "--threshold",
            "rate_min_calls=1000",
        ],
    )
    assert scanned.exit_code == 0, scanned.output
    findings = json.loads(scanned.stdout)["anomalies"]["findings"]
    assert [f["kind"] for f in findings] == ["new_principal"]
    assert findings[0]["count"] == 40 and len(findings[0]["event_ids"]) == 20

    table = RUNNER.invoke(
        app,
        [
            "scan",
            str(tmp_path / "w"),
            "--baseline",
            str(tmp_path / "merged.json"),
            "--since",
            WINDOW.strftime("%Y-%m-%d"),
            "--no-progress",
            "--fail-on",
            "none",
        ],
    )
    assert table.exit_code == 0, table.output
    assert "new_principal" in table.stdout and "role/exfil" in table.stdout


def test_bad_profile_and_threshold_are_usage_errors(tmp_path):
    write_log(tmp_path / "w" / "x.json.gz", [ev(WINDOW)])
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "kmslog-baseline-profile", "version": 7}')
    out = RUNNER.invoke(app, ["scan", str(tmp_path / "w"), "--baseline", str(bad), "--no-progress"])
    assert out.exit_code == 2 and "version 7" in out.output
    good = tmp_path / "good.json"
    RUNNER.invoke(app, ["baseline", str(tmp_path / "w"), "-o", str(good), "--no-progress"])
    out = RUNNER.invoke(
        app,
        [
            "scan",
            str(tmp_path / "w"),
            "--baseline",
            str(good),
            "--threshold",
            "bogus=1",
            "--no-progress",
        ],
    )
    assert out.exit_code == 2 and "unknown threshold" in out.output
    out = RUNNER.invoke(app, ["baseline", "--merge", str(good), "-o", str(tmp_path / "m.json")])
    assert out.exit_code == 2 and "at least two" in out.output
