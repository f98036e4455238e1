"""kmslog.verify over signed digest trails built per AWS's documented algorithm
(tools/ctgen/digests.py), untouched and tampered with."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import orjson
import pytest

from kmslog.verify import VerifyInputs, VerifyResult, verify
from kmslog.verify import digest as digest_module
from kmslog.verify.digest import DigestFormatError, parse_digest
from kmslog.verify.keys import InputFileError, load_public_keys, load_signatures
from kmslog.verify.signing import string_to_sign
from tools.ctgen import clock
from tools.ctgen.delivery import gzip_bytes
from tools.ctgen.digests import (
    SignedTrail,
    hourly_digests,
    minimal_files,
    new_signing_key,
    sign_digest,
    signed_digest_chain,
    write_signed_trail,
)
from tools.ctgen.ids import IdSource

# ../shared/external beside the checkout (or beside the directory of worktrees).
_REPO = Path(__file__).resolve().parents[1]
EXTERNAL = next(
    (
        p
        for p in (_REPO.parent / "shared" / "external", _REPO.parent.parent / "shared" / "external")
        if p.is_dir()
    ),
    _REPO.parent / "shared" / "external",
)
DOC_BLOCKS = EXTERNAL / "awsdocs-cloudtrail-user-guide" / "doc_source-json-blocks"


@pytest.fixture(scope="module")
def key():
    return new_signing_key()


@pytest.fixture(scope="module")
def wrong_key():
    return new_signing_key()


@pytest.fixture
def trail(tmp_path, key) -> SignedTrail:
    return write_signed_trail(tmp_path / "trail", key, hours=3, per_hour=2)


def files_under(root: Path) -> tuple[list[str], list[str]]:
    digests, logs = [], []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name.endswith(".metadata.json"):
            continue
        (digests if "/CloudTrail-Digest/" in str(path) else logs).append(str(path))
    return digests, logs


def check(trail: SignedTrail, *, keys=True, signatures=True, **kw) -> VerifyResult:
    digests, logs = files_under(trail.root)
    return verify(
        VerifyInputs(
            digest_paths=digests,
            log_paths=logs,
            public_keys=load_public_keys(str(trail.public_keys_path)) if keys else None,
            signatures=load_signatures(str(trail.signatures_path)) if signatures else {},
            **kw,
        )
    )


def kinds_of(result: VerifyResult) -> list[str]:
    return sorted(f.kind.id for f in result.findings)


def only(result: VerifyResult, kind: str):
    found = [f for f in result.findings if f.kind.id == kind]
    assert len(found) == 1, [f.summary for f in result.findings]
    return found[0]


def rewrite_gz(path: Path, change) -> None:
    path.write_bytes(gzip_bytes(change(gzip.decompress(path.read_bytes()))))


# --- the untouched trail ---------------------------------------------------------------


def test_untouched_trail_passes_with_every_signature_verified(trail):
    result = check(trail)
    assert result.passed and result.findings == ()
    c = result.counts
    assert (c.digests, c.signatures_verified, c.signatures_failed) == (3, 3, 0)
    assert (c.chain_links_verified, c.logs_listed, c.logs_valid) == (2, 6, 6)
    assert c.logs_uncovered == c.logs_unchecked == c.signatures_unchecked == 0


def test_without_keys_the_hashes_pass_and_signatures_are_listed_unchecked(trail):
    result = check(trail, keys=False)
    assert result.passed
    assert result.counts.logs_valid == 6 and result.counts.chain_links_verified == 2
    assert kinds_of(result) == ["verify-signature-unchecked"] * 3
    assert all("no public keys given" in f.summary for f in result.findings)


def test_without_the_newest_signature_only_the_newest_is_unchecked(trail):
    # Every other digest's signature travels in its successor's previousDigestSignature.
    result = check(trail, signatures=False)
    assert result.passed
    unchecked = only(result, "verify-signature-unchecked")
    assert unchecked.subject.resource == trail.newest.key
    assert "--signatures" in unchecked.summary
    assert result.counts.signatures_verified == 2


def test_sidecar_metadata_gives_the_newest_signature(trail):
    path = trail.digest_paths[trail.newest.key]
    head_object = {
        "ContentType": "application/json",
        "Metadata": {"signature": trail.newest.signature, "signature-algorithm": "SHA256withRSA"},
    }
    Path(str(path) + ".metadata.json").write_text(json.dumps(head_object))
    result = check(trail, signatures=False)
    assert result.passed and result.findings == ()
    assert result.counts.signatures_verified == 3


def test_organisation_layout_with_a_key_prefix_verifies(tmp_path, key):
    t = write_signed_trail(tmp_path / "org", key, org_id="o-a1b2c3d4e5", prefix="logs/")
    assert next(iter(t.digest_paths)).startswith("logs/AWSLogs/o-a1b2c3d4e5/111122223333/")
    result = check(t)
    assert result.passed and result.findings == ()
    assert result.counts.logs_valid == 6 and result.counts.signatures_verified == 3


def test_a_log_file_gunzipped_on_disk_still_verifies(trail):
    key, path = next(iter(trail.log_paths.items()))
    plain = path.with_name(path.name[: -len(".gz")])
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    path.unlink()
    result = check(trail)
    # The plain copy's key is the listed key without .gz: it is not the listed object.
    assert only(result, "verify-log-missing").subject.resource == key


# --- tampering ------------------------------------------------------------------------


def test_a_byte_changed_in_a_log_file_is_caught(trail):
    key, path = sorted(trail.log_paths.items())[1]
    rewrite_gz(path, lambda b: b.replace(b'"Decrypt"', b'"Encrypt"', 1))
    result = check(trail)
    assert not result.passed
    f = only(result, "verify-log-modified")
    assert f.subject.resource == key
    assert f.details["expected"] in f.summary and f.details["actual"] in f.summary
    assert f.details["actual"] == hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
    assert result.counts.logs_modified == 1 and result.counts.logs_valid == 5


def test_a_corrupted_gzip_log_file_is_caught(trail):
    key, path = sorted(trail.log_paths.items())[0]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    f = only(check(trail), "verify-log-modified")
    assert f.subject.resource == key
    assert "cannot be read" in f.summary or "modified" in f.summary


def test_a_deleted_log_file_is_caught(trail):
    key, path = sorted(trail.log_paths.items())[2]
    path.unlink()
    result = check(trail)
    f = only(result, "verify-log-missing")
    assert f.subject.resource == key
    assert f.summary.startswith(f"log file {key} is missing (listed in digest ")
    assert not result.passed


def test_a_deleted_digest_is_a_chain_gap_failure(trail):
    middle = trail.digests[1].key
    trail.digest_paths[middle].unlink()
    result = check(trail)
    f = only(result, "verify-digest-missing")
    assert f.subject.resource == middle
    assert f"{trail.digests[2].key} names it as its previous digest" in f.summary
    assert not result.passed
    # Its hour's log files are no longer vouched for although digests surround them.
    assert result.counts.logs_uncovered == 0  # the hour itself is no digest's span
    assert result.counts.logs_unchecked == 2


def test_the_oldest_digest_deleted_leaves_the_chain_unchecked_not_failed(trail):
    # A predecessor outside the files given is unknown, not missing.
    first, second = trail.digests[0].key, trail.digests[1].key
    trail.digest_paths[first].unlink()
    result = check(trail)
    assert result.passed
    f = only(result, "verify-chain-unchecked")
    assert f.subject.resource == second and first in f.summary


def _forge(trail: SignedTrail, index: int, signer, change) -> bytes:
    """Rewrite digest ``index`` with ``change`` applied to its JSON document and sign
    it with ``signer`` (keeping CloudTrail's fingerprint); returns the new JSON."""
    signed = trail.digests[index]
    doc = change(orjson.loads(signed.body))
    body = orjson.dumps(doc)
    signature = sign_digest(
        signer,
        doc["digestEndTime"],
        doc["digestS3Bucket"],
        doc["digestS3Object"],
        body,
        doc["previousDigestSignature"],
    )
    trail.digest_paths[signed.key].write_bytes(gzip_bytes(body))
    trail.signatures[signed.key] = signature
    trail.signatures_path.write_text(json.dumps({signed.key: signature}))
    return body


def test_a_forged_newest_digest_signed_with_the_wrong_key_fails_its_signature(trail, wrong_key):
    dropped = trail.digests[-1].document["logFiles"][0]["s3Object"]

    def drop_first_log(doc):
        doc["logFiles"] = doc["logFiles"][1:]
        return doc

    _forge(trail, 2, wrong_key, drop_first_log)
    trail.log_paths[dropped].unlink()  # the attacker also removes the log file
    result = check(trail)
    assert not result.passed
    f = only(result, "verify-signature-invalid")
    assert f.subject.resource == trail.digests[2].key
    assert "does not verify with key" in f.summary
    assert result.counts.signatures_verified == 2
    assert "verify-log-missing" not in kinds_of(result)  # the forged digest no longer lists it


def test_a_forged_middle_digest_breaks_the_hash_link_and_its_signature(trail, wrong_key):
    def add_nothing(doc):
        doc["logFiles"] = doc["logFiles"][:1]
        return doc

    _forge(trail, 1, wrong_key, add_nothing)
    trail.signatures_path.write_text(json.dumps({trail.digests[2].key: trail.digests[2].signature}))
    result = check(trail)
    link = only(result, "verify-digest-invalid")
    assert link.subject.resource == trail.digests[1].key
    assert "does not match the hash its successor" in link.summary
    sig = only(result, "verify-signature-invalid")
    assert sig.subject.resource == trail.digests[1].key
    # The log file it no longer lists is inside its hour: planted or hidden, it is caught.
    assert only(result, "verify-log-uncovered").subject.region == "us-east-1"


def test_the_whole_chain_re_signed_with_the_wrong_key_fails_every_signature(
    tmp_path, key, wrong_key
):
    t = write_signed_trail(tmp_path / "t", wrong_key)
    real = write_signed_trail(tmp_path / "real", key)
    # The forger writes CloudTrail's fingerprint; the user has CloudTrail's real key.
    files = minimal_files(
        "111122223333",
        "us-east-1",
        clock.epoch("2026-09-15T14:01:31Z"),
        3,
        2,
        IdSource("signed-trail", 13),
    )
    digests = hourly_digests(
        files,
        account_id="111122223333",
        region="us-east-1",
        trail="org-trail",
        bucket="amzn-s3-demo-bucket",
        start=clock.epoch("2026-09-15T14:01:31Z"),
        hours=3,
    )
    for signed in signed_digest_chain(digests, wrong_key, fingerprint=key.fingerprint):
        t.digest_paths[signed.key].write_bytes(gzip_bytes(signed.body))
        t.signatures[signed.key] = signed.signature
    t.signatures_path.write_text(json.dumps(t.signatures))
    t.public_keys_path = real.public_keys_path
    result = check(t)
    assert result.counts.signatures_failed == 3 and result.counts.signatures_verified == 0
    assert kinds_of(result) == ["verify-signature-invalid"] * 3
    assert result.counts.logs_valid == 6  # the hashes match: only the signature tells


def test_signatures_verify_with_the_right_key_and_fail_with_the_wrong_one(
    trail, wrong_key, tmp_path
):
    assert check(trail).counts.signatures_verified == 3
    fake = tmp_path / "wrong-keys.json"
    entry = wrong_key.public_key_entry(0, 4_000_000_000)
    entry["Fingerprint"] = trail.key.fingerprint
    fake.write_text(json.dumps({"PublicKeyList": [entry]}))
    trail.public_keys_path = fake
    result = check(trail)
    assert result.counts.signatures_failed == 3 and result.counts.signatures_verified == 0


def test_no_key_with_the_digest_fingerprint_is_a_failure(trail, wrong_key, tmp_path):
    other = tmp_path / "other-region.json"
    other.write_text(json.dumps({"PublicKeyList": [wrong_key.public_key_entry(0, 4_000_000_000)]}))
    trail.public_keys_path = other
    result = check(trail)
    assert result.counts.signatures_failed == 3
    assert all("no public key with fingerprint" in f.summary for f in result.failures)


def test_a_key_not_valid_at_the_digest_time_is_a_failure(trail, tmp_path):
    expired = tmp_path / "expired.json"
    end = clock.epoch("2026-09-15T14:01:31Z") - 3 * 3600
    expired.write_text(json.dumps({"PublicKeyList": [trail.key.public_key_entry(0, end)]}))
    trail.public_keys_path = expired
    result = check(trail)
    assert result.counts.signatures_failed == 3
    assert "not at digestEndTime" in result.failures[0].summary


def test_epoch_validity_times_of_cli_v1_are_read(trail, tmp_path):
    entry = trail.key.public_key_entry(0, 0)
    entry["ValidityStartTime"], entry["ValidityEndTime"] = 1_700_000_000.0, 1_900_000_000.0
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps({"PublicKeyList": [entry]}))
    trail.public_keys_path = v1
    assert check(trail).counts.signatures_verified == 3


