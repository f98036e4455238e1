"""Key dependents: what one record shows (kmslog.kms.dependents) and the fold per key
(kmslog.analyses.dependents) on records in CloudTrail's shape."""

from __future__ import annotations

import json
import pickle
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from lifecycle_records import ACCOUNT, KEY_A, KEY_B, alias_arn, arn, record

from kmslog.analyses.base import fold
from kmslog.analyses.dependents import (
    MAX_PER_KIND,
    MAX_PRINCIPALS,
    DependentsAnalysis,
    DependentsResult,
)
from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.decode.memory import frame_from_records
from kmslog.kms.dependents import (
    CONTEXT_KINDS,
    MAX_TEXT,
    Dependent,
    context_dependents,
    record_dependents,
)
from kmslog.report.dependents_json import result_data

KMS_DOC = (
    Path(__file__).resolve().parents[2]
    / "shared/external/awsdocs-kms-developer-guide/doc_source-json-blocks"
)
T0 = "2026-03-01T10:00:00Z"


def crypto(
    name: str = "Decrypt",
    time: str = T0,
    key_id: str | None = KEY_A,
    *,
    context: Any = None,
    invoked_by: str | None = None,
    assumed: str | None = "app/s1",
    error: tuple[str, str] | None = None,
    request: dict[str, Any] | None = None,
    resources: list[str] | None = None,
) -> dict[str, Any]:
    params = dict(request) if request is not None else {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    if key_id is not None and request is None:
        params["keyId"] = arn(key_id)
    if context is not None:
        params["encryptionContext"] = context
    return record(
        name,
        time,
        key_id,
        request=params,
        assumed=assumed,
        invoked_by=invoked_by,
        error=error,
        resources=resources,
    )


def result(records: list[dict[str, Any]], query: str | None = None) -> DependentsResult:
    return fold(DependentsAnalysis(query), [frame_from_records(records)])


def deps_of(res: DependentsResult, key_id: str = KEY_A) -> dict[tuple[str, str], Any]:
    found = res.key(arn(key_id))
    assert found is not None
    return {(d.kind, d.resource): d for d in found.dependents}


# --- one record ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context_key", "value", "kind", "resource"),
    [
        ("aws:s3:arn", "arn:aws:s3:::bucket/a/b/obj.parquet", "s3 bucket", "arn:aws:s3:::bucket"),
        ("aws:s3:arn", "arn:aws:s3:::bucket", "s3 bucket", "arn:aws:s3:::bucket"),
        ("aws:s3:arn", "arn:aws-cn:s3:::b2/k", "s3 bucket", "arn:aws-cn:s3:::b2"),
        ("aws:ebs:id", "vol-0123456789abcdef0", "ebs volume", "vol-0123456789abcdef0"),
        ("aws:ebs:id", "snap-0123456789abcdef0", "ebs snapshot", "snap-0123456789abcdef0"),
        ("aws:rds:db-id", "db-ABCDEFGHIJKL", "rds db", "db-ABCDEFGHIJKL"),
        (
            "SecretARN",
            "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf",
            "secret",
            "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf",
        ),
        (
            "aws:lambda:FunctionArn",
            "arn:aws:lambda:us-east-1:1:function:f",
            "lambda function",
            "arn:aws:lambda:us-east-1:1:function:f",
        ),
        ("aws:dynamodb:tableName", "orders", "dynamodb table", "orders"),
        (
            "aws:cloudtrail:arn",
            "arn:aws:cloudtrail:us-east-1:1:trail/t",
            "cloudtrail trail",
            "arn:aws:cloudtrail:us-east-1:1:trail/t",
        ),
        (
            "aws:sns:topicArn",
            "arn:aws:sns:us-east-1:1:topic",
            "sns topic",
            "arn:aws:sns:us-east-1:1:topic",
        ),
    ],
)
def test_each_context_kind_names_its_resource(context_key, value, kind, resource):
    shown = record_dependents(crypto(context={context_key: value, "other": "x"}))
    assert shown.source == shown.destination == (Dependent(kind, resource),)


def test_every_known_context_key_is_read():
    context = {name: f"v-{i}" for i, name in enumerate(CONTEXT_KINDS)}
    kinds = {d.kind for d in context_dependents(context)}
    assert kinds == set(CONTEXT_KINDS.values())


