"""Benchmark corpus mode, CLI, and the generator's building blocks."""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from tools.ctgen import clock
from tools.ctgen.__main__ import main
from tools.ctgen.corpus import file_sizes, generate_corpus
from tools.ctgen.delivery import batch_into_files
from tools.ctgen.estate import generic_world
from tools.ctgen.ids import IdSource
from tools.ctgen.records import Caller, key_op, schedule_key_deletion
from tools.ctgen.scenarios import inject_exfiltration
from tools.ctgen.traffic import NoiseProfile, background
from tools.ctgen.truth import key_histories, state_after
from tools.ctgen.world import make_key, role

LOG_RE = re.compile(
    r"AWSLogs/(\d{12})/CloudTrail/([a-z0-9-]+)/\d{4}/\d{2}/\d{2}/\1_CloudTrail_\2_\d{8}T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz"
)


def _read(root: Path) -> dict[str, list[dict]]:
    return {
        p.relative_to(root).as_posix(): json.loads(gzip.decompress(p.read_bytes()))["Records"]
        for p in sorted(root.rglob("*.json.gz"))
    }


def test_corpus_has_the_requested_events_layout_mix_and_size(tmp_path: Path) -> None:
    stats = generate_corpus(
        tmp_path, events=6000, seed=7, accounts=2, regions=2, days=2, mean_per_file=400
    )
    files = _read(tmp_path)
    recs = [r for rs in files.values() for r in rs]
    assert len(recs) == stats.events == 6000
    assert len(files) == stats.files == 15
    assert all(LOG_RE.fullmatch(k) for k in files)
    assert len({k.split("/")[1] for k in files}) == 2 and len({k.split("/")[3] for k in files}) == 2
    raw = sum(len(json.dumps(r, separators=(",", ":"))) for r in recs)
    assert 1300 < raw / len(recs) < 1800
    src = Counter(r["eventSource"] for r in recs)
    kms = src["kms.amazonaws.com"] / len(recs)
    assert 0.66 < kms < 0.78
    data = Counter(
        r["eventName"]
        for r in recs
        if r["eventSource"] == "kms.amazonaws.com"
        and r["readOnly"]
        and r["eventName"] in ("Decrypt", "GenerateDataKey", "Encrypt")
    )
    assert data["Decrypt"] > data["GenerateDataKey"] > data["Encrypt"]
    errors = sum(1 for r in recs if "errorCode" in r) / len(recs)
    assert 0.003 < errors < 0.03
    assert stats.error_records == sum(1 for r in recs if "errorCode" in r)
    assert stats.pending_deletion_errors == sum(
        1 for r in recs if str(r.get("errorMessage", "")).endswith(" is pending deletion.")
    )
    assert stats.pending_deletion_errors > 0
    assert 0.015 < src["iam.amazonaws.com"] / len(recs) < 0.05
    for key, rs in files.items():
        if "/us-east-1/" not in key:  # IAM is a global service: us-east-1 files only
            assert not any(r["eventSource"] == "iam.amazonaws.com" for r in rs)
    for rs in files.values():
        times = [clock.epoch(r["eventTime"]) for r in rs]
        assert max(times) - min(times) < 300  # one five-minute window per file


def test_corpus_is_deterministic_per_seed(tmp_path: Path) -> None:
    generate_corpus(
        tmp_path / "a", events=800, seed=3, accounts=1, regions=1, days=1, mean_per_file=200
    )
    generate_corpus(
        tmp_path / "b", events=800, seed=3, accounts=1, regions=1, days=1, mean_per_file=200
    )
    generate_corpus(
        tmp_path / "c", events=800, seed=4, accounts=1, regions=1, days=1, mean_per_file=200
    )
    a = {p.relative_to(tmp_path / "a"): p.read_bytes() for p in (tmp_path / "a").rglob("*.gz")}
    b = {p.relative_to(tmp_path / "b"): p.read_bytes() for p in (tmp_path / "b").rglob("*.gz")}
    c = {p.relative_to(tmp_path / "c"): p.read_bytes() for p in (tmp_path / "c").rglob("*.gz")}
    assert a == b
    assert a != c


def test_file_sizes_sum_exactly_and_vary() -> None:
    sizes = file_sizes(1_000_000, random.Random(1))
    assert sum(sizes) == 1_000_000 and len(sizes) == 400
    assert min(sizes) >= 1 and max(sizes) > 3 * min(sizes)
    assert file_sizes(5, random.Random(1)) == [5]


def test_cli_corpus_and_sample_guard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "corpus",
                "--out",
                str(tmp_path / "c"),
                "--events",
                "300",
                "--seed",
                "2",
                "--accounts",
                "1",
                "--regions",
                "1",
                "--days",
                "1",
                "--mean-per-file",
                "100",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["events"] == 300 and out["files"] == 3
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("x")
    assert main(["sample", "--out", str(busy), "--truth", str(tmp_path / "t.json")]) == 2
    assert not (tmp_path / "t.json").exists()


