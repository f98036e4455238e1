"""The caveat travels: answers that claim absence state the blind spots they overlap
(lifecycle's last use and users, an alarm's quiet replay, a baseline's dormancy)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from kmslog.analyses.base import fold
from kmslog.analyses.blind_spots import BlindSpotAnalysis
from kmslog.baseline.findings import Finding as AnomalyFinding
from kmslog.blindspots.caveats import caveats, key_place
from kmslog.cli import app
from kmslog.decode.memory import frame_from_records
from kmslog.report.anomalies_json import dormancy_caveats
from tests.blindspots import records as R
from tests.lifecycle_records import KEY_A, arn, record

EXCLUDE_KMS = [{**R.ALL_MANAGEMENT[0], "excludeManagementEventSources": ["kms.amazonaws.com"]}]
ANOTHER = "999900001111"


def decrypt(hour: int, minute: int = 0) -> dict[str, Any]:
    return record("Decrypt", R.stamp(R.at(hour, minute)))


def tampered() -> list[dict[str, Any]]:
    """A key used at 08:00, KMS excluded from 09:00 to 11:00, used again at 12:00."""
    return [
        decrypt(8),
        R.basic_selectors(R.at(9), EXCLUDE_KMS),
        R.basic_selectors(R.at(11), R.ALL_MANAGEMENT),
        decrypt(12),
    ]


def spots(records: list[dict[str, Any]]) -> Any:
    return fold(BlindSpotAnalysis(), [frame_from_records(records)])


def write(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "trail.json"
    path.write_text(json.dumps({"Records": records}), encoding="utf-8")
    return path


def test_caveats_are_the_windows_of_the_account_that_meet_the_span():
    found = spots(tampered())
    (window,) = found.windows
    assert window.region is None  # scope unknown: every Region
    assert [c.text for c in caveats(found, R.A, "eu-west-1", R.at(10), None)] == [window.summary]
    assert caveats(found, R.A, "us-east-1", R.at(11, 30), R.at(13)) == ()
    assert caveats(found, R.A, "us-east-1", None, R.at(8, 59)) == ()
    assert caveats(found, ANOTHER, None, None, None) == ()
    assert caveats(None, R.A, None, None, None) == ()


def test_key_place_reads_the_arn():
    assert key_place(arn(KEY_A)) == ("111122223333", "us-east-1")
    assert key_place("alias/x") == (None, None)


def test_lifecycle_states_the_window_by_key_id_arn_and_alias(tmp_path):
    path = write(tmp_path, tampered())
    outputs = []
    for query in (KEY_A, arn(KEY_A)):
        result = CliRunner().invoke(
            app, ["lifecycle", query, str(path), "--no-progress", "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(result.stdout)["caveats"])
    assert outputs[0] == outputs[1]
    (caveat,) = outputs[0]
    assert caveat["cause"] == "blind-spot-kms-excluded"
    assert (caveat["from"], caveat["to"]) == (R.stamp(R.at(9)), R.stamp(R.at(11)))
    # Last used at 12:00, after the window: the window does not reach past it.
    assert caveat["after_last_use"] is False
    assert caveat["text"].startswith("KMS management events were excluded")


def test_lifecycle_caveat_reaching_past_the_last_use_says_so(tmp_path):
    records = tampered()[:2]  # excluded at 09:00, never restored
    path = write(tmp_path, records)
    result = CliRunner().invoke(
        app, ["lifecycle", KEY_A, str(path), "--no-progress", "--format", "json"]
    )
    (caveat,) = json.loads(result.stdout)["caveats"]
    assert caveat["to"] is None and caveat["after_last_use"] is True
    table = CliRunner().invoke(app, ["lifecycle", KEY_A, str(path), "--no-progress"])
    assert "caveat: KMS management events were excluded" in " ".join(table.stdout.split())


def test_lifecycle_without_blind_spots_has_no_caveat(tmp_path):
    path = write(tmp_path, [decrypt(8), decrypt(12)])
    result = CliRunner().invoke(
        app, ["lifecycle", KEY_A, str(path), "--no-progress", "--format", "json"]
    )
    assert json.loads(result.stdout)["caveats"] == []


def test_quiet_alarm_replay_states_the_window(tmp_path):
    path = write(tmp_path, tampered())
    result = CliRunner().invoke(app, ["scan", str(path), "--no-progress", "--format", "json"])
    assert result.exit_code == 1, result.output  # the window is a finding
    document = json.loads(result.stdout)
    assert document["alarms"], "the built-in alarms are replayed"
    for alarm in document["alarms"]:
        assert any(c.startswith("KMS management events were excluded") for c in alarm["caveats"])
    (finding,) = [
        f for f in document["blind_spots"]["findings"] if f["kind"] == "blind-spot-kms-excluded"
    ]
    assert finding["severity"] == "high"


def test_dormancy_states_the_windows_of_its_idle_stretch():
    found = spots(tampered())

    def dormant(last_use: datetime, back: datetime) -> AnomalyFinding:
        return AnomalyFinding(
            kind="dormant_key",
            key_arn=arn(KEY_A),
            principal=None,
            score=60.0,
            start=back,
            end=back,
            count=1,
            event_ids=("e",),
            explanation="",
            detected_at=back,
            details={"last_use": R.stamp(last_use)},
        )

    (caveat,) = dormancy_caveats(dormant(R.at(8), R.at(12)), found)
    assert caveat.cause == "blind-spot-kms-excluded"
    assert dormancy_caveats(dormant(R.at(11, 30), R.at(12)), found) == ()
    other = AnomalyFinding(**{**dormant(R.at(8), R.at(12)).__dict__, "kind": "new_principal"})
    assert dormancy_caveats(other, found) == ()


def test_window_start_is_the_call_time():
    (window,) = spots(tampered()).windows
    assert window.start == datetime(2026, 9, 20, 9, tzinfo=UTC)


def test_console_shows_hostile_trail_names_as_text(tmp_path):
    evil = "[bold red]pwn[/bold red]\x1b[31m"
    records = [
        decrypt(8),
        R.basic_selectors(R.at(9), EXCLUDE_KMS, trail=evil),
    ]
    result = CliRunner().invoke(app, ["scan", str(write(tmp_path, records)), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert "\x1b" not in result.stdout
    flat = "".join(result.stdout.split())
    assert "[boldred]pwn[/boldred]" in flat
