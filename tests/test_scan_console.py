"""The default ``kmslog scan sample_logs`` console, pinned at 80 columns, and what must
hold of it at any width: no line wider than the console, every key and principal ARN
of a finding whole on one line, and a last line that says why the exit status is what
it is (and agrees with it).

The expected console is ``tests/snapshots/scan_sample_80.txt``. When the sample or the
console changes on purpose, regenerate it and review the diff:

    KMSLOG_UPDATE_SNAPSHOTS=1 python -m pytest -q tests/test_scan_console.py
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from kmslog.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
SNAPSHOT = Path(__file__).parent / "snapshots" / "scan_sample_80.txt"
UPDATE = os.environ.get("KMSLOG_UPDATE_SNAPSHOTS") == "1"
EXIT_LINE = re.compile(r"^exit (\d): \S")
RULE_KINDS = {"kms-pending-deletion-usage", "cis-4.7-cmk-disable-or-scheduled-deletion"}

pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")


def scan(*options: str, columns: int = 80) -> Result:
    return CliRunner().invoke(
        app, ["scan", "--no-progress", *options, str(SAMPLE)], env={"COLUMNS": str(columns)}
    )


@pytest.fixture(scope="module")
def console80() -> Result:
    return scan()


@pytest.fixture(scope="module")
def finding_rows() -> list[dict[str, str]]:
    """Every finding of every analysis of the run (the CSV output)."""
    done = CliRunner().invoke(app, ["scan", "--no-progress", "--format", "csv", str(SAMPLE)])
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows, done.output
    return rows


@pytest.fixture(scope="module")
def finding_arns(finding_rows: list[dict[str, str]]) -> set[str]:
    """Every key and principal ARN a finding of the run names."""
    rows = finding_rows
    arns = {r[c] for r in rows for c in ("key_arn", "principal") if r[c].startswith("arn:")}
    assert any(":key/" in a for a in arns) and any(":iam::" in a for a in arns)
    return arns


def test_snapshot_at_80_columns(console80: Result) -> None:
    if UPDATE:
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(console80.stdout, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    assert console80.stdout == expected, (
        "console changed; if on purpose: KMSLOG_UPDATE_SNAPSHOTS=1 python -m pytest "
        "tests/test_scan_console.py"
    )


def test_no_line_wider_than_80(console80: Result) -> None:
    lines = console80.stdout.splitlines()
    assert len(lines) > 50
    wide = [(i, line) for i, line in enumerate(lines, 1) if cell_len(line) > 80]
    assert not wide


def test_every_finding_arn_whole_on_a_line(console80: Result, finding_arns: set[str]) -> None:
    lines = console80.stdout.splitlines()
    cut = sorted(a for a in finding_arns if not any(a in line for line in lines))
    assert not cut


def test_grouped_with_aliases_ips_agents_and_remediation(console80: Result) -> None:
    text = console80.stdout
    # one block per rule, not a row per event; the shortened key form is gone
    assert "Rules matched:" in text
    assert not re.search(r"\bus-east-1:\d{3,}…", text)
    assert re.search(r"^    alias/", text, re.M), "a key's alias at the time"
    assert re.search(r"^      from \S+.*; agent ", text, re.M), "source IPs and agents"
    assert "what to do: " in text


def test_last_line_is_the_exit_status(console80: Result) -> None:
    last = console80.stdout.rstrip("\n").splitlines()[-1]
    found = EXIT_LINE.match(last)
    assert found, last
    assert int(found.group(1)) == console80.exit_code == 1


@pytest.mark.parametrize(
    ("options", "status", "words"),
    [
        (("--fail-on", "none"), 0, "--fail-on none"),
        (("--fail-on", "alarm"), 1, "transitions to ALARM"),
        (("--no-builtin-rules",), 1, "--no-builtin-rules left out"),
    ],
)
def test_exit_line_follows_the_options(options: tuple[str, ...], status: int, words: str) -> None:
    done = scan(*options)
    last = done.stdout.rstrip("\n").splitlines()[-1]
    found = EXIT_LINE.match(last)
    assert found and int(found.group(1)) == done.exit_code == status, last
    assert words in last and cell_len(last) <= 80


def test_wide_shows_every_column_and_value(
    finding_arns: set[str], finding_rows: list[dict[str, str]]
) -> None:
    done = scan("--wide")
    assert done.exit_code == 1, done.output
    lines = done.stdout.splitlines()
    assert max(cell_len(line) for line in lines) > 80
    assert not sorted(a for a in finding_arns if not any(a in line for line in lines))
    assert any(line.startswith("┃ time") and "reason" in line for line in lines)
    header = next(line for line in lines if "source IPs" in line)
    for column in ("key", "aliases", "principal", "events", "first", "last", "user agents"):
        assert column in header
    # every source IP and user agent of a rule match, whole (narrow: the first few, cut)
    rules = [r for r in finding_rows if r["kind"] in RULE_KINDS]
    assert rules
    ips = {ip for r in rules for ip in r["source_ips"].split()}
    agents = {a for r in rules for a in r["user_agents"].split(" | ") if a}
    assert not sorted(v for v in ips | agents if not any(v in line for line in lines))
    assert EXIT_LINE.match(lines[-1])


def test_same_console_whatever_the_jobs(console80: Result) -> None:
    assert scan("--jobs", "3").stdout == scan("--jobs", "1").stdout == console80.stdout


def test_alarm_timelines_narrow_pair_each_alarm_with_its_end() -> None:
    """At 80 columns a transition to ALARM and the next one share a row; every time a
    replayed alarm went to ALARM is still shown, with whether it notified, and every
    kmslog note."""
    import json

    done = CliRunner().invoke(app, ["scan", "--no-progress", "--format", "json", str(SAMPLE)])
    alarms = json.loads(done.stdout)["alarms"]
    text = scan().stdout
    timeline = text[text.index("Alarm timeline") :]
    rows = [line for line in timeline.splitlines() if line.startswith("│ 2")]
    to_alarm = [t for a in alarms for t in a["transitions"] if t["to"] == "ALARM"]
    assert to_alarm
    for t in to_alarm:
        told = "yes" if t["would_notify"] else "NO"
        assert any(t["time"] in r and "ALARM" in r and told in r for r in rows), t["time"]
    others = sum(len(a["transitions"]) for a in alarms) - len(to_alarm)
    # each row is a transition to ALARM, or one that does not end an ALARM episode
    assert len(to_alarm) <= len(rows) <= len(to_alarm) + others
    noted = [t for a in alarms for t in a["transitions"] if t["note"]]
    for t in noted:
        # the note starts on the row of its transition (or of the ALARM it ends)
        first_word = t["note"].split()[0]
        assert any(first_word in r for r in rows), t["note"]
    header = next(line for line in timeline.splitlines() if line.startswith("┃ time"))
    assert "until" in header and "reason" not in header
