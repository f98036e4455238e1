import pickle

import orjson
from lifecycle_records import KEY_A, KEY_B, alias_arn, arn, create_key, record

from kmslog.analyses.base import fold
from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.decode.memory import frame_from_records


def _alias(name: str, time: str, key: str | None) -> dict:
    request = {"aliasName": "alias/payments"}
    resources = [alias_arn("alias/payments")]
    if key:
        request["targetKeyId"] = key
        resources.append(arn(key))
    return record(name, time, None, request=request, resources=resources)


def scenario() -> list[dict]:
    policy = orjson.dumps(
        {
            "Statement": [
                {
                    "Sid": "root",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::1:root"},
                    "Action": "kms:*",
                }
            ]
        }
    ).decode()
    wide = orjson.dumps(
        {
            "Statement": [
                {
                    "Sid": "root",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::1:root"},
                    "Action": "kms:*",
                },
                {"Sid": "all", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt"},
            ]
        }
    ).decode()
    return [
        create_key("2024-03-01T09:00:00Z", KEY_A, policy=policy),
        create_key("2024-03-01T09:05:00Z", KEY_B),
        _alias("CreateAlias", "2024-03-01T10:00:00Z", KEY_A),
        record(
            "GenerateDataKey",
            "2024-03-02T09:00:00Z",
            request={"keyId": "alias/payments", "encryptionContext": {"order": "1"}},
            assumed="app/s1",
            invoked_by="s3.amazonaws.com",
        ),
        record(
            "Decrypt",
            "2024-03-02T09:30:00Z",
            request={"encryptionContext": {"order": "1"}},
            assumed="app/s2",
            ip="198.51.100.7",
        ),
        record(
            "PutKeyPolicy",
            "2024-03-02T12:00:00Z",
            request={"keyId": KEY_A, "policyName": "default", "policy": wide},
        ),
        record("DisableKey", "2024-03-03T09:00:00Z", error=("AccessDeniedException", "denied")),
        record("DisableKey", "2024-03-03T10:00:00Z"),
        record(
            "Decrypt",
            "2024-03-03T11:00:00Z",
            assumed="app/s3",
            error=("DisabledException", f"{arn(KEY_A)} is disabled."),
        ),
        record("EnableKey", "2024-03-04T09:00:00Z"),
        _alias("UpdateAlias", "2024-03-05T09:00:00Z", KEY_B),
        record(
            "Encrypt",
            "2024-03-05T10:00:00Z",
            KEY_B,
            request={"keyId": "alias/payments"},
            assumed="app/s4",
        ),
        record(
            "ScheduleKeyDeletion",
            "2024-03-06T09:00:00Z",
            request={"keyId": KEY_A, "pendingWindowInDays": 7},
            response={
                "keyId": arn(KEY_A),
                "keyState": "PendingDeletion",
                "deletionDate": "Mar 13, 2024, 9:00:00 AM",
            },
        ),
        record(
            "Decrypt",
            "2024-03-07T09:00:00Z",
            assumed="batch/s5",
            error=("KMSInvalidStateException", f"{arn(KEY_A)} is pending deletion."),
        ),
        record(
            "Decrypt",
            "2024-03-08T09:00:00Z",
            None,
            request={},
            resources=[],
            assumed="batch/s6",
            error=("KMSInvalidStateException", f"{arn(KEY_A)} is pending deletion."),
        ),
        record("DeleteKey", "2024-03-13T09:00:00Z", service=True, request={}),
    ]


def run(query, records, splits=1):
    frames = [frame_from_records(records[i::splits], source=f"f{i}") for i in range(splits)]
    return fold(LifecycleAnalysis(query), frames)


def test_key_lifecycle_states_usage_and_findings():
    result = run(arn(KEY_A), scenario())
    assert [k.key.arn for k in result.keys] == [arn(KEY_A)]
    key = result.keys[0]
    assert [(s.state.value, s.cause) for s in key.states] == [
        ("Enabled", "CreateKey"),
        ("Disabled", "DisableKey"),
        ("Enabled", "EnableKey"),
        ("PendingDeletion", "ScheduleKeyDeletion"),
        ("Deleted", "DeleteKey"),
    ]
    assert key.key.origin == "AWS_KMS" and key.key.created is not None
    names = [e.event_name for e in key.events]
    assert names.count("DisableKey") == 2
    assert [e.success for e in key.events if e.event_name == "DisableKey"] == [False, True]
    policy = next(e for e in key.events if e.event_name == "PutKeyPolicy")
    assert "+ statement all" in policy.detail and "principals added: *" in policy.detail
    usage = {(u.principal, u.operation): u for u in key.usage}
    app = "arn:aws:iam::111122223333:role/app"
    assert usage[(app, "GenerateDataKey")].invoked_by == ("s3.amazonaws.com",)
    assert usage[(app, "GenerateDataKey")].context_keys == ("order",)
    assert usage[(app, "Decrypt")].count == 2 and usage[(app, "Decrypt")].errors == 1
    assert "198.51.100.7" in usage[(app, "Decrypt")].source_ips
    batch = usage[("arn:aws:iam::111122223333:role/batch", "Decrypt")]
    assert batch.count == 2 and batch.errors == 2
    kinds = [f.kind for f in key.findings]
    assert "used_while_pending_deletion" in kinds and "used_while_disabled" in kinds
    assert "failed_state_change" in kinds and "policy_wildcard_principal" in kinds
    assert "policy_external_principal" not in kinds
    pending = next(f for f in key.findings if f.kind == "used_while_pending_deletion")
    assert "role/batch" in pending.detail and "2 call(s)" in pending.detail
    assert [(b.scope.name, b.key_arn) for b in key.key.aliases] == [("alias/payments", arn(KEY_A))]


def test_results_do_not_depend_on_how_files_are_split():
    def summary(result):
        return [
            (
                [(s.state, s.start, s.end) for s in k.states],
                [e.event_id for e in k.events],
                k.usage,
                k.findings,
            )
            for k in result.keys
        ]

    records = scenario()
    for query in (arn(KEY_A), KEY_A, "alias/payments", None):
        one = run(query, records)
        three = run(query, records, splits=3)
        assert summary(one) == summary(three), query


def test_alias_query_names_each_key_and_when():
    result = run("alias/payments", scenario())
    assert [k.key.arn for k in result.keys] == [arn(KEY_A), arn(KEY_B)]
    spans = [
        (b.key_arn, b.start.isoformat(), b.end and b.end.isoformat()) for b in result.alias_bindings
    ]
    assert spans == [
        (arn(KEY_A), "2024-03-01T10:00:00+00:00", "2024-03-05T09:00:00+00:00"),
        (arn(KEY_B), "2024-03-05T09:00:00+00:00", None),
    ]
    key_b = result.keys[1]
    assert [u.operation for u in key_b.usage] == ["Encrypt"]
    # KEY_A's uses after the move are direct (by ARN): those callers still need KEY_A.
    late = [f for f in result.keys[0].findings if f.kind == "used_after_alias_left"]
    assert len(late) == 1 and "role/batch" in late[0].detail and "2 call(s)" in late[0].detail


def test_all_keys_and_partials_pickle():
    analysis = LifecycleAnalysis(None)
    state = analysis.update(analysis.start(), frame_from_records(scenario()))
    state = pickle.loads(pickle.dumps(state))
    result = analysis.finish(state)
    by_arn = {k.key.arn: k for k in result.keys}
    assert by_arn[arn(KEY_A)].state.value == "Deleted"
    assert by_arn[arn(KEY_B)].state.value == "Enabled"
    assert by_arn[arn(KEY_B)].last_used is not None


def test_logs_beginning_mid_life_start_unknown_until_evidence():
    records = [
        record("Encrypt", "2024-03-01T00:00:00Z", KEY_B, assumed="app/x"),
        record(
            "TagResource",
            "2024-03-02T00:00:00Z",
            request={"keyId": KEY_A, "tags": [{"tagKey": "a", "tagValue": "b"}]},
        ),
        record(
            "Decrypt",
            "2024-03-03T00:00:00Z",
            assumed="app/y",
            error=("KMSInvalidStateException", f"{arn(KEY_A)} is pending deletion."),
        ),
        record("CancelKeyDeletion", "2024-03-04T00:00:00Z"),
    ]
    key = run(KEY_A, records).keys[0]
    assert [s.state.value for s in key.states] == ["Unknown", "PendingDeletion", "Disabled"]
    assert key.states[0].start.isoformat() == "2024-03-01T00:00:00+00:00"  # start of the logs
    assert key.states[1].event_id == records[2]["eventID"]
    assert key.states[1].start.isoformat() == "2024-03-03T00:00:00+00:00"
    tag = next(e for e in key.events if e.event_name == "TagResource")
    assert tag.detail == "tags set: a=b"
    other = run(KEY_B, records).keys[0]
    assert [s.state.value for s in other.states] == ["Unknown"]
    # A state learned from use is a fact of the key's record, not a finding.
    assert not [f for f in other.findings if f.kind == "enabled_by_use"]
    enabled = [f for f in other.facts if f.kind == "enabled_by_use"]
    assert len(enabled) == 1 and "successful Encrypt" in enabled[0].detail


def test_non_kms_records_and_unknown_keys_are_ignored():
    rec = record("Decrypt", "2024-03-01T00:00:00Z")
    rec["eventSource"] = "s3.amazonaws.com"
    assert run(KEY_A, [rec]).keys == []
    assert run(arn(KEY_B), scenario()[:1]).keys == []


def test_repeated_deliveries_count_once_and_records_without_id_stay():
    records = [
        create_key("2024-03-01T09:00:00Z", KEY_A),
        record("DisableKey", "2024-03-02T00:00:00Z"),
    ]
    no_id = [
        record("EnableKey", f"2024-03-0{day}T00:00:00Z", extra={"eventID": None}) for day in (3, 5)
    ]
    result = run(KEY_A, [*records, records[1], *no_id])
    key = result.keys[0]
    assert [e.event_name for e in key.events] == [
        "CreateKey",
        "DisableKey",
        "EnableKey",
        "EnableKey",
    ]


def test_replicate_key_creates_the_replica_not_the_primary():
    primary = "mrk-1234abcd12ab34cd56ef1234567890ab"
    replica_arn = f"arn:aws:kms:eu-west-1:111122223333:key/{primary}"
    records = [
        record("DisableKey", "2024-03-01T00:00:00Z", primary),
        record(
            "ReplicateKey",
            "2024-03-02T00:00:00Z",
            primary,
            request={"keyId": primary, "replicaRegion": "eu-west-1"},
            response={"replicaKeyMetadata": {"arn": replica_arn, "keyState": "Creating"}},
        ),
    ]
    result = run(primary, records)
    by_arn = {k.key.arn: k for k in result.keys}
    assert [s.state.value for s in by_arn[arn(primary)].states] == ["Disabled"]
    assert by_arn[arn(primary)].key.origin is None
    assert [s.state.value for s in by_arn[replica_arn].states] == ["Enabled"]
    detail = by_arn[arn(primary)].events[-1].detail
    assert detail == f"replicated to eu-west-1 as {replica_arn}"


def test_metadata_reads_in_a_bad_state_are_listed_but_not_a_dependency():
    records = [
        create_key("2024-03-01T00:00:00Z"),
        record("DisableKey", "2024-03-02T00:00:00Z"),
        record("DescribeKey", "2024-03-03T00:00:00Z", assumed="scanner/s"),
        record(
            "Encrypt",
            "2024-03-03T01:00:00Z",
            assumed="app/s",
            error=("DisabledException", f"{arn(KEY_A)} is disabled."),
        ),
    ]
    key = run(KEY_A, records).keys[0]
    assert {u.operation for u in key.uses_in_state} == {"DescribeKey", "Encrypt"}
    used = [f for f in key.findings if f.kind == "used_while_disabled"]
    assert (
        len(used) == 1
        and "role/app" in used[0].detail
        and used[0].event_id == records[3]["eventID"]
    )


def test_policy_granting_another_account_is_a_finding():
    outsider = orjson.dumps(
        {
            "Statement": [
                {
                    "Sid": "x",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
                    "Action": "kms:Decrypt",
                }
            ]
        }
    ).decode()
    records = [
        create_key("2024-03-01T00:00:00Z"),
        record(
            "PutKeyPolicy", "2024-03-02T00:00:00Z", request={"keyId": KEY_A, "policy": outsider}
        ),
    ]
    key = run(KEY_A, records).keys[0]
    found = [f for f in key.findings if f.kind == "policy_external_principal"]
    assert len(found) == 1 and "999988887777" in found[0].detail


def test_re_aggregated_usage_partials_give_the_same_result():
    records = scenario()
    frames = [frame_from_records(records[i::4], source=f"f{i}") for i in range(4)]
    loose = fold(LifecycleAnalysis(None), frames)
    tight = LifecycleAnalysis(None, rebucket_rows=1)
    parts = [tight.update(tight.start(), f) for f in frames]
    merged = parts[0]
    for part in parts[1:]:
        merged = tight.combine(merged, part)
    compact = tight.finish(merged)
    assert [(k.key.arn, k.usage, k.findings) for k in loose.keys] == [
        (k.key.arn, k.usage, k.findings) for k in compact.keys
    ]


def test_calls_through_an_unknown_alias_are_reported_not_dropped():
    records = [
        create_key("2024-03-01T00:00:00Z"),
        record(
            "Encrypt",
            "2024-03-02T00:00:00Z",
            None,
            request={"keyId": "alias/ghost"},
            resources=[],
            error=(
                "NotFoundException",
                "Alias arn:aws:kms:us-east-1:111122223333:alias/ghost is not found.",
            ),
        ),
    ]
    result = run(None, records)
    assert result.unresolved == [
        "1 call(s) named alias/ghost, which no alias history resolves at their time"
    ]


def test_failed_cross_account_call_is_tied_to_the_owners_key():
    owner_arn = "arn:aws:kms:us-east-1:444455556666:key/" + KEY_A
    rec = record(
        "Decrypt",
        "2024-03-05T00:00:00Z",
        None,
        request={"keyId": KEY_A},
        resources=[],
        error=("DisabledException", f"{owner_arn} is disabled."),
    )
    assert [k.key.arn for k in run(KEY_A, [rec]).keys] == [owner_arn]


def _put_policy(statement: dict) -> dict:
    text = orjson.dumps({"Version": "2012-10-17", "Statement": [statement]}).decode()
    return record("PutKeyPolicy", "2024-03-02T00:00:00Z", request={"keyId": KEY_A, "policy": text})


def test_a_wildcard_principal_narrowed_by_conditions_is_not_a_public_policy():
    """Principal "*" with kms:CallerAccount (the Prowler #970 shape) reaches no one
    outside the account: no wildcard finding; without the condition, there is one."""
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}},
    }
    narrowed = run(KEY_A, [create_key("2024-03-01T00:00:00Z"), _put_policy(statement)])
    assert "policy_wildcard_principal" not in [f.kind for f in narrowed.keys[0].findings]
    del statement["Condition"]
    public = run(KEY_A, [create_key("2024-03-01T00:00:00Z"), _put_policy(statement)])
    assert "policy_wildcard_principal" in [f.kind for f in public.keys[0].findings]


