"""The anomaly section of ``kmslog scan --baseline PROFILE``: builds the analysis from
the options and names its renderers."""

from __future__ import annotations

from collections.abc import Sequence

import typer

from kmslog.analyses.anomalies import AnomalyScan
from kmslog.analyses.blind_spots import BlindSpotAnalysis
from kmslog.baseline.profile import Profile, ProfileError
from kmslog.baseline.thresholds import resolve
from kmslog.report.anomalies_console import print_anomalies
from kmslog.report.anomalies_json import anomalies_data
from kmslog.report.section import Section
from kmslog.run.api import ScanOptions

BLIND_SPOTS = BlindSpotAnalysis.name


def anomaly_section(
    profile_path: str,
    options: ScanOptions,
    assignments: Sequence[str],
    thresholds_file: str | None,
) -> Section:
    try:
        profile = Profile.read(profile_path)
    except ProfileError as exc:
        raise typer.BadParameter(str(exc), param_hint="--baseline") from None
    try:
        thresholds = resolve(thresholds_file, assignments)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--threshold") from None
    analysis = AnomalyScan(profile, options.since, options.until, thresholds)
    return Section(
        analysis,
        "anomalies",
        lambda result, found: anomalies_data(found, result.results.get(BLIND_SPOTS)),
        lambda console, result, found: print_anomalies(
            console, found, result.results.get(BLIND_SPOTS)
        ),
    )
