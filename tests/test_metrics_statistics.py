"""CloudWatch statistics, one row per statistic, from the statistics definitions page."""

from __future__ import annotations

import pytest

from kmslog.metrics.statistics import StatisticError, parse_statistic

TEN = [float(v) for v in range(1, 11)]  # 1..10


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("SampleCount", TEN, 10.0),
        ("Sum", TEN, 55.0),
        ("Average", TEN, 5.5),
        ("Minimum", TEN, 1.0),
        ("Maximum", TEN, 10.0),
        ("p50", TEN, 5.0),
        ("p90", TEN, 9.0),
        ("p99", TEN, 10.0),
        ("p99.9", TEN, 10.0),
        ("p0", TEN, 1.0),
        ("p100", TEN, 10.0),
        # tm90 drops the highest 10 %.
        ("tm90", TEN, 5.0),
        # TM(10%:90%) drops the lowest and the highest 10 %.
        ("TM(10%:90%)", TEN, 5.5),
        # TM(150:1000)-style absolute bounds: exclusive below, inclusive above.
        ("TM(2:5)", TEN, 4.0),
        ("IQM", [1.0, 2.0, 3.0, 4.0, 100.0, 5.0, 6.0, 7.0], 4.5),
        # wm90: the top 10 % count as the 90th percentile value.
        ("wm90", TEN, 5.4),
        # The lowest value is itself the 10th percentile, so only the top is clamped.
        ("WM(10%:90%)", TEN, 5.4),
        ("tc90", TEN, 9.0),
        ("TC(2:5)", TEN, 3.0),
        ("ts90", TEN, 45.0),
        ("TS(:3)", TEN, 6.0),
        # PR(:300): share of values <= 300; PR(a:b): a < v <= b.
        ("PR(:3)", TEN, 30.0),
        ("PR(2:5)", TEN, 30.0),
    ],
)
def test_statistic_values(name, values, expected):
    assert parse_statistic(name).of_samples(values) == pytest.approx(expected)


def test_statistics_need_samples_only_beyond_the_simple_five():
    assert not parse_statistic("Sum").needs_samples
    assert parse_statistic("p90").needs_samples
    assert parse_statistic("TM(10%:90%)").needs_samples


def test_trimmed_mean_of_empty_range_is_undefined():
    assert parse_statistic("TM(100:200)").of_samples(TEN) is None


def test_low_sample_count_thresholds():
    p99 = parse_statistic("p99")
    assert p99.low_sample_count(999)
    assert not p99.low_sample_count(1000)
    p10 = parse_statistic("p10")
    assert p10.low_sample_count(99)
    assert not p10.low_sample_count(100)


@pytest.mark.parametrize(
    "bad",
    ["", "Median", "p", "p101", "TM()", "TM(90%:10%)", "PR(10%:20%)", "tm200", "p9.12345678901"],
)
def test_bad_statistics_are_rejected(bad):
    with pytest.raises(StatisticError):
        parse_statistic(bad)