def test_a_planted_log_file_no_digest_lists_is_caught(trail):
    listed = sorted(trail.log_paths)[0]
    planted = trail.log_paths[listed].with_name(
        trail.log_paths[listed].name.replace(listed.rsplit("_", 1)[1][:16], "PLANTEDxxxxxxxxx")
    )
    planted.write_bytes(trail.log_paths[listed].read_bytes())
    result = check(trail)
    f = only(result, "verify-log-uncovered")
    assert f.evidence[0].source == str(planted)
    assert "is not listed in any digest" in f.summary
    assert not result.passed


def test_log_files_outside_every_digest_are_unchecked_not_failed(trail):
    outside = trail.root / "AWSLogs/111122223333/CloudTrail/us-east-1/2026/09/16"
    outside.mkdir(parents=True)
    name = "111122223333_CloudTrail_us-east-1_20260916T0000Z_AbCdEfGhIjKlMnOp.json.gz"
    (outside / name).write_bytes(gzip_bytes(b'{"Records":[]}'))
    other = trail.root / "AWSLogs/999988887777/CloudTrail/eu-west-1/2026/09/15"
    other.mkdir(parents=True)
    name = "999988887777_CloudTrail_eu-west-1_20260915T1500Z_AbCdEfGhIjKlMnOp.json.gz"
    (other / name).write_bytes(gzip_bytes(b'{"Records":[]}'))
    result = check(trail)
    assert result.passed
    unchecked = [f for f in result.findings if f.kind.id == "verify-log-unchecked"]
    assert sorted(f.subject.account for f in unchecked) == ["111122223333", "999988887777"]
    assert result.counts.logs_unchecked == 2


