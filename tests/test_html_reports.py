"""The evidence HTML reports (scan and lifecycle): escaping, evidence header, risk
order, and, in headless Chromium, no console error and no horizontal overflow at 1,400 px."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from html_browser import Browser, chromium, inspect
from lifecycle_records import KEY_A
from test_lifecycle_report import hostile_records, lifecycle
from typer.testing import CliRunner

from kmslog.cli import app
from kmslog.findings.context import build_context
from kmslog.findings.model import Evidence, Finding, FindingKind, Subject
from kmslog.report.html_scan import render_scan_html, risk_order
from kmslog.report.lifecycle_html import render_html

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_logs"
# Where to keep the screenshots for a look by eye: KMSLOG_SCREENSHOTS=DIR.
SHOTS = (
    Path(os.environ.get("KMSLOG_SCREENSHOTS", "")) if os.environ.get("KMSLOG_SCREENSHOTS") else None
)
HOSTILE = "<script>alert('x')</script>\"\u202eevil"
T0 = datetime(2024, 3, 1, 9, tzinfo=UTC)


def finding(severity: str, count: int, text: str = "") -> Finding:
    kind = FindingKind(f"k-{severity}", f"title {text}", severity, "rule", "why", "fix")
    ev = Evidence(f"id{text}", T0, "Decrypt", f"f{text}.json", 3, f"ip{text}", f"ua{text}")
    subject = Subject(
        key_arn="arn:aws:kms:us-east-1:111122223333:key/" + "1" * 36,
        aliases=(f"alias/{text}",),
        principal=f"arn:aws:iam::111122223333:role/{text}",
        account="111122223333",
        region="us-east-1",
    )
    return Finding(kind, subject, T0, T0, count, f"summary {text}", (ev,))


def context(tmp_path: Path):
    return build_context(["kmslog", "scan", HOSTILE], [str(tmp_path)], T0, T0, {"x": HOSTILE})


def assert_escaped(page: str) -> None:
    assert "<script" not in page.lower()
    assert "\u202e" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&quot;\\u202eevil" in page


def test_scan_html_escapes_every_log_string(tmp_path: Path) -> None:
    out = io.StringIO()
    render_scan_html([finding("high", 2, HOSTILE)], context(tmp_path), out)
    page = out.getvalue()
    assert_escaped(page)
    # title, alias, principal, summary, event id, file, IP and agent all escaped
    assert page.count("&lt;script&gt;") >= 9
    assert "default-src &#x27;none&#x27;" not in page  # the policy is markup, not text
    assert "default-src 'none'" in page


def test_lifecycle_html_escapes_and_carries_evidence_header(tmp_path: Path) -> None:
    records = hostile_records()
    records[1]["userAgent"] = HOSTILE
    records[1]["sourceIPAddress"] = HOSTILE
    page = render_html(lifecycle(None, records), context(tmp_path))
    assert_escaped(page)
    assert "kmslog version" in page and "Keys by risk" in page and "Legend" in page


def test_context_hashes_files_and_caps_directory_listing(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"f{i}.json").write_bytes(b"x" * (i + 1))
    ctx = build_context(
        ["kmslog"],
        [str(tmp_path), str(tmp_path / "f0.json"), "nope"],
        None,
        None,
        {},
        now=T0,
        max_files=2,
    )
    directory, single, missing = ctx.inputs
    assert (directory.kind, directory.size, directory.file_count) == ("directory", 15, 5)
    assert len(directory.files) == 2 and directory.files_not_listed == 3
    assert directory.files[1].sha256 == hashlib.sha256(b"xx").hexdigest()
    assert single.sha256 == hashlib.sha256(b"x").hexdigest() and single.size == 1
    assert missing.kind == "missing" and missing.sha256 is None
    assert ctx.generated == T0


def test_scan_index_is_ordered_by_severity_then_count() -> None:
    found = [finding("low", 50, "a"), finding("high", 1, "b"), finding("high", 7, "c")]
    assert [f.summary for f in risk_order(found)] == ["summary c", "summary b", "summary a"]


def test_lifecycle_all_puts_disabled_keys_first() -> None:
    result = lifecycle(None, hostile_records())
    page = render_html(result)
    assert 'href="#k1"' in page and 'id="k1"' in page


def reports(tmp_path: Path) -> dict[str, Path]:
    runner = CliRunner()
    out = {}
    for name, args in {
        "scan-sample": ["scan", str(SAMPLE)],
        "lifecycle-all-sample": ["lifecycle", "--all", str(SAMPLE)],
    }.items():
        path = tmp_path / f"{name}.html"
        done = runner.invoke(app, [*args, "--format", "html", "-o", str(path), "--no-progress"])
        assert done.exit_code in (0, 1), done.output
        assert path.exists()
        out[name] = path
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "trail.json").write_text(json.dumps({"Records": hostile_records()}))
    path = tmp_path / "lifecycle-key-hostile.html"
    done = runner.invoke(app, ["lifecycle", KEY_A, str(logs), "--format", "html", "-o", str(path)])
    assert done.exit_code == 0, done.output
    out["lifecycle-key-hostile"] = path
    return out


@pytest.mark.skipif(chromium() is None, reason="no chromium/chrome binary installed")
@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs/ absent")
def test_reports_in_headless_browser_at_1400px(tmp_path: Path) -> None:
    pages = reports(tmp_path)
    binary = chromium()
    assert binary is not None
    browser = Browser(binary, tmp_path / "profile")
    try:
        for name, path in pages.items():
            shot = tmp_path / f"{name}.png"
            seen = inspect(browser, path, 1400, shot)
            assert seen["errors"] == [], (name, seen["errors"][:3])
            assert seen["scroll_width"] <= 1400, (name, seen["scroll_width"])
            assert "kmslog version" in seen["text"] and "Legend" in seen["text"]
            assert shot.stat().st_size > 10_000
            if SHOTS is not None and SHOTS.is_dir():
                shutil.copy(shot, SHOTS / shot.name)
    finally:
        browser.close()
