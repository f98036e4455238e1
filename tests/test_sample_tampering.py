"""Scenario 12 of sample_logs/ read back with kmslog's own reader: the trail of 777788889999
is denied StopLogging, then excludes kms.amazonaws.com and restores it; no KMS record of the
account is delivered in between, and the ground truth says so exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from kmslog.decode import records as R
from kmslog.decode import schema as S
from kmslog.sources.discover import discover
from tools.ctgen import clock, sample
from tools.ctgen.truth import excluded_sources, unlogged

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_logs"
TRUTH = ROOT / "tools" / "ctgen" / "scenarios.json"
ACCOUNT = "777788889999"
KMS = "kms.amazonaws.com"
CAP = 1 << 30

pytestmark = pytest.mark.skipif(not SAMPLE.is_dir(), reason="sample_logs absent")


def _selectors(excluded: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "readWriteType": "All",
            "includeManagementEvents": True,
            "dataResources": [],
            "excludeManagementEventSources": excluded,
        }
    ]


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    return json.loads(TRUTH.read_text())


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    """Every record of sample_logs/, as the scan path decodes it."""
    batches = [
        chunk.batch for f in discover([str(SAMPLE)]).files for chunk in R.read_file(f.path, CAP)
    ]
    return pl.from_arrow(pa.Table.from_batches(batches, schema=S.SCHEMA))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def window(truth: dict[str, Any]) -> dict[str, Any]:
    (w,) = truth["logging_windows"]
    return w


@pytest.fixture(scope="module")
def label(truth: dict[str, Any]) -> dict[str, Any]:
    sc = next(s for s in truth["scenarios"] if s["id"] == "s12_trail_tampering")
    (lab,) = sc["labels"]
    return lab


def _raw(frame: pl.DataFrame, event_id: str) -> dict[str, Any]:
    rows = frame.filter(pl.col(S.EVENT_ID) == event_id)
    assert rows.height == 1, event_id
    return json.loads(rows[S.RAW][0])


def _in_window(frame: pl.DataFrame, w: dict[str, Any]) -> pl.DataFrame:
    start = pl.lit(w["start"]).str.to_datetime(time_zone="UTC")
    end = pl.lit(w["end"]).str.to_datetime(time_zone="UTC")
    return frame.filter(pl.col(S.EVENT_TIME).is_between(start, end, closed="both"))


def test_the_three_trail_calls_have_cloudtrail_shapes(
    frame: pl.DataFrame, window: dict[str, Any], label: dict[str, Any]
) -> None:
    stop_id, exclude_id, restore_id = label["event_ids"]
    stop, exclude, restore = (_raw(frame, e) for e in label["event_ids"])
    arn = window["trail_arn"]
    assert arn == f"arn:aws:cloudtrail:{window['home_region']}:{ACCOUNT}:trail/{window['trail']}"
    for r in (stop, exclude, restore):
        assert r["eventSource"] == "cloudtrail.amazonaws.com"
        assert r["eventType"] == "AwsApiCall"
        assert r["eventCategory"] == "Management"
        assert r["readOnly"] is False and r["managementEvent"] is True
        assert r["recipientAccountId"] == ACCOUNT
        assert r["awsRegion"] == window["home_region"]
        assert r["tlsDetails"]["clientProvidedHostHeader"] == (
            f"cloudtrail.{window['home_region']}.amazonaws.com"
        )
        # one human role session, from one address outside the private ranges
        assert r["userIdentity"]["type"] == "AssumedRole"
        assert r["userIdentity"]["arn"] == window["principal"] == label["principal_arn"]
        assert r["sourceIPAddress"] == label["source_ips"][0]
        assert not r["sourceIPAddress"].startswith("10.")

    assert stop["eventName"] == "StopLogging" and stop["errorCode"] == "AccessDenied"
    assert stop["requestParameters"] is None and stop["responseElements"] is None
    assert stop["errorMessage"] == (
        f"User: {window['principal']} is not authorized to perform: cloudtrail:StopLogging "
        f"on resource: {arn} because no identity-based policy allows the "
        "cloudtrail:StopLogging action"
    )
    assert stop["eventTime"] < window["start"]
    assert stop["eventTime"][:10] == window["start"][:10]

    for r, excluded in ((exclude, [KMS]), (restore, [])):
        assert r["eventName"] == "PutEventSelectors" and "errorCode" not in r
        assert r["requestParameters"] == {
            "trailName": window["trail"],
            "eventSelectors": _selectors(excluded),
        }
        assert r["responseElements"] == {"trailARN": arn, "eventSelectors": _selectors(excluded)}
    assert (exclude["eventID"], exclude["eventTime"]) == (window["opened_by"], window["start"])
    assert (restore["eventID"], restore["eventTime"]) == (window["closed_by"], window["end"])
    assert (stop_id, exclude_id, restore_id) == tuple(
        c["event_id"] for c in _trail(window)["calls"]
    )


def _trail(window: dict[str, Any]) -> dict[str, Any]:
    trails = json.loads(TRUTH.read_text())["trails"]
    return trails[window["trail_arn"]]


def test_window_ground_truth(truth: dict[str, Any], window: dict[str, Any]) -> None:
    assert window["account"] == ACCOUNT
    assert window["cause"] == "kms-excluded"
    assert window["multi_region"] is True and window["home_region"] == "us-east-1"
    assert window["start"] < window["end"]
    assert set(window["dropped_kms_records"]) == set(truth["accounts"][ACCOUNT]["regions"])
    trail = _trail(window)
    assert (trail["account"], trail["name"], trail["bucket"]) == (
        ACCOUNT,
        window["trail"],
        window["bucket"],
    )


def test_no_kms_record_of_the_account_falls_in_the_window(
    frame: pl.DataFrame, window: dict[str, Any]
) -> None:
    inside = _in_window(frame, window)
    account = pl.col(S.RECIPIENT_ACCOUNT_ID) == ACCOUNT
    kms = pl.col(S.EVENT_SOURCE) == KMS
    assert inside.filter(account & kms).height == 0
    # the account's other events keep flowing, and other accounts' KMS events too
    assert inside.filter(account & ~kms).height >= 1
    assert inside.filter(~account & kms).height > 100
    # the account's KMS records resume right at both ends: the gap is the window, not a
    # quiet night
    kms_times = [
        clock.epoch(t)
        for t in frame.filter(account & kms)[S.EVENT_TIME].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    ]
    start, end = clock.epoch(window["start"]), clock.epoch(window["end"])
    assert start - max(t for t in kms_times if t < start) < 600
    assert min(t for t in kms_times if t > end) - end < 600


def test_the_window_dropped_exactly_the_counted_kms_records(
    monkeypatch: pytest.MonkeyPatch, frame: pl.DataFrame, window: dict[str, Any]
) -> None:
    # The same corpus with the trail logging everything: the records it has in addition
    # to sample_logs/ are exactly the account's KMS records in the window.
    monkeypatch.setattr(sample, "unlogged", lambda record, windows: False)
    unfiltered = {r["eventID"]: r for f in sample.build_sample().files for r in f.records}
    shipped = set(frame[S.EVENT_ID].to_list())
    assert shipped <= set(unfiltered)
    extra = [unfiltered[e] for e in set(unfiltered) - shipped]
    assert extra
    for r in extra:
        assert r["recipientAccountId"] == ACCOUNT and r["eventSource"] == KMS
        assert window["start"] <= r["eventTime"] <= window["end"]
    per_region = dict.fromkeys(window["dropped_kms_records"], 0)
    for r in extra:
        per_region[r["awsRegion"]] += 1
    assert per_region == window["dropped_kms_records"]


def test_the_window_hides_no_event_other_scenarios_name(
    truth: dict[str, Any], frame: pl.DataFrame
) -> None:
    shipped = set(frame[S.EVENT_ID].to_list())
    named = {e["event_id"] for s in truth["scenarios"] for e in s["events"]}
    named |= {e for a in truth["anomalies"] for e in a["event_ids"]}
    assert named <= shipped


def test_a_source_is_excluded_only_when_every_management_selector_excludes_it() -> None:
    kms_out = _selectors([KMS])[0]
    logs_all = _selectors([])[0]
    data_only = {**logs_all, "includeManagementEvents": False, "excludeManagementEventSources": []}
    assert excluded_sources([kms_out]) == {KMS}
    assert excluded_sources([kms_out, logs_all]) == frozenset()
    assert excluded_sources([kms_out, data_only]) == {KMS}


def test_a_single_region_trail_hides_only_its_home_region() -> None:
    base = {"account": ACCOUNT, "home_region": "us-east-1", "start": "2026-10-05T01:00:00Z"}
    single = {**base, "multi_region": False, "end": "2026-10-05T02:00:00Z"}
    still_open = {**base, "multi_region": True, "end": None}

    def rec(region: str, t: str, source: str = KMS) -> dict[str, Any]:
        return {"eventSource": source, "recipientAccountId": ACCOUNT, "awsRegion": region,
                "eventTime": t}  # fmt: skip

    assert unlogged(rec("us-east-1", "2026-10-05T02:00:00Z"), [single])
    assert not unlogged(rec("eu-west-1", "2026-10-05T01:30:00Z"), [single])
    assert not unlogged(rec("us-east-1", "2026-10-05T02:00:01Z"), [single])
    assert not unlogged(rec("us-east-1", "2026-10-05T01:30:00Z", "s3.amazonaws.com"), [single])
    assert unlogged(rec("eu-west-1", "2026-10-06T00:00:00Z"), [still_open])
