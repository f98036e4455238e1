"""The ``kmslog`` command line: one typer app; each command lives in ``kmslog.commands``.

Exit statuses are decided here once for every command (``commands/options.py`` names
them): an unexpected exception anywhere in a command is an internal error (status 4,
one escaped line; ``--debug`` or ``KMSLOG_DEBUG=1`` adds the traceback), never the
status 1 that means "findings"; click's own errors keep their status (2 for usage) and
their message is escaped like any other.
"""

from __future__ import annotations

import errno
import io
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from kmslog.commands import (
    baseline,
    conventions,
    dependents,
    events,
    filter_cmd,
    ingest,
    lifecycle,
    scan,
    test_event_pattern,
    test_pattern,
    verify,
)
from kmslog.commands.options import EXIT_INTERNAL, exit_statuses
from kmslog.report import safe

try:  # typer from 0.2x carries its own copy of click
    from typer._click.core import Context
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer runs on click itself
    from click import ClickException, Context  # type: ignore[assignment]

DEBUG_ENV = "KMSLOG_DEBUG"
# Exceptions that already carry an exit status, or that typer turns into one.
_PASS_THROUGH: tuple[type[BaseException], ...] = (typer.Exit, ClickException, typer.Abort, EOFError)


def _env_debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _summary(exc: BaseException) -> str:
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def report_internal_error(exc: BaseException, debug: bool) -> None:
    """The internal-error message: the traceback first when debugging (each line
    escaped: exception texts may quote log content), then the one line."""
    if debug:
        for chunk in traceback.format_exception(exc):
            for line in chunk.rstrip("\n").split("\n"):
                safe.say(line)
    hint = "" if debug else " (run with --debug for the traceback)"
    safe.say(f"error: internal error: {_summary(exc)}{hint}")


def _broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno == errno.EPIPE


class KmslogGroup(TyperGroup):
    """The app's click group: escapes click's messages and maps unexpected exceptions
    to the internal-error status; every command gets the conventions (``--version``,
    known metavars) of ``commands/conventions.py``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command in self.commands.values():
            conventions.apply(command, None)

    def get_params(self, ctx: Context) -> Any:
        params = super().get_params(ctx)
        version = next((p for p in params if p.name == "version"), None)
        for command in self.commands.values():
            conventions.apply(command, version)
        return params

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except _PASS_THROUGH:
            raise
        except Exception as exc:
            if _broken_pipe(exc):
                raise  # typer handles a closed pipe (``kmslog … | head``)
            report_internal_error(exc, bool(ctx.params.get("debug")) or _env_debug())
            raise typer.Exit(EXIT_INTERNAL) from None

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            result = super().main(argv, prog_name, complete_var, False, **extra)
        except ClickException as exc:
            _show_click_error(exc)
            sys.exit(exc.exit_code)
        except typer.Abort:
            safe.say("Aborted!")
            sys.exit(1)
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
        except Exception as exc:
            # Outside a command (argument parsing, the group itself): still status 4.
            if _broken_pipe(exc):
                raise
            report_internal_error(exc, "--debug" in argv or _env_debug())
            sys.exit(EXIT_INTERNAL)
        sys.exit(result if isinstance(result, int) else 0)


def _show_click_error(exc: ClickException) -> None:
    # Click quotes the user's arguments in its messages (unknown options, bad values).
    buffer = io.StringIO()
    exc.show(file=buffer)
    for line in buffer.getvalue().rstrip("\n").split("\n"):
        safe.say(line)


app = typer.Typer(
    name="kmslog",
    help="Offline AWS CloudTrail analyzer for KMS keys.",
    epilog=exit_statuses(
        "nothing found", "findings (scan), no record names the key (lifecycle, dependents)"
    ),
    cls=KmslogGroup,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        from kmslog import __version__

        typer.echo(f"kmslog {__version__}")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=DEBUG_ENV,
            help=f"On an internal error, print the traceback (also {DEBUG_ENV}=1).",
        ),
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print the kmslog version and exit.",
        ),
    ] = False,
) -> None:
    """Offline AWS CloudTrail analyzer for KMS keys."""


@app.command(epilog=exit_statuses("success", reads_logs=False))
def version() -> None:
    """Print the kmslog version."""
    from kmslog import __version__

    typer.echo(__version__)


for module in (
    scan,
    filter_cmd,
    events,
    ingest,
    test_pattern,
    test_event_pattern,
    lifecycle,
    dependents,
    baseline,
    verify,
):
    module.register(app)


def main() -> None:
    app()
