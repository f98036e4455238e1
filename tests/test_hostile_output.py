"""Every renderer and message, fed record text and file names an attacker wrote: no raw
control character, escape sequence or bidi override reaches the output, rich markup and
emoji codes stay literal text, HTML is escaped."""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kmslog.analyses.anomalies import AnomalyScan
from kmslog.analyses.base import fold
from kmslog.analyses.baseline import BaselineLearner
from kmslog.baseline.thresholds import Thresholds
from kmslog.cli import app
from kmslog.report import safe
from kmslog.report.anomalies_console import print_anomalies
from tests import lifecycle_records as lr
from tests.ingest_fixtures import ACCOUNT, record
from tests.test_anomaly_records import WINDOW, at, background, ev, frame

# Clear screen, retitle (OSC 0), bell, NUL, carriage return, 8-bit CSI, DEL, bidi
# override, zero-width space, rich markup and a link, an emoji code, HTML in text and in
# an attribute, a spreadsheet formula.
PIECES = (
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\x07",
    "\x00",
    "\r",
    "\x9b2J",
    "\x7f",
    "\u202e",
    "\u200b",
    "[bold red]x[/]",
    "[link=http://x]",
    ":warning:",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "=cmd|' /C calc'!A0",
)
H = "|".join(PIECES)
# A file name can hold anything but NUL and '/'.
NAME = H.replace("\x00", "").replace("/", "_")
LITERAL = ("[bold red]x[/]", "[link=http://x]", ":warning:")
NAME_LITERAL = tuple(piece.replace("/", "_") for piece in LITERAL)
# Anything a terminal acts on: C0 but the newline, DEL, C1, format characters.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f]")
EMOJI = "\u26a0"  # what rich makes of :warning:

runner = CliRunner()
ENV = {"COLUMNS": "4000"}  # no table cell is wrapped


def assert_safe(output: str, literal: tuple[str, ...] = LITERAL) -> None:
    """No raw unsafe character, no emoji; ``literal`` pieces shown as they are."""
    found = UNSAFE.search(output)
    assert found is None, (
        f"raw {found.group()!r} near {output[max(0, found.start() - 40) :][:80]!r}"
    )
    assert EMOJI not in output
    for piece in literal:
        assert piece in output, f"{piece!r} not shown literally"


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), env=ENV)