def _decrypt_for(time: str, function: str) -> dict:
    context = {
        "aws:lambda:FunctionArn": f"arn:aws:lambda:us-east-1:111122223333:function:{function}"
    }
    return record(
        "Decrypt",
        time,
        request={"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": context},
        assumed="app/s",
        invoked_by="lambda.amazonaws.com",
    )


def _schedule(time: str) -> dict:
    return record(
        "ScheduleKeyDeletion",
        time,
        request={"keyId": KEY_A, "pendingWindowInDays": 7},
        response={
            "keyId": arn(KEY_A),
            "keyState": "PendingDeletion",
            "deletionDate": "Mar 13, 2024, 9:00:00 AM",
        },
    )


def test_a_deletion_finding_names_what_still_used_the_key():
    records = [
        create_key("2024-01-01T00:00:00Z"),
        _decrypt_for("2024-01-05T10:00:00Z", "old-job"),  # more than 30 days before the end
        _decrypt_for("2024-03-04T10:00:00Z", "orders"),
        _decrypt_for("2024-03-05T10:00:00Z", "orders"),
        _decrypt_for("2024-03-05T11:00:00Z", "billing"),
        _schedule("2024-03-06T09:00:00Z"),
    ]
    (pending,) = [f for f in run(KEY_A, records).keys[0].findings if f.kind == "deletion_pending"]
    assert "still used in the last 30 days by 2 resource(s)" in pending.detail
    assert pending.detail.index("function:orders") < pending.detail.index("function:billing")
    assert "old-job" not in pending.detail


def test_a_deletion_finding_says_when_nothing_used_the_key_lately():
    records = [create_key("2024-01-01T00:00:00Z"), _schedule("2024-03-06T09:00:00Z")]
    (pending,) = [f for f in run(KEY_A, records).keys[0].findings if f.kind == "deletion_pending"]
    assert pending.detail.endswith("no resource used it in the last 30 days")
