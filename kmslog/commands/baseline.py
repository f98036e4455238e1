"""``kmslog baseline PATH… -o PROFILE``: learn a usage profile; ``--merge A B -o C``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kmslog.analyses.baseline import BaselineLearner
from kmslog.baseline.profile import Profile, ProfileError
from kmslog.commands.options import (
    EXIT_USAGE,
    Engine,
    Jobs,
    NoProgress,
    Since,
    Strict,
    Until,
    run_or_exit,
    scan_options,
)


def _merge(inputs: list[str], output: Path, err: Console) -> None:
    if len(inputs) < 2:
        raise typer.BadParameter("--merge needs at least two profiles")
    try:
        profiles = [Profile.read(p) for p in inputs]
    except ProfileError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    merged = profiles[0]
    for other in profiles[1:]:
        merged = merged.merge(other)
    merged.write(output)
    err.print(
        f"merged {len(profiles)} profiles into {output}: {merged.events} events, "
        f"{merged.days} days, {len(merged.keys())} keys",
        markup=False,
        highlight=False,
    )


def baseline(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH...", help="CloudTrail files, directories or globs to learn from."
        ),
    ] = None,
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
    engine: Engine = None,
    strict: Strict = False,
    no_progress: NoProgress = False,
) -> None:
    """Learn per-key, per-principal and account-level usage profiles in one streaming pass.

    The profile keeps its history per day, so `kmslog scan --baseline PROFILE --since T`
    compares the window after T with the part of the profile before T.
    """
    err = Console(stderr=True)
    if not paths:
        raise typer.BadParameter("give at least one PATH")
    if merge:
        _merge(paths, output, err)
        return
    options = scan_options(since, until, strict=strict, jobs=jobs, engine=engine)
    learner = BaselineLearner(sources=tuple(paths))
    result = run_or_exit(paths, [learner], options, show_progress=not no_progress)
    profile: Profile = result.results[learner.name]
    profile.write(output)
    stats = result.stats
    err.print(
        f"learned {output}: {profile.events} events from {stats.files_read} files "
        f"({stats.records_rejected} records rejected, {stats.files_failed} files failed), "
        f"{profile.days} days, {len(profile.keys())} keys",
        markup=False,
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("baseline")(baseline)