def test_service_stands_in_when_no_context_names_a_resource():
    shown = record_dependents(
        crypto(context={"app": "x"}, invoked_by="secretsmanager.amazonaws.com")
    )
    assert shown.source == (Dependent("service", "secretsmanager.amazonaws.com"),)
    named = record_dependents(
        crypto(context={"aws:ebs:id": "vol-1"}, invoked_by="ec2.amazonaws.com")
    )
    assert named.source == (Dependent("ebs volume", "vol-1"),)
    assert record_dependents(crypto(context={"app": "x"})).source == ()


def test_reencrypt_gives_each_key_its_own_context():
    rec = crypto(
        "ReEncrypt",
        request={
            "sourceEncryptionContext": {"aws:s3:arn": "arn:aws:s3:::old/x"},
            "destinationEncryptionContext": {"SecretARN": "arn:aws:secretsmanager:r:1:secret:s"},
            "destinationKeyId": arn(KEY_B),
        },
        resources=[arn(KEY_A), arn(KEY_B)],
    )
    shown = record_dependents(rec)
    assert shown.source == (Dependent("s3 bucket", "arn:aws:s3:::old"),)
    assert shown.destination == (Dependent("secret", "arn:aws:secretsmanager:r:1:secret:s"),)
    res = result([rec])
    assert set(deps_of(res, KEY_A)) == {("s3 bucket", "arn:aws:s3:::old")}
    assert set(deps_of(res, KEY_B)) == {("secret", "arn:aws:secretsmanager:r:1:secret:s")}


@pytest.mark.parametrize(
    "context",
    [
        "aws:s3:arn=arn:aws:s3:::b",  # not an object
        ["aws:s3:arn", "arn:aws:s3:::b"],
        {"aws:s3:arn": 7},
        {"aws:s3:arn": None},
        {"aws:s3:arn": ""},
        {"aws:s3:arn": {"nested": "arn:aws:s3:::b"}},
        {"AWS:S3:ARN": "arn:aws:s3:::b"},  # keys are matched exactly
    ],
)
def test_malformed_contexts_name_nothing(context):
    assert record_dependents(crypto(context=context)).source == ()


def test_hostile_strings_are_capped_and_kept_as_text():
    long_name = "[bold red]" + "\x1b[2J" + "b" * 10_000
    shown = record_dependents(
        crypto(context={"aws:lambda:FunctionArn": long_name}, invoked_by="x" * 5000)
    )
    (dep,) = shown.source
    assert len(dep.resource) == MAX_TEXT and dep.resource.startswith("[bold red]\x1b")
    service = record_dependents(crypto(context={"app": 1}, invoked_by="s" * 5000)).source[0]
    assert len(service.resource) == MAX_TEXT
    assert record_dependents({"requestParameters": "nope", "userIdentity": 3}).source == ()


# --- real records (AWS's documentation examples) ------------------------------------------


def _doc_record(name: str) -> dict[str, Any]:
    path = KMS_DOC / name
    if not path.is_file():
        pytest.skip(f"{path} absent")
    data = json.loads(path.read_text(encoding="utf-8"))
    records = data.get("Records", [data]) if isinstance(data, dict) else data
    return next(r for r in records if "encryptionContext" in (r.get("requestParameters") or {}))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "deleting-keys-determining-usage.block00.json",
            ("s3 bucket", "arn:aws:s3:::example_bucket"),
        ),
        ("ct-ec2two.block00.json", ("ebs volume", None)),
        ("services-wm.block03.json", ("workmail organization", None)),
        ("ct-decrypt.block00.json", None),
    ],
)
def test_documented_records(name, expected):
    rec = _doc_record(name)
    shown = record_dependents(rec).source
    if expected is None:
        assert shown == ()
        res = result([rec], None)
        assert all(k.unattributed == k.calls for k in res.keys)
        return
    kind, resource = expected
    assert [d.kind for d in shown] == [kind]
    context = rec["requestParameters"]["encryptionContext"]
    assert shown[0].resource == (resource or next(iter(context.values())))
    # Through the fold too: the record's key has that dependent.
    res = result([rec])
    assert any(
        (d.kind, d.resource) == (kind, shown[0].resource) for k in res.keys for d in k.dependents
    )


# --- the fold -----------------------------------------------------------------------


