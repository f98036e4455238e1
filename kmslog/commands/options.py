"""What several commands share: exit codes, time and size arguments, the progress bar."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

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
