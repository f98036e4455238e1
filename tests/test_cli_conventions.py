"""The conventions every command follows: -h and --version, known metavars in the help,
the time forms of --since/--until and their errors."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from kmslog import __version__
from kmslog.cli import app
from kmslog.commands import options
from kmslog.report.safe import console as safe_console

COMMANDS = sorted(
    command.name or command.callback.__name__.replace("_", "-")
    for command in app.registered_commands
    if command.callback is not None
)


def test_version_option_prints_the_version_and_exits_zero() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"kmslog {__version__}"


def test_short_help_on_the_app() -> None:
    result = CliRunner().invoke(app, ["-h"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout and "-h, --help" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_short_help_on_every_command(command: str) -> None:
    short = CliRunner().invoke(app, [command, "-h"])
    long = CliRunner().invoke(app, [command, "--help"])
    assert short.exit_code == 0, short.output
    assert short.stdout == long.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_version_option_on_every_command(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"kmslog {__version__}"


# What typer shows when a parameter names no metavar: a Python type.
PYTHON_TYPE = re.compile(r"<(?:list\[|str|int|float|path|bool|datetime)[^>]*>|\b[A-Z]+ range\b")


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_known_metavars_not_python_types(command: str) -> None:
    shown = CliRunner().invoke(app, [command, "-h"]).stdout
    assert not PYTHON_TYPE.search(shown), PYTHON_TYPE.search(shown)
    if "--since" in shown:
        assert "--since TIME" in shown and "--until TIME" in shown
    if "--jobs" in shown:
        assert "--jobs N" in shown
    if " PATH" in shown.split("Options:")[0]:
        assert "PATH..." in shown


LOG_COMMANDS = sorted(c for c in COMMANDS if "--since" in CliRunner().invoke(app, [c, "-h"]).stdout)
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("30m", NOW - timedelta(minutes=30)),
        (" 0d ", NOW),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T10:00:00+02:00", datetime(2026, 3, 1, 8, tzinfo=UTC)),
        ("2026-03-01T10:00:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ],
)
def test_time_forms(text: str, expected: datetime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(options, "utc_now", lambda: NOW)
    assert options.parse_instant(text) == expected


@pytest.mark.parametrize("text", ["7", "7w", "-7d", "d7", "yesterday", "2026-13-01", "1e9d"])
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        options.parse_instant(text)


def _one_record(root: Path, when: datetime) -> Path:
    record = {
        "eventVersion": "1.08",
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "kms.amazonaws.com",
        "eventName": "Decrypt",
        "awsRegion": "us-east-1",
        "eventID": "ev-1",
        "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a"},
        "resources": [
            {"ARN": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
        ],
    }
    path = root / "log.json"
    path.write_text(json.dumps({"Records": [record]}), "utf-8")
    return path


def _arguments(command: str, log: str, tmp_path: Path) -> list[str]:
    """A valid command line of ``command`` over ``log``."""
    return {
        "filter": ["{ $.eventName = Decrypt }", log],
        "lifecycle": ["--all", log],
        "dependents": ["--all", log],
        "baseline": [log, "-o", str(tmp_path / "profile.json")],
    }.get(command, [log])


@pytest.mark.parametrize("command", LOG_COMMANDS)
def test_relative_times_and_their_errors_in_every_command(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(options, "utc_now", lambda: NOW)
    args = [command, *_arguments(command, str(_one_record(tmp_path, NOW)), tmp_path)]
    good = CliRunner().invoke(app, [*args, "--since", "3h", "--until", "10m", "--no-progress"])
    assert good.exit_code in (0, 1), good.output
    bad = CliRunner().invoke(app, [*args, "--since", "2x"])
    assert bad.exit_code == 2 and "'--since'" in bad.output, bad.output
    bad = CliRunner().invoke(app, [*args, "--until", "soon"])
    assert bad.exit_code == 2 and "'--until'" in bad.output, bad.output


def test_relative_since_selects_by_now(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(options, "utc_now", lambda: NOW)
    log = str(_one_record(tmp_path, NOW - timedelta(hours=2)))
    for since, found in (("3h", 1), ("1h", 0), ("150m", 1), ("119m", 0)):
        out = CliRunner().invoke(
            app, ["events", log, "--since", since, "--format", "json", "--no-progress"]
        )
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["count"] == found, since


def _caret_column(output: str, shown: str) -> int:
    """The column of the caret under the line showing ``shown``."""
    lines = output.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip() == shown)
    assert lines[index + 1].strip() == "^"
    return lines[index + 1].index("^") - lines[index].index(shown)


BAD_PATTERN = '{ $.eventName = "a" &&& $.x = 1 }'
BAD_AT = BAD_PATTERN.index("&&&") + 2


def test_filter_pattern_error_shows_a_caret(tmp_path: Path) -> None:
    log = str(_one_record(tmp_path, NOW))
    result = CliRunner().invoke(app, ["filter", BAD_PATTERN, log])
    assert result.exit_code == 2
    assert f"position {BAD_AT}" in result.output
    assert _caret_column(result.output, BAD_PATTERN) == BAD_AT


def test_test_pattern_error_shows_a_caret_under_the_escaped_text() -> None:
    hostile = BAD_PATTERN.replace('"a"', '"\x1b[2J"')
    result = CliRunner().invoke(app, ["test-pattern", hostile, "-"], input="x\n")
    assert result.exit_code == 2, result.output
    assert "\x1b" not in result.output
    shown = BAD_PATTERN.replace('"a"', '"\\x1b[2J"')
    # The escape takes four columns where the pattern had one character: the caret
    # still falls under the same character.
    assert _caret_column(result.output, shown) == shown.index("&&&") + 2


def test_rule_pattern_error_names_the_rule_and_shows_a_caret(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\nid = "mine"\ntitle = "t"\nseverity = "low"\n\n[rule.filter]\n'
        f'name = "F"\npattern = {json.dumps(BAD_PATTERN)}\nnamespace = "N"\nmetric = "M"\n'
        'value = "1"\n',
        "utf-8",
    )
    log = str(_one_record(tmp_path, NOW))
    result = CliRunner().invoke(app, ["scan", log, "--rules", str(rules), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "rule 'mine', field 'filterPattern'" in result.output
    assert _caret_column(result.output, BAD_PATTERN) == BAD_AT


def test_a_long_pattern_is_shown_around_the_error() -> None:
    pattern = "{ " + " || ".join(f'$.f{i} = "v{i}"' for i in range(40)) + " &&& $.x = 1 }"
    at = pattern.index("&&&") + 2
    result = CliRunner().invoke(app, ["test-pattern", pattern, "-"], input="x\n")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip() == "^")
    shown, under = lines[caret - 1], lines[caret]
    assert len(shown) <= 80 and shown.strip().startswith("…")
    assert shown[under.index("^")] == pattern[at]


def test_progress_bar_lists_then_reads_with_records_rate_and_eta() -> None:
    console = safe_console(file=io.StringIO(), width=160)
    bar, update = options.progress_bar(console)
    task = bar.tasks[0]
    assert task.fields["phase"] == "listing" and task.total is None
    update(0, 4, 0, 4000)
    update(2, 4, 2000, 4000, records=1500)
    task = bar.tasks[0]
    assert task.fields["phase"] == "reading"
    assert task.fields["files"] == "2/4 files"
    assert task.fields["records"].startswith("1,500 records (") and "/s)" in task.fields["records"]
    assert (task.completed, task.total) == (2000, 4000)
    names = [type(c).__name__ for c in bar.columns]
    assert "TimeRemainingColumn" in names and "DownloadColumn" in names


EVENT_PATTERN = '{\n  "source": ["aws.kms"],\n  "detail": {"eventName": ["Decrypt" }\n}'
EVENT_LINE = '  "detail": {"eventName": ["Decrypt" }'


def test_event_pattern_error_shows_its_line_with_a_caret() -> None:
    result = CliRunner().invoke(
        app, ["test-event-pattern", "--event-pattern", EVENT_PATTERN, "--event", "{}"]
    )
    assert result.exit_code == 2
    assert "line 3, column 38" in result.output
    assert _caret_column(result.output, EVENT_LINE.strip()) == EVENT_LINE.index("}") - 2


def test_event_rule_pattern_error_in_rules_shows_a_caret(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(f'[[event_rule]]\nid = "e"\npattern = {json.dumps(EVENT_PATTERN)}\n', "utf-8")
    log = str(_one_record(tmp_path, NOW))
    result = CliRunner().invoke(app, ["scan", log, "--rules", str(rules), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert "rule 'e', field 'EventPattern'" in result.output
    assert _caret_column(result.output, EVENT_LINE.strip()) == EVENT_LINE.index("}") - 2
