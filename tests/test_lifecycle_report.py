import json
import re
import shutil
import subprocess
from io import StringIO

import pytest
from lifecycle_records import KEY_A, KEY_B, alias_arn, arn, create_key, record
from rich.console import Console
from typer.testing import CliRunner

from kmslog.analyses.base import fold
from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.cli import app
from kmslog.decode.memory import frame_from_records
from kmslog.report.lifecycle_console import print_all, print_result
from kmslog.report.lifecycle_html import render_html
from kmslog.report.lifecycle_json import all_keys_data, result_data

HOSTILE = "<script>alert('x')</script>"


def hostile_records() -> list[dict]:
    return [
        create_key("2024-03-01T09:00:00Z"),
        record(
            "Decrypt",
            "2024-03-02T09:00:00Z",
            assumed="app/i-1",
            request={"encryptionContext": {HOSTILE: "v"}},
            ip="[bold]198.51.100.1\x1b[2J",
        ),
        record("DisableKey", "2024-03-03T09:00:00Z", actor=f"arn:aws:iam::1:user/{HOSTILE}"),
        record(
            "UpdateKeyDescription",
            "2024-03-03T10:00:00Z",
            request={"keyId": KEY_A, "description": HOSTILE},
        ),
        record("EnableKey", "2024-03-04T09:00:00Z"),
        record(
            "CreateAlias",
            "2024-03-04T10:00:00Z",
            None,
            request={"aliasName": "alias/payments", "targetKeyId": KEY_A},
            resources=[alias_arn("alias/payments"), arn(KEY_A)],
        ),
    ]


def lifecycle(query, records):
    return fold(LifecycleAnalysis(query), [frame_from_records(records)])


def test_json_contract_fields():
    data = result_data(lifecycle(KEY_A, hostile_records()))
    assert set(data) >= {"key", "states", "events", "usage", "findings"}
    assert set(data["key"]) >= {"key_id", "arn", "aliases", "origin", "created"}
    assert data["key"]["key_id"] == KEY_A and data["key"]["origin"] == "AWS_KMS"
    assert data["key"]["aliases"][0]["name"] == "alias/payments"
    assert set(data["key"]["aliases"][0]) >= {"name", "from", "to"}
    assert [s["state"] for s in data["states"]] == ["Enabled", "Disabled", "Enabled"]
    assert set(data["states"][0]) >= {"state", "from", "to", "event_id"}
    assert data["states"][0]["from"] == "2024-03-01T09:00:00Z"
    event = data["events"][0]
    assert set(event) >= {
        "time",
        "event_name",
        "actor",
        "source_ip",
        "event_id",
        "success",
        "detail",
    }
    usage = data["usage"][0]
    assert set(usage) >= {"principal", "operation", "count", "errors", "first", "last"}
    assert usage["principal"] == "arn:aws:iam::111122223333:role/app"
    json.dumps(data)


def test_all_keys_rows_and_alias_list():
    records = hostile_records() + [create_key("2024-03-05T00:00:00Z", KEY_B)]
    rows = all_keys_data(lifecycle(None, records))
    assert sorted((r["arn"], r["state"]) for r in rows) == sorted(
        [(arn(KEY_A), "Enabled"), (arn(KEY_B), "Enabled")]
    )
    by_arn = {r["arn"]: r for r in rows}
    assert by_arn[arn(KEY_A)]["last_used"] == "2024-03-02T09:00:00Z"
    assert by_arn[arn(KEY_B)]["last_used"] is None


def test_console_never_interprets_log_text():
    result = lifecycle(KEY_A, hostile_records())
    buffer = StringIO()
    print_result(Console(file=buffer, width=400, color_system=None), result)
    out = buffer.getvalue()
    assert "[bold]198.51.100.1\\x1b[2J" in out
    assert "\x1b" not in out
    buffer = StringIO()
    print_all(
        Console(file=buffer, width=400, color_system=None), lifecycle(None, hostile_records())
    )
    assert "alias/payments" in buffer.getvalue()


def test_html_escapes_log_strings_and_is_self_contained():
    page = render_html(lifecycle(KEY_A, hostile_records()))
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<svg" in page and "<rect" in page
    assert not re.search(r"""(?:src|href)\s*=|url\(|<link|@import|https?://""", page)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


@pytest.mark.skipif(_chromium() is None, reason="no chromium binary")
def test_html_opens_in_headless_browser_without_console_errors(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(render_html(lifecycle(KEY_A, hostile_records())), encoding="utf-8")
    done = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    assert "<svg" in done.stdout
    assert "&lt;script&gt;" in done.stdout
    assert "<script" not in done.stdout.lower()


def test_cli_lifecycle_json_html_and_all(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "trail.json").write_text(json.dumps({"Records": hostile_records()}))
    runner = CliRunner()
    done = runner.invoke(app, ["lifecycle", "alias/payments", str(logs), "--format", "json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["key"]["arn"] == arn(KEY_A)
    assert data["query"]["alias_history"][0]["key_arn"] == arn(KEY_A)
    out = tmp_path / "report.html"
    done = runner.invoke(app, ["lifecycle", KEY_A, str(logs), "--format", "html", "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "&lt;script&gt;" in out.read_text()
    done = runner.invoke(app, ["lifecycle", "--all", str(logs), "--format", "json"])
    assert done.exit_code == 0, done.output
    assert [row["state"] for row in json.loads(done.stdout)] == ["Enabled"]
    done = runner.invoke(app, ["lifecycle", KEY_B, str(logs)])
    assert done.exit_code == 1
    done = runner.invoke(app, ["lifecycle", KEY_A])
    assert done.exit_code == 2


def test_unreadable_kms_dates_are_kept_verbatim_and_warned_about(tmp_path):
    created = create_key("2024-03-01T09:00:00Z")
    created["responseElements"]["keyMetadata"]["creationDate"] = "Smarch 1, 2024"
    schedule = record(
        "ScheduleKeyDeletion",
        "2024-03-02T09:00:00Z",
        request={"keyId": KEY_A, "pendingWindowInDays": 7},
        response={"keyId": arn(KEY_A), "keyState": "PendingDeletion", "deletionDate": "soon-ish"},
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "trail.json").write_text(json.dumps({"Records": [created, schedule]}))
    done = CliRunner().invoke(app, ["lifecycle", KEY_A, str(logs), "--format", "json"])
    assert done.exit_code == 0, done.output
    assert "soon-ish" in done.stderr and "Smarch 1, 2024" in done.stderr
    data = json.loads(done.stdout)
    assert data["key"]["created_raw"] == "Smarch 1, 2024"
    assert data["key"]["created"] == "2024-03-01T09:00:00Z"  # the event time stands in
    event = next(e for e in data["events"] if e["event_name"] == "ScheduleKeyDeletion")
    assert "'soon-ish'" in event["detail"]
    assert [f["kind"] for f in data["findings"]].count("unreadable_date") == 2
    # Without a readable date the deletion date is the event time plus the window.
    assert data["deletion_date"] == "2024-03-09T09:00:00Z"