def mixed() -> list[dict[str, Any]]:
    recs = []
    for i in range(30):
        recs.append(
            crypto(
                "GenerateDataKey" if i % 3 else "Decrypt",
                f"2026-03-01T{10 + i % 12:02d}:{i:02d}:00Z",
                context={"aws:s3:arn": f"arn:aws:s3:::bucket-{i % 4}/obj-{i}"},
                invoked_by="s3.amazonaws.com",
                assumed=f"role-{i % 5}/s{i}",
                error=("AccessDeniedException", "denied") if i % 7 == 0 else None,
            )
        )
    recs += [crypto(time=f"2026-03-02T0{i}:00:00Z", context={"app": "a"}) for i in range(5)]
    recs += [
        crypto(key_id=KEY_B, context={"aws:lambda:FunctionArn": "arn:aws:lambda:r:1:function:f"})
    ]
    return recs


def test_figures_per_dependent():
    res = result(mixed())
    key = res.key(arn(KEY_A))
    assert key is not None
    assert (key.calls, key.failed, key.unattributed) == (35, 5, 5)
    found = deps_of(res)
    assert set(found) == {("s3 bucket", f"arn:aws:s3:::bucket-{n}") for n in range(4)}
    b0 = found[("s3 bucket", "arn:aws:s3:::bucket-0")]
    # i = 0, 4, 8, …, 28: eight calls; failed when i % 7 == 0 (0, 28).
    assert (b0.calls, b0.failed) == (8, 2)
    assert b0.first.isoformat() == "2026-03-01T10:00:00+00:00"
    assert b0.principals == tuple(
        sorted({f"arn:aws:iam::{ACCOUNT}:role/role-{i % 5}" for i in range(0, 30, 4)})
    )
    assert not b0.more_principals
    lambda_use = deps_of(res, KEY_B)
    assert list(lambda_use) == [("lambda function", "arn:aws:lambda:r:1:function:f")]
    assert next(iter(lambda_use.values())).calls == 1


def _json(res: DependentsResult) -> str:
    return json.dumps(result_data(res), sort_keys=True)


def test_order_and_splitting_do_not_change_the_result():
    recs = mixed()
    expected = _json(result(recs))
    analysis = DependentsAnalysis(None, compact_rows=5)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = recs[:]
        rng.shuffle(shuffled)
        cut = rng.randrange(1, len(recs))
        parts = [shuffled[:cut], shuffled[cut:]]
        states = []
        for part in parts:
            state = analysis.start()
            for i in range(0, len(part), 4):
                state = analysis.update(state, frame_from_records(part[i : i + 4]))
            states.append(pickle.loads(pickle.dumps(state)))
        left = analysis.finish(analysis.combine(states[0], states[1]))
        right = analysis.finish(analysis.combine(states[1], states[0]))
        assert _json(left) == _json(right) == expected


def test_caps_keep_the_first_in_name_order_and_count_the_rest():
    n = MAX_PER_KIND + 37
    recs = [
        crypto(
            time=f"2026-03-01T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}Z",
            context={"aws:ebs:id": f"vol-{i:06d}"},
        )
        for i in range(n)
    ]
    recs += [crypto(context={"aws:s3:arn": "arn:aws:s3:::kept"})]
    recs += [
        crypto(context={"SecretARN": "arn:s"}, assumed=f"r{i:03d}/s")
        for i in range(MAX_PRINCIPALS + 5)
    ]
    random.Random(3).shuffle(recs)
    analysis = DependentsAnalysis(None, compact_rows=50)
    chunks = [frame_from_records(recs[i : i + 100]) for i in range(0, len(recs), 100)]
    res = fold(analysis, chunks)
    key = res.key(arn(KEY_A))
    assert key is not None
    volumes = [d.resource for d in key.dependents if d.kind == "ebs volume"]
    assert volumes == [f"vol-{i:06d}" for i in range(MAX_PER_KIND)]
    assert [(o.kind, o.calls, o.failed) for o in key.omitted] == [("ebs volume", 37, 0)]
    # A flood of one kind does not hide the others.
    assert ("s3 bucket", "arn:aws:s3:::kept") in {(d.kind, d.resource) for d in key.dependents}
    secret = next(d for d in key.dependents if d.kind == "secret")
    assert len(secret.principals) == MAX_PRINCIPALS and secret.more_principals
    assert secret.principals == tuple(sorted(secret.principals))
    assert key.calls == len(recs)
    # The same with everything in one frame.
    assert _json(fold(DependentsAnalysis(None), [frame_from_records(recs)])) == _json(res)


