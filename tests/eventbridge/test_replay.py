"""The replay fold: the vectorized path equals the reference matcher on the rebuilt
envelopes (sample corpus and hostile records); delivery rules (read-only events, the
rule's own account and Region, custom buses); configuration windows on each match."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmslog.analyses.base import fold
from kmslog.analyses.eventbridge import EventBridgeAnalysis, compile_event_rules, never_matches
from kmslog.decode import native
from kmslog.decode import schema as S
from kmslog.decode.memory import frame_from_records
from kmslog.eventbridge.envelope import envelopes
from kmslog.eventbridge.rules import ENABLED_ALL, EventRule, EventRuleError, make_event_rule
from kmslog.eventpatterns import loads_event, matches
from kmslog.eventpatterns import parse as parse_pattern
from kmslog.metrics.loaders import builtin_rules
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run
from tests.eventpatterns.test_properties import leaf

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs"

PATTERNS = [
    '{"source": ["aws.kms"]}',
    '{"detail-type": [{"prefix": "AWS API"}], "detail": {"eventName": [{"suffix": "Key"}]}}',
    '{"detail": {"errorCode": [{"exists": true}]}}',
    '{"detail": {"errorCode": [{"exists": false}], "eventName": ["Decrypt"]}}',
    '{"detail": {"eventName": [{"anything-but": ["Decrypt", "Encrypt", "GenerateDataKey"]}]}}',
    '{"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/8"}]}}',
    '{"detail": {"eventName": [{"equals-ignore-case": "disablekey"}]}}',
    '{"detail": {"eventName": [{"wildcard": "*Key*Deletion"}]}}',
    '{"account": ["444455556666"], "region": ["us-east-1"], "source": ["aws.events"]}',
    '{"detail": {"userIdentity": {"type": ["AssumedRole"]}, "readOnly": [true]}}',
    '{"detail": {"resources": {"type": ["AWS::KMS::Key"]}}, "detail-type": ["KMS CMK Deletion"]}',
    '{"resources": [{"prefix": "arn:aws:kms:"}]}',
    '{"$or": [{"detail": {"eventName": ["PutRule"]}}, {"detail": {"eventName": ["DisableRule"]}}]}',
    '{"version": ["0"], "detail": {"eventName": [{"prefix": "List"}]}}',
]


def rules_for(patterns: list[str], **kw: Any) -> tuple[EventRule, ...]:
    return tuple(
        make_event_rule(f"r{i}", name=f"r{i}", pattern=p, **kw) for i, p in enumerate(patterns)
    )


def reference(rules: tuple[EventRule, ...], raws: list[tuple[str, str, int]]) -> set[tuple]:
    """(rule, detail-type, source, record index) of every match, event by event."""
    out = set()
    for raw, source, index in raws:
        record = loads_event(raw)
        for env in envelopes(record):
            for rule in rules:
                if env.read_only and not rule.sees_read_only:
                    continue
                if rule.owned and (env.event["account"], env.event["region"]) != (
                    rule.account,
                    rule.region,
                ):
                    continue
                if matches(rule.parsed, env.event):
                    out.add((rule.id, env.event["detail-type"], source, index))
    return out


def replayed(result: Any) -> set[tuple]:
    return {
        (r["rule"], r["detail_type"], r[S.SOURCE], r[S.RECORD_INDEX])
        for r in result.matches.iter_rows(named=True)
    }


class Keep:
    """Keeps every record's raw text, source and index."""

    name = "keep"

    def __init__(self) -> None:
        self.frames: list[pl.DataFrame] = []

    def start(self) -> list:
        return []

    def update(self, s: list, frame: pl.DataFrame) -> list:
        self.frames.append(frame.select(S.RAW, S.SOURCE, S.RECORD_INDEX))
        return s

    def combine(self, a: list, b: list) -> list:
        return a

    def finish(self, s: list) -> None:
        return None


def run_keeping_raw(*analyses: Any) -> tuple[Any, list[tuple[str, str, int]]]:
    keep = Keep()
    out = run([str(SAMPLE)], [*analyses, keep], ScanOptions(jobs=1))
    return out, [r for f in keep.frames for r in f.iter_rows()]