def test_a_moved_digest_is_invalid(trail):
    key = trail.digests[2].key
    path = trail.digest_paths[key]
    moved = Path(str(path).replace("/2026/09/15/", "/2026/09/14/").replace("T170131Z", "T170132Z"))
    moved.parent.mkdir(parents=True)
    shutil.move(path, moved)
    result = check(trail, signatures=False)
    f = [f for f in result.failures if f.kind.id == "verify-digest-invalid"]
    assert len(f) == 1 and "moved from its original location" in f[0].summary


def test_a_chain_that_restarts_is_a_noted_gap_not_a_failure(tmp_path, key):
    start = clock.epoch("2026-09-15T14:01:31Z")
    ids = IdSource("gap", 1)
    files = minimal_files("111122223333", "us-east-1", start, 5, 1, ids)
    digests = hourly_digests(
        files,
        account_id="111122223333",
        region="us-east-1",
        trail="t",
        bucket="b",
        start=start,
        hours=5,
    )
    # Validation off during hour 3: no digest; a new chain starts at hour 4.
    chain = signed_digest_chain(digests[:2], key) + signed_digest_chain(digests[3:], key)
    root = tmp_path / "gap"
    for signed in chain:
        (root / signed.key).parent.mkdir(parents=True, exist_ok=True)
        (root / signed.key).write_bytes(gzip_bytes(signed.body))
    for lf in files:
        (root / lf.key).parent.mkdir(parents=True, exist_ok=True)
        (root / lf.key).write_bytes(gzip_bytes(lf.body()))
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps({"PublicKeyList": [key.public_key_entry(0, 4_000_000_000)]}))
    sigs = {chain[1].key: chain[1].signature, chain[-1].key: chain[-1].signature}
    digests_paths, logs = files_under(root)
    result = verify(
        VerifyInputs(
            digests_paths, logs, load_public_keys(str(keys)), {k: s for k, s in _sigs(sigs).items()}
        )
    )
    assert result.passed
    gap = only(result, "verify-chain-gap")
    assert gap.subject.resource == chain[2].key
    assert "no digest between 2026-09-15T16:01:31Z and 2026-09-15T17:01:31Z" in gap.summary
    assert result.counts.signatures_verified == 4
    # The undigested hour's file is not covered by any digest: noted, not failed.
    assert result.counts.logs_unchecked == 1


