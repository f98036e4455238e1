"""What several commands share: exit statuses, time and size arguments, the progress bar,
running the analyses with input errors turned into messages and statuses."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
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
from kmslog.report import safe
from kmslog.run.api import DEFAULT_MAX_DECOMPRESSED, IngestStats, RunResult, ScanOptions
from kmslog.run.dask_executor import DaskUnavailable, check_address
from kmslog.run.executor import NoInputError, StrictError, run
from kmslog.run.executor import Progress as RunProgress

EXIT_CLEAN = 0
EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_STRICT = 3
EXIT_INTERNAL = 4

# Failures named in the "nothing readable" message.
FIRST_FAILURES = 5


def exit_statuses(success: str, found: str | None = None, reads_logs: bool = True) -> str:
    """The exit-status table of a command's --help epilog, the same text for every
    command: ``success`` and ``found`` say what 0 and 1 mean for it (``found`` None: it
    never exits 1)."""
    lines = ["Exit status:", f"  {EXIT_CLEAN}  {success}"]
    if found is not None:
        lines.append(f"  {EXIT_FOUND}  {found}")
    if reads_logs:
        lines += [
            f"  {EXIT_USAGE}  usage error, no such path, or nothing readable (not one",
            "     record decoded, and files failed or records were rejected)",
            f"  {EXIT_STRICT}  --strict: a bad file or record",
        ]
    else:
        lines.append(f"  {EXIT_USAGE}  usage error")
    lines.append(f"  {EXIT_INTERNAL}  internal error (kmslog --debug ... shows the traceback)")
    # \b keeps click from re-wrapping the table into one paragraph.
    return "\b\n" + "\n".join(lines)


_RELATIVE = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def utc_now() -> datetime:
    """Now, in UTC: what relative times count back from."""
    return datetime.now(UTC)


def parse_instant(text: str, end_of_day: bool = False) -> datetime:
    """ISO 8601 date or date-time (naive means UTC), or a time relative to now: ``7d``,
    ``12h``, ``30m`` ago. A bare date given as an upper bound means the end of that day."""
    value = text.strip()
    relative = _RELATIVE.match(value)
    if relative is not None:
        amount = timedelta(**{_UNITS[relative[2]]: int(relative[1])})
        return utc_now() - amount
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time(0), tzinfo=UTC)
            return moment + timedelta(days=1, milliseconds=-1) if end_of_day else moment
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except (ValueError, OverflowError):
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 date or date-time (2024-05-01, "
            "2024-05-01T13:00:00Z) nor a time ago (7d, 12h, 30m)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_window(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    """--since and --until as instants; a bad one is a usage error naming its option."""
    bounds: list[datetime | None] = []
    for option, value, end_of_day in (("--since", since, False), ("--until", until, True)):
        try:
            bounds.append(None if value is None else parse_instant(value, end_of_day))
        except typer.BadParameter as exc:
            raise typer.BadParameter(exc.message, param_hint=f"'{option}'") from None
    return bounds[0], bounds[1]


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


def progress_bar(console: Console) -> tuple[Progress, RunProgress]:
    """The run's progress on ``console``: ``listing`` while the inputs are discovered
    (an S3 listing can take a while), then ``reading`` with files, bytes, records,
    records per second and the time left (from the bytes read)."""
    bar = Progress(
        TextColumn("{task.fields[phase]}", markup=False),
        BarColumn(),
        TextColumn("{task.fields[files]}", markup=False),
        DownloadColumn(),
        TextColumn("{task.fields[records]}", markup=False),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("scan", total=None, phase="listing", files="", records="")
    started = monotonic()

    def update(
        files_done: int, files_total: int, bytes_done: int, bytes_total: int, records: int = 0
    ) -> None:
        elapsed = monotonic() - started
        rate = f" ({records / elapsed:,.0f}/s)" if records and elapsed > 0 else ""
        bar.update(
            task,
            completed=bytes_done,
            total=bytes_total,
            phase="reading",
            files=f"{files_done}/{files_total} files",
            records=f"{records:,} records{rate}",
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
    dask: str | None = None,
) -> ScanOptions:
    """The run options from command-line text; a usage error when they contradict."""
    try:
        engine = resolve_engine(engine)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    start, end = parse_window(since, until)
    options = ScanOptions(
        since=start,
        until=end,
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
        dask=None if dask is None else _dask_address(dask),
    )
    if options.since and options.until and options.since > options.until:
        raise typer.BadParameter("--since is after --until")
    return options


def nothing_readable(stats: IngestStats) -> bool:
    """True when the run could not read anything at all: not one record was decoded
    (kept, duplicate or outside the selection) while at least one file failed or one
    record was rejected. Files pruned by the selection or skipped (digests, insights,
    not log files) were never meant to be read and do not count either way, so an input
    pruned entirely is an empty answer, not an error; empty log files are readable."""
    problems = stats.files_failed + stats.records_rejected
    return problems > 0 and stats.records_seen - stats.records_rejected == 0


def _nothing_readable_message(stats: IngestStats) -> list[str]:
    tried = stats.files_read + stats.files_failed
    head = (
        f"error: nothing readable: no record could be decoded from {tried} "
        f"file{'s' if tried != 1 else ''} ({stats.files_failed} failed, "
        f"{stats.records_rejected} records rejected)"
    )
    lines = [head]
    for r in stats.rejections[:FIRST_FAILURES]:
        where = "" if r.position is None else f" ({r.position_kind} {r.position})"
        lines.append(f"  {r.source}{where}: {r.reason}")
    more = stats.files_failed + stats.records_rejected - min(len(stats.rejections), FIRST_FAILURES)
    if more > 0:
        lines.append(f"  … and {more} more")
    return lines


def failed_files(result: RunResult) -> list[str]:
    """A line per file refused as a whole (unreadable, over the size cap, not JSON), for
    commands whose output would otherwise not show that a file was left out."""
    lines = []
    for problem in result.stats.rejections:
        if problem.position_kind in ("byte", "file"):
            where = "" if problem.position is None else f" byte {problem.position}"
            lines.append(safe.clean(f"warning: {problem.source}{where}: {problem.reason}"))
    return lines


def _dask_address(address: str) -> str:
    try:
        return check_address(address)
    except DaskUnavailable as exc:
        raise typer.BadParameter(str(exc)) from None


def run_or_exit(
    paths: Sequence[str],
    analyses: Sequence[Analysis[Any, Any]],
    options: ScanOptions,
    *,
    show_progress: bool = True,
    unreadable: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Run the analyses with a progress bar on stderr (when it is a terminal); input
    errors (no such path, nothing readable, --strict) end the command with a message
    and the matching exit status. When nothing was readable, ``unreadable`` (if given)
    first writes what the command still shows of such a run (its JSON, say)."""
    err = safe.console(stderr=True)
    bar, update = progress_bar(err) if show_progress and err.is_terminal else (None, None)
    try:
        if bar is not None:
            bar.start()
        result = run(paths, analyses, options, progress=update)
    except NoInputError as exc:
        safe.say(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except StrictError as exc:
        safe.say(f"error (--strict): {exc}")
        raise typer.Exit(EXIT_STRICT) from None
    except DaskUnavailable as exc:
        safe.say(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    finally:
        if bar is not None:
            bar.stop()
    if nothing_readable(result.stats):
        if unreadable is not None:
            unreadable(result)
        for line in _nothing_readable_message(result.stats):
            safe.say(line)
        raise typer.Exit(EXIT_USAGE)
    return result


# The options every log-reading command takes, declared once.
Since = Annotated[
    str | None,
    typer.Option(
        metavar="TIME",
        help="Only records at or after this time: ISO 8601 (UTC unless it says), a date, "
        "or a time ago (7d, 12h, 30m).",
    ),
]
Until = Annotated[
    str | None,
    typer.Option(
        metavar="TIME",
        help="Only records at or before this time (as --since; a bare date: its end).",
    ),
]
Accounts = Annotated[
    list[str] | None,
    typer.Option("--account", metavar="ACCOUNT", help="Only this recipient account (repeatable)."),
]
Regions = Annotated[
    list[str] | None,
    typer.Option("--region", metavar="REGION", help="Only this region (repeatable)."),
]
Jobs = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="N",
        help="Decode threads (native engine) or worker processes (python engine); "
        "default: one per core.",
    ),
]
Engine = Annotated[
    str | None,
    typer.Option(
        envvar=ENGINE_ENV,
        metavar="native|python",
        help="Decoder: native (Rust, the default when built) or python (the reference).",
    ),
]
Strict = Annotated[
    bool, typer.Option(help=f"Stop at the first bad file or record (exit {EXIT_STRICT}).")
]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="No progress bar.")]
Dask = Annotated[
    str | None,
    typer.Option(
        "--dask",
        metavar="ADDRESS",
        help="Run on a Dask cluster: tcp://HOST:PORT of its scheduler (workers need kmslog "
        "installed and the inputs readable), or local:N for N local worker processes.",
    ),
]
MaxDecompressedSize = Annotated[
    str,
    typer.Option(
        metavar="SIZE",
        help="Refuse a file that inflates beyond this size (checked while inflating: "
        "memory stays bounded whatever the cap).",
    ),
]
DEFAULT_MAX_DECOMPRESSED_SIZE = f"{DEFAULT_MAX_DECOMPRESSED // 1024**3}GiB"