def test_the_patterns_take_both_paths() -> None:
    compiled = compile_event_rules(rules_for(PATTERNS))
    cloudtrail = [c.masks[0] is not None for c in compiled]
    assert any(cloudtrail) and not all(cloudtrail)


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")
@pytest.mark.parametrize("state", ["ENABLED", ENABLED_ALL])
def test_vectorized_equals_reference_on_the_sample(state: str) -> None:
    rules = rules_for(PATTERNS, state=state) + builtin_rules().event_rules
    out, raws = run_keeping_raw(EventBridgeAnalysis(rules))
    want = reference(rules, raws)
    assert len(want) > 1000
    assert replayed(out.results["eventbridge"]) == want


def record(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "eventTime": f"2026-09-01T10:00:{i:02d}Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "DisableKey",
        "awsRegion": "us-east-1",
        "eventID": f"e{i}",
        "eventType": "AwsApiCall",
        "readOnly": False,
        "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/a"},
        **extra,
    }


HOSTILE = [
    record(0),
    record(1, eventName=5),
    record(2, eventName=None),
    record(3, eventName=["DisableKey"]),
    record(4, errorCode=None),
    record(5, errorCode={"x": 1}),
    record(6, eventName="DescribeKey", readOnly=True),
    record(7, eventName="GetObject", readOnly=True, eventCategory="Data", managementEvent=False),
    record(8, recipientAccountId="", userIdentity={"accountId": "444455556666"}),
    record(9, awsRegion=7),
    record(10, eventType="AwsCloudTrailInsight"),
    record(11, eventSource=None),
    record(12, eventSource="kms.amazonaws.com", eventName="RotateKey", eventType="AwsServiceEvent",
           resources=[{"ARN": "arn:aws:kms:us-east-1:111122223333:key/k"}],
           serviceEventDetails={"keyId": "k"}),
    record(13, eventName="DİSABLEKEY"),
    record(14, sourceIPAddress="10.1.2.3"),
]  # fmt: skip

HOSTILE_PATTERNS = [
    *PATTERNS,
    '{"detail": {"eventName": [{"anything-but": "DisableKey"}]}}',
    '{"detail": {"eventName": [{"exists": false}]}}',
    '{"detail": {"errorCode": [null]}}',
    '{"account": [""]}',
    '{"detail": {"eventName": [{"equals-ignore-case": "dİsablekey"}]}}',
    '{"detail-type": ["KMS CMK Rotation"], "detail": {"key-id": ["k"]}}',
    # The typed-column test that picks the rows first must keep every possible match:
    '{"source": ["aws.kms"], "detail": {"errorCode": [{"exists": true}]}}',
    '{"detail": {"errorCode": ["AccessDenied"]}}',
    '{"detail": {"eventName": [{"prefix": "Disable"}, {"suffix": "KEY"}]}}',
    '{"detail": {"sourceIPAddress": ["10.1.2.3"]}}',
    '{"detail": {"sourceIPAddress": ["10.01.2.3"]}}',
    '{"source": ["aws.kms"], "detail-type": ["AWS API Call via CloudTrail"]}',
    '{"detail-type": ["AWS Service Event via CloudTrail"], "detail": {"eventName": ["RotateKey"]}}',
    '{"detail": {"userIdentity": {"type": ["IAMUser"]}}}',
]


@pytest.mark.parametrize("state", ["ENABLED", ENABLED_ALL])
def test_vectorized_equals_reference_on_hostile_records(state: str) -> None:
    frame = frame_from_records(HOSTILE)
    # A key spelled with an escape: the typed column is null, the field is there.
    escaped = json.dumps(record(15, errorCode="AccessDenied")).replace(
        '"errorCode"', '"error\\u0043ode"'
    )
    # Cells not decoded from this text: nothing proves its null cells absent.
    extra = frame_from_records([record(15)]).with_columns(
        pl.lit(escaped).alias(S.RAW),
        pl.lit(15, dtype=pl.Int64).alias(S.RECORD_INDEX),
        pl.lit(None, dtype=pl.Boolean).alias(S.NULLS_ABSENT),
    )
    frame = pl.concat([frame, extra], how="vertical_relaxed")
    raws = list(frame.select(S.RAW, S.SOURCE, S.RECORD_INDEX).iter_rows())
    rules = rules_for(HOSTILE_PATTERNS, state=state)
    assert replayed(fold(EventBridgeAnalysis(rules), [frame])) == reference(rules, raws)
    # One by one too: together, one rule's rows would hide another's missed ones.
    for pattern in HOSTILE_PATTERNS:
        alone = rules_for([pattern], state=state)
        got = replayed(fold(EventBridgeAnalysis(alone), [frame]))
        assert got == reference(alone, raws), pattern