def _sigs(mapping):
    from kmslog.verify.keys import parse_signatures

    return parse_signatures(mapping, "test")


def test_signature_sources_that_disagree_are_a_failure(trail, wrong_key):
    middle = trail.digests[1]
    bogus = "ab" * 256
    Path(str(trail.digest_paths[middle.key]) + ".metadata.json").write_text(
        json.dumps({"signature": bogus, "signature-algorithm": "SHA256withRSA"})
    )
    result = check(trail)
    f = only(result, "verify-digest-invalid")
    assert f.subject.resource == middle.key and "signature sources disagree" in f.summary
    # The authentic signature (from the successor) still verifies the digest.
    assert result.counts.signatures_verified == 3


def test_previous_hash_of_the_gzip_object_is_accepted_too(trail):
    # AWS does not say which bytes previousDigestHashValue covers; a link hashed over
    # the previous gzip object is accepted as well as one over its JSON.
    first, second, third = trail.digests
    trail.digest_paths[third.key].unlink()
    gz = trail.digest_paths[first.key].read_bytes()
    doc = second.document
    doc["previousDigestHashValue"] = hashlib.sha256(gz).hexdigest()
    trail.digest_paths[second.key].write_bytes(gzip_bytes(orjson.dumps(doc)))
    result = check(trail, keys=False, signatures=False)
    assert result.counts.chain_links_verified == 1
    assert result.failures == ()
    doc["previousDigestHashValue"] = hashlib.sha256(b"other").hexdigest()
    trail.digest_paths[second.key].write_bytes(gzip_bytes(orjson.dumps(doc)))
    f = only(check(trail, keys=False, signatures=False), "verify-digest-invalid")
    assert f.subject.resource == first.key


