"""Real records nobody on this project wrote (../shared/external, see each
PROVENANCE.md) give blind-spot findings through ``kmslog scan``, and exit 1."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kmslog.cli import app

from .records import external

STRATUS = "stratus-red-team-detonation-logs/docs/detonation-logs/aws.defense-evasion."
TRAILDISCOVER = "traildiscover/docs/logExamples/CloudTrail-"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (f"{STRATUS}cloudtrail-stop.json", "blind-spot-trail-stopped"),
        (f"{STRATUS}cloudtrail-delete.json", "blind-spot-trail-deleted"),
        (f"{STRATUS}cloudtrail-event-selectors.json", "blind-spot-management-events-off"),
        (f"{TRAILDISCOVER}StopLogging.json.cloudtrail", "blind-spot-trail-change-attempt"),
        (f"{TRAILDISCOVER}DeleteTrail.json.cloudtrail", "blind-spot-trail-change-attempt"),
        (f"{TRAILDISCOVER}UpdateTrail.json.cloudtrail", "blind-spot-trail-change-attempt"),
    ],
)
def test_real_trail_tampering_records_are_findings(path: str, kind: str) -> None:
    root = external()
    if root is None or not (root / path).is_file():
        pytest.skip("../shared/external is not here")
    result = CliRunner().invoke(
        app, ["scan", str(root / path), "--no-progress", "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)["blind_spots"]["findings"]
    assert [f["kind"] for f in found] == [kind]
    document = json.loads((root / path).read_text())
    if isinstance(document, dict):
        document = document.get("Records", [document])
    (event,) = document
    assert found[0]["evidence"][0]["event_id"] == event["eventID"]
