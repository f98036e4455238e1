"""EventBridge events the user archived are matched as they are: their own id,
account, Region, detail-type and resources, KMS's own events included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kmslog.analyses.eventbridge import EventBridgeAnalysis
from kmslog.analyses.summary import SummaryAnalysis
from kmslog.decode import native
from kmslog.eventbridge.rules import ENABLED_ALL, make_event_rule
from kmslog.run.api import ScanOptions
from kmslog.run.executor import run
from tests.ingest_fixtures import ACCOUNT, KEY, record

ARCHIVE_ACCOUNT = "999988887777"
API_ID = "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
ROTATION_ID = "7b8f9a0c-1d2e-4f30-8a41-5b6c7d8e9f01"


def envelope(detail_type: str, detail: Any, **fields: Any) -> dict[str, Any]:
    base = {
        "version": "0",
        "id": API_ID,
        "detail-type": detail_type,
        "source": "aws.kms",
        "account": ARCHIVE_ACCOUNT,
        "time": "2024-05-01T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }
    return {**base, **fields}


EVENTS = [
    envelope("AWS API Call via CloudTrail", record(1, eventName="DisableKey")),
    envelope(
        "KMS CMK Rotation",
        {"key-id": KEY.rsplit("/", 1)[-1]},
        id=ROTATION_ID,
        time="2024-05-01T11:00:00Z",
        resources=[KEY],
    ),
    envelope(
        "AWS API Call via CloudTrail",
        record(3, eventName="DescribeKey", readOnly=True),
        id="c0ffee00-0000-4000-8000-000000000003",
    ),
]


def scan(tmp_path: Path, patterns: list[str], engine: str, **kw: Any) -> Any:
    path = tmp_path / "events.json"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n", encoding="utf-8")
    rules = tuple(
        make_event_rule(f"r{i}", name=f"r{i}", pattern=p, **kw) for i, p in enumerate(patterns)
    )
    out = run(
        [str(tmp_path)],
        [EventBridgeAnalysis(rules), SummaryAnalysis()],
        ScanOptions(jobs=1, engine=engine),
    )
    return out.results["eventbridge"], out


ENGINES = [
    "python",
    pytest.param(
        "native", marks=pytest.mark.skipif(not native.available(), reason="native not built")
    ),
]


@pytest.mark.parametrize("engine", ENGINES)
def test_archived_events_match_on_their_own_fields(tmp_path: Path, engine: str) -> None:
    patterns = [
        f'{{"id": ["{API_ID}"]}}',  # only the archived event has this id
        f'{{"account": ["{ARCHIVE_ACCOUNT}"], "region": ["eu-west-1"]}}',
        '{"source": ["aws.kms"], "detail-type": ["KMS CMK Rotation"]}',
        f'{{"resources": ["{KEY}"]}}',
        f'{{"account": ["{ACCOUNT}"]}}',  # the record's recipientAccountId: not the bus's
    ]
    result, out = scan(tmp_path, patterns, engine)
    got = {
        (r["rule"], r["detail_type"], r["envelope_id"], r["account"], r["region"])
        for r in result.matches.iter_rows(named=True)
    }
    api = ("AWS API Call via CloudTrail", API_ID, ARCHIVE_ACCOUNT, "eu-west-1")
    rotation = ("KMS CMK Rotation", ROTATION_ID, ARCHIVE_ACCOUNT, "eu-west-1")
    # The read-only DescribeKey reaches no rule in the ENABLED state.
    assert got == {
        ("r0", *api),
        ("r1", *api),
        ("r1", *rotation),
        ("r2", *rotation),
        ("r3", *rotation),
    }
    assert (out.stats.records_kept, out.stats.records_rejected) == (3, 0)
    assert out.results["summary"].records == 3


@pytest.mark.parametrize("engine", ENGINES)
def test_archived_read_only_calls_reach_rules_taking_all_management_events(
    tmp_path: Path, engine: str
) -> None:
    result, _ = scan(tmp_path, ['{"detail": {"eventName": ["DescribeKey"]}}'], engine)
    assert result.matches.height == 0
    result, _ = scan(
        tmp_path, ['{"detail": {"eventName": ["DescribeKey"]}}'], engine, state=ENABLED_ALL
    )
    assert result.matches["envelope_id"].to_list() == ["c0ffee00-0000-4000-8000-000000000003"]
