"""The ``kmslog`` command line: one typer app; each command lives in ``kmslog.commands``."""

from __future__ import annotations

import typer

from kmslog.commands import baseline, filter_cmd, lifecycle, scan, test_pattern

app = typer.Typer(
    name="kmslog",
    help="Offline AWS CloudTrail analyzer for KMS keys.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the kmslog version."""
    from kmslog import __version__

    typer.echo(__version__)


for module in (scan, filter_cmd, test_pattern, lifecycle, baseline):
    module.register(app)


def main() -> None:
    app()
