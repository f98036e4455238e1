import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run
from tests.ingest_fixtures import layout_path, record, write, write_trail

EXTERNAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "external"
runner = CliRunner()


def scan(*args: str):
    # Findings exit 1 (--fail-on finding); these tests are about ingest and rendering.
    return runner.invoke(app, ["scan", "--no-progress", "--fail-on", "none", *args])


@pytest.fixture
def trail(tmp_path):
    records = [record(i) for i in range(4)]
    records.append(record(9, eventName="ScheduleKeyDeletion", errorCode="KMSInvalidStateException"))
    records.append(record(10, eventSource="s3.amazonaws.com", eventName="GetObject"))
    records.append({"eventTime": "later"})
    write_trail(layout_path(tmp_path), records)
    digest = tmp_path / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01/x.json.gz"
    write(digest, gzip.compress(b"{}"))
    return tmp_path


def test_json_summary(trail):
    result = scan(str(trail), "--format", "json", "--jobs", "1")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["files"]["read"] == 1
    assert summary["files"]["skipped_digest"] == 1
    assert summary["records"] == {
        "seen": 7,
        "kept": 6,
        "duplicate": 0,
        "rejected": 1,
        "out_of_window": 0,
        "event_id_conflict": 0,
    }
    assert summary["time_span"] == {"first": "2024-05-01T10:00:00Z", "last": "2024-05-01T10:00:10Z"}
    assert summary["accounts"] == [{"account": "111122223333", "records": 6}]
    assert summary["kms_events"] == [
        {"event_name": "Decrypt", "calls": 4, "errors": 0},
        {"event_name": "ScheduleKeyDeletion", "calls": 1, "errors": 1},
    ]
    assert summary["rejections_by_reason"] == [
        {"reason": "record has no usable eventTime", "count": 1}
    ]
    assert summary["rejections"][0]["position"] == 6


def test_table_summary(trail):
    result = scan(str(trail))
    assert result.exit_code == 0, result.output
    for text in ("files read", "ScheduleKeyDeletion", "111122223333", "no usable eventTime"):
        assert text in result.stdout


def test_selection_options(trail):
    result = scan(
        str(trail), "--format", "json", "--since", "2024-05-01T10:00:02Z", "--until", "2024-05-01"
    )
    summary = json.loads(result.stdout)["summary"]
    assert summary["records"]["kept"] == 4
    assert summary["records"]["out_of_window"] == 2
    result = scan(str(trail), "--format", "json", "--region", "eu-west-1")
    assert json.loads(result.stdout)["summary"]["files"]["pruned"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "no such file"),
        (["{empty}"], "no input files"),
        (["{trail}", "--since", "last tuesday"], "not an ISO 8601"),
        (["{trail}", "--max-decompressed-size", "lots"], "not a size"),
        (["{trail}", "--jobs", "0"], "--jobs"),
        (["{trail}", "--format", "xml"], "xml"),
        (["{trail}", "--since", "2024-05-02", "--until", "2024-05-01"], "after --until"),
    ],
)
def test_usage_errors_exit_2(trail, tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    values = {
        "missing": str(tmp_path / "nope"),
        "empty": str(tmp_path / "empty"),
        "trail": str(trail),
    }
    result = scan(*[a.format(**values) for a in args])
    assert result.exit_code == 2
    assert message in result.output


def test_strict_exits_3_naming_file_and_position(trail):
    result = scan(str(trail), "--strict")
    assert result.exit_code == 3
    assert "(record 6): record has no usable eventTime" in result.output.replace("\n", "")


def test_decompression_cap_option(trail):
    result = scan(str(trail), "--format", "json", "--max-decompressed-size", "1K")
    summary = json.loads(result.stdout)["summary"]
    assert summary["files"]["failed"] == 1
    assert "exceeds the cap of 1024 bytes" in summary["rejections"][0]["reason"]


HOSTILE = "\x1b[2J\x1b]0;pwned\x07[bold red]FAKE[/bold red]\u202etxt.exe"


def test_log_text_cannot_inject_markup_or_escapes(tmp_path):
    write_trail(
        layout_path(tmp_path),
        [
            record(0, eventName=HOSTILE, userAgent=HOSTILE, errorMessage=HOSTILE),
            record(1, recipientAccountId=HOSTILE, awsRegion=HOSTILE),
            {"eventTime": HOSTILE},
        ],
    )
    weird = tmp_path / f"file{HOSTILE.replace('/', '_')}.json"
    write(weird, b"{broken")
    for fmt in ("table", "json"):
        result = scan(str(tmp_path), "--format", fmt)
        assert result.exit_code == 0, result.output
        for bad in ("\x1b", "\x07", "\u202e"):
            assert bad not in result.output
        if fmt == "table":
            assert "[bold red]FAKE[/bold red]" in result.stdout.replace("\n", "")
            assert "\\x1b[2J" in result.stdout


def _expected_count(path: Path) -> int | None:
    """Records in a well-formed file, counted independently; None if not JSON."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        lines = [ln for ln in data.splitlines() if ln.strip()]
        try:
            return len([json.loads(ln) for ln in lines]) if len(lines) > 1 else None
        except (ValueError, UnicodeDecodeError):
            return None
    if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
        return len(doc["Records"])
    if isinstance(doc, dict) and isinstance(doc.get("Events"), list):
        return len(doc["Events"])
    return len(doc) if isinstance(doc, list) else 1


def test_every_external_file_is_read_whole_or_rejected_with_a_reason():
    if not EXTERNAL.is_dir():
        pytest.skip("../shared/external is not present")
    files = sorted(p for p in EXTERNAL.rglob("*") if p.is_file())
    assert files
    kept_total = 0
    for path in files:
        stats = run([str(path)], [], ScanOptions(jobs=1)).stats
        expected = _expected_count(path)
        if path.name.endswith(".invalid-json.txt") and stats.files_read:
            # Invalid JSON inside a separable record costs that record only:
            # rejected, never repaired.
            assert stats.records_kept == 0, path
            assert stats.records_rejected == stats.records_seen > 0, path
            assert all(r.reason.startswith("invalid JSON") for r in stats.rejections), path
            continue
        if path.name.endswith(".invalid-json.txt") or expected is None:
            assert stats.files_failed == 1, path
            assert stats.rejections[0].reason, path
            if path.name.endswith(".invalid-json.txt"):
                assert stats.rejections[0].reason.startswith("invalid JSON"), path
            continue
        assert stats.files_read == 1, path
        assert stats.records_seen == expected, path
        assert stats.records_kept + stats.records_duplicate + stats.records_rejected == expected
        assert len(stats.rejections) == stats.records_rejected, path
        assert all(r.reason and r.source == str(path) for r in stats.rejections), path
        kept_total += stats.records_kept
    assert kept_total > 100
    whole = run([str(EXTERNAL)], [], ScanOptions(jobs=1)).stats
    assert whole.records_seen == (
        whole.records_kept + whole.records_duplicate + whole.records_rejected
    )
    assert whole.files_skipped_other > 0


def test_progress_bar_draws_on_a_terminal_only():
    import io

    from rich.console import Console

    from kmslog.commands.options import progress_bar

    sink = io.StringIO()
    bar, update = progress_bar(Console(file=sink, force_terminal=True, width=100))
    bar.start()
    update(3, 10, 300, 1000)
    bar.refresh()
    bar.stop()
    assert "3/10 files" in sink.getvalue()


def test_no_progress_output_when_not_a_terminal(trail):
    result = runner.invoke(app, ["scan", str(trail), "--format", "json", "--fail-on", "none"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout)["summary"]["files"]["read"] == 1
