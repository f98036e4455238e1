"""The two copies of a cross-account call (caller's and owner's account, one
``sharedEventID``) are one call in a key's timeline, usage, dependents and grant ledger,
whichever copies are present and in whatever order they were read; the metric filters
still see both (a log group receiving both accounts' events counts both)."""

from __future__ import annotations

import copy
import random
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslog.analyses.base import fold
from kmslog.analyses.dependents import DependentsAnalysis
from kmslog.analyses.lifecycle import LifecycleAnalysis
from kmslog.decode import schema as S
from kmslog.decode.memory import frame_from_records
from kmslog.kms.grants import build_ledger
from kmslog.kms.shared_events import one_copy
from kmslog.patterns import parse
from kmslog.patterns.vectorize import to_polars

OWNER = "111122223333"
CALLER = "444455556666"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY = f"arn:aws:kms:us-east-1:{OWNER}:key/{KEY_ID}"
ROLE = f"arn:aws:sts::{CALLER}:assumed-role/etl/job-1"
ISSUER = f"arn:aws:iam::{CALLER}:role/etl"


def _call(
    name: str,
    when: str,
    recipient: str,
    event_id: str,
    shared: str | None,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:job-1",
            "arn": ROLE,
            "accountId": CALLER,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": ISSUER}},
        },
        "eventTime": when,
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-sdk-java/1.12.0",
        "requestParameters": request
        if request is not None
        else {
            "keyId": KEY,
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "encryptionContext": {"aws:s3:arn": "arn:aws:s3:::shared-bucket/data.csv"},
        },
        "responseElements": response,
        "requestID": f"req-{event_id}",
        "eventID": event_id,
        "readOnly": True,
        "resources": [{"accountId": OWNER, "type": "AWS::KMS::Key", "ARN": KEY}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": recipient,
        "eventCategory": "Management",
    }
    if shared is not None:
        rec["sharedEventID"] = shared
    return rec


def both_copies(name: str, when: str, n: int, **kw: Any) -> list[dict[str, Any]]:
    """The caller's and the owner's copy of one cross-account call."""
    shared = f"5e1f0000-0000-4000-8000-{n:012d}"
    return [
        _call(name, when, CALLER, f"c0000000-0000-4000-8000-{n:012d}", shared, **kw),
        _call(name, when, OWNER, f"0a000000-0000-4000-8000-{n:012d}", shared, **kw),
    ]


def calls_in_account(n: int) -> list[dict[str, Any]]:
    """Three cross-account Decrypts (both copies each) and one call made in the owner's
    account (no sharedEventID)."""
    records: list[dict[str, Any]] = []
    for i in range(n):
        records += both_copies("Decrypt", f"2024-05-01T10:0{i}:00Z", i)
    own = _call(
        "Decrypt", "2024-05-01T11:00:00Z", OWNER, "0b000000-0000-4000-8000-0000000000ff", None
    )
    own["userIdentity"]["accountId"] = OWNER
    return [*records, own]


def _lifecycle_counts(records: list[dict[str, Any]], splits: int = 1) -> tuple[int, list[str]]:
    frames = [frame_from_records(records[i::splits], source=f"f{i}") for i in range(splits)]
    result = fold(LifecycleAnalysis(KEY), frames)
    key = result.keys[0]
    return sum(u.count for u in key.usage), [u.principal for u in key.usage]


def test_both_copies_count_once_in_the_lifecycle_usage() -> None:
    records = calls_in_account(3)
    calls, principals = _lifecycle_counts(records)
    assert calls == 4
    assert ISSUER in principals


def test_the_caller_copy_alone_still_counts() -> None:
    # Only the caller's account's logs: each call is there once and counts once.
    records = [r for r in calls_in_account(3) if r["recipientAccountId"] == CALLER]
    assert _lifecycle_counts(records)[0] == 3


def test_copies_in_different_partials_combine_to_the_same_answer() -> None:
    records = calls_in_account(3)
    analysis = LifecycleAnalysis(KEY)
    a, b = analysis.start(), analysis.start()
    a = analysis.update(a, frame_from_records(records[0::2], source="A"))
    b = analysis.update(b, frame_from_records(records[1::2], source="B"))
    merged = analysis.finish(analysis.combine(a, b))
    assert sum(u.count for u in merged.keys[0].usage) == 4
    assert _lifecycle_counts(records, splits=3)[0] == 4


def test_compaction_joins_copies_as_it_goes() -> None:
    records = calls_in_account(3)
    tight = LifecycleAnalysis(KEY, rebucket_rows=1)
    frames = [frame_from_records([r], source=f"f{i}") for i, r in enumerate(records)]
    result = fold(tight, frames)
    assert sum(u.count for u in result.keys[0].usage) == 4


