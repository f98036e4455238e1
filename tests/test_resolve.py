from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from lifecycle_records import ACCOUNT, KEY_A, KEY_B, REGION, alias_arn, arn, record

from kmslog.kms.resolve import (
    AliasHistory,
    AliasObservation,
    AliasScope,
    alias_event_from_record,
    error_key_arn,
    record_keys,
)

DOCS = (
    Path(__file__).parents[1]
    / ".."
    / "shared"
    / "external"
    / "awsdocs-kms-developer-guide"
    / "doc_source-json-blocks"
)
SCOPE = AliasScope(ACCOUNT, REGION, "alias/payments")


def t(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


def _alias(name: str, day: int, key: str | None) -> dict:
    request = {"aliasName": "alias/payments"}
    resources = [alias_arn("alias/payments")]
    if key:
        request["targetKeyId"] = key
        resources.append(arn(key))
    return record(name, f"2024-03-{day:02d}T00:00:00Z", None, request=request, resources=resources)


def _history(*records: dict) -> AliasHistory:
    events = [e for r in records if (e := alias_event_from_record(r)) is not None]
    return AliasHistory(events)


def test_alias_moves_between_keys_over_time():
    history = _history(
        _alias("CreateAlias", 1, KEY_A),
        _alias("UpdateAlias", 10, KEY_B),
        _alias("DeleteAlias", 20, KEY_B),
    )
    assert history.resolve(SCOPE, t(5)) == arn(KEY_A)
    assert history.resolve(SCOPE, t(10)) == arn(KEY_B)
    assert history.resolve(SCOPE, t(15)) == arn(KEY_B)
    assert history.resolve(SCOPE, t(21)) is None
    assert history.resolve(SCOPE, datetime(2024, 2, 1, tzinfo=UTC)) is None
    spans = history.bindings_named("alias/payments")
    assert [(b.key_arn, b.start, b.end) for b in spans] == [
        (arn(KEY_A), t(1), t(10)),
        (arn(KEY_B), t(10), t(20)),
    ]
    assert [b.key_arn for b in history.aliases_of(arn(KEY_A))] == [arn(KEY_A)]


def test_records_are_replayed_in_time_order_whatever_the_input_order():
    history = _history(_alias("UpdateAlias", 10, KEY_B), _alias("CreateAlias", 1, KEY_A))
    assert history.resolve(SCOPE, t(2)) == arn(KEY_A)
    assert history.resolve(SCOPE, t(11)) == arn(KEY_B)


def test_delete_alias_first_names_the_key_before_the_logs():
    history = _history(_alias("DeleteAlias", 5, KEY_A))
    assert history.resolve(SCOPE, t(1)) == arn(KEY_A)
    assert history.resolve(SCOPE, t(6)) is None


def test_failed_alias_calls_change_nothing():
    failed = _alias("UpdateAlias", 5, KEY_B)
    failed["errorCode"] = "AccessDeniedException"
    history = _history(_alias("CreateAlias", 1, KEY_A), failed)
    assert history.resolve(SCOPE, t(6)) == arn(KEY_A)


def test_observed_use_covers_the_time_before_the_first_alias_event():
    obs = AliasObservation(SCOPE, arn(KEY_A), t(1), t(3))
    events = [e for r in [_alias("UpdateAlias", 10, KEY_B)] if (e := alias_event_from_record(r))]
    history = AliasHistory(events, [obs])
    assert history.resolve(SCOPE, t(2)) == arn(KEY_A)
    assert history.resolve(SCOPE, t(9)) == arn(KEY_A)
    assert history.resolve(SCOPE, t(11)) == arn(KEY_B)
    assert history.bindings(SCOPE)[0].observed


def test_alias_in_request_resolves_through_history_at_record_time():
    history = _history(_alias("CreateAlias", 1, KEY_A), _alias("UpdateAlias", 10, KEY_B))
    early = record(
        "GenerateDataKey", "2024-03-05T00:00:00Z", request={"keyId": "alias/payments"}, resources=[]
    )
    late = record(
        "GenerateDataKey",
        "2024-03-12T00:00:00Z",
        request={"keyId": alias_arn("alias/payments")},
        resources=[],
    )
    assert record_keys(early, history).keys == (arn(KEY_A),)
    assert record_keys(late, history).keys == (arn(KEY_B),)
    assert record_keys(early).keys == ()
    assert record_keys(early).unresolved == ("alias/payments",)


def test_reencrypt_touches_source_then_destination():
    rec = record(
        "ReEncrypt",
        "2024-03-05T00:00:00Z",
        None,
        request={"destinationKeyId": KEY_B},
        resources=[arn(KEY_A), arn(KEY_B)],
    )
    assert record_keys(rec).keys == (arn(KEY_A), arn(KEY_B))


def test_bare_id_and_error_message_name_keys():
    bare = record("DescribeKey", "2024-03-05T00:00:00Z", request={"keyId": KEY_A}, resources=[])
    assert record_keys(bare).keys == (arn(KEY_A),)
    failed = record(
        "Decrypt",
        "2024-03-05T00:00:00Z",
        None,
        request={"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
        resources=[],
        error=("DisabledException", f"{arn(KEY_B)} is disabled."),
    )
    assert record_keys(failed).keys == (arn(KEY_B),)
    assert error_key_arn("nothing here") is None


def test_create_key_names_the_created_key_only():
    rec = record(
        "CreateKey",
        "2024-03-05T00:00:00Z",
        None,
        request={},
        response={"keyMetadata": {"arn": arn(KEY_B), "keyId": KEY_B}},
        resources=[arn(KEY_A)],
    )
    assert record_keys(rec).keys == (arn(KEY_B),)


def _doc_records() -> list[tuple[str, dict]]:
    found = []
    for path in sorted(DOCS.glob("*.json")):
        body = orjson.loads(path.read_bytes())
        for rec in body.get("Records", [body]):
            if rec.get("eventSource") == "kms.amazonaws.com":
                found.append((path.name, rec))
    return found


NAMING_NONE = {
    "ListAliases",
    "GenerateRandom",
    "CreateCustomKeyStore",
    "ConnectCustomKeyStore",
    "DisconnectCustomKeyStore",
    "DeleteCustomKeyStore",
    "DescribeCustomKeyStores",
    "UpdateCustomKeyStore",
}


@pytest.mark.skipif(not DOCS.is_dir(), reason="../shared AWS doc examples not present")
def test_every_aws_doc_kms_record_resolves_to_its_key():
    records = _doc_records()
    assert len(records) >= 60
    events = [e for _, r in records if (e := alias_event_from_record(r)) is not None]
    history = AliasHistory(events)
    for name, rec in records:
        found = record_keys(rec, history)
        if rec["eventName"] in NAMING_NONE:
            assert found.keys == () and found.unresolved == (), name
            continue
        assert found.keys, f"{name}: {rec['eventName']} resolved to no key"
        for key in found.keys:
            assert ":key/" in key and key.startswith("arn:aws"), (name, key)
        # The key the record's resources[] or response names is the primary one.
        named = [r["ARN"] for r in rec.get("resources") or [] if ":key/" in r.get("ARN", "")]
        meta = (rec.get("responseElements") or {}).get("keyMetadata", {}).get("arn")
        expected = meta if rec["eventName"] == "CreateKey" and meta else (named or [None])[0]
        if expected:
            assert found.key == expected, name
    reencrypt = next(r for n, r in records if r["eventName"] == "ReEncrypt")
    assert len(record_keys(reencrypt, history).keys) == 2


@pytest.mark.skipif(not DOCS.is_dir(), reason="../shared AWS doc examples not present")
def test_vectorized_references_agree_with_the_record_resolver_on_doc_examples():
    from kmslog.analyses.lifecycle import _refs_expr
    from kmslog.decode.memory import frame_from_records

    records = [r for _, r in _doc_records()]
    refs = frame_from_records(records).select(_refs_expr())["refs"].to_list()
    for rec, found in zip(records, refs, strict=True):
        expected = record_keys(rec)
        if rec["eventName"] == "CreateKey":
            continue  # the fold keeps CreateKey whole and resolves it with record_keys
        if expected.keys:
            assert found and found[0] == expected.key, rec["eventName"]
            assert set(found) <= set(expected.keys), rec["eventName"]
        else:
            assert found == list(expected.unresolved), rec["eventName"]


def test_error_arn_beats_a_bare_id_placed_in_the_callers_account():
    owner_arn = "arn:aws:kms:us-east-1:444455556666:key/" + KEY_A
    rec = record(
        "Decrypt",
        "2024-03-05T00:00:00Z",
        None,
        request={"keyId": KEY_A},
        resources=[],
        error=("DisabledException", f"{owner_arn} is disabled."),
    )
    assert record_keys(rec).keys == (owner_arn,)