def test_read_only_events_need_the_all_management_events_state() -> None:
    frame = frame_from_records([record(1, eventName="DescribeKey", readOnly=True)])
    pattern = ['{"detail": {"eventName": ["DescribeKey"]}}']
    assert fold(EventBridgeAnalysis(rules_for(pattern)), [frame]).matches.height == 0
    assert (
        fold(EventBridgeAnalysis(rules_for(pattern, state=ENABLED_ALL)), [frame]).matches.height
        == 1
    )


def test_a_rule_hears_only_its_own_account_and_region() -> None:
    frame = frame_from_records([record(1), record(2, awsRegion="eu-west-1")])
    arn = "arn:aws:events:eu-west-1:111122223333:rule/r0"
    rules = rules_for(['{"source": ["aws.kms"]}'], arn=arn)
    result = fold(EventBridgeAnalysis(rules), [frame])
    assert result.matches["event_id"].to_list() == ["e2"]


def test_a_rule_on_a_custom_bus_is_not_replayed() -> None:
    rules = rules_for(['{"source": ["aws.kms"]}'], event_bus="custom")
    result = fold(EventBridgeAnalysis(rules), [frame_from_records([record(1)])])
    assert result.matches.height == 0 and "custom" in result.skipped[0]


def config(i: int, name: str, params: dict) -> dict[str, Any]:
    return record(i, eventSource="events.amazonaws.com", eventName=name, requestParameters=params)


def test_each_match_says_whether_the_rule_was_enabled_and_had_a_target() -> None:
    frame = frame_from_records(
        [
            record(1),
            config(2, "PutRule", {"name": "r0", "eventPattern": "{}"}),
            record(3),
            config(4, "PutTargets", {"rule": "r0", "targets": [{"id": "t", "arn": "a"}]}),
            record(5),
            config(6, "DisableRule", {"name": "r0"}),
            record(7),
            config(8, "DeleteRule", {"name": "r0"}),
            record(9),
        ]
    )
    rules = rules_for(['{"detail": {"eventName": ["DisableKey"]}}'])
    # the two halves folded apart and combined give the same answer
    analysis = EventBridgeAnalysis(rules)
    a = analysis.update(analysis.start(), frame.head(4))
    b = analysis.update(analysis.start(), frame.tail(5))
    result = analysis.finish(analysis.combine(a, b))
    got = [
        (r["event_id"], r["enabled"], r["has_target"], r["would_deliver"], r["state"])
        for r in result.matches.iter_rows(named=True)
    ]
    assert got == [
        ("e1", True, None, True, "ENABLED"),  # before the logs show the rule: assumed
        ("e3", True, None, True, "ENABLED"),
        ("e5", True, True, True, "ENABLED"),
        ("e7", False, True, False, "DISABLED"),
        ("e9", False, False, False, "DELETED"),
    ]
    (report,) = result.rules
    assert report.matched == 5
    assert len(report.windows[("111122223333", "us-east-1")] or ()) == 5
    assert result.silent["event_id"].to_list() == ["e7", "e9"]


def test_a_rule_file_state_is_assumed_when_the_logs_say_nothing() -> None:
    rules = rules_for(['{"source": ["aws.kms"]}'], state="DISABLED")
    result = fold(EventBridgeAnalysis(rules), [frame_from_records([record(1)])])
    (row,) = result.matches.iter_rows(named=True)
    assert (row["enabled"], row["state_from_logs"], row["would_deliver"]) == (False, False, False)


def test_no_rules_and_only_configuration_calls() -> None:
    frame = frame_from_records([config(1, "PutRule", {"name": "r0"})])
    result = fold(EventBridgeAnalysis(()), [frame])
    assert result.matches.height == 0 and result.rules == ()


def test_empty_input() -> None:
    result = fold(EventBridgeAnalysis(builtin_rules().event_rules), [])
    assert result.matches.height == 0 and result.events == 0
    assert datetime(2026, 1, 1, tzinfo=UTC)  # schema of an empty result is usable
    assert result.matches.schema["event_time"] == pl.Datetime("ms", "UTC")


