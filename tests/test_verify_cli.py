"""``kmslog verify`` end to end: exit statuses, table/JSON/NDJSON output, escaping."""

from __future__ import annotations

import gzip
import json

import orjson
import pytest
from typer.testing import CliRunner

from kmslog.cli import app
from tools.ctgen.delivery import gzip_bytes
from tools.ctgen.digests import new_signing_key, write_signed_trail

runner = CliRunner()


@pytest.fixture(scope="module")
def key():
    return new_signing_key()


@pytest.fixture
def trail(tmp_path, key):
    return write_signed_trail(tmp_path / "trail", key)


def run(*args: str):
    return runner.invoke(app, ["verify", *args])


def with_keys(trail):
    return [
        "--public-keys",
        str(trail.public_keys_path),
        "--signatures",
        str(trail.signatures_path),
    ]


def test_untouched_trail_exits_0_and_says_passed(trail):
    result = run(str(trail.root), *with_keys(trail))
    assert result.exit_code == 0, result.output
    assert "No integrity failure." in result.stdout
    assert result.stdout.rstrip().endswith("PASSED")


def test_without_keys_it_says_what_was_not_checked(trail):
    result = run(str(trail.root))
    assert result.exit_code == 0
    flat = "".join(result.stdout.split()).replace("│", "")
    assert flat.count("verify-signature-unchecked") == 3
    assert "signaturenotchecked:nopublickeysgiven" in flat
    assert "some items could not be checked" in result.stdout


def test_json_document(trail):
    result = run(str(trail.root), "--format", "json", *with_keys(trail))
    doc = json.loads(result.stdout)
    assert doc["passed"] is True and doc["failures"] == [] and doc["unchecked"] == []
    assert doc["counts"]["signatures_verified"] == 3 and doc["counts"]["logs_valid"] == 6


def test_a_tampered_log_file_exits_1_with_the_key_and_hashes(trail):
    key, path = sorted(trail.log_paths.items())[0]
    path.write_bytes(gzip_bytes(gzip.decompress(path.read_bytes()).replace(b"Decrypt", b"Encrypt")))
    result = run(str(trail.root), "--format", "json", *with_keys(trail))
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["passed"] is False and doc["verdict"] == "FAILED: 1 integrity failure"
    (failure,) = doc["failures"]
    assert failure["kind"] == "verify-log-modified" and failure["resource"] == key
    assert failure["severity"] == "critical"
    table = run(str(trail.root), *with_keys(trail))
    assert table.exit_code == 1 and "FAILED: 1 integrity failure" in table.stdout


def test_ndjson_has_failures_then_a_summary(trail):
    trail.digest_paths[trail.digests[1].key].unlink()
    result = run(str(trail.root), "--format", "ndjson", *with_keys(trail))
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["type"] == "failure" and lines[0]["kind"] == "verify-digest-missing"
    assert lines[-1]["type"] == "summary" and lines[-1]["passed"] is False


def test_output_file(trail, tmp_path):
    out = tmp_path / "report.json"
    result = run(str(trail.root), "--format", "json", "-o", str(out))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())["passed"] is True


def test_log_text_in_a_digest_is_escaped_on_the_console(trail):
    # A digest is attacker-controlled: a listed key with terminal escapes and a bidi override.
    signed = trail.digests[0]
    doc = orjson.loads(signed.body)
    evil = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/09/15/x\x1b]0;pwned\x07\u202e.json.gz"
    doc["logFiles"][0]["s3Object"] = evil
    trail.digest_paths[signed.key].write_bytes(gzip_bytes(orjson.dumps(doc)))
    result = run(str(trail.root))
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    flat = "".join(result.stdout.split())
    assert "\\x1b]0;pwned\\x07\\u202e" in flat.replace("│", "")
    doc_json = run(str(trail.root), "--format", "json")
    assert "\x1b" not in doc_json.stdout
    failures = json.loads(doc_json.stdout)["failures"]
    missing = [f for f in failures if f["kind"] == "verify-log-missing"]
    assert [f["resource"] for f in missing] == [evil]


def test_no_digest_file_is_a_usage_error(tmp_path):
    (tmp_path / "a.json").write_text('{"Records": []}')
    result = run(str(tmp_path))
    assert result.exit_code == 2
    assert "no CloudTrail digest file" in result.output


def test_missing_path_and_s3_are_usage_errors(tmp_path):
    assert run(str(tmp_path / "nope")).exit_code == 2
    result = run("s3://bucket/AWSLogs/")
    assert result.exit_code == 2 and "local files only" in result.output


def test_an_unusable_key_file_is_a_usage_error_naming_it(trail, tmp_path):
    bad = tmp_path / "keys.json"
    bad.write_text('{"PublicKeyList": [{"Value": "@@", "Fingerprint": "f"}]}')
    result = run(str(trail.root), "--public-keys", str(bad))
    assert result.exit_code == 2
    assert str(bad) in result.output and "not a base64 DER" in result.output


def test_conflicting_signature_files_are_a_usage_error(trail, tmp_path):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({trail.newest.key: "ab" * 256}))
    result = run(
        str(trail.root), "--signatures", str(trail.signatures_path), "--signatures", str(other)
    )
    assert result.exit_code == 2 and "a different signature" in result.output


def test_help_and_the_command_list():
    result = runner.invoke(app, ["verify", "--help"])
    assert result.exit_code == 0
    for text in ("--public-keys", "--signatures", "metadata.json", "Exit status:"):
        assert text in result.stdout
    assert "verify" in runner.invoke(app, ["--help"]).stdout


def test_scan_still_skips_digest_files(trail):
    result = runner.invoke(
        app, ["scan", "--no-progress", "--fail-on", "none", "--format", "json", str(trail.root)]
    )
    assert result.exit_code == 0, result.output
    files = json.loads(result.stdout)["summary"]["files"]
    assert files["skipped_digest"] == 3 and files["read"] == 6


def test_the_sample_digests_verify_their_hour_and_note_the_rest():
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "sample_logs"
    result = run(str(sample), "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    counts = doc["counts"]
    assert (counts["digests"], counts["chain_links_verified"]) == (2, 1)
    # Every log file the sample's digests list (read here without kmslog) is valid.
    listed = sum(
        len(json.loads(gzip.decompress(d.read_bytes()))["logFiles"])
        for d in sample.rglob("*CloudTrail-Digest*.json.gz")
    )
    assert listed >= 6
    assert counts["logs_listed"] == counts["logs_valid"] == listed
    assert counts["signatures_unchecked"] == 2 and counts["logs_uncovered"] == 0
    assert counts["logs_unchecked"] > 2000


def test_ctgen_writes_a_signed_trail_that_verifies(tmp_path, capsys):
    from tools.ctgen.__main__ import main

    out = tmp_path / "t"
    assert main(["signed-trail", "--out", str(out), "--hours", "2", "--prefix", "p/"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert (written["logs"], written["digests"]) == (4, 2)
    result = run(
        str(out), "--public-keys", written["public_keys"], "--signatures", written["signatures"]
    )
    assert result.exit_code == 0 and result.stdout.rstrip().endswith("PASSED")


def test_no_sidecars_ignores_metadata_files(trail):
    middle = trail.digests[1]
    sidecar = str(trail.digest_paths[middle.key]) + ".metadata.json"
    with open(sidecar, "w") as handle:
        json.dump({"Metadata": {"signature": "ab" * 256}}, handle)
    assert run(str(trail.root), *with_keys(trail)).exit_code == 1  # sources disagree
    result = run(str(trail.root), "--no-sidecars", *with_keys(trail))
    assert result.exit_code == 0, result.output