def test_dependents_count_the_call_once() -> None:
    records = calls_in_account(3)
    result = fold(DependentsAnalysis(KEY), [frame_from_records(records)])
    key = result.key(KEY)
    assert key is not None
    assert key.calls == 4
    assert [(d.resource, d.calls) for d in key.dependents] == [("arn:aws:s3:::shared-bucket", 4)]


def test_timeline_shows_one_event_for_a_cross_account_control_call() -> None:
    request = {"keyId": KEY, "granteePrincipal": ISSUER, "operations": ["Decrypt"]}
    response = {"grantId": "g" * 64, "keyId": KEY}
    records = both_copies(
        "CreateGrant", "2024-05-01T09:00:00Z", 7, request=request, response=response
    )
    result = fold(LifecycleAnalysis(KEY), [frame_from_records(records)])
    grants = [e for e in result.keys[0].events if e.event_name == "CreateGrant"]
    assert len(grants) == 1
    # The owner's copy is the one shown, whichever was read first.
    assert grants[0].event_id.startswith("0a")
    reversed_result = fold(LifecycleAnalysis(KEY), [frame_from_records(records[::-1])])
    again = [e for e in reversed_result.keys[0].events if e.event_name == "CreateGrant"]
    assert [e.event_id for e in again] == [grants[0].event_id]


def test_grant_ledger_counts_a_cross_account_use_once() -> None:
    grant_id = "a" * 64
    request = {"keyId": KEY, "granteePrincipal": ISSUER, "operations": ["Decrypt"]}
    records = both_copies(
        "CreateGrant",
        "2024-05-01T09:00:00Z",
        1,
        request=request,
        response={"grantId": grant_id, "keyId": KEY},
    )
    use = {"keyId": KEY, "grantTokens": ["token"], "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    for i in range(2):
        records += both_copies("Decrypt", f"2024-05-01T10:0{i}:00Z", 10 + i, request=use)
    ledger = build_ledger(frame_from_records(records).to_dicts())
    (grant,) = ledger.grants[KEY]
    assert grant.uses == 2


def test_metric_filters_still_see_both_copies() -> None:
    frame = frame_from_records(calls_in_account(3))
    matched = frame.select(to_polars(parse('{ $.eventName = "Decrypt" }'))).to_series()
    assert int(matched.sum()) == 7


# ----------------------------------------------------------------- one_copy itself


def _frame(rows: list[tuple[str | None, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            S.SHARED_EVENT_ID: pl.String,
            "op": pl.String,
            "account": pl.String,
            S.EVENT_ID: pl.String,
        },
        orient="row",
    ).with_columns(pl.lit(KEY).alias("ref"))


ROWS = st.lists(
    st.tuples(
        st.sampled_from([None, "s1", "s2", "s3"]),
        st.sampled_from(["Decrypt", "Encrypt"]),
        st.sampled_from([OWNER, CALLER, "777788889999"]),
        st.text("0123456789abcdef", min_size=1, max_size=4),
    ),
    max_size=30,
)


def _canon(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    return sorted(frame.rows(), key=repr)


@settings(max_examples=200, deadline=None)
@given(ROWS, st.randoms(use_true_random=False))
def test_one_copy_is_order_independent_idempotent_and_prefers_the_owner(
    rows: list[tuple[str | None, str, str, str]], rnd: random.Random
) -> None:
    once = one_copy(_frame(rows), ["op"], "account", pl.col("ref"))
    shuffled = copy.copy(rows)
    rnd.shuffle(shuffled)
    assert _canon(one_copy(_frame(shuffled), ["op"], "account", pl.col("ref"))) == _canon(once)
    assert _canon(one_copy(once, ["op"], "account", pl.col("ref"))) == _canon(once)
    # every row without a sharedEventID stays; one row per (shared, op)
    assert once.filter(pl.col(S.SHARED_EVENT_ID).is_null()).height == sum(
        1 for r in rows if r[0] is None
    )
    calls = {(r[0], r[1]) for r in rows if r[0] is not None}
    assert once.filter(pl.col(S.SHARED_EVENT_ID).is_not_null()).height == len(calls)
    for shared, op in calls:
        copies = [r for r in rows if (r[0], r[1]) == (shared, op)]
        kept = once.filter((pl.col(S.SHARED_EVENT_ID) == shared) & (pl.col("op") == op))
        if any(r[2] == OWNER for r in copies):
            assert kept["account"].to_list() == [OWNER]
