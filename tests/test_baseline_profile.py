"""Baseline features, the profile file format, merging and thresholds."""

from __future__ import annotations

import json
from datetime import date, timedelta

import orjson
import polars as pl
import pytest

from kmslog.analyses.base import fold
from kmslog.analyses.baseline import BaselineLearner
from kmslog.baseline import features as F
from kmslog.baseline.profile import FORMAT, Profile, ProfileError
from kmslog.baseline.thresholds import Thresholds, parse_assignments, resolve
from tests.test_anomaly_records import K1, START, background, ev, frame

RECORDS = background(14)


def learn(records: list[dict]) -> Profile:
    return fold(BaselineLearner(), [frame(records)])


def test_features_fold_roles_networks_and_services():
    t = START + timedelta(hours=3)
    records = [
        ev(t, ip="10.0.1.77"),
        ev(t, ip="203.0.113.77"),
        ev(t, ip="2001:db8:aa:bb::1", ua="Boto3/1.34 Python/3.12"),
        ev(t, ip="s3.amazonaws.com", invoked_by="s3.amazonaws.com", ua="s3.amazonaws.com"),
    ]
    enriched = F.enrich(frame(records))
    assert enriched.get_column("principal").unique().to_list() == [
        "arn:aws:iam::111122223333:role/app"
    ]
    assert enriched.get_column("network").to_list() == [
        "10.0.0.0/16",
        "203.0.113.0/24",
        "2001:db8:aa::/48",
        "s3.amazonaws.com",
    ]
    assert enriched.get_column("service").to_list() == [
        "ua:aws-sdk-java",
        "ua:aws-sdk-java",
        "ua:boto3",
        "s3.amazonaws.com",
    ]
    assert enriched.get_column("session").to_list()[0] == "app-session-#"


def test_encryption_context_keys_and_prefixes():
    obs = F.observations(frame([ev(START)]))
    ctx = obs.filter(pl.col("dim") == "key.context").get_column("value").to_list()
    prefix = obs.filter(pl.col("dim") == "key.context_prefix").get_column("value").to_list()
    assert ctx == ["aws:s3:arn"]
    assert prefix == ["aws:s3:arn=arn:aws:s3:::data"]


def test_json_round_trip_is_exact_and_versioned():
    profile = learn(RECORDS)
    text = profile.to_json()
    data = json.loads(text)
    assert data["format"] == FORMAT and data["version"] == 1
    assert data["window"]["days"] == 14
    assert data["corpus"]["events"] == len(RECORDS)
    key = data["summary"]["keys"][K1]
    assert key["calls"] == sum(1 for r in RECORDS if r["resources"][0]["ARN"] == K1)
    assert key["baseline_average_per_minute"] == round(key["calls"] / (14 * 24 * 60), 6)
    assert (
        "ScheduleKeyDeletion" in data["summary"]["destructive_and_access_control"]["111122223333"]
    )
    # Per-day history and per-hour series are there for people and for scans.
    days = data["features"]["key.principal"][K1]["arn:aws:iam::111122223333:role/app"]["days"]
    assert len(days) == 14
    assert len(data["series"]["key"][K1][START.date().isoformat()]["calls"]) == 24
    again = Profile.from_dict(orjson.loads(text))
    assert again.to_json() == text


def test_merge_equals_learning_everything():
    half = len(RECORDS) // 2
    merged = learn(RECORDS[:half]).merge(learn(RECORDS[half:]))
    whole = learn(RECORDS)
    assert merged.to_json() == whole.to_json()


def test_learning_does_not_depend_on_split():
    learner = BaselineLearner()
    parts = [RECORDS[i : i + 97] for i in range(0, len(RECORDS), 97)]
    states = [learner.update(learner.start(), frame(p)) for p in parts]
    state = states[0]
    for other in states[1:]:
        state = learner.combine(state, other)
    assert learner.finish(state).to_json() == learn(RECORDS).to_json()


def test_before_keeps_only_earlier_days():
    profile = learn(RECORDS)
    cutoff = START.date() + timedelta(days=5)
    early = profile.before(cutoff)
    assert early.obs.get_column("day").max() < cutoff
    assert early.series.get_column("day").max() < cutoff
    assert early.events == sum(1 for r in RECORDS if r["eventTime"] < cutoff.isoformat())
    assert profile.before(date(2000, 1, 1)).obs.height == 0


def test_bad_profiles_are_clear_errors(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(ProfileError, match="not valid JSON"):
        Profile.read(bad)
    bad.write_text(json.dumps({"format": FORMAT, "version": 99}))
    with pytest.raises(ProfileError, match="version 99"):
        Profile.read(bad)
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ProfileError, match="not a kmslog baseline profile"):
        Profile.read(bad)
    bad.write_text(json.dumps({"format": FORMAT, "version": 1, "features": {"nope": {}}}))
    with pytest.raises(ProfileError, match="unknown feature dimension"):
        Profile.read(bad)


def test_thresholds_overrides(tmp_path):
    assert resolve(assignments=["rate_factor=5", "dormant_days=30"]) == Thresholds(
        rate_factor=5.0, dormant_days=30
    )
    toml = tmp_path / "t.toml"
    toml.write_text("[thresholds]\nerror_min = 3\n")
    assert resolve(toml, ["min_score=40"]).error_min == 3
    assert resolve(toml, ["min_score=40"]).min_score == 40.0
    with pytest.raises(ValueError, match="unknown threshold"):
        resolve(assignments=["nope=1"])
    with pytest.raises(ValueError, match="name=value"):
        parse_assignments(["rate_factor"])
    with pytest.raises(ValueError, match="not a valid int"):
        resolve(assignments=["dormant_days=soon"])