# --- hostile digests ------------------------------------------------------------------

HOSTILE = {
    "not gzip, not JSON": b"\x00\x01garbage",
    "corrupt gzip": gzip_bytes(b'{"a": 1}')[:12] + b"\xff" * 20,
    "JSON array": gzip_bytes(b"[1, 2]"),
    "missing field": gzip_bytes(b'{"digestStartTime": "2026-09-15T14:01:31Z"}'),
    "deep nesting": gzip_bytes(b"[" * 5000 + b"]" * 5000),
    "trailing text": gzip_bytes(b'{"a": 1} x'),
}


def _valid_doc(trail: SignedTrail) -> dict:
    return trail.digests[0].document


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_digest_bytes_give_an_error_naming_the_file(trail, name):
    path = trail.digest_paths[trail.digests[0].key]
    path.write_bytes(HOSTILE[name])
    result = check(trail, signatures=False)
    bad = [f for f in result.failures if f.kind.id == "verify-digest-invalid"]
    assert bad and str(path) in bad[0].summary and "invalid format" in bad[0].summary


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("logFiles", "x", "logFiles is not a list"),
        ("digestEndTime", 5, "digestEndTime is not a string"),
        ("digestEndTime", "yesterday", "not an ISO 8601 UTC time"),
        ("previousDigestSignature", "zz", "not a hex signature"),
        ("previousDigestHashValue", "12", "not a hex SHA-256"),
        ("digestSignatureAlgorithm", "MD5withRSA", "is not SHA256withRSA"),
        ("logFiles", [{"s3Bucket": "b", "s3Object": "k", "hashValue": "x"}], "logFiles[0]."),
        ("logFiles", [7], "logFiles[0] is not an object"),
        ("digestS3Object", "k" * 5000, "longer than"),
    ],
)
def test_wrong_field_types_are_format_errors(trail, field, value, reason):
    doc = _valid_doc(trail)
    doc[field] = value
    with pytest.raises(DigestFormatError, match=reason.replace("[", r"\[").replace(".", r"\.")):
        parse_digest("d.json.gz", gzip_bytes(orjson.dumps(doc)))