def test_cli_sample_writes_corpus_and_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sample", "--out", str(tmp_path / "s"), "--truth", str(tmp_path / "t.json")]) == 0
    counts = json.loads(capsys.readouterr().out)
    truth = json.loads((tmp_path / "t.json").read_text())
    assert truth["counts"] == counts
    assert len(list((tmp_path / "s").rglob("*_CloudTrail_*.json.gz"))) == counts["files"]


def test_java_dates() -> None:
    assert clock.java_date(clock.epoch("2024-10-21T14:25:29Z")) == "Oct 21, 2024, 2:25:29 PM"
    assert (
        clock.java_date(clock.epoch("2021-01-01T20:00:00Z"), comma_after_year=False)
        == "Jan 1, 2021 8:00:00 PM"
    )
    assert clock.java_date(clock.epoch("2026-10-12T00:00:00Z")) == "Oct 12, 2026, 12:00:00 AM"
    assert clock.java_date(clock.epoch("2026-10-12T12:05:09Z")) == "Oct 12, 2026, 12:05:09 PM"
    assert clock.weekday(clock.epoch("2026-10-04T03:00:00Z")) == 6  # a Sunday


def test_state_machine_of_the_ground_truth() -> None:
    ids = IdSource("t")
    key = make_key("k", "111122223333", "us-east-1")
    admin = Caller(role("111122223333", "Admin", "a"))
    t = clock.epoch("2026-09-01T00:00:00Z")
    sched = schedule_key_deletion(ids, t + 10, key, admin, days=7)
    denied = key_op(ids, t + 20, "DisableKey", key, admin, error=("AccessDeniedException", "no"))
    cancel = key_op(ids, t + 30, "CancelKeyDeletion", key, admin)
    assert state_after(sched) == "PendingDeletion"
    assert state_after(denied) is None
    assert state_after(cancel) == "Disabled"
    hist = key_histories([cancel, denied, sched], [key], t)["k"]
    assert [h["state"] for h in hist] == ["Unknown", "PendingDeletion", "Disabled"]
    assert sched["responseElements"]["deletionDate"] == "Sep 8, 2026, 12:00:10 AM"


def test_library_composes_background_and_injected_scenarios() -> None:
    world = generic_world(5, 2, 2)
    acct = world.accounts[0].account_id
    start = clock.epoch("2026-09-01T00:00:00Z")
    bg = background(
        world, acct, "us-east-1", start, start + 2 * 86400, IdSource("bg", 5), NoiseProfile()
    )
    assert len(bg) > 100
    assert all(start <= clock.epoch(r["eventTime"]) < start + 2 * 86400 for r in bg)
    key = world.keys_in(acct, "us-east-1")[0]
    res = inject_exfiltration(
        IdSource("x", 1), key, role(acct, "intruder", "s"), start + 86400, calls=50
    )
    again = inject_exfiltration(
        IdSource("x", 1), key, role(acct, "intruder", "s"), start + 86400, calls=50
    )
    assert [r["eventID"] for r in res.records] == [r["eventID"] for r in again.records]
    assert res.labels[0]["kind"] == "exfiltration" and len(res.labels[0]["event_ids"]) == 50
    files = batch_into_files(bg + res.records, acct, "us-east-1", IdSource("d", 1))
    assert sum(len(f.records) for f in files) == len(bg) + 50
    assert len({r["eventID"] for f in files for r in f.records}) == len(bg) + 50
    for f in files:
        assert all(clock.epoch(r["eventTime"]) < f.stamp + 60 for r in f.records)


def test_simulate_and_deliver_a_labelled_estate(tmp_path: Path) -> None:
    from tools.ctgen.scenarios import inject_access_denied_probe
    from tools.ctgen.simulate import deliver, simulate_background

    world = generic_world(11, 2, 2)
    start = clock.epoch("2026-09-01T00:00:00Z")
    end = start + 3 * 86400
    bg = simulate_background(world, start, end, 11)
    assert {
        (r["recipientAccountId"], r["awsRegion"])
        for r in bg
        if r["eventSource"] != "iam.amazonaws.com"
    } == {(a.account_id, reg) for a in world.accounts for reg in a.regions}
    acct = world.accounts[1].account_id
    keys = world.keys_in(acct, "eu-west-1")[:3]
    prober = Caller(role(acct, "intruder", "x"), ip="192.0.2.7")
    res = inject_access_denied_probe(IdSource("probe"), keys, prober, end - 3600, calls=12)
    files = deliver(bg + res.records, tmp_path, 11)
    back = _read(tmp_path)
    assert len(back) == len(files)
    assert all(LOG_RE.fullmatch(k) for k in back)
    got = {r["eventID"] for rs in back.values() for r in rs}
    assert got == {r["eventID"] for r in bg} | set(res.labels[0]["event_ids"])
    # another account's stream is unaffected by the extra records
    again = simulate_background(world, start, end, 11)
    assert [r["eventID"] for r in again] == [r["eventID"] for r in bg]
