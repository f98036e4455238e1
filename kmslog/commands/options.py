"""What several commands share: exit codes, time and size arguments, the progress bar."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from kmslog.analyses.base import Analysis
from kmslog.decode.native import ENGINE_ENV, resolve_engine
from kmslog.run.api import DEFAULT_MAX_DECOMPRESSED, RunResult, ScanOptions
from kmslog.run.executor import NoInputError, StrictError, run

EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_STRICT = 3


def parse_instant(text: str, end_of_day: bool = False) -> datetime:
    """ISO 8601 date or date-time; naive means UTC. A bare date given as an upper
    bound means the end of that day."""
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time(0), tzinfo=UTC)
            return moment + timedelta(days=1, milliseconds=-1) if end_of_day else moment
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 date or date-time (e.g. 2024-05-01 or "
            "2024-05-01T13:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """``4GiB``, ``512M``, ``1000000`` → bytes (K/M/G/T are powers of 1024)."""
    match = _SIZE.match(text)
    if match is None:
        raise typer.BadParameter(f"{text!r} is not a size (e.g. 4GiB, 512M, 1000000)")
    power = "kmgt".find(match[2].lower()) + 1 if match[2] else 0
    size = int(match[1]) * 1024**power
    if size <= 0:
        raise typer.BadParameter("the size must be positive")
    return size


def progress_bar(console: Console) -> tuple[Progress, Callable[[int, int, int, int], None]]:
    bar = Progress(
        TextColumn("reading"),
        BarColumn(),
        TextColumn("{task.fields[files]}"),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("scan", total=None, files="")

    def update(files_done: int, files_total: int, bytes_done: int, bytes_total: int) -> None:
        bar.update(
            task,
            completed=bytes_done,
            total=bytes_total,
            files=f"{files_done}/{files_total} files",
        )

    return bar, update


def scan_options(
    since: str | None,
    until: str | None,
    *,
    accounts: list[str] | None = None,
    regions: list[str] | None = None,
    strict: bool = False,
    jobs: int | None = None,
    max_decompressed_size: str | None = None,
    engine: str | None = None,
) -> ScanOptions:
    """The run options from command-line text; a usage error when they contradict."""
    try:
        engine = resolve_engine(engine)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    options = ScanOptions(
        since=None if since is None else parse_instant(since),
        until=None if until is None else parse_instant(until, end_of_day=True),
        accounts=frozenset(accounts or ()),
        regions=frozenset(regions or ()),
        strict=strict,
        jobs=jobs,
        max_decompressed_bytes=(
            DEFAULT_MAX_DECOMPRESSED
            if max_decompressed_size is None
            else parse_size(max_decompressed_size)
        ),
        engine=engine,
    )
    if options.since and options.until and options.since > options.until:
        raise typer.BadParameter("--since is after --until")
    return options


def run_or_exit(
    paths: Sequence[str],
    analyses: Sequence[Analysis[Any, Any]],
    options: ScanOptions,
    *,
    show_progress: bool = True,
) -> RunResult:
    """Run the analyses with a progress bar on stderr (when it is a terminal); input
    errors end the command with a message and the matching exit status."""
    err = Console(stderr=True, highlight=False)
    bar, update = progress_bar(err) if show_progress and err.is_terminal else (None, None)
    try:
        if bar is not None:
            bar.start()
        return run(paths, analyses, options, progress=update)
    except NoInputError as exc:
        err.print(f"error: {exc}", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    except StrictError as exc:
        err.print(f"error (--strict): {exc}", markup=False)
        raise typer.Exit(EXIT_STRICT) from None
    finally:
        if bar is not None:
            bar.stop()


# The options every log-reading command takes, declared once.
Since = Annotated[
    str | None, typer.Option(help="Only records at or after this time (ISO 8601, UTC).")
]
Until = Annotated[
    str | None,
    typer.Option(help="Only records at or before this time (a bare date: its end)."),
]
Accounts = Annotated[
    list[str] | None, typer.Option("--account", help="Only this recipient account (repeatable).")
]
Regions = Annotated[
    list[str] | None, typer.Option("--region", help="Only this region (repeatable).")
]
Jobs = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Decode threads (native engine) or worker processes (python engine); "
        "default: one per core.",
    ),
]
Engine = Annotated[
    str | None,
    typer.Option(
        envvar=ENGINE_ENV,
        help="Decoder: native (Rust, the default when built) or python (the reference).",
    ),
]
Strict = Annotated[
    bool, typer.Option(help=f"Stop at the first bad file or record (exit {EXIT_STRICT}).")
]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="No progress bar.")]