StoreDirs = Annotated[
    list[str] | None,
    typer.Option(
        "--store",
        metavar="DIR",
        help="Also read this Parquet store (made by kmslog ingest --store), repeatable; "
        "partitions outside --account/--region/--since/--until are never opened.",
    ),
]


def with_stores(paths: Sequence[str] | None, stores: Sequence[str] | None) -> list[str]:
    """The sources of a run: PATHs, then each --store DIR as ``store://DIR``; a usage
    error when there is none."""
    from kmslog.store.layout import store_url

    sources = [*(paths or ()), *(store_url(d) for d in stores or ())]
    if not sources:
        raise typer.BadParameter("give at least one PATH or --store DIR")
    return sources


# --- S3 sources (s3://bucket/prefix as PATH). --region stays the CloudTrail Region
# filter; the S3 client's own region is --s3-region (else the standard chain).
S3Profile = Annotated[
    str | None, typer.Option("--profile", metavar="NAME", help="AWS profile for s3:// sources.")
]
S3Region = Annotated[
    str | None,
    typer.Option(
        "--s3-region",
        metavar="REGION",
        help="Region of the S3 client (default: AWS_REGION, profile).",
    ),
]
S3EndpointUrl = Annotated[
    str | None,
    typer.Option("--endpoint-url", metavar="URL", help="S3 endpoint (MinIO, a local server)."),
]
NoSignRequest = Annotated[
    bool, typer.Option("--no-sign-request", help="Unsigned S3 requests (public buckets).")
]


def configure_s3(
    profile: str | None, s3_region: str | None, endpoint_url: str | None, no_sign: bool
) -> None:
    """Apply the S3 options for this run (and the worker processes it starts)."""
    if profile is None and s3_region is None and endpoint_url is None and not no_sign:
        return
    from kmslog.sources.s3 import S3Settings, configure

    configure(
        S3Settings(
            profile=profile,
            region=s3_region,
            endpoint_url=endpoint_url,
            no_sign_request=no_sign,
        )
    )