PRUNED = [
    ('{"detail-type": ["KMS CMK Rotation", "KMS CMK Deletion"]}', "cloudtrail"),
    ('{"version": ["1"]}', "cloudtrail"),
    ('{"version": [{"exists": false}]}', "kms"),
    ('{"source": ["aws.events"]}', "kms"),
    ('{"detail": {"eventName": ["DeleteKey"]}}', "kms"),
    ('{"detail": {"key-id": {"nested": ["x"]}}}', "kms"),
    ('{"$or": [{"version": ["2"]}, {"detail-type": [{"prefix": "KMS"}]}]}', "cloudtrail"),
]
KEPT = [
    ('{"detail-type": [{"prefix": "KMS"}]}', "kms"),
    ('{"detail-type": [{"anything-but": "KMS CMK Rotation"}]}', "kms"),
    ('{"detail": {"key-id": [{"exists": true}]}}', "kms"),
    ('{"detail": {"eventName": [{"exists": false}]}}', "kms"),
    ('{"version": [{"exists": true}], "detail-type": [{"suffix": "CloudTrail"}]}', "cloudtrail"),
    ('{"$or": [{"version": ["2"]}, {"source": ["aws.kms"]}]}', "cloudtrail"),
    ('{"version": [{"numeric": ["=", 0]}, "0"]}', "kms"),
]


@pytest.mark.parametrize(("pattern", "view"), PRUNED + KEPT)
def test_never_matches_prunes_only_what_no_event_of_the_view_can_match(
    pattern: str, view: str
) -> None:
    assert never_matches(parse_pattern(pattern), view) == ((pattern, view) in PRUNED)


@pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")
def test_a_pruned_pattern_matches_no_event_of_the_sample() -> None:
    patterns = [parse_pattern(p) for p, _ in PRUNED + KEPT] + [parse_pattern(p) for p in PATTERNS]
    seen = {"cloudtrail": 0, "kms": 0}
    _, raws = run_keeping_raw()
    for raw, _source, _index in raws:
        for env in envelopes(loads_event(raw)):
            seen[env.kind] += 1
            for p in patterns:
                if never_matches(p, env.kind):
                    assert not matches(p, env.event)
    assert seen["kms"] >= 3 and seen["cloudtrail"] > 1000


DETAIL_FIELDS = ["eventName", "eventSource", "errorCode", "sourceIPAddress", "eventType"]


def replay_pattern() -> st.SearchStrategy[str]:
    top = st.dictionaries(st.sampled_from(["source", "detail-type", "account"]), leaf(), max_size=2)
    detail = st.dictionaries(st.sampled_from(DETAIL_FIELDS), leaf(), max_size=2)

    def build(t: dict[str, str], d: dict[str, str]) -> str:
        parts = [json.dumps(k) + ":" + v for k, v in t.items()]
        if d:
            inner = ",".join(json.dumps(k) + ":" + v for k, v in d.items())
            parts.append('"detail":{' + inner + "}")
        return "{" + ",".join(parts) + "}"

    return st.builds(build, top, detail).filter(lambda p: p != "{}")


HOSTILE_EXTRA = [
    record(16, eventName="DisableKEY", errorCode="AccessDenied"),
    record(17, errorCode=["AccessDenied"], sourceIPAddress=["10.1.2.3"]),
    record(18, eventSource="aws.kms", eventName="x"),
    record(19, eventSource="kms", sourceIPAddress="10.01.2.3"),
]


def same_as_reference(patterns: list[str], frame: pl.DataFrame) -> None:
    raws = list(frame.select(S.RAW, S.SOURCE, S.RECORD_INDEX).iter_rows())
    sets = [patterns] + ([[p] for p in patterns] if len(patterns) > 1 else [])
    for subset in sets:
        # One by one too: together, one rule's rows would hide another's missed ones.
        rules = rules_for(subset)
        assert replayed(fold(EventBridgeAnalysis(rules), [frame])) == reference(rules, raws), subset


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(replay_pattern(), min_size=1, max_size=3))
def test_replay_equals_reference_for_any_pattern(patterns: list[str]) -> None:
    """The fold (typed-column preselection, masks, reference fallback) finds exactly
    what the reference matcher finds on every rebuilt envelope."""
    try:
        rules_for(patterns)
    except EventRuleError:
        return
    same_as_reference(patterns, frame_from_records(HOSTILE + HOSTILE_EXTRA))


