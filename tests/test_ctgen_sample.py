"""The shipped sample corpus: reproducible from its script, valid, small, scenarios planted.

Reads the corpus with plain gzip/json on purpose: these tests pin the data, not kmslog.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tools.ctgen import clock
from tools.ctgen.sample import truth_json, write_sample

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
TRUTH = ROOT / "tools" / "ctgen" / "scenarios.json"

LOG_RE = re.compile(
    r"AWSLogs/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/"
    r"\1_CloudTrail_\2_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz"
)
DIGEST_RE = re.compile(
    r"AWSLogs/(\d{12})/CloudTrail-Digest/([a-z0-9-]+)/\d{4}/\d{2}/\d{2}/"
    r"\1_CloudTrail-Digest_\2_[A-Za-z0-9-]+_[a-z0-9-]+_\d{8}T\d{6}Z\.json\.gz"
)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def _files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def committed() -> dict[str, bytes]:
    return _files(SAMPLE)


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads(TRUTH.read_text())


@pytest.fixture(scope="module")
def logs(committed: dict[str, bytes]) -> list[tuple[str, list[dict]]]:
    out = []
    for key, data in committed.items():
        if "/CloudTrail/" in key:
            doc = json.loads(gzip.decompress(data))
            assert list(doc) == ["Records"], key
            out.append((key, doc["Records"]))
    return out


@pytest.fixture(scope="module")
def records(logs: list[tuple[str, list[dict]]]) -> list[dict]:
    return [r for _, recs in logs for r in recs]


@pytest.fixture(scope="module")
def by_id(records: list[dict]) -> dict[str, dict]:
    return {r["eventID"]: r for r in records}


def test_regenerating_the_sample_gives_the_committed_files(
    tmp_path: Path, committed: dict[str, bytes]
) -> None:
    corpus = write_sample(tmp_path)
    fresh = _files(tmp_path)
    assert sorted(fresh) == sorted(committed)
    assert truth_json(corpus) == TRUTH.read_text()
    same_zlib = json.loads(TRUTH.read_text())["zlib_runtime_version"] == zlib.ZLIB_RUNTIME_VERSION
    for key, data in committed.items():
        # gzip bytes depend on the zlib build; the JSON inside must match everywhere.
        assert gzip.decompress(fresh[key]) == gzip.decompress(data), key
        if same_zlib:
            assert fresh[key] == data, key


def test_sample_is_at_most_5_mb(committed: dict[str, bytes]) -> None:
    assert sum(len(v) for v in committed.values()) <= 5 * 1024 * 1024


def test_layout_and_delivery_times(
    logs: list[tuple[str, list[dict]]], committed: dict[str, bytes]
) -> None:
    digests = [k for k in committed if "CloudTrail-Digest" in k]
    assert len(digests) == 2 and all(DIGEST_RE.fullmatch(k) for k in digests)
    start, end = "2026-09-01T00:00:00Z", "2026-10-07T00:00:00Z"
    for key, recs in logs:
        assert all(start <= r["eventTime"] < end for r in recs)
        m = LOG_RE.fullmatch(key)
        assert m, key
        acct, region, y, mo, d, stamp = m.groups()
        assert stamp.startswith(f"{y}{mo}{d}T")
        delivered = clock.epoch(
            f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:00Z"
        )
        assert recs, key
        for r in recs:
            assert r["recipientAccountId"] == acct
            assert r["awsRegion"] == region
            # a file holds events from before its delivery minute, never after
            assert clock.epoch(r["eventTime"]) < delivered + 60


def test_every_record_is_well_formed(records: list[dict]) -> None:
    assert len(records) > 5000
    versions = Counter()
    for r in records:
        assert TIME_RE.match(r["eventTime"])
        assert UUID_RE.match(r["eventID"])
        assert r["eventVersion"] in ("1.08", "1.09")
        versions[r["eventVersion"]] += 1
        assert r["eventCategory"] == "Management"
        assert r["managementEvent"] is True
        assert isinstance(r["readOnly"], bool)
        assert r["eventSource"].endswith(".amazonaws.com")
        ident = r["userIdentity"]
        if r["eventType"] == "AwsServiceEvent":
            assert ident == {"accountId": r["recipientAccountId"], "invokedBy": "AWS Internal"}
            assert "requestID" not in r and r["sourceIPAddress"] == "AWS Internal"
        else:
            assert r["eventType"] == "AwsApiCall"
            assert UUID_RE.match(r["requestID"])
            assert ident["type"] in (
                "AssumedRole",
                "IAMUser",
                "Root",
                "AWSService",
                "AWSAccount",
                "WebIdentityUser",
            )
        if ident.get("invokedBy") and r["eventType"] == "AwsApiCall":
            assert r["sourceIPAddress"] == r["userAgent"] == ident["invokedBy"]
            assert "tlsDetails" not in r
        if "errorCode" in r:
            assert r["responseElements"] is None
    assert versions["1.08"] and versions["1.09"]


def test_read_only_matches_the_api(records: list[dict]) -> None:
    ro = {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncrypt",
        "DescribeKey",
        "ListAliases",
        "GetKeyPolicy",
        "GetKeyRotationStatus",
        "ListGrants",
        "GetParametersForImport",
    }
    rw = {
        "CreateKey",
        "ScheduleKeyDeletion",
        "DisableKey",
        "EnableKey",
        "CancelKeyDeletion",
        "PutKeyPolicy",
        "CreateGrant",
        "RetireGrant",
        "RevokeGrant",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "ImportKeyMaterial",
        "EnableKeyRotation",
        "RotateKeyOnDemand",
        "TagResource",
        "UpdateKeyDescription",
    }
    for r in records:
        if r["eventSource"] == "kms.amazonaws.com":
            if r["eventName"] in ro:
                assert r["readOnly"] is True, r["eventName"]
            elif r["eventName"] in rw:
                assert r["readOnly"] is False, r["eventName"]


def test_event_mix_and_record_size(records: list[dict]) -> None:
    sources = Counter(r["eventSource"] for r in records)
    assert 0.7 < sources["kms.amazonaws.com"] / len(records) < 0.95
    assert {
        "s3.amazonaws.com",
        "sts.amazonaws.com",
        "ec2.amazonaws.com",
        "iam.amazonaws.com",
        "logs.amazonaws.com",
        "monitoring.amazonaws.com",
    } <= set(sources)
    mean = sum(len(json.dumps(r, separators=(",", ":"))) for r in records) / len(records)
    assert 1200 < mean < 1900
    kinds = Counter(r["userIdentity"].get("type") for r in records)
    assert kinds["AssumedRole"] and kinds["IAMUser"] and kinds["AWSService"] and kinds["AWSAccount"]
    assert kinds["Root"] and kinds["WebIdentityUser"]
    assert kinds[None] == 3  # the three KMS service events
    invoked = {
        r["userIdentity"].get("invokedBy")
        for r in records
        if r["eventSource"] == "kms.amazonaws.com"
    }
    assert {
        "s3.amazonaws.com",
        "lambda.amazonaws.com",
        "secretsmanager.amazonaws.com",
        "dynamodb.amazonaws.com",
        "ec2.amazonaws.com",
        "cloudtrail.amazonaws.com",
    } <= invoked
    assert any("vpcEndpointId" in r for r in records)


def test_every_planted_event_is_in_the_logs(truth: dict, by_id: dict[str, dict]) -> None:
    for sc in truth["scenarios"]:
        assert sc["events"], sc["id"]
        for ev in sc["events"]:
            rec = by_id[ev["event_id"]]
            assert rec["eventName"] == ev["event_name"] and rec["eventTime"] == ev["event_time"]
            assert rec.get("errorCode") == ev.get("error_code")


def _states(truth: dict, key: str) -> list[tuple[str, str | None]]:
    return [(s["state"], s["event_name"]) for s in truth["keys"][key]["states"]]


def test_key_state_histories(truth: dict, by_id: dict[str, dict]) -> None:
    assert _states(truth, "legacy-orders") == [
        ("Unknown", None),
        ("PendingDeletion", "ScheduleKeyDeletion"),
        ("Deleted", "DeleteKey"),
    ]
    assert _states(truth, "reporting") == [
        ("Enabled", "CreateKey"),
        ("Disabled", "DisableKey"),
        ("Enabled", "EnableKey"),
    ]
    assert _states(truth, "old-backups") == [
        ("Enabled", "CreateKey"),
        ("PendingDeletion", "ScheduleKeyDeletion"),
        ("Disabled", "CancelKeyDeletion"),
    ]
    assert _states(truth, "hsm-import") == [
        ("PendingImport", "CreateKey"),
        ("Enabled", "ImportKeyMaterial"),
        ("PendingImport", "DeleteExpiredKeyMaterial"),
        ("Enabled", "ImportKeyMaterial"),
    ]
    assert _states(truth, "customer-pii") == [
        ("Enabled", "CreateKey"),
        ("Disabled", "DisableKey"),
        ("PendingDeletion", "ScheduleKeyDeletion"),
    ]
    assert _states(truth, "eu-billing") == [("Unknown", None)]  # denied attempts change nothing
    assert _states(truth, "app-secrets") == [("Unknown", None)]  # rotation is not a state change
    for name, key in truth["keys"].items():
        for st in key["states"]:
            if st["event_id"]:
                rec = by_id[st["event_id"]]
                assert rec["eventTime"] == st["from"] and "errorCode" not in rec, name
                assert key["arn"] in [x["ARN"] for x in rec["resources"]]
    assert any(not k["created_in_logs"] for k in truth["keys"].values())


def test_pending_deletion_scenario(truth: dict, by_id: dict[str, dict]) -> None:
    key = truth["keys"]["legacy-orders"]
    sched = by_id[key["states"][1]["event_id"]]
    assert sched["responseElements"]["deletionDate"] == "Sep 22, 2026, 2:25:29 PM"
    assert sched["responseElements"]["keyState"] == "PendingDeletion"
    assert sched["requestParameters"]["pendingWindowInDays"] == 7
    deleted = key["states"][2]["from"]
    fails = [
        by_id[e["event_id"]]
        for e in truth["scenarios"][1]["events"]
        if e.get("error_code") == "KMSInvalidStateException"
    ]
    assert len(fails) >= 8
    assert len({f["eventTime"][:10] for f in fails}) >= 5
    for f in fails:
        assert f["errorMessage"] == f"{key['arn']} is pending deletion."
        assert sched["eventTime"] < f["eventTime"] < deleted
        assert (
            f["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] == "orders-processor"
        )
    delete = by_id[key["states"][2]["event_id"]]
    assert delete["eventType"] == "AwsServiceEvent"
    deletion_date = clock.epoch("2026-09-22T14:25:29Z")
    assert deletion_date <= clock.epoch(delete["eventTime"]) <= deletion_date + 86400


def test_disabled_and_cancelled_scenarios(truth: dict, by_id: dict[str, dict]) -> None:
    sc = {s["id"]: s for s in truth["scenarios"]}
    disabled = [
        by_id[e["event_id"]]
        for e in sc["s2_disabled_then_enabled"]["events"]
        if e.get("error_code")
    ]
    arn = truth["keys"]["reporting"]["arn"]
    assert len(disabled) >= 5 and all(r["errorMessage"] == f"{arn} is disabled." for r in disabled)
    cancel = [
        by_id[e["event_id"]]
        for e in sc["s3_cancelled_deletion_left_disabled"]["events"]
        if e["event_name"] == "CancelKeyDeletion"
    ]
    arn = truth["keys"]["old-backups"]["arn"]
    assert cancel[0]["responseElements"] == {"keyId": arn}
    assert cancel[1]["errorMessage"] == f"{arn} is not pending deletion."
    assert truth["keys"]["old-backups"]["final_state"] == "Disabled"


def test_cis_failed_attempt(truth: dict, by_id: dict[str, dict]) -> None:
    sc = next(s for s in truth["scenarios"] if s["id"] == "s4_cis_failed_attempt")
    recs = [by_id[e["event_id"]] for e in sc["events"]]
    assert {r["eventName"] for r in recs} == {"ScheduleKeyDeletion", "DisableKey"}
    for r in recs:
        assert r["errorCode"] == "AccessDeniedException"
        assert "is not authorized to perform: kms:" in r["errorMessage"]
        assert r["userIdentity"]["arn"] in r["errorMessage"]


def test_imported_material_scenario(truth: dict, by_id: dict[str, dict]) -> None:
    key = truth["keys"]["hsm-import"]
    create, imp1, expired, imp2 = (by_id[s["event_id"]] for s in key["states"])
    meta = create["responseElements"]["keyMetadata"]
    assert (
        meta["origin"] == "EXTERNAL"
        and meta["keyState"] == "PendingImport"
        and meta["enabled"] is False
    )
    assert imp1["requestParameters"]["validTo"] == "Sep 14, 2026 9:12:00 AM"
    assert imp1["requestParameters"]["expirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert expired["eventTime"] == "2026-09-14T09:12:00Z"
    assert imp2["requestParameters"]["validTo"] == "Oct 12, 2026, 12:00:00 AM"
    log_end = clock.epoch(truth["log_end"])
    assert log_end < clock.epoch("2026-10-12T00:00:00Z") <= log_end + 10 * 86400
    sc = next(s for s in truth["scenarios"] if s["id"] == "s5_imported_material")
    pending = [by_id[e["event_id"]] for e in sc["events"] if e.get("error_code")]
    assert len(pending) >= 5
    assert all(r["errorMessage"] == f"{key['arn']} is pending import." for r in pending)
    assert {"GetParametersForImport"} <= {e["event_name"] for e in sc["events"]}


def test_rotation_policy_and_grants(truth: dict, by_id: dict[str, dict]) -> None:
    sc = {s["id"]: s for s in truth["scenarios"]}
    names = [e["event_name"] for e in sc["s6_rotation"]["events"]]
    assert names == ["EnableKeyRotation", "RotateKeyOnDemand", "RotateKey"]
    ev = {e["event_name"]: by_id[e["event_id"]] for e in sc["s7_policy_and_grants"]["events"]}
    assert {"PutKeyPolicy", "CreateGrant", "RetireGrant", "RevokeGrant"} <= set(ev)
    policy = json.loads(ev["PutKeyPolicy"]["requestParameters"]["policy"])
    assert any("analytics-reader" in json.dumps(s) for s in policy["Statement"])
    assert ev["RetireGrant"]["requestParameters"] is None
    assert (
        ev["RetireGrant"]["additionalEventData"]["grantId"]
        in sc["s7_policy_and_grants"]["notes"]["grants"].values()
    )


def test_alias_moves_between_keys(truth: dict, records: list[dict]) -> None:
    v1, v2 = truth["keys"]["payments-v1"]["arn"], truth["keys"]["payments-v2"]["arn"]
    alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/payments"
    hist = truth["aliases"][alias_arn]
    assert [(h["event_name"], h["target"]) for h in hist] == [
        ("CreateAlias", v1),
        ("UpdateAlias", v2),
    ]
    moved = hist[1]["from"]
    via_alias = [
        r for r in records if (r.get("requestParameters") or {}).get("keyId") == "alias/payments"
    ]
    before = {r["resources"][0]["ARN"] for r in via_alias if r["eventTime"] < moved}
    after = {r["resources"][0]["ARN"] for r in via_alias if r["eventTime"] > moved}
    assert before == {v1} and after == {v2}
    legacy = truth["aliases"]["arn:aws:kms:us-east-1:111122223333:alias/payments-legacy"]
    assert [h["event_name"] for h in legacy] == ["CreateAlias", "DeleteAlias"] and legacy[1][
        "target"
    ] is None


def test_cloudwatch_setup_and_tampering(truth: dict, records: list[dict]) -> None:
    cw = [
        r for r in records if r["eventSource"] in ("logs.amazonaws.com", "monitoring.amazonaws.com")
    ]
    filters = [r for r in cw if r["eventName"] == "PutMetricFilter"]
    assert len(filters) == 7  # two per account, plus one re-created
    patterns = {
        r["requestParameters"]["filterName"]: r["requestParameters"]["filterPattern"]
        for r in filters
    }
    assert patterns == {
        "KMSKeyPendingDeletionErrorCount": (
            '{ $.eventSource = kms* && $.errorMessage = "* is pending deletion."}'
        ),
        "KMSCustomerKeyDisableOrDeleteEvents": "{($.eventSource = kms.amazonaws.com) && "
        "(($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",
    }
    alarms = [r for r in cw if r["eventName"] == "PutMetricAlarm"]
    assert {r["requestParameters"]["alarmName"] for r in alarms} == {
        "KMSKeyPendingDeletionErrorAlarm",
        "KMSCustomerKeyDisableOrDeleteAlarm",
    }
    assert len([r for r in filters + alarms if r["eventTime"] < "2026-09-02"]) == 12
    tamper = sorted(
        (
            r
            for r in cw
            if r["eventName"] in ("DisableAlarmActions", "DeleteAlarms")
            and r["recipientAccountId"] == "111122223333"
        ),
        key=lambda r: r["eventTime"],
    )
    assert [r["eventName"] for r in tamper] == ["DisableAlarmActions", "DeleteAlarms"]
    assert all(
        r["requestParameters"]["alarmNames"] == ["KMSCustomerKeyDisableOrDeleteAlarm"]
        for r in tamper
    )
    disable = next(a for a in truth["anomalies"] if a["kind"] == "disable_then_schedule_deletion")
    gap = clock.epoch(disable["start"]) - clock.epoch(tamper[1]["eventTime"])
    assert 5 * 60 <= gap <= 15 * 60


def test_cloudwatch_maintenance(truth: dict, by_id: dict[str, dict]) -> None:
    # 444455556666 mutes the CIS alarm's actions around its planned DisableKey.
    timeline = truth["alarms"]["444455556666"]["KMSCustomerKeyDisableOrDeleteAlarm"]
    names = [e["event_name"] for e in timeline]
    assert names == ["PutMetricAlarm", "DisableAlarmActions", "EnableAlarmActions"]
    disable = truth["keys"]["reporting"]["states"][1]["from"]
    assert timeline[1]["time"] < disable < timeline[2]["time"]
    # 777788889999 deletes and re-creates the pending-deletion filter: errors in the gap
    # are not counted by CloudWatch.
    mf = truth["metric_filters"]["KMSKeyPendingDeletionErrorCount"]
    wins = mf["windows"]["777788889999"]
    assert len(wins) == 2 and wins[0]["to"] is not None and wins[1]["to"] is None
    gap = [
        m["event_id"]
        for m in mf["matches"]
        if m["account"] == "777788889999" and wins[0]["to"] <= m["event_time"] < wins[1]["from"]
    ]
    assert len(gap) == 2
    assert not set(gap) & set(mf["matches_while_active"])
    assert len(mf["matches_while_active"]) == len(mf["matches"]) - 2
    assert all(by_id[e]["eventTime"] >= "2026-09-01T09" for e in mf["matches_while_active"])


def test_metric_filter_ground_truth_matches_the_logs(truth: dict, records: list[dict]) -> None:
    seen: set[str] = set()
    pending, cis = [], []
    for r in records:
        if r["eventID"] in seen:
            continue
        seen.add(r["eventID"])
        if r["eventSource"].startswith("kms") and str(r.get("errorMessage", "")).endswith(
            " is pending deletion."
        ):
            pending.append(r["eventID"])
        if r["eventSource"] == "kms.amazonaws.com" and r["eventName"] in (
            "DisableKey",
            "ScheduleKeyDeletion",
        ):
            cis.append(r["eventID"])
    mf = truth["metric_filters"]
    assert sorted(pending) == sorted(
        m["event_id"] for m in mf["KMSKeyPendingDeletionErrorCount"]["matches"]
    )
    assert sorted(cis) == sorted(
        m["event_id"] for m in mf["KMSCustomerKeyDisableOrDeleteEvents"]["matches"]
    )
    assert len(pending) >= 20 and len(cis) >= 6
    assert sum(
        sum(v.values()) for v in mf["KMSKeyPendingDeletionErrorCount"]["points"].values()
    ) == len(pending)


def test_duplicate_delivery(truth: dict, logs: list[tuple[str, list[dict]]]) -> None:
    dup = truth["duplicate_delivery"]
    holders = [k for k, recs in logs if any(r["eventID"] == dup["event_id"] for r in recs)]
    assert sorted(holders) == sorted(dup["files"]) and len(holders) == 2
    ids = Counter(r["eventID"] for _, recs in logs for r in recs)
    assert [e for e, n in ids.items() if n > 1] == [dup["event_id"]]


def test_digests_hash_the_listed_log_files(truth: dict, committed: dict[str, bytes]) -> None:
    bodies = [json.loads(gzip.decompress(committed[k])) for k in truth["digests"]]
    assert bodies[0]["previousDigestSignature"] is None
    assert (
        bodies[1]["previousDigestHashValue"]
        == hashlib.sha256(gzip.decompress(committed[truth["digests"][0]])).hexdigest()
    )
    listed = 0
    for body in bodies:
        for lf in body["logFiles"]:
            assert (
                hashlib.sha256(gzip.decompress(committed[lf["s3Object"]])).hexdigest()
                == lf["hashValue"]
            )
            listed += 1
    assert listed >= 1


def _principal(r: dict) -> str:
    ident = r["userIdentity"]
    issuer = ident.get("sessionContext", {}).get("sessionIssuer", {}).get("arn")
    return issuer or ident.get("arn") or ident.get("principalId") or ident.get("invokedBy", "")


def test_anomalies_follow_a_clean_baseline(
    truth: dict, records: list[dict], by_id: dict[str, dict]
) -> None:
    base_end = truth["baseline_end"]
    assert clock.epoch(base_end) - clock.epoch(truth["log_start"]) >= 28 * 86400
    kinds = {a["kind"]: a for a in truth["anomalies"]}
    assert set(kinds) >= {
        "exfiltration",
        "key_policy_backdoor",
        "cross_account_use",
        "alarm_tampering",
        "disable_then_schedule_deletion",
        "access_denied_probing",
        "off_network_use",
        "dormant_key_revived",
        "unusual_hour",
    }
    for a in truth["anomalies"]:
        assert a["start"] >= base_end, a["kind"]
        assert all(by_id[e]["eventTime"] >= base_end for e in a["event_ids"])
    baseline = [r for r in records if r["eventTime"] < base_end]
    ex = kinds["exfiltration"]
    assert len(ex["event_ids"]) >= 200
    assert clock.epoch(ex["end"]) - clock.epoch(ex["start"]) <= 3600
    assert {by_id[e]["sourceIPAddress"] for e in ex["event_ids"]} == set(ex["source_ips"]) and len(
        ex["source_ips"]
    ) == 3
    assert not any(_principal(r) == ex["principal_arn"] for r in baseline)
    assert not any(r["sourceIPAddress"] in ex["source_ips"] for r in baseline)
    # backdoor: external account added, then used cross-account
    bd = by_id[kinds["key_policy_backdoor"]["event_ids"][0]]
    assert "arn:aws:iam::999988887777:root" in bd["requestParameters"]["policy"]
    for e in kinds["cross_account_use"]["event_ids"]:
        r = by_id[e]
        assert (
            r["recipientAccountId"] == "777788889999"
            and r["userIdentity"]["accountId"] == "999988887777"
        )
        assert r["sharedEventID"] and r["eventTime"] > bd["eventTime"]
    assert not any(
        _principal(r) == bd["userIdentity"]["arn"] and r["eventSource"] == "kms.amazonaws.com"
        for r in baseline
    )
    # disable + schedule deletion by a principal that never touched KMS before
    dd = [by_id[e] for e in kinds["disable_then_schedule_deletion"]["event_ids"]]
    assert [r["eventName"] for r in dd] == ["DisableKey", "ScheduleKeyDeletion"]
    actor = _principal(dd[0])
    assert not any(
        _principal(r) == actor
        and r["eventSource"] in ("kms.amazonaws.com", "monitoring.amazonaws.com")
        for r in baseline
    )
    assert any(_principal(r) == actor for r in baseline)  # known, but never for KMS
    # probing: many AccessDeniedException over several keys, one principal
    pr = [by_id[e] for e in kinds["access_denied_probing"]["event_ids"]]
    assert len(pr) >= 15 and all(r["errorCode"] == "AccessDeniedException" for r in pr)
    assert (
        len({r["resources"][0]["ARN"] for r in pr}) >= 3 and len({_principal(r) for r in pr}) == 1
    )
    # off-network: the role is otherwise only seen from 10.x through its VPC endpoint
    off = kinds["off_network_use"]
    role = off["principal_arn"]
    usual = [
        r
        for r in baseline
        if _principal(r) == role
        and r["eventSource"] == "kms.amazonaws.com"
        and "invokedBy" not in r["userIdentity"]
    ]
    assert usual and all(
        r["sourceIPAddress"].startswith("10.") and r.get("vpcEndpointId") for r in usual
    )
    anywhere = [
        r for r in baseline if _principal(r) == role and "invokedBy" not in r["userIdentity"]
    ]
    assert all(r["sourceIPAddress"].startswith("10.") for r in anywhere)
    assert all(
        by_id[e]["sourceIPAddress"] == "185.220.101.47" and "vpcEndpointId" not in by_id[e]
        for e in off["event_ids"]
    )
    # dormant key: used in week 1 only, then revived
    dormant = kinds["dormant_key_revived"]["key_arn"]
    uses = sorted(
        r["eventTime"]
        for r in baseline
        if r["eventSource"] == "kms.amazonaws.com"
        and r.get("readOnly")
        and any(x["ARN"] == dormant for x in r.get("resources") or [])
        and r["eventName"] in ("Decrypt", "Encrypt", "GenerateDataKey", "ReEncrypt")
    )
    assert uses and uses[-1] < "2026-09-08"
    # unusual hour: the key is never used on weekends or before 05:00 UTC in the baseline
    uh = kinds["unusual_hour"]
    key_uses = [
        r
        for r in baseline
        if r["eventSource"] == "kms.amazonaws.com"
        and any(x["ARN"] == uh["key_arn"] for x in r.get("resources") or [])
    ]
    assert key_uses and all(clock.hour_of_day(clock.epoch(r["eventTime"])) >= 5 for r in key_uses)
    assert all(clock.weekday(clock.epoch(r["eventTime"])) < 5 for r in key_uses)
    assert all(clock.weekday(clock.epoch(by_id[e]["eventTime"])) == 6 for e in uh["event_ids"])


def test_key_usage_ground_truth(truth: dict, records: list[dict]) -> None:
    data_plane = {
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncrypt",
    }
    arn = truth["keys"]["legacy-orders"]["arn"]
    calls = {
        r["eventID"]: r
        for r in records
        if r["eventName"] in data_plane and any(x["ARN"] == arn for x in r.get("resources") or [])
    }
    usage = truth["keys"]["legacy-orders"]["usage"]
    assert list(usage) == ["arn:aws:iam::111122223333:role/orders-processor"]
    (u,) = usage.values()
    assert u["calls"] == len(calls)
    assert u["errors"] == sum(1 for r in calls.values() if "errorCode" in r) >= 11
    assert u["first"] == min(r["eventTime"] for r in calls.values())
    assert u["last"] == max(r["eventTime"] for r in calls.values())
    external = truth["keys"]["security-logs"]["usage"]
    assert any(p.startswith("999988887777:") for p in external)
    assert truth["keys"]["aws-ebs"]["usage"]


def test_scenario_key_ids_are_stable(truth: dict) -> None:
    # Other suites pin these ARNs; they derive from the key labels only.
    assert truth["keys"]["legacy-orders"]["arn"] == (
        "arn:aws:kms:us-east-1:111122223333:key/4493c050-8a60-4465-adda-15b22866f30f"
    )
    per_account = defaultdict(int)
    for k in truth["keys"].values():
        per_account[k["account"]] += 1
    assert set(per_account) == {"111122223333", "444455556666", "777788889999"}


def test_planted_events_do_not_depend_on_background(truth: dict) -> None:
    from tools.ctgen.sample_estate import build_world
    from tools.ctgen.sample_plan import plant

    planted = {r["eventID"]: r["eventTime"] for pl in plant(build_world()) for r in pl.records}
    expected = {e["event_id"]: e["event_time"] for s in truth["scenarios"] for e in s["events"]}
    assert planted == expected
