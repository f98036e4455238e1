"""End-to-end: the planted keys of sample_logs/ against the generator's ground truth."""

import json
from datetime import datetime
from pathlib import Path

import pytest

from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.report.lifecycle_json import iso, result_data
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run

ROOT = Path(__file__).parents[1]
SAMPLE = ROOT / "sample_logs"
TRUTH = ROOT / "tools" / "ctgen" / "scenarios.json"

pytestmark = pytest.mark.skipif(
    not (SAMPLE.is_dir() and TRUTH.is_file()), reason="sample_logs or its ground truth absent"
)


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads(TRUTH.read_text())


@pytest.fixture(scope="module")
def every_key():
    result = run([str(SAMPLE)], [LifecycleAnalysis(None)], ScanOptions(jobs=1))
    return {k.key.arn: k for k in result.results["lifecycle"].keys}


def lifecycle(query: str):
    return run([str(SAMPLE)], [LifecycleAnalysis(query)], ScanOptions(jobs=1)).results["lifecycle"]


def history(life) -> list[tuple[str, str | None, str | None]]:
    return [(s.state.value, s.event_id, iso(s.start)) for s in life.states]


def expected(key: dict) -> list[tuple[str, str | None, str | None]]:
    return [(s["state"], s["event_id"], s["from"]) for s in key["states"]]


def test_every_planted_key_has_the_true_state_history(truth, every_key):
    log_start = datetime.fromisoformat(truth["log_start"].replace("Z", "+00:00"))
    for name, key in truth["keys"].items():
        life = every_key.get(key["arn"])
        assert life is not None, name
        got, want = history(life), expected(key)
        if want[0][0] == "Unknown":
            # The truth starts at the configured start; the logs start at their first record.
            assert got[0][0] == "Unknown" and life.states[0].start >= log_start, name
            got, want = got[1:], want[1:]
        assert got == want, name
        assert life.state.value == key["final_state"], name
        assert life.key.origin in (None, key["origin"]) or not key["created_in_logs"], name
        if key["created_in_logs"]:
            assert life.key.origin == key["origin"], name


def test_pending_deletion_still_in_use_names_who_needs_the_key(truth):
    key = truth["keys"]["legacy-orders"]
    scenario = next(s for s in truth["scenarios"] if s["id"] == "s1_pending_deletion_in_use")
    life = lifecycle(key["key_id"]).keys[0]
    assert [s.state.value for s in life.states] == ["Unknown", "PendingDeletion", "Deleted"]
    failed = {
        e["event_id"]
        for e in scenario["events"]
        if e["event_name"] == "Decrypt" and e.get("error_code")
    }
    pending = [u for u in life.uses_in_state if u.state.value == "PendingDeletion"]
    role = "arn:aws:iam::111122223333:role/orders-processor"
    assert sum(u.count for u in pending if u.principal == role) >= len(failed)
    finding = next(f for f in life.findings if f.kind == "used_while_pending_deletion")
    assert role in finding.detail
    schedule = next(e for e in life.events if e.event_name == "ScheduleKeyDeletion")
    assert scenario["notes"]["deletion_date"].replace("T", " ") in schedule.detail
    assert any(f.kind == "used_after_deletion" for f in life.findings)


def test_disabled_then_re_enabled(truth):
    key = truth["keys"]["reporting"]
    life = lifecycle(key["arn"]).keys[0]
    assert [s.state.value for s in life.states] == ["Enabled", "Disabled", "Enabled"]
    assert any(u.state.value == "Disabled" and u.errors for u in life.uses_in_state)


def test_cancelled_deletion_left_disabled(truth):
    key = truth["keys"]["old-backups"]
    life = lifecycle(key["arn"]).keys[0]
    assert [s.state.value for s in life.states] == ["Enabled", "PendingDeletion", "Disabled"]
    # The second CancelKeyDeletion failed: an attempt, not a change.
    cancels = [e for e in life.events if e.event_name == "CancelKeyDeletion"]
    assert [e.success for e in cancels] == [True, False]
    assert any(f.kind == "failed_state_change" for f in life.findings)


def test_imported_material_expired_then_re_imported(truth):
    key = truth["keys"]["hsm-import"]
    life = lifecycle(key["arn"]).keys[0]
    assert history(life) == expected(key)
    assert life.key.origin == "EXTERNAL"
    imports = [e for e in life.events if e.event_name == "ImportKeyMaterial"]
    assert len(imports) == 2 and all("valid to" in e.detail for e in imports)
    assert any(f.kind == "material_expired" for f in life.findings)
    assert any(u.state.value == "PendingImport" for u in life.uses_in_state)


def test_alias_moved_between_keys(truth):
    moves = truth["aliases"]["arn:aws:kms:us-east-1:111122223333:alias/payments"]
    result = lifecycle("alias/payments")
    bindings = [(b.key_arn, iso(b.start), b.start_event_id) for b in result.alias_bindings]
    assert bindings == [(m["target"], m["from"], m["event_id"]) for m in moves]
    assert result.alias_bindings[0].end == result.alias_bindings[1].start
    assert [k.key.arn for k in result.keys] == [m["target"] for m in moves]
    data = result_data(result)
    assert [d["key"]["arn"] for d in data] == [m["target"] for m in moves]


def test_policy_grants_and_rotation_are_on_the_timeline(truth, every_key):
    shared = every_key[truth["keys"]["shared-data"]["arn"]]
    names = [e.event_name for e in shared.events]
    for name in ("PutKeyPolicy", "CreateGrant", "RetireGrant", "RevokeGrant", "TagResource"):
        assert name in names, name
    policy = next(e for e in shared.events if e.event_name == "PutKeyPolicy")
    assert "statement" in policy.detail and "principals added" in policy.detail
    scenario = next(s for s in truth["scenarios"] if s["id"] == "s7_policy_and_grants")
    planted = scenario["notes"]["grants"]
    grants = {g.name: g for g in shared.grants}
    assert {name: grants[name].grant_id for name in planted} == planted
    assert {g.ended_by for g in grants.values()} == {"retired", "revoked"}
    rotation = every_key[truth["keys"]["app-secrets"]["arn"]]
    assert {"EnableKeyRotation", "RotateKeyOnDemand", "RotateKey"} <= {
        e.event_name for e in rotation.events
    }


def test_policy_backdoor_to_another_account_is_found(truth, every_key):
    labels = [label for s in truth["scenarios"] for label in s.get("labels", [])]
    backdoor = next(label for label in labels if label["kind"] == "key_policy_backdoor")
    life = every_key[backdoor["key_arn"]]
    found = [f for f in life.findings if f.kind == "policy_external_principal"]
    assert [f.event_id for f in found] == backdoor["event_ids"]
    assert backdoor["external_account"] in found[0].detail