def test_a_field_written_twice_is_refused():
    text = b'{"digestS3Object": "a", "digestS3Object": "b"}'
    with pytest.raises(DigestFormatError, match="appears twice"):
        parse_digest("d.json", text)


def test_a_digest_over_the_size_cap_is_refused(trail, monkeypatch):
    monkeypatch.setattr(digest_module, "MAX_DIGEST_BYTES", 100)
    result = check(trail, signatures=False)
    assert result.counts.digests_invalid == 3
    assert "cap of 100 bytes" in result.failures[0].summary


def test_a_digest_that_inflates_beyond_the_cap_is_refused(monkeypatch):
    monkeypatch.setattr(digest_module, "MAX_DIGEST_BYTES", 10_000)
    with pytest.raises(DigestFormatError, match="exceeds the cap"):
        parse_digest("d.json.gz", gzip_bytes(b" " * 1_000_000))


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ("[]", "list-public-keys"),
        ('{"PublicKeyList": [{"Value": "!!", "Fingerprint": "x"}]}', "not a base64 DER"),
        ('{"PublicKeyList": [{"Value": "AAAA"}]}', "Value and Fingerprint"),
        ('{"PublicKeyList": [7]}', "is not an object"),
        ("{", "invalid JSON"),
    ],
)
def test_bad_public_key_files_name_the_file(tmp_path, doc, reason):
    path = tmp_path / "keys.json"
    path.write_text(doc if doc != "[]" else "{}")
    with pytest.raises(InputFileError, match=reason) as info:
        load_public_keys(str(path))
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ("[]", "expected a JSON object"),
        ('{"not/a/digest": "ab"}', "not a CloudTrail digest key"),
        ('{"AWSLogs/111122223333/x": "zz"}', "not hex"),
        ('{"AWSLogs/111122223333/x": {"signature": "ab", "signature-algorithm": "X"}}', "X"),
    ],
)
def test_bad_signature_files_name_the_file(tmp_path, doc, reason):
    path = tmp_path / "sigs.json"
    path.write_text(doc)
    with pytest.raises(InputFileError, match=reason if reason != "X" else "not SHA256withRSA"):
        load_signatures(str(path))


# --- the algorithm itself -------------------------------------------------------------


def test_the_signing_string_is_the_four_documented_lines(trail):
    signed = trail.digests[1]
    d = parse_digest("x", gzip_bytes(signed.body))
    lines = string_to_sign(d).decode().split("\n")
    doc = signed.document
    assert lines == [
        doc["digestEndTime"],
        f"{doc['digestS3Bucket']}/{doc['digestS3Object']}",
        hashlib.sha256(signed.body).hexdigest(),
        doc["previousDigestSignature"],
    ]
    first = parse_digest("x", gzip_bytes(trail.digests[0].body))
    assert string_to_sign(first).decode().endswith("\nnull")


def test_the_aws_documentation_example_digests_parse(tmp_path):
    blocks = [
        DOC_BLOCKS / "cloudtrail-log-file-validation-digest-file-structure.block02.json",
        DOC_BLOCKS / "cloudtrail-log-file-validation-digest-file-structure.block03.json",
    ]
    if not all(b.exists() for b in blocks):
        pytest.skip("AWS documentation examples not present (../shared/external)")
    paths = []
    for block in blocks:
        raw = block.read_bytes()
        doc = json.loads(raw)
        path = tmp_path / doc["digestS3Object"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(raw))
        paths.append(str(path))
        d = parse_digest(str(path), path.read_bytes())
        assert d.fingerprint == "31e8b5433410dfb61a9dc45cc65b22ff"
        assert d.previous_signature == doc["previousDigestSignature"]
        assert len(d.logs) == len(doc["logFiles"])
    result = verify(VerifyInputs(paths, []))
    assert result.counts.digests == 2 and result.counts.digests_invalid == 0
    assert result.counts.signatures_unchecked == 2
    # Each names a predecessor outside the files; block02 lists one log file we lack.
    assert kinds_of(result).count("verify-chain-unchecked") == 2
    missing = only(result, "verify-log-missing")
    assert missing.subject.resource.endswith("_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz")