def write_json(path: Path, document: Any) -> Path:
    # ensure_ascii=False: bidi, C1 and DEL characters stay raw in the file, as an
    # attacker would write them (JSON itself escapes C0).
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def scan_records() -> list[dict[str, Any]]:
    user = {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/{H}", "accountId": ACCOUNT}
    return [
        # CIS 4.7 matches DisableKey: a finding whose principal and error are hostile.
        record(
            0,
            eventName="DisableKey",
            userIdentity=user,
            errorCode=H,
            errorMessage=H,
            sourceIPAddress=H,
            userAgent=H,
        ),
        record(1, eventName=H, recipientAccountId=H, awsRegion=H, sourceIPAddress=H),
    ]


@pytest.fixture
def trail(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    write_json(root / f"{NAME}.json", {"Records": scan_records()})
    (root / f"broken{NAME}.json").write_bytes(b"{broken")
    return root


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson"])
def test_scan_output(trail: Path, fmt: str) -> None:
    done = invoke("scan", "--no-progress", "--fail-on", "none", "--format", fmt, str(trail))
    assert done.exit_code == 0, done.output
    assert_safe(done.stdout)
    assert_safe(done.stderr, literal=())
    if fmt == "table":
        # the rejected file's name, in the summary's first rejections
        assert "broken\\x1b[2J" in done.stdout


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson"])
def test_filter_output(trail: Path, fmt: str) -> None:
    pattern = '{ $.eventSource = "kms.amazonaws.com" }'
    done = invoke("filter", pattern, str(trail), "--no-progress", "--format", fmt)
    assert done.exit_code == 0, done.output
    assert_safe(done.stdout)
    if fmt == "ndjson":
        # escaped, not altered: each line is still the record as read
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        assert sorted(r["record"]["eventID"] for r in lines) == ["evt-000000", "evt-000001"]
        by_id = {r["record"]["eventID"]: r["record"] for r in lines}
        assert by_id["evt-000001"] == scan_records()[1]
        assert {r["source"] for r in lines} == {str(trail / f"{NAME}.json")}


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_test_pattern_output(tmp_path: Path, fmt: str) -> None:
    messages = tmp_path / "messages.txt"
    messages.write_text(f"{H}\nplain line\n", encoding="utf-8")
    done = invoke("test-pattern", '"calc"', str(messages), "--format", fmt)
    assert done.exit_code == 0, done.output
    assert_safe(done.stdout)
    assert "1 of 2" in done.stdout or fmt == "json"


def lifecycle_records() -> list[dict[str, Any]]:
    key = lr.arn(lr.KEY_A)
    return [
        lr.create_key("2024-03-01T09:00:00Z", origin=H),
        lr.record(
            "UpdateKeyDescription",
            "2024-03-01T10:00:00Z",
            request={"keyId": lr.KEY_A, "description": H},
        ),
        lr.record(
            "CreateAlias",
            "2024-03-01T11:00:00Z",
            None,
            request={"aliasName": f"alias/{H}", "targetKeyId": lr.KEY_A},
            resources=[lr.alias_arn(f"alias/{H}"), key],
        ),
        lr.record(
            "Decrypt",
            "2024-03-02T09:00:00Z",
            assumed=f"app/{NAME}",
            ip=H,
            request={"encryptionContext": {H: H}},
            extra={"userAgent": H},
        ),
        lr.record("DisableKey", "2024-03-03T09:00:00Z", actor=f"arn:aws:iam::1:user/{H}", ip=H),
        lr.record(
            "ScheduleKeyDeletion",
            "2024-03-03T10:00:00Z",
            request={"keyId": lr.KEY_A, "pendingWindowInDays": 7},
            response={"keyId": key, "deletionDate": H},
        ),
        # a key id that names nothing in the logs: an "unresolved" note quoting it
        lr.record("Decrypt", "2024-03-04T09:00:00Z", None, request={"keyId": f"alias/{H}2"}),
    ]


@pytest.fixture
def lifecycle_logs(tmp_path: Path) -> Path:
    root = tmp_path / "lc"
    write_json(root / f"{NAME}.json", {"Records": lifecycle_records()})
    return root


@pytest.mark.parametrize("extra", [[lr.KEY_A], ["--all"], [lr.KEY_A, "--format", "json"]])
def test_lifecycle_output(lifecycle_logs: Path, extra: list[str]) -> None:
    done = invoke("lifecycle", *extra, str(lifecycle_logs), "--no-progress")
    assert done.exit_code == 0, done.output
    assert_safe(done.stdout, LITERAL if "--all" not in extra else ())
    assert_safe(done.stderr, literal=())


def test_lifecycle_table_shows_record_text_literally(lifecycle_logs: Path) -> None:
    done = invoke("lifecycle", lr.KEY_A, str(lifecycle_logs), "--no-progress")
    head = next(line for line in done.stdout.splitlines() if line.startswith("state "))
    assert "origin \\x1b[2J|\\x1b]0;title\\x07|" in head
    assert "description \\x1b[2J|\\x1b]0;title\\x07|" in done.stdout


def test_lifecycle_messages(lifecycle_logs: Path) -> None:
    # the unresolved alias note on stderr, then a query that names nothing
    done = invoke("lifecycle", lr.KEY_A, str(lifecycle_logs), "--no-progress")
    assert "note:" in done.stderr
    assert_safe(done.stderr)
    missing = invoke("lifecycle", f"alias/{H}-none", str(lifecycle_logs), "--no-progress")
    assert missing.exit_code == 1
    assert "no record in these logs names" in missing.stderr
    assert_safe(missing.stderr)


def test_lifecycle_html(lifecycle_logs: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = invoke("lifecycle", lr.KEY_A, str(lifecycle_logs), "--format", "html", "-o", str(out))
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    assert_safe(page)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


def test_baseline_message(trail: Path, tmp_path: Path) -> None:
    profile = tmp_path / f"{NAME}.json"
    done = invoke("baseline", str(trail), "-o", str(profile), "--no-progress")
    assert done.exit_code == 0, done.output
    assert profile.exists()
    assert "learned" in done.stderr
    assert_safe(done.stderr, NAME_LITERAL)


def test_anomalies_console() -> None:
    profile = fold(BaselineLearner(), [frame(background(21))])
    quiet = [ev(at(0, h, 3 * i), ip="10.0.1.4") for h in range(9, 18) for i in range(5)]
    # a new principal (its role name hostile) decrypting in bulk from a new network
    window = quiet + [ev(at(1, 10, i % 60), role=NAME, ip="198.51.100.7") for i in range(60)]
    result = fold(AnomalyScan(profile, since=WINDOW, thresholds=Thresholds()), [frame(window)])
    assert result.findings
    out = StringIO()
    print_anomalies(safe.console(file=out, width=4000), result)
    assert_safe(out.getvalue(), NAME_LITERAL)


def test_anomalies_console_hostile_context_key() -> None:
    # A context key name is caller-chosen text, quoted in the new-context explanation.
    profile = fold(BaselineLearner(), [frame(background(21))])
    quiet = [ev(at(0, h, 3 * i), ip="10.0.1.4") for h in range(9, 18) for i in range(5)]
    window = quiet + [ev(at(1, 10, i), ip="10.0.1.4", context={H: "v"}) for i in range(3)]
    result = fold(AnomalyScan(profile, since=WINDOW, thresholds=Thresholds()), [frame(window)])
    assert [f.kind for f in result.findings] == ["new_encryption_context"]
    out = StringIO()
    print_anomalies(safe.console(file=out, width=4000), result)
    assert_safe(out.getvalue(), LITERAL)


def test_error_messages(trail: Path, tmp_path: Path) -> None:
    missing = invoke("scan", "--no-progress", str(tmp_path / f"{NAME}-missing"))
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    assert_safe(missing.stderr, NAME_LITERAL)

    strict = invoke("scan", "--no-progress", "--strict", str(trail))
    assert strict.exit_code == 3
    assert "error (--strict):" in strict.stderr and "broken" in strict.stderr
    assert_safe(strict.stderr, NAME_LITERAL)

    # click's own messages quote the arguments
    option = invoke("scan", f"--{NAME}", str(trail))
    assert option.exit_code == 2
    assert "No such option" in option.stderr
    assert_safe(option.stderr, NAME_LITERAL[:1])  # click stops the name at "="

    profile = invoke("scan", "--no-progress", str(trail), "--baseline", str(tmp_path / NAME))
    assert profile.exit_code == 2
    assert_safe(profile.stderr, NAME_LITERAL)

    rules = invoke("scan", "--no-progress", str(trail), "--rules", str(tmp_path / NAME))
    assert rules.exit_code == 2
    assert_safe(rules.stderr, NAME_LITERAL)

    pattern = invoke("test-pattern", "{ $.x = ", str(tmp_path / NAME))
    assert pattern.exit_code == 2
    assert_safe(pattern.stderr, literal=())
    unreadable = invoke("test-pattern", '"x"', str(tmp_path / NAME))
    assert unreadable.exit_code == 2
    assert "cannot read" in unreadable.stderr
    assert_safe(unreadable.stderr, NAME_LITERAL)


def test_nothing_readable_message_escapes_file_names(tmp_path: Path) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / f"{NAME}.json.gz").write_bytes(gzip.compress(b"{broken")[:-4])
    done = invoke("scan", "--no-progress", str(root))
    assert done.exit_code == 2
    assert "nothing readable" in done.stderr
    assert_safe(done.stderr, NAME_LITERAL)


def test_clean_escapes_every_control_and_format_character() -> None:
    unsafe = [
        chr(cp)
        for cp in range(0x110000)
        if unicodedata.category(chr(cp)) in {"Cc", "Cf", "Zl", "Zp", "Cs"}
    ]
    cleaned = safe.clean("".join(unsafe))
    assert cleaned.isascii() and cleaned.isprintable()
    assert safe.clean("\U000e0041") == "\\U000e0041"  # a tag character
    assert safe.clean("name\udcff.json") == "name\\udcff.json"  # a non-UTF-8 file name
    assert safe.clean("plain é 日本 ✓") == "plain é 日本 ✓"


def test_console_factory_turns_off_markup_and_emoji() -> None:
    out = StringIO()
    safe.console(file=out, width=200).print(f"[bold]{LITERAL[1]} :warning:")
    assert out.getvalue() == f"[bold]{LITERAL[1]} :warning:\n"


def test_json_text_keeps_the_value() -> None:
    document = json.dumps({"a": H, "b\u202e": ["\U000e0041", 1]}, ensure_ascii=False)
    escaped = safe.json_text(document)
    assert escaped.isascii() and not UNSAFE.search(escaped)
    assert json.loads(escaped) == json.loads(document)
    assert safe.json_text('{"a":\t1}') == '{"a": 1}'


def test_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    root = tmp_path / "names"
    root.mkdir()
    # how Python hands such a name over: the bad byte as a lone surrogate
    (root / b"\xfe\x1b[2J.json".decode("utf-8", "surrogateescape")).write_bytes(b"{broken")
    for args, status in ((["--strict"], 3), ([], 2), (["--format", "json"], 2)):
        done = invoke("scan", "--no-progress", *args, str(root))
        assert done.exit_code == status, done.output
        # the name's own byte, shown as \xfe, and the escape sequence in it escaped
        assert "\\xfe\\x1b[2J.json" in done.stderr
        assert_safe(done.output, ())
