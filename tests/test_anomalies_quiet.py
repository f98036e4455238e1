"""The quieter anomaly kinds: a sustained rate rise and a new encryption-context key,
each with the near misses that must stay quiet, and the profile parts they learn."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kmslog.analyses.anomalies import AnomalyScan
from kmslog.analyses.base import fold
from kmslog.analyses.baseline import BaselineLearner
from kmslog.baseline import features as F
from kmslog.baseline.findings import Finding
from kmslog.baseline.profile import Profile
from kmslog.baseline.thresholds import Thresholds
from kmslog.findings.adapters import anomaly_findings
from kmslog.findings.model import kinds as catalogue
from tests.test_anomaly_records import K1, OWNER, START, WINDOW, at, background, ev, frame

K3 = f"arn:aws:kms:us-east-1:{OWNER}:key/33333333-3333-4333-8333-333333333333"
ETL = f"arn:aws:iam::{OWNER}:role/etl"
APP = f"arn:aws:iam::{OWNER}:role/app"
ADMIN = f"arn:aws:iam::{OWNER}:role/admin"
K2 = f"arn:aws:kms:us-east-1:{OWNER}:key/22222222-2222-4222-8222-222222222222"


def etl_hour(day: int, hour: int, calls: int, base=START) -> list[dict[str, Any]]:
    t = base + timedelta(days=day, hours=hour)
    return [
        ev(t + timedelta(seconds=i * 3600 // calls), role="etl", key=K3, ip="10.0.2.7")
        for i in range(calls)
    ]


def etl_days(days: int, rate=lambda d: 20) -> list[dict[str, Any]]:
    """``etl`` on K3 from 09:00 to 17:59 every day, ``rate(day)`` calls an hour."""
    return [r for d in range(days) for h in range(9, 18) for r in etl_hour(d, h, rate(d))]


@pytest.fixture(scope="module")
def profile() -> Profile:
    return fold(BaselineLearner(), [frame(background(21) + etl_days(21))])


def scan(profile: Profile, window: list[dict], **kw: Any):
    return fold(AnomalyScan(profile, since=WINDOW, thresholds=Thresholds(**kw)), [frame(window)])


def found(result, kind: str) -> list[Finding]:
    return [f for f in result.findings if f.kind == kind]


def quiet_window(days: int = 2) -> list[dict[str, Any]]:
    out = [
        ev(at(d, h, 7 * i), ip="10.0.1.4")
        for d in range(days)
        for h in range(9, 18)
        for i in range(5)
    ]
    return out + [r for d in range(days) for h in range(9, 18) for r in etl_hour(d, h, 20, WINDOW)]


def rise(day: int, hours: range, calls: int) -> list[dict[str, Any]]:
    """Day ``day`` of the window with ``calls`` an hour instead of 20 in ``hours``."""
    out = []
    for h in range(9, 18):
        out += etl_hour(day, h, calls if h in hours else 20, WINDOW)
    return out


def window_with(day1: list[dict[str, Any]]) -> list[dict[str, Any]]:
    day0 = quiet_window(1)
    app1 = [ev(at(1, h, 7 * i), ip="10.0.1.4") for h in range(9, 18) for i in range(5)]
    return day0 + app1 + day1


# ---------------------------------------------------------------------- rate rise
def test_quiet_window_has_no_findings(profile):
    assert scan(profile, quiet_window()).findings == []


def test_sustained_rise_held_four_hours(profile):
    result = scan(profile, window_with(rise(1, range(10, 14), 75)))
    [f] = found(result, "sustained_rate_rise")
    assert f.key_arn == K3 and f.principal == ETL
    assert f.count == 4 * 75 and f.details["hours"] == 4
    assert f.details["usual_per_hour"] == 20 and f.details["threshold_per_hour"] == 60
    assert f.explanation.startswith(f"{ETL} on key {K3}: held 4 h at 3.8× the usual 20 calls/h")
    assert "(p95 20)" in f.explanation and "63 active hours in the 7 days before" in f.explanation
    # Detected when the third hour over the limit ends, not at the first call.
    assert f.detected_at <= at(1, 13) and f.detected_at > at(1, 12)
    # Quiet: under every spike threshold.
    assert found(result, "call_rate_spike") == []


def test_rise_held_two_hours_is_a_near_miss(profile):
    result = scan(profile, window_with(rise(1, range(10, 12), 75)))
    assert found(result, "sustained_rate_rise") == []


def test_rise_of_two_and_a_half_times_is_a_near_miss(profile):
    result = scan(profile, window_with(rise(1, range(10, 15), 50)))
    assert found(result, "sustained_rate_rise") == []
    # The same hours at 3.5 times are found.
    assert found(scan(profile, window_with(rise(1, range(10, 15), 70))), "sustained_rate_rise")


def test_a_gap_hour_splits_the_run(profile):
    hours = [h for h in range(10, 15) if h != 12]
    result = scan(profile, window_with(_hours(1, hours, 75)))
    assert found(result, "sustained_rate_rise") == []


def _hours(day: int, over: list[int], calls: int) -> list[dict[str, Any]]:
    out = []
    for h in range(9, 18):
        out += etl_hour(day, h, calls if h in over else 20, WINDOW)
    return out


def test_minimum_absolute_count(profile):
    # app's usual is 5 calls/h: 4 hours of 25 are 5x, but under the 30 calls/h minimum.
    extra = [ev(at(1, h, i % 60), ip="10.0.1.4") for h in range(10, 14) for i in range(20)]
    result = scan(profile, window_with(rise(1, range(0), 20)) + extra)
    assert found(result, "sustained_rate_rise") == []
    lowered = scan(profile, window_with(rise(1, range(0), 20)) + extra, rise_min_calls=20)
    [f] = found(lowered, "sustained_rate_rise")
    assert f.principal == APP and f.key_arn == K1


def test_organic_growth_is_not_a_rise():
    # etl grows from 10 to 40 calls/h over three weeks (x4): against the whole history
    # today's 45 an hour would be over 3x the median, against the last week it is not.
    growing = etl_days(21, rate=lambda d: 10 + int(30 * d / 20))
    learned = fold(BaselineLearner(), [frame(background(21) + growing)])
    window = [r for h in range(9, 18) for r in etl_hour(0, h, 45, WINDOW)]
    assert found(scan(learned, window), "sustained_rate_rise") == []
    # Against a usual taken from the first week only, the same day is a rise.
    early = scan(learned, window, rise_recent_days=21, rise_factor=1.8)
    assert found(early, "sustained_rate_rise")


def test_usual_follows_the_window_days_before():
    # A step from 20 to 70 calls/h that then stays: the first day is a rise, and by
    # the eighth day of the new rate it is the usual.
    learned = fold(BaselineLearner(), [frame(background(21) + etl_days(21))])
    window = [r for d in range(9) for h in range(9, 18) for r in etl_hour(d, h, 70, WINDOW)]
    result = scan(learned, window)
    days = sorted({f.start.date() for f in found(result, "sustained_rate_rise")})
    assert days[0] == WINDOW.date()
    assert (WINDOW + timedelta(days=8)).date() not in days


# ---------------------------------------------------------------------- context keys
def test_new_encryption_context_key(profile):
    window = quiet_window() + [
        ev(at(1, 10, i), ip="10.0.1.4", context={"tenant": "t-9", "app": "x"}) for i in range(6)
    ]
    result = scan(profile, window)
    new = found(result, "new_encryption_context")
    assert sorted(f.subject for f in new) == ["app", "tenant"]
    f = next(f for f in new if f.subject == "tenant")
    assert f.key_arn == K1 and f.principal == APP and f.count == 6
    assert f.explanation.startswith(
        f"context key `tenant` never used by {APP} with key {K1} in 21 days of history"
    )
    assert "seen: aws:s3:arn)" in f.explanation and "now 6 calls with it" in f.explanation


def test_context_key_seen_once_long_ago_is_known():
    once = [ev(START + timedelta(days=1, hours=10), ip="10.0.1.4", context={"tenant": "t-1"})]
    learned = fold(BaselineLearner(), [frame(background(21) + once)])
    window = quiet_window() + [ev(at(1, 10), ip="10.0.1.4", context={"tenant": "t-7"})]
    assert found(scan(learned, window), "new_encryption_context") == []


def test_context_key_known_with_another_key_or_principal_is_still_new(profile):
    # etl uses aws:s3:arn on K3; app never sent `tenant` on K1, whoever else did.
    window = quiet_window() + [
        ev(at(1, 10), role="etl", key=K3, ip="10.0.2.7", context={"tenant": "t"}),
        ev(at(1, 11), ip="10.0.1.4", context={"tenant": "t"}),
    ]
    new = found(scan(profile, window), "new_encryption_context")
    assert sorted((f.principal, f.key_arn) for f in new) == sorted([(ETL, K3), (APP, K1)])


def test_new_principal_is_not_also_a_new_context(profile):
    window = quiet_window() + [
        ev(at(1, 10, i), role="intruder", ip="10.0.1.4", context={"tenant": "t"}) for i in range(3)
    ]
    result = scan(profile, window)
    assert found(result, "new_principal") and found(result, "new_encryption_context") == []


def test_pair_that_never_sent_a_context_has_no_habit():
    plain = [
        ev(START + timedelta(days=d, hours=h), role="signer", key=K3, context=None)
        for d in range(21)
        for h in (10, 11, 12)
    ]
    learned = fold(BaselineLearner(), [frame(background(21) + plain)])
    window = quiet_window() + [ev(at(1, 10), role="signer", key=K3, context={"x": "1"})]
    assert found(scan(learned, window), "new_encryption_context") == []


def test_context_names_are_capped_and_the_cap_is_honest(monkeypatch):
    monkeypatch.setitem(F.CAPPED_DIMS, "key.principal.context", 3)
    names = ["c01", "c02", "c03", "c04", "c05"]
    extra = [
        ev(START + timedelta(days=2, hours=10, minutes=i), ip="10.0.1.4", context={n: "v"})
        for i, n in enumerate(names)
    ]
    learned = fold(BaselineLearner(), [frame(background(21) + extra)])
    kept = learned.obs.filter(
        (learned.obs["dim"] == "key.principal.context") & (learned.obs["e2"] == APP)
    )
    assert sorted(set(kept["value"])) == ["aws:s3:arn", "c01", "c02"]
    # c05 may have been seen (it was): past the largest kept name, it is not reported;
    # "b" sorts before the largest kept name, so it cannot have been dropped: new.
    window = quiet_window() + [
        ev(at(1, 10), ip="10.0.1.4", context={"c05": "v"}),
        ev(at(1, 11), ip="10.0.1.4", context={"b": "v"}),
    ]
    assert [f.subject for f in found(scan(learned, window), "new_encryption_context")] == ["b"]


# ---------------------------------------------------------------------- profile
def test_profile_learns_pair_series_and_context_names(profile):
    ser = profile.series.filter(profile.series["series"] == "key.principal")
    pairs = {(K1, APP), (K3, ETL), (K2, APP), (K1, ADMIN)}
    assert set(ser["entity"]) == {f"{k} {p}" for k, p in pairs}
    # 9 hours a day of app on K1, 21 days.
    app = ser.filter(ser["entity"] == f"{K1} {APP}")
    assert app.height == 21 * 9 and set(app["calls"]) == {5}
    ctx = profile.obs.filter(profile.obs["dim"] == "key.principal.context")
    assert set(zip(ctx["e1"], ctx["e2"], ctx["value"], strict=True)) == {
        (k, p, "aws:s3:arn") for k, p in pairs
    }


def test_partial_profiles_combine_to_the_serial_one(monkeypatch):
    monkeypatch.setitem(F.CAPPED_DIMS, "key.principal.context", 4)
    records = (
        background(21)
        + etl_days(21)
        + [
            ev(START + timedelta(days=d, hours=10), ip="10.0.1.4", context={f"n{d:02d}": "v"})
            for d in range(21)
        ]
    )
    learner = BaselineLearner()
    serial = fold(learner, [frame(records)])
    parts = [learner.update(learner.start(), frame(records[i::3])) for i in range(3)]
    combined = learner.finish(learner.combine(learner.combine(parts[0], parts[1]), parts[2]))
    assert combined.to_dict() == serial.to_dict()
    halves = [
        fold(learner, [frame(records[: len(records) // 2])]),
        fold(learner, [frame(records[len(records) // 2 :])]),
    ]
    assert halves[0].merge(halves[1]).to_dict() == serial.to_dict()
    round_trip = Profile.from_dict(serial.to_dict())
    assert round_trip.to_dict() == serial.to_dict()


# ---------------------------------------------------------------------- catalogue
@pytest.mark.parametrize("kind", ["sustained_rate_rise", "new_encryption_context"])
def test_kinds_have_catalogue_entries(kind):
    entry = catalogue()[f"anomaly-{kind}"]
    assert entry.source == "anomaly" and entry.severity == "medium"
    assert entry.title and entry.rationale and entry.remediation and entry.references


def test_adapter_uses_the_catalogue_entry(profile):
    result = scan(profile, window_with(rise(1, range(10, 14), 75)))
    [f] = [f for f in anomaly_findings(result) if f.kind.id == "anomaly-sustained_rate_rise"]
    assert f.kind.title.startswith("Principal's call rate on a key held")
    assert f.subject.key_arn == K3 and f.subject.principal == ETL
