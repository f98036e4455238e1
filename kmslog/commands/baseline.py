"""``kmslog baseline PATH… -o PROFILE``: learn a usage profile; ``--merge A B -o C``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kmslog.analyses.baseline import BaselineLearner
from kmslog.baseline.profile import Profile, ProfileError
from kmslog.commands.options import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    EXIT_USAGE,
    Dask,
    Engine,
    Jobs,
    MaxDecompressedSize,
    NoProgress,
    NoSignRequest,
    S3EndpointUrl,
    S3Profile,
    S3Region,
    Since,
    StoreDirs,
    Strict,
    Until,
    configure_s3,
    exit_statuses,
    failed_files,
    run_or_exit,
    scan_options,
    with_stores,
)
from kmslog.report import safe
from kmslog.sources.names import display_name


def _merge(inputs: list[str], output: Path) -> None:
    if len(inputs) < 2:
        raise typer.BadParameter("--merge needs at least two profiles")
    try:
        profiles = [Profile.read(p) for p in inputs]
    except ProfileError as exc:
        safe.say(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    merged = profiles[0]
    for other in profiles[1:]:
        merged = merged.merge(other)
    merged.write(output)
    safe.say(
        f"merged {len(profiles)} profiles into {output}: {merged.events} events, "
        f"{merged.days} days, {len(merged.keys())} keys"
    )


def baseline(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH...", help="CloudTrail files, directories or globs to learn from."
        ),
    ] = None,
    store: StoreDirs = None,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Profile file to write (JSON).")
    ] = Path("kmslog-profile.json"),
    since: Since = None,
    until: Until = None,
    merge: Annotated[
        bool,
        typer.Option("--merge", help="Merge the profiles given as PATHs instead of reading logs."),
    ] = False,
    jobs: Jobs = None,
    dask: Dask = None,
    engine: Engine = None,
    strict: Strict = False,
    max_decompressed_size: MaxDecompressedSize = DEFAULT_MAX_DECOMPRESSED_SIZE,
    no_progress: NoProgress = False,
    profile: S3Profile = None,
    s3_region: S3Region = None,
    endpoint_url: S3EndpointUrl = None,
    no_sign_request: NoSignRequest = False,
) -> None:
    """Learn per-key, per-principal and account-level usage profiles in one streaming pass.

    The profile keeps its history per day, so `kmslog scan --baseline PROFILE --since T`
    compares the window after T with the part of the profile before T. It holds hourly
    call counts per key, per principal and per principal on a key (for spikes and
    sustained rises) and the encryption-context key names each principal sends with each
    key (capped), for the new-context finding. See docs/baseline.md.
    """
    if merge:
        if not paths:
            raise typer.BadParameter("give at least one PATH")
        _merge(paths, output)
        return
    paths = with_stores(paths, store)
    configure_s3(profile, s3_region, endpoint_url, no_sign_request)
    options = scan_options(
        since,
        until,
        strict=strict,
        jobs=jobs,
        max_decompressed_size=max_decompressed_size,
        engine=engine,
        dask=dask,
    )
    # The profile is JSON: a path argument that is not valid UTF-8 goes in escaped.
    learner = BaselineLearner(sources=tuple(display_name(p) for p in paths))
    result = run_or_exit(paths, [learner], options, show_progress=not no_progress)
    for line in failed_files(result):
        safe.say(line)
    learned: Profile = result.results[learner.name]
    learned.write(output)
    stats = result.stats
    safe.say(
        f"learned {output}: {learned.events} events from {stats.files_read} files "
        f"({stats.records_rejected} records rejected, {stats.files_failed} files failed), "
        f"{learned.days} days, {len(learned.keys())} keys"
    )


def register(app: typer.Typer) -> None:
    app.command("baseline", epilog=exit_statuses("the profile was written"))(baseline)
