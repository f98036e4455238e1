"""The conventions every command line tool is expected to follow: -h and --version."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kmslog import __version__
from kmslog.cli import app

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