def test_alias_only_records_resolve_through_the_alias_history():
    create = record(
        "CreateAlias",
        "2026-03-01T09:00:00Z",
        None,
        request={"aliasName": "alias/app", "targetKeyId": KEY_A},
        resources=[alias_arn("alias/app"), arn(KEY_A)],
    )
    move = record(
        "UpdateAlias",
        "2026-03-01T12:00:00Z",
        None,
        request={"aliasName": "alias/app", "targetKeyId": KEY_B},
        resources=[alias_arn("alias/app"), arn(KEY_B)],
    )

    def by_alias(time: str, bucket: str) -> dict[str, Any]:
        # A failed call that names only the alias: no resources[].
        return crypto(
            "GenerateDataKey",
            time,
            None,
            request={
                "keyId": "alias/app",
                "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}"},
            },
            resources=[],
            error=("AccessDeniedException", "no"),
        )

    recs = [
        create,
        move,
        by_alias("2026-03-01T10:00:00Z", "early"),
        by_alias("2026-03-01T13:00:00Z", "late"),
    ]
    for query in (None, "alias/app", arn(KEY_A), KEY_A, alias_arn("alias/app")):
        res = result(recs, query)
        if query in (None, "alias/app", alias_arn("alias/app")):
            assert set(deps_of(res, KEY_B)) == {("s3 bucket", "arn:aws:s3:::late")}
        assert set(deps_of(res, KEY_A)) == {("s3 bucket", "arn:aws:s3:::early")}
        assert deps_of(res, KEY_A)[("s3 bucket", "arn:aws:s3:::early")].failed == 1


def test_a_key_query_only_narrows_the_records():
    recs = mixed()
    every = result(recs).key(arn(KEY_A))
    for query in (KEY_A, arn(KEY_A)):
        res = result(recs, query)
        assert [k.key_arn for k in res.keys] == [arn(KEY_A)]
        assert res.keys[0] == every


def test_a_key_named_only_by_its_control_plane_has_no_dependents():
    res = result([record("DescribeKey", T0, KEY_A)], KEY_A)
    assert [(k.key_arn, k.calls, k.dependents) for k in res.keys] == [(arn(KEY_A), 0, ())]
    assert result([record("DescribeKey", T0, KEY_A)], KEY_B).keys == ()


def test_records_of_other_services_and_regions_place_keys_by_their_own_fields():
    other = crypto(context={"aws:s3:arn": "arn:aws:s3:::b"})
    other["eventSource"] = "s3.amazonaws.com"
    assert result([other]).keys == ()


def test_a_context_key_spelt_with_escapes_is_still_read():
    rec = crypto(context={"aws:s3:arn": "arn:aws:s3:::hidden/x"})
    frame = frame_from_records([rec])
    raw = frame["raw"][0].replace('"aws:s3:arn"', '"aws:s3:\\u0061rn"')
    assert "aws:s3:arn" not in raw
    escaped = frame.with_columns(pl.Series("raw", [raw]))
    res = fold(DependentsAnalysis(None), [escaped])
    assert set(deps_of(res)) == {("s3 bucket", "arn:aws:s3:::hidden")}


def test_long_principals_are_capped():
    rec = crypto(context={"aws:ebs:id": "vol-1"}, assumed="r" * 600 + "/s")
    (use,) = result([rec]).keys[0].dependents
    (principal,) = use.principals
    assert len(principal) == MAX_TEXT and principal.endswith("…")


def test_the_declared_columns_are_all_the_fold_reads():
    recs = mixed() + [crypto(context={"x": "y"}, invoked_by="secretsmanager.amazonaws.com")]
    frame = frame_from_records(recs)
    analysis = DependentsAnalysis(None)
    projected = frame.with_columns(
        pl.lit(None, dtype=frame.schema[c]).alias(c)
        for c in frame.columns
        if c not in analysis.columns
    )
    assert _json(fold(analysis, [projected])) == _json(fold(analysis, [frame]))
    # The lifecycle folds the dependents too: its columns must cover theirs.
    assert analysis.columns <= LifecycleAnalysis.columns