@pytest.mark.parametrize(("rows", "frames"), [(1, 16), (3, 2), (10**6, 10**6)])
def test_batching_the_picked_rows_changes_nothing(
    rows: int, frames: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kmslog.analyses.eventbridge._BATCH_ROWS", rows)
    monkeypatch.setattr("kmslog.analyses.eventbridge._BATCH_FRAMES", frames)
    whole = frame_from_records(HOSTILE + HOSTILE_EXTRA)
    rules = rules_for(HOSTILE_PATTERNS)
    analysis = EventBridgeAnalysis(rules)
    parts = [whole.slice(i, 1) for i in range(whole.height)]
    # Two partial folds combined, as groups of files are.
    half = len(parts) // 2
    left, right = analysis.start(), analysis.start()
    for p in parts[:half]:
        left = analysis.update(left, p)
    for p in parts[half:]:
        right = analysis.update(right, p)
    split = analysis.finish(analysis.combine(left, right))
    raws = list(whole.select(S.RAW, S.SOURCE, S.RECORD_INDEX).iter_rows())
    assert replayed(split) == reference(rules, raws)
    assert split.events == whole.height


def test_cells_only_the_envelope_needs_are_decoded_again_for_the_picked_rows(
    tmp_path: Path,
) -> None:
    """A scan decodes only the columns the rules read: the read-only test and the
    account's fallback still see readOnly, managementEvent, eventCategory and
    userIdentity.accountId (decoded again from raw for the picked rows)."""
    records = [
        record(1, eventName="DescribeKey", readOnly=True),
        record(2, eventName="GetObject", readOnly=True, eventCategory="Data"),
        record(3, eventName="GetKeyPolicy", readOnly=True, managementEvent=False),
        {**record(4), "recipientAccountId": None, "userIdentity": {"accountId": "444455556666"}},
    ]
    (tmp_path / "log.json").write_text(json.dumps({"Records": records}), encoding="utf-8")
    pattern = ['{"source": ["aws.kms"]}']
    analysis = EventBridgeAnalysis(rules_for(pattern))
    assert analysis.columns is not None and S.READ_ONLY not in analysis.columns
    assert S.IDENTITY_ACCOUNT_ID not in analysis.columns
    out = run([str(tmp_path)], [analysis], ScanOptions(jobs=1)).results["eventbridge"]
    got = {(r["event_name"], r["account"]) for r in out.matches.iter_rows(named=True)}
    # DescribeKey is a read-only management event: not for an ENABLED rule; the data
    # event and the non-management call are delivered; account 4 comes from the identity.
    assert got == {
        ("GetObject", "111122223333"),
        ("GetKeyPolicy", "111122223333"),
        ("DisableKey", "444455556666"),
    }


@pytest.mark.parametrize(
    "engine",
    [
        "python",
        pytest.param(
            "native",
            marks=pytest.mark.skipif(not native.available(), reason="native engine not built"),
        ),
    ],
)
def test_absence_proofs_hold_on_decoded_columns(tmp_path: Path, engine: str) -> None:
    """Through a scan's own projected decode: a null, a number, an escaped key name
    or a non-object identity at a field a rule asks about is no absence, whatever
    ``nulls_absent`` says of the other rows."""
    texts = [json.dumps(r) for r in HOSTILE + HOSTILE_EXTRA]
    texts += [
        json.dumps(record(20, errorCode=None)),
        json.dumps(record(21, errorCode=5, eventName=None)),
        json.dumps(record(22, errorCode="AccessDenied")).replace(
            '"errorCode"', '"error\\u0043ode"'
        ),
        json.dumps(record(23, userIdentity="root")),
        json.dumps(record(24, userIdentity=None)),
        json.dumps(record(25, userIdentity={"type": None})),
        json.dumps(record(26, userAgent=None)),
    ]
    (tmp_path / "log.json").write_text('{"Records": [' + ",".join(texts) + "]}", encoding="utf-8")
    patterns = [
        '{"source": ["aws.kms"], "detail": {"errorCode": [{"exists": true}]}}',
        '{"detail": {"errorCode": [{"exists": false}]}}',
        '{"detail": {"userIdentity": {"type": [{"exists": false}]}}}',
        '{"detail": {"eventName": [{"exists": false}], "errorCode": [{"exists": true}]}}',
    ]
    rules = rules_for(patterns)
    analysis = EventBridgeAnalysis(rules)
    assert analysis.columns is not None and S.NULLS_ABSENT in analysis.columns
    out = run([str(tmp_path)], [analysis], ScanOptions(jobs=1, engine=engine))
    got = {(r, d, i) for r, d, _, i in replayed(out.results["eventbridge"])}
    raws = [(t, "log.json", i) for i, t in enumerate(texts)]
    expected = {(r, d, i) for r, d, _, i in reference(rules, raws)}
    assert got == expected
    assert {i for _, _, i in got} >= {20, 21, 22, 24, 25}