def test_a_backfill_digest_is_its_own_chain_and_covers_a_late_file(trail, key):
    from tools.ctgen.delivery import Digest, LogFile, digest_body

    start = clock.epoch("2026-09-15T14:01:31Z")
    late = LogFile(
        "111122223333",
        "us-east-1",
        start + 1800,
        "LateLateLateLate",
        minimal_files("111122223333", "us-east-1", start, 1, 1, IdSource("late", 1))[0].records,
    )
    (trail.root / late.key).write_bytes(gzip_bytes(late.body()))
    assert "verify-log-uncovered" in kinds_of(check(trail))
    d = Digest(
        "111122223333",
        "us-east-1",
        "us-east-1",
        "org-trail",
        "amzn-s3-demo-bucket",
        start,
        start + 3600,
        [(late, late.body())],
    )
    backfill_key = d.key.replace(".json.gz", "_backfill.json.gz")
    body = orjson.dumps(
        digest_body(d, fingerprint=key.fingerprint, previous=None, digest_key=backfill_key)
    )
    (trail.root / backfill_key).write_bytes(gzip_bytes(body))
    signature = sign_digest(key, clock.iso(d.end), d.bucket, backfill_key, body, None)
    trail.signatures_path.write_text(
        json.dumps({trail.newest.key: trail.newest.signature, backfill_key: signature})
    )
    result = check(trail)
    assert result.passed and result.findings == ()
    assert result.counts.signatures_verified == 4 and result.counts.logs_valid == 7


def test_spans_cover_with_overlaps():
    from datetime import UTC, datetime, timedelta

    from kmslog.verify.check import _Spans

    t = datetime(2026, 9, 15, tzinfo=UTC)
    h = timedelta(hours=1)
    spans = _Spans.of([(t, t + 3 * h), (t + h, t + 2 * h), (t + 5 * h, t + 6 * h)])
    assert spans.covers(t + 2 * h, t + 2 * h + timedelta(minutes=1))  # inside the long one
    assert not spans.covers(t + 3 * h, t + 3 * h + timedelta(minutes=1))
    assert not spans.covers(t - h, t)
    assert spans.covers(t + 5 * h, t + 6 * h)
    assert not spans.covers(t + 6 * h - timedelta(seconds=30), t + 6 * h + timedelta(seconds=30))


def test_long_signatures_are_accepted_up_to_the_cap(trail):
    doc = _valid_doc(trail)
    doc["previousDigestSignature"] = "ab" * 1024  # an RSA-16384 signature
    assert parse_digest("d", orjson.dumps(doc)).previous_signature == "ab" * 1024
    doc["previousDigestSignature"] = "ab" * 2049
    with pytest.raises(DigestFormatError, match="longer than"):
        parse_digest("d", orjson.dumps(doc))


@pytest.mark.parametrize(
    "field", ["previousDigestS3Bucket", "previousDigestSignature", "previousDigestHashValue"]
)
def test_a_previous_digest_named_incompletely_is_invalid(trail, field):
    signed = trail.digests[1]
    doc = signed.document
    doc[field] = None
    trail.digest_paths[signed.key].write_bytes(gzip_bytes(orjson.dumps(doc)))
    result = check(trail, keys=False)
    incomplete = [f for f in result.failures if "named incompletely" in f.summary]
    assert [f.subject.resource for f in incomplete] == [signed.key]
    # Its successor's hash of it no longer matches either: the change itself is seen.
    assert any("does not match the hash" in f.summary for f in result.failures)


def test_an_unusable_sidecar_is_noted_and_the_chain_still_verifies(trail):
    newest = trail.digest_paths[trail.newest.key]
    Path(str(newest) + ".metadata.json").write_text("{not json")
    result = check(trail, signatures=False)
    notes = [f for f in result.findings if "unusable" in f.summary]
    assert len(notes) == 1 and "unusable" in notes[0].summary and "invalid JSON" in notes[0].summary
    assert result.passed and result.counts.signatures_verified == 2
