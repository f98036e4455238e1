"""Each anomaly kind: a positive case and a near miss that must stay quiet."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kmslog.analyses.anomalies import AnomalyScan
from kmslog.analyses.base import fold
from kmslog.analyses.baseline import BaselineLearner
from kmslog.baseline.profile import Profile
from kmslog.baseline.thresholds import Thresholds
from tests.test_anomaly_records import (
    FOREIGN,
    K1,
    K2,
    OWNER,
    START,
    WINDOW,
    at,
    background,
    ev,
    frame,
)

BACKGROUND = background(21)


@pytest.fixture(scope="module")
def profile() -> Profile:
    return fold(BaselineLearner(), [frame(BACKGROUND)])


def scan(profile: Profile, window: list[dict], **kw):
    return fold(AnomalyScan(profile, since=WINDOW, thresholds=Thresholds(**kw)), [frame(window)])


def kinds(result) -> list[str]:
    return sorted(f.kind for f in result.findings)


def quiet_day() -> list[dict]:
    """A normal window day: office-hours Decrypt by app on K1."""
    return [ev(at(0, h, 3 * i), ip="10.0.1.4") for h in range(9, 18) for i in range(5)]


def test_quiet_day_has_no_findings(profile):
    assert scan(profile, quiet_day()).findings == []


def test_new_principal_mass_decrypt(profile):
    window = quiet_day() + [
        ev(at(1, 10, i % 60), role="exfil", ip="198.51.100.7") for i in range(60)
    ]
    result = scan(profile, window)
    found = [f for f in result.findings if f.kind == "new_principal"]
    assert len(found) == 1
    f = found[0]
    assert f.key_arn == K1 and f.principal.endswith(":role/exfil")
    assert f.count == 60 and len(f.event_ids) == 20
    assert "0 times in 21 days of baseline" in f.explanation
    assert "60 calls (60 Decrypt)" in f.explanation


def test_new_principal_near_miss_known_role_and_young_key(profile):
    # app is known on K1; K2 has only three baseline days of three calls each: too
    # little history for a newcomer on it to mean anything.
    window = quiet_day() + [ev(at(1, 10), role="other", key=K2, ip="10.0.1.4")]
    assert "new_principal" not in kinds(scan(profile, window))


def test_new_caller_account(profile):
    window = quiet_day() + [
        ev(at(1, 10, i), role="partner", account=FOREIGN, ip="10.0.1.4") for i in range(3)
    ]
    found = [f for f in scan(profile, window).findings if f.kind == "new_caller_account"]
    assert len(found) == 1
    assert found[0].subject == FOREIGN and found[0].details["external"] is True
    assert found[0].severity == "high"


def test_new_caller_account_near_miss_owner_account(profile):
    window = quiet_day() + [ev(at(1, 10), role="app", account=OWNER, ip="10.0.1.4")]
    assert "new_caller_account" not in kinds(scan(profile, window))


def test_new_operation(profile):
    window = quiet_day() + [ev(at(1, 10, i), "GenerateDataKey", ip="10.0.1.4") for i in range(4)]
    found = [f for f in scan(profile, window).findings if f.kind == "new_operation"]
    assert [(f.subject, f.count) for f in found] == [("GenerateDataKey", 4)]
    assert "only Decrypt" in found[0].explanation


def test_new_operation_near_miss_known_operation(profile):
    window = quiet_day() + [ev(at(1, 10, i), "Decrypt", ip="10.0.1.4") for i in range(4)]
    assert "new_operation" not in kinds(scan(profile, window))


def test_new_service(profile):
    window = quiet_day() + [ev(at(1, 10), ip="10.0.1.4", invoked_by="lambda.amazonaws.com")]
    found = [f for f in scan(profile, window).findings if f.kind == "new_service"]
    assert [f.subject for f in found] == ["lambda.amazonaws.com"]


def test_new_service_near_miss_same_sdk_other_version(profile):
    window = quiet_day() + [ev(at(1, 10), ip="10.0.1.4", ua="aws-sdk-java/1.12.999 Linux/6.1")]
    assert "new_service" not in kinds(scan(profile, window))


def test_new_network_public_ip(profile):
    window = quiet_day() + [ev(at(1, 10, i), ip="203.0.113.50") for i in range(5)]
    found = [f for f in scan(profile, window).findings if f.kind == "new_network"]
    assert len(found) == 1
    assert found[0].subject == "203.0.113.0/24" and found[0].details["public"] is True
    assert "public network" in found[0].explanation


def test_new_network_near_miss_same_prefix(profile):
    window = quiet_day() + [ev(at(1, 10, i), ip="10.0.1.250") for i in range(5)]
    assert "new_network" not in kinds(scan(profile, window))


def test_new_region(profile):
    window = quiet_day() + [ev(at(1, 10), ip="10.0.1.4", region="eu-west-1")]
    found = [f for f in scan(profile, window).findings if f.kind == "new_region"]
    assert [f.subject for f in found] == ["eu-west-1"]


def test_new_region_near_miss(profile):
    window = quiet_day() + [ev(at(1, 10), ip="10.0.1.4", region="us-east-1")]
    assert "new_region" not in kinds(scan(profile, window))


def test_dormant_key(profile):
    window = quiet_day() + [ev(at(1, 12), "Encrypt", key=K2, ip="10.0.1.4")]
    found = [f for f in scan(profile, window).findings if f.kind == "dormant_key"]
    assert len(found) == 1 and found[0].key_arn == K2
    assert found[0].details["idle_days"] >= 19


def test_dormant_key_near_miss_short_gap(profile):
    # The same use with a 25-day dormancy threshold is not dormant.
    window = quiet_day() + [ev(at(1, 12), "Encrypt", key=K2, ip="10.0.1.4")]
    assert "dormant_key" not in kinds(scan(profile, window, dormant_days=25))


def test_call_rate_spike_is_one_grouped_finding(profile):
    burst = [ev(at(1, h, (i % 60)), ip="10.0.1.4") for h in (10, 11) for i in range(150)]
    found = [f for f in scan(profile, quiet_day() + burst).findings if f.kind == "call_rate_spike"]
    assert len(found) == 1
    f = found[0]
    assert f.count >= 300 and f.details["hours"] == 2
    assert f.key_arn == K1 and f.principal and f.principal.endswith(":role/app")
    assert "average" in f.explanation and "/minute" in f.explanation


def test_call_rate_near_miss(profile):
    burst = [ev(at(1, 10, i % 60), ip="10.0.1.4") for i in range(60)]
    assert "call_rate_spike" not in kinds(scan(profile, quiet_day() + burst))


def test_error_rate_spike(profile):
    burst = [ev(at(1, 14, i % 60), ip="10.0.1.4", error="AccessDenied") for i in range(25)]
    found = [f for f in scan(profile, quiet_day() + burst).findings if f.kind == "error_rate_spike"]
    assert len(found) == 1
    assert found[0].count == 25 and "25 AccessDenied" in found[0].explanation


def test_error_rate_near_miss(profile):
    burst = [ev(at(1, 14, i), ip="10.0.1.4", error="AccessDenied") for i in range(4)]
    assert "error_rate_spike" not in kinds(scan(profile, quiet_day() + burst))


def test_odd_hour(profile):
    window = quiet_day() + [ev(at(1, 3, i), ip="10.0.1.4") for i in range(5)]
    found = [f for f in scan(profile, window).findings if f.kind == "odd_hour"]
    assert len(found) == 1 and found[0].subject == "03"


def test_odd_hour_near_miss_adjacent_hour(profile):
    window = quiet_day() + [ev(at(1, 19, i), ip="10.0.1.4") for i in range(5)]
    assert "odd_hour" not in kinds(scan(profile, window))


def test_control_plane_by_unusual_principal(profile):
    window = quiet_day() + [
        ev(at(1, 10), "DisableKey", ip="10.0.1.4", read_only=False),
        ev(at(1, 10, 5), "ScheduleKeyDeletion", ip="10.0.1.4", read_only=False),
    ]
    found = [f for f in scan(profile, window).findings if f.kind == "control_plane"]
    assert len(found) == 1
    f = found[0]
    assert f.details["operations"] == {"DisableKey": 1, "ScheduleKeyDeletion": 1}
    assert f.severity == "high"
    assert "only by arn:aws:iam::111122223333:role/admin" in f.explanation
    # The same operations are not repeated as "new operation for the principal".
    assert "new_operation" not in kinds(scan(profile, window))


def test_control_plane_near_miss_habitual_admin(profile):
    window = quiet_day() + [
        ev(at(1, 10), "ScheduleKeyDeletion", "admin", "10.0.9.9", read_only=False)
    ]
    assert "control_plane" not in kinds(scan(profile, window))


def test_denied_attempts_in_the_baseline_are_not_a_habit():
    # "ops" only ever tried DisableKey and was denied: its first success is news.
    denied = [
        ev(
            START + timedelta(days=d, hours=11),
            "DisableKey",
            "ops",
            error="AccessDeniedException",
            read_only=False,
        )
        for d in range(0, 21, 3)
    ]
    learned = fold(BaselineLearner(), [frame(BACKGROUND + denied)])
    window = quiet_day() + [ev(at(1, 10), "DisableKey", "ops", read_only=False)]
    found = [f for f in scan(learned, window).findings if f.kind == "control_plane"]
    assert len(found) == 1 and "ops" in found[0].principal


def test_profile_including_the_window_still_flags_it():
    # Learn from everything, scan the last part: the window is excluded from the baseline.
    window = [ev(at(1, 10, i % 60), role="exfil", ip="198.51.100.7") for i in range(30)]
    everything = fold(BaselineLearner(), [frame(BACKGROUND + window)])
    result = fold(AnomalyScan(everything, since=WINDOW), [frame(BACKGROUND + window)])
    assert "new_principal" in kinds(result)
    assert result.cutoff == WINDOW.date()
    # And with the cutoff after the window, the newcomer is part of normal history.
    later = fold(AnomalyScan(everything, since=WINDOW + timedelta(days=3)), [frame(window)])
    assert later.findings == []


def test_result_does_not_depend_on_split(profile):
    window = quiet_day() + [
        ev(at(1, 10, i % 60), role="exfil", ip="198.51.100.7") for i in range(60)
    ]
    analysis = AnomalyScan(profile, since=WINDOW)
    whole = fold(analysis, [frame(window)])
    a = analysis.update(analysis.start(), frame(window[:100]))
    b = analysis.update(analysis.start(), frame(window[100:]))
    split = analysis.finish(analysis.combine(a, b))
    assert [f.to_dict() for f in whole.findings] == [f.to_dict() for f in split.findings]


def test_foreign_key_use(profile):
    foreign_key = f"arn:aws:kms:us-east-1:{FOREIGN}:key/33333333-3333-4333-8333-333333333333"
    window = quiet_day() + [
        ev(at(1, 10, i), "Encrypt", key=foreign_key, ip="10.0.1.4") for i in range(8)
    ]
    found = [f for f in scan(profile, window).findings if f.kind == "foreign_key"]
    assert len(found) == 1
    assert found[0].subject == FOREIGN and found[0].count == 8
    assert found[0].principal == f"arn:aws:iam::{OWNER}:role/app"


def test_foreign_key_near_miss_new_key_of_own_account(profile):
    own_new = f"arn:aws:kms:us-east-1:{OWNER}:key/44444444-4444-4444-8444-444444444444"
    window = quiet_day() + [
        ev(at(1, 10, i), "Encrypt", key=own_new, ip="10.0.1.4") for i in range(8)
    ]
    assert "foreign_key" not in kinds(scan(profile, window))


def test_workers_do_not_carry_the_profile(profile):
    import pickle

    analysis = AnomalyScan(profile, since=WINDOW)
    copy = pickle.loads(pickle.dumps(analysis))
    assert copy.profile is None and copy.since == WINDOW
    state = copy.update(copy.start(), frame(quiet_day()))
    state = pickle.loads(pickle.dumps(state))
    assert analysis.finish(state).findings == []
    with pytest.raises(RuntimeError):
        copy.finish(copy.start())


def test_no_history_before_the_window_means_no_findings(profile):
    # Scanning the profile's own first days: there is nothing earlier to compare with.
    window = background(3)
    result = fold(AnomalyScan(profile, since=None), [frame(window)])
    assert result.findings == [] and result.baseline_days == 0
    assert "no history" in result.to_dict()["note"]
