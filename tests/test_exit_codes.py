"""Exit statuses CI can tell apart: 0 nothing found, 1 findings, 2 usage error or nothing
readable, 3 --strict, 4 internal error (one line; --debug adds the traceback)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmslog.analyses.summary import SummaryAnalysis
from kmslog.cli import app
from tests.ingest_fixtures import layout_path, record, write, write_trail

runner = CliRunner()
COMMANDS = ("scan", "filter", "lifecycle", "baseline")


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env)


def command_args(command: str, tmp_path: Path) -> list[str]:
    """The arguments that make ``command`` read logs (the paths come after)."""
    return {
        "scan": ["scan", "--no-progress"],
        "filter": ["filter", "--no-progress", "{ $.eventName = Decrypt }"],
        "lifecycle": ["lifecycle", "--no-progress", "--all"],
        "baseline": ["baseline", "--no-progress", "-o", str(tmp_path / "profile.json")],
    }[command]


@pytest.fixture
def clean_logs(tmp_path: Path) -> Path:
    write_trail(layout_path(tmp_path / "clean"), [record(i) for i in range(3)])
    return tmp_path / "clean"


@pytest.fixture
def finding_logs(tmp_path: Path) -> Path:
    write_trail(layout_path(tmp_path / "found"), [record(0), record(1, eventName="DisableKey")])
    return tmp_path / "found"


@pytest.fixture
def unreadable_logs(tmp_path: Path) -> Path:
    root = tmp_path / "unreadable"
    write(root / "a.json", b"{broken")
    write(root / "b.json.gz", gzip.compress(b'{"Records": []}')[:-6])
    # read, but every record rejected (no usable eventTime)
    write(root / "c.json", b'{"Records": [{"eventTime": "never"}, {"eventName": "Decrypt"}]}')
    write(root / "README.txt", b"skipped: not a log file")
    return root


def boom(self: object, state: object, frame: object) -> object:
    raise RuntimeError("boom \x1b[2J in the summary")


def test_statuses_ci_can_tell_apart(
    clean_logs: Path, finding_logs: Path, unreadable_logs: Path, tmp_path: Path, monkeypatch
) -> None:
    broken = tmp_path / "strict"
    write_trail(layout_path(broken), [record(0), {"eventTime": "never"}])
    statuses = {
        "clean": invoke("scan", "--no-progress", str(clean_logs)).exit_code,
        "finding": invoke("scan", "--no-progress", str(finding_logs)).exit_code,
        "usage": invoke("scan", "--no-such-option", str(clean_logs)).exit_code,
        "missing": invoke("scan", "--no-progress", str(tmp_path / "nope")).exit_code,
        "unreadable": invoke("scan", "--no-progress", str(unreadable_logs)).exit_code,
        "strict": invoke("scan", "--no-progress", "--strict", str(broken)).exit_code,
        # a command's own typer.Exit keeps its status
        "key not in logs": invoke(
            "lifecycle", "--no-progress", "alias/x", str(clean_logs)
        ).exit_code,
        "no path": invoke("lifecycle", "--no-progress", "alias/x").exit_code,
        "bad pattern": invoke("test-pattern", "{ $.x = ").exit_code,
    }
    monkeypatch.setattr(SummaryAnalysis, "update", boom)
    statuses["internal"] = invoke("scan", "--no-progress", "--jobs", "1", str(clean_logs)).exit_code
    assert statuses == {
        "clean": 0,
        "finding": 1,
        "usage": 2,
        "missing": 2,
        "unreadable": 2,
        "strict": 3,
        "key not in logs": 1,
        "no path": 2,
        "bad pattern": 2,
        "internal": 4,
    }


def test_internal_error_is_one_escaped_line_without_traceback(
    clean_logs: Path, monkeypatch
) -> None:
    monkeypatch.setattr(SummaryAnalysis, "update", boom)
    done = invoke("scan", "--no-progress", "--jobs", "1", str(clean_logs))
    assert done.exit_code == 4
    assert done.stderr.splitlines() == [
        "error: internal error: RuntimeError: boom \\x1b[2J in the summary "
        "(run with --debug for the traceback)"
    ]
    assert "Traceback" not in done.output
    assert done.stdout == ""


@pytest.mark.parametrize("how", ["option", "env"])
def test_debug_prints_the_traceback(clean_logs: Path, monkeypatch, how: str) -> None:
    monkeypatch.setattr(SummaryAnalysis, "update", boom)
    args = ["scan", "--no-progress", "--jobs", "1", str(clean_logs)]
    env = {"KMSLOG_DEBUG": "1"} if how == "env" else None
    done = invoke(*(["--debug"] if how == "option" else []), *args, env=env)
    assert done.exit_code == 4
    lines = done.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert any("in boom" in line for line in lines)
    assert "\x1b" not in done.stderr  # the traceback quotes the message: escaped too
    assert lines[-1] == "error: internal error: RuntimeError: boom \\x1b[2J in the summary"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_maps_a_crash_to_4(
    command: str, clean_logs: Path, tmp_path: Path, monkeypatch
) -> None:
    def crash(*_args: object, **_kwargs: object) -> object:
        raise KeyError("unexpected")

    # The executor runs every group through process_group: a crash there is a crash in
    # any command.
    monkeypatch.setattr("kmslog.run.executor.process_group", crash)
    done = invoke(*command_args(command, tmp_path), "--jobs", "1", str(clean_logs))
    assert done.exit_code == 4, done.output
    assert done.stderr.startswith("error: internal error: KeyError: 'unexpected'")
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", COMMANDS)
def test_nothing_readable_exits_2(command: str, unreadable_logs: Path, tmp_path: Path) -> None:
    done = invoke(*command_args(command, tmp_path), str(unreadable_logs))
    assert done.exit_code == 2, done.output
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "error: nothing readable: no record could be decoded from 3 files "
        "(2 failed, 2 records rejected)"
    )
    named = "\n".join(lines[1:])
    assert "a.json" in named and "b.json.gz" in named and "c.json" in named
    assert "No rule matched" not in done.stdout
    if command == "baseline":
        assert not (tmp_path / "profile.json").exists()


def test_nothing_readable_still_writes_machine_output(unreadable_logs: Path) -> None:
    done = invoke("scan", "--no-progress", "--format", "json", str(unreadable_logs))
    assert done.exit_code == 2
    summary = json.loads(done.stdout)["summary"]
    assert summary["files"]["failed"] == 2 and summary["records"]["rejected"] == 2


def test_what_counts_as_readable(clean_logs: Path, unreadable_logs: Path, tmp_path: Path) -> None:
    # one sound file among failures: the run answers (a rule matches nothing here)
    mixed = invoke("scan", "--no-progress", str(clean_logs), str(unreadable_logs))
    assert mixed.exit_code == 0, mixed.output
    # every file pruned by the selection: an empty answer, not an error
    pruned = invoke("scan", "--no-progress", "--since", "2030-01-01", str(clean_logs))
    assert pruned.exit_code == 0, pruned.output
    # an empty but valid log file
    empty = write(tmp_path / "empty" / "e.json", b'{"Records": []}')
    assert invoke("scan", "--no-progress", str(empty)).exit_code == 0
    # records decoded but all outside the window still count as read
    bare = write(tmp_path / "bare" / "r.json", json.dumps({"Records": [record(0)]}).encode())
    assert invoke("scan", "--no-progress", "--since", "2024-05-02", str(bare)).exit_code == 0
    # ... and nothing readable stays 2 whatever --fail-on says
    quiet = invoke("scan", "--no-progress", "--fail-on", "none", str(unreadable_logs))
    assert quiet.exit_code == 2


@pytest.mark.parametrize(
    "command", ["scan", "filter", "test-pattern", "lifecycle", "baseline", "version"]
)
def test_help_lists_the_statuses(command: str) -> None:
    done = invoke(command, "--help")
    assert done.exit_code == 0
    lines = [line.strip() for line in done.stdout.splitlines()]
    start = lines.index("Exit status:")
    codes = [line.split()[0] for line in lines[start + 1 :] if line[:1].isdigit()]
    assert codes[0] == "0" and codes[-1] == "4"
    assert any(line.startswith("4  internal error") for line in lines)
    if command in ("scan", "filter", "lifecycle", "baseline"):
        assert "3" in codes and any("nothing readable" in line for line in lines)
