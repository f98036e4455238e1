"""Dedup drops only a second copy of the same record; a different record under an
eventID already seen is kept and reported as a conflict, whatever --jobs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmslog.analyses.summary import SummaryAnalysis
from kmslog.cli import app
from kmslog.run import executor
from kmslog.run.api import EventIdConflict, IngestStats, ScanOptions
from kmslog.run.executor import run
from tests.ingest_fixtures import ACCOUNT, layout_path, record, write, write_trail
from tests.test_run_executor import Rows

GUIDE = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "external"
    / "awsdocs-kms-developer-guide"
    / "doc_source-json-blocks"
)
CIS_4_7 = "cis-4.7-cmk-disable-or-scheduled-deletion"
runner = CliRunner()


def _reconciles(stats: IngestStats) -> bool:
    return stats.records_seen == (
        stats.records_kept
        + stats.records_duplicate
        + stats.records_rejected
        + stats.records_out_of_window
    )


def _trail(root: Path, n: int, records: Sequence[Any]) -> Path:
    """The n-th delivery file (path order follows n)."""
    return write_trail(
        layout_path(root, stamp=f"20240501T{n // 60:02d}{n % 60:02d}Z", unique=f"{n:016d}"),
        records,
    )


def _scan(root: Path, jobs: int) -> tuple[IngestStats, list[tuple[str, int, str | None]]]:
    result = run([str(root)], [Rows(), SummaryAnalysis()], ScanOptions(jobs=jobs))
    assert _reconciles(result.stats)
    return result.stats, result.results["rows"]


def _guide_files() -> list[Path]:
    if not GUIDE.is_dir():
        pytest.skip("../shared/external (AWS KMS developer guide examples) is not present")
    return sorted(GUIDE.glob("*.json"))


def _guide_facts(files: list[Path]) -> tuple[int, int, list[tuple[str, str, str, str]]]:
    """Records, exact copies and conflicts (account, eventID, file, first file) of the
    examples, worked out from the files themselves in path order."""
    records = copies = 0
    first: dict[tuple[str, str], tuple[str, set[str]]] = {}
    conflicts = []
    for path in files:
        doc = json.loads(path.read_text())
        for rec in doc.get("Records", [doc]):
            records += 1
            key = (rec["recipientAccountId"], rec["eventID"])
            text = json.dumps(rec, sort_keys=True)
            if key not in first:
                first[key] = (str(path), {text})
            elif text in first[key][1]:
                copies += 1
            else:
                first[key][1].add(text)
                conflicts.append((*key, str(path), first[key][0]))
    return records, copies, conflicts


@pytest.mark.parametrize(("jobs", "group_bytes"), [(1, None), (2, 1)])
def test_kms_guide_examples_all_survive_and_conflicts_are_reported(
    monkeypatch: pytest.MonkeyPatch, jobs: int, group_bytes: int | None
) -> None:
    files = _guide_files()
    if group_bytes is not None:
        # One file per group: every conflict crosses groups and workers.
        monkeypatch.setattr(executor, "GROUP_BYTES", group_bytes)
        monkeypatch.setattr(executor, "NATIVE_GROUP_BYTES", group_bytes)
    records, copies, conflicts = _guide_facts(files)
    assert copies == 0  # no two examples are the same record
    assert conflicts  # but they reuse eventIDs
    args = ["scan", "--no-progress", "--format", "json", "--jobs", str(jobs)]
    result = runner.invoke(app, [*args, *map(str, files)])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["records"]["seen"] == records
    assert summary["records"]["kept"] == records
    assert summary["records"]["duplicate"] == 0
    assert summary["records"]["event_id_conflict"] == len(conflicts)
    reported = [
        (c["account"], c["event_id"], c["source"], c["first_source"])
        for c in summary["event_id_conflicts"]
    ]
    assert reported == conflicts
    assert not summary["event_id_conflict_details_truncated"]
    disable = [
        f for f in report["findings"] if f["rule"] == CIS_4_7 and f["event_name"] == "DisableKey"
    ]
    assert [Path(f["source"]).name for f in disable] == ["ct-disablekey.block00.json"]


@pytest.mark.parametrize("placement", ["one file", "two files", "two groups"])
def test_copies_are_dropped_and_other_records_under_the_same_id_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, placement: str
) -> None:
    real = record(1)
    other = record(1, eventName="DisableKey", requestID="req-other")
    if placement == "one file":
        _trail(tmp_path, 0, [real, record(2), real, other])
    else:
        _trail(tmp_path, 0, [real, record(2)])
        _trail(tmp_path, 1, [real, other])
    if placement == "two groups":
        monkeypatch.setattr(executor, "GROUP_BYTES", 1)
        monkeypatch.setattr(executor, "NATIVE_GROUP_BYTES", 1)
    for jobs in (1, 2):
        stats, rows = _scan(tmp_path, jobs)
        assert stats.records_seen == 4
        assert stats.records_duplicate == 1
        assert stats.event_id_conflicts == 1
        assert sorted(r[2] for r in rows) == ["evt-000001", "evt-000001", "evt-000002"]
        (conflict,) = stats.conflicts
        assert (conflict.account, conflict.event_id) == (ACCOUNT, "evt-000001")
        assert conflict.position == (3 if placement == "one file" else 1)
        assert conflict.first_position == 0
        assert conflict.first_source == rows[0][0]


def test_serial_and_parallel_agree_on_conflicts_across_many_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(executor, "GROUP_BYTES", 1)
    monkeypatch.setattr(executor, "NATIVE_GROUP_BYTES", 1)
    a, b, c = (record(7, userAgent=agent) for agent in ("a", "b", "c"))
    x, y = record(8), record(8, eventName="ScheduleKeyDeletion")
    files = [
        [record(100)],
        [a, record(101)],
        [x, b],  # b: conflict with a (group 1)
        [b, record(102)],  # b again: a copy of group 2's b
        [c, y],  # c: conflict with a; y: conflict with x (group 2)
        [a, y, record(103)],  # copies of a and y
    ]
    paths = [str(_trail(tmp_path, n, recs)) for n, recs in enumerate(files)]
    serial, serial_rows = _scan(tmp_path, 1)
    parallel, parallel_rows = _scan(tmp_path, 2)
    assert serial == parallel
    assert serial_rows == parallel_rows
    assert serial.records_duplicate == 3
    assert serial.event_id_conflicts == 3
    assert serial.conflicts == [
        EventIdConflict(ACCOUNT, "evt-000007", paths[2], 1, paths[1], 0),
        EventIdConflict(ACCOUNT, "evt-000007", paths[4], 0, paths[1], 0),
        EventIdConflict(ACCOUNT, "evt-000008", paths[4], 1, paths[2], 0),
    ]


def test_a_planted_file_that_sorts_first_cannot_hide_the_real_event(tmp_path: Path) -> None:
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    real = record(
        5,
        eventName="DisableKey",
        readOnly=False,
        requestParameters={"keyId": key_id},
        responseElements=None,
    )
    planted = record(5, eventName="Decrypt")
    write(tmp_path / "000-planted.json", json.dumps(planted).encode())
    write(tmp_path / "zzz-trail.json", json.dumps({"Records": [record(4), real]}).encode())
    result = runner.invoke(app, ["scan", "--no-progress", "--format", "json", str(tmp_path)])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["records"]["kept"] == 3
    assert report["summary"]["records"]["event_id_conflict"] == 1
    findings = [f for f in report["findings"] if f["rule"] == CIS_4_7]
    assert [(f["event_name"], Path(f["source"]).name) for f in findings] == [
        ("DisableKey", "zzz-trail.json")
    ]


def test_a_re_serialised_copy_is_kept_and_reported(tmp_path: Path) -> None:
    # The content compared is the record's text: a copy written with other
    # whitespace is not silently merged (documented in docs/ingest.md).
    rec = record(3)
    write(tmp_path / "a.json", json.dumps({"Records": [rec]}, separators=(",", ":")).encode())
    write(tmp_path / "b.json", json.dumps(rec, indent=2).encode())
    stats, rows = _scan(tmp_path, 1)
    assert (stats.records_kept, stats.records_duplicate, stats.event_id_conflicts) == (2, 0, 1)
    assert [Path(r[0]).name for r in rows] == ["a.json", "b.json"]


def test_records_without_an_event_id_are_never_duplicates_nor_conflicts(
    tmp_path: Path,
) -> None:
    # A non-string eventID is a null cell (the typing rule): no key either.
    no_id = record(1, eventID=None)
    numeric = record(2, eventID=12)
    _trail(tmp_path, 0, [no_id, no_id, numeric, numeric, record(3, eventID=12)])
    _trail(tmp_path, 1, [no_id, numeric])
    stats, rows = _scan(tmp_path, 1)
    assert stats.records_kept == 7
    assert stats.records_duplicate == 0
    assert stats.event_id_conflicts == 0
    assert stats.conflicts == []
    assert [r[2] for r in rows] == [None] * 7


def test_console_summary_shows_the_conflicts_escaped(tmp_path: Path) -> None:
    event_id = "\x1b[2J[b]x[/b]"
    write(tmp_path / "a.json", json.dumps(record(1, eventID=event_id)).encode())
    write(
        tmp_path / "b.json", json.dumps(record(1, eventID=event_id, eventName="Encrypt")).encode()
    )
    result = runner.invoke(app, ["scan", "--no-progress", "--fail-on", "none", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "\x1b" not in out
    row = next(line for line in out.splitlines() if "eventID conflicts (kept)" in line)
    assert row.split("│")[2].strip() == "1"
    assert "Conflicting eventIDs" in out
    assert "[b]x[/b]" in out
