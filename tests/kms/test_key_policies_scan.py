"""Key-policy versions in ``kmslog scan``: a version that widens access is a finding
with the exposure's severity, narrowing is not, unreadable text is a finding, and the
answer does not depend on file order or --jobs."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from kmslog.analyses.base import fold
from kmslog.analyses.key_policies import KeyPolicyAnalysis
from kmslog.cli import app
from kmslog.decode.memory import frame_from_records
from tests.lifecycle_records import ACCOUNT, KEY_A, arn, create_key, record

OTHER = "999900001111"


def policy(*statements: dict[str, Any]) -> str:
    root = {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [root, *statements]})


def allow(principal: Any, *actions: str, condition: dict | None = None) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": list(actions),
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


def put(time: str, text: str) -> dict[str, Any]:
    return record(
        "PutKeyPolicy",
        time,
        request={"keyId": arn(KEY_A), "policyName": "default", "policy": text},
    )


def findings(records: list[dict[str, Any]]) -> list[Any]:
    from kmslog.kms.policy_findings import policy_findings

    return policy_findings(fold(KeyPolicyAnalysis(), [frame_from_records(records)]))


def test_a_version_that_adds_another_account_is_a_high_finding():
    records = [
        create_key("2024-03-01T09:00:00Z"),
        put(
            "2024-03-02T09:00:00Z",
            policy(allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, "kms:Decrypt")),
        ),
    ]
    (finding,) = findings(records)
    assert finding.kind.id == "key-policy-widened"
    assert finding.effective_severity == "high"
    assert OTHER in finding.summary and "kms:Decrypt" in finding.summary
    assert finding.subject.key_arn == arn(KEY_A)
    assert finding.evidence[0].event_name == "PutKeyPolicy"


def test_public_is_critical_and_a_caller_account_condition_is_not_public():
    public = policy(allow("*", "kms:Decrypt"))
    narrowed = policy(
        allow("*", "kms:Decrypt", condition={"StringEquals": {"kms:CallerAccount": ACCOUNT}})
    )
    (finding,) = findings([create_key("2024-03-01T09:00:00Z"), put("2024-03-02T09:00:00Z", public)])
    assert finding.effective_severity == "critical"
    assert (
        findings([create_key("2024-03-01T09:00:00Z"), put("2024-03-02T09:00:00Z", narrowed)]) == []
    )


def test_narrowing_is_no_finding_and_widening_again_is():
    wide = policy(allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, "kms:Decrypt"))
    records = [
        create_key("2024-03-01T09:00:00Z"),
        put("2024-03-02T09:00:00Z", wide),
        put("2024-03-03T09:00:00Z", policy()),
        put("2024-03-04T09:00:00Z", wide),
    ]
    found = findings(records)
    assert [f.first.isoformat()[:10] for f in found] == ["2024-03-02", "2024-03-04"]
    random.Random(7).shuffle(records)
    assert [f.first for f in findings(records)] == [f.first for f in found]


def test_unreadable_policy_text_is_a_finding_not_a_crash():
    (finding,) = findings([put("2024-03-02T09:00:00Z", '{"Statement": [')])
    assert finding.kind.id == "key-policy-unreadable"
    assert finding.summary.startswith("PutKeyPolicy set a policy that cannot be read")


def test_scan_reports_it_and_jobs_do_not_change_it(tmp_path: Path):
    wide = policy(allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, "kms:Decrypt"))
    for i, rec in enumerate(
        [create_key("2024-03-01T09:00:00Z"), put("2024-03-02T09:00:00Z", wide)]
    ):
        (tmp_path / f"f{i}.json").write_text(json.dumps({"Records": [rec]}), encoding="utf-8")
    outputs = []
    for jobs in ("1", "2"):
        result = CliRunner().invoke(
            app, ["scan", str(tmp_path), "--no-progress", "--jobs", jobs, "--format", "json"]
        )
        assert result.exit_code == 1, result.output
        outputs.append(json.loads(result.stdout)["key_policies"])
    assert outputs[0] == outputs[1]
    (finding,) = outputs[0]["findings"]
    assert finding["kind"] == "key-policy-widened" and finding["severity"] == "high"
    assert finding["details"]["added"][0]["account"] == OTHER


def test_lifecycle_shows_the_effective_access_diff_by_id_and_arn(tmp_path: Path):
    wide = policy(allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, "kms:Decrypt"))
    records = [create_key("2024-03-01T09:00:00Z"), put("2024-03-02T09:00:00Z", wide)]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"Records": records}), encoding="utf-8")
    answers = []
    for query in (KEY_A, arn(KEY_A)):
        result = CliRunner().invoke(
            app, ["lifecycle", query, str(path), "--no-progress", "--format", "json"]
        )
        assert result.exit_code == 0, result.output
        answers.append(json.loads(result.stdout)["policy_access"])
    assert answers[0] == answers[1]
    created, widened = answers[0]
    assert created["event_name"] == "CreateKey" and created["widened"] == []
    (added,) = widened["widened"]
    assert (added["account"], added["actions"], added["severity"]) == (
        OTHER,
        ["kms:Decrypt"],
        "high",
    )
    table = CliRunner().invoke(app, ["lifecycle", KEY_A, str(path), "--no-progress"])
    assert "access widened" in table.stdout and OTHER in table.stdout
