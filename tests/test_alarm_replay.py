"""Alarm replay, table-driven from the CloudWatch User Guide.

The two tables in "Configuring how CloudWatch alarms treat missing data" are
transcribed row by row in the guide's notation: ``0`` non-breaching, ``X``
breaching, ``-`` missing, most recent on the right, evaluation range 5 for N = 3.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslog.metrics.alarm import (
    AlarmState,
    Comparison,
    evaluate,
    java_double,
    period_values,
    replay,
    spec,
)

OK, ALARM, INSUF = AlarmState.OK, AlarmState.ALARM, AlarmState.INSUFFICIENT_DATA
RETAIN = "retain"
T0 = 1_700_000_100  # a multiple of 60 and of 300


def window(notation: str, period: int = 60) -> list[tuple[int, float | None]]:
    values = {"0": 0.0, "X": 5.0, "-": None}
    tokens = notation.split()
    return [(T0 + i * period, values[tok]) for i, tok in enumerate(tokens)]


def check(notation: str, m: int, n: int, mode: str, expected: object) -> None:
    alarm = spec("a", evaluation_periods=n, datapoints_to_alarm=m, treat_missing_data=mode)
    for current in (OK, ALARM, INSUF):
        result = evaluate(alarm, window(notation), current)
        want = current if expected == RETAIN else expected
        got = current if result.state is None else result.state
        assert got == want, (notation, mode, current, result)


TABLE_3_OF_3 = [
    ("0 - X - X", OK, OK, OK, OK),
    ("0 - - - -", OK, OK, OK, OK),
    ("- - - - -", INSUF, RETAIN, ALARM, OK),
    ("0 X X - X", ALARM, ALARM, ALARM, ALARM),
    ("- - X - -", ALARM, RETAIN, ALARM, OK),
]

TABLE_2_OF_3 = [
    ("0 - X - X", ALARM, ALARM, ALARM, ALARM),
    ("0 0 X 0 X", ALARM, ALARM, ALARM, ALARM),
    ("0 - X - -", OK, OK, ALARM, OK),
    ("- - - - 0", OK, OK, ALARM, OK),
    ("- - - X -", ALARM, RETAIN, ALARM, OK),
]

MODES = ("missing", "ignore", "breaching", "notBreaching")


@pytest.mark.parametrize("row", TABLE_3_OF_3, ids=[r[0] for r in TABLE_3_OF_3])
def test_published_table_three_of_three(row):
    notation, *expected = row
    for mode, want in zip(MODES, expected, strict=True):
        check(notation, 3, 3, mode, want)


@pytest.mark.parametrize("row", TABLE_2_OF_3, ids=[r[0] for r in TABLE_2_OF_3])
def test_published_table_two_of_three(row):
    notation, *expected = row
    for mode, want in zip(MODES, expected, strict=True):
        check(notation, 2, 3, mode, want)


@pytest.mark.parametrize(
    ("notation", "expected"),
    [
        # The guide: "- - - - X" and "- - - X -" do not alarm a 3-of-3 alarm yet.
        ("- - - - X", OK),
        ("- - - X -", OK),
        # ... and a following healthy datapoint retracts the would-be alarm.
        ("- - - X 0", OK),
        ("- - X - 0", OK),
        # A breach older than the evaluation periods no longer counts.
        ("X - - - -", OK),
        # Oldest breaching datapoint 3 periods old, everything newer breaching or missing.
        ("- - X - X", ALARM),
    ],
)
def test_premature_alarm_rule(notation, expected):
    check(notation, 3, 3, "missing", expected)


def test_fills_only_the_shortfall():
    alarm = spec("a", evaluation_periods=3, datapoints_to_alarm=3, treat_missing_data="breaching")
    result = evaluate(alarm, window("0 - X - -"), OK)
    assert (result.real, result.filled, result.breaching) == (2, 1, 2)
    assert result.state is OK


@pytest.mark.parametrize(
    ("operator", "value", "breaches"),
    [
        ("GreaterThanOrEqualToThreshold", 1.0, True),
        ("GreaterThanOrEqualToThreshold", 0.999, False),
        ("GreaterThanThreshold", 1.0, False),
        ("GreaterThanThreshold", 1.001, True),
        ("LessThanThreshold", 1.0, False),
        ("LessThanThreshold", 0.5, True),
        ("LessThanOrEqualToThreshold", 1.0, True),
        ("LessThanOrEqualToThreshold", 1.5, False),
    ],
)
def test_comparison_operators(operator, value, breaches):
    alarm = spec("a", comparison=operator, threshold=1.0)
    result = evaluate(alarm, [(T0, value)], OK)
    assert result.state is (ALARM if breaches else OK)
    assert Comparison(operator).breaches(value, 1.0) is breaches


def test_state_reason_single_datapoint_matches_cloudwatch():
    alarm = spec("a", threshold=1.0, period=300)
    when = int(datetime(2026, 11, 23, 14, 5, tzinfo=UTC).timestamp())
    result = evaluate(alarm, [(when, 1.0)], OK)
    assert result.reason == (
        "Threshold Crossed: 1 datapoint [1.0 (23/11/26 14:05:00)] was greater than or equal "
        "to the threshold (1.0)."
    )
    back = evaluate(alarm, [(when, 0.0)], ALARM)
    assert back.reason == (
        "Threshold Crossed: 1 datapoint [0.0 (23/11/26 14:05:00)] was not greater than or "
        "equal to the threshold (1.0)."
    )


def test_state_reason_m_of_n_lists_newest_first():
    alarm = spec("a", evaluation_periods=3, datapoints_to_alarm=2, threshold=1.0)
    when = int(datetime(2026, 11, 23, 14, 0, tzinfo=UTC).timestamp())
    result = evaluate(alarm, [(when, 2.0), (when + 60, 0.0), (when + 120, 3.5)], OK)
    assert result.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints [3.5 (23/11/26 14:02:00), "
        "2.0 (23/11/26 14:00:00)] were greater than or equal to the threshold (1.0) "
        "(minimum 2 datapoints for OK -> ALARM transition)."
    )


def test_state_reason_missing_data():
    ok = evaluate(spec("a", treat_missing_data="notBreaching"), [(T0, None)], ALARM)
    assert ok.reason == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint "
        "was treated as [NonBreaching]."
    )
    insufficient = evaluate(spec("a", evaluation_periods=3), window("- - - - -"), OK)
    assert insufficient.reason == "Insufficient Data: 3 datapoints were unknown."


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"),
        (10.25, "10.25"),
        (864000.0, "864000.0"),
        (1e7, "1.0E7"),
        (0.0001, "1.0E-4"),
        (123456789.5, "1.234567895E8"),
        (-2.0, "-2.0"),
    ],
)
def test_java_double_formatting(value, text):
    assert java_double(value) == text


def minute(h: int, m: int) -> int:
    return int(datetime(2026, 11, 23, h, m, tzinfo=UTC).timestamp())


def test_replay_pending_deletion_alarm_notbreaching_one_of_one():
    alarm = spec("pd", period=300, treat_missing_data="notBreaching")
    points = {minute(14, 5): 2.0}
    out = replay(alarm, points, minute(13, 50), minute(15, 0))
    assert [(t.time, t.old, t.new) for t in out] == [
        (datetime(2026, 11, 23, 13, 55, tzinfo=UTC), INSUF, OK),
        (datetime(2026, 11, 23, 14, 10, tzinfo=UTC), OK, ALARM),
        # The evaluation range (N + 2 = 3 periods) keeps the last real datapoint in
        # view: the alarm re-evaluates it until it leaves the range.
        (datetime(2026, 11, 23, 14, 25, tzinfo=UTC), ALARM, OK),
    ]
    assert out[1].reason.startswith("Threshold Crossed: 1 datapoint [2.0 (23/11/26 14:05:00)]")


def test_replay_missing_mode_goes_insufficient_after_range_drains():
    alarm = spec("a", period=60, evaluation_periods=1, treat_missing_data="missing")
    out = replay(alarm, {minute(14, 0): 1.0}, minute(14, 0), minute(14, 10))
    assert [(t.time.minute, t.new) for t in out] == [(1, ALARM), (4, INSUF)]


def test_replay_breaching_mode_alarms_on_silence():
    alarm = spec("a", period=60, evaluation_periods=2, treat_missing_data="breaching")
    out = replay(alarm, {minute(14, 0): 0.0, minute(14, 1): 0.0}, minute(14, 0), minute(14, 8))
    # Range 4: the two healthy datapoints stay in view until 14:05; at 14:06 only
    # gaps remain and both are filled as breaching.
    assert [(t.time.minute, t.new) for t in out] == [(1, OK), (6, ALARM)]


def test_replay_ignore_mode_keeps_state_through_gaps():
    alarm = spec("a", period=60, evaluation_periods=1, treat_missing_data="ignore")
    out = replay(alarm, {minute(14, 0): 3.0}, minute(14, 0), minute(15, 0))
    assert [(t.time.minute, t.new) for t in out] == [(1, ALARM)]


@pytest.mark.parametrize(
    ("event_minute", "period", "expected_datapoint"),
    [
        # 5-minute periods start at :00, :05, ...; an event at 14:04:59 is in 14:00.
        ((14, 4), 300, (14, 0)),
        ((14, 5), 300, (14, 5)),
        ((14, 59), 3600, (14, 0)),
    ],
)
def test_period_boundaries(event_minute, period, expected_datapoint):
    alarm = spec("a", period=period)
    event = minute(*event_minute)
    start = event - event % period
    out = replay(alarm, {start: 1.0}, minute(13, 0), minute(16, 0))
    alarm_at = next(t for t in out if t.new is ALARM)
    assert alarm_at.datapoints[0][0] == datetime(2026, 11, 23, *expected_datapoint, tzinfo=UTC)
    assert alarm_at.time == alarm_at.datapoints[0][0].replace(tzinfo=UTC) + (
        datetime.fromtimestamp(period, tz=UTC) - datetime.fromtimestamp(0, tz=UTC)
    )


def test_period_values_applies_statistic_and_low_sample_rule():
    alarm = spec("a", statistic="p90")
    assert period_values(alarm, {0: [1.0, 2.0, 3.0]}) == {0: 3.0}
    low = spec("a", statistic="p90")
    object.__setattr__(low, "evaluate_low_sample_count_percentile", "ignore")
    assert period_values(low, {0: [1.0, 2.0, 3.0]}) == {}
    assert period_values(low, {0: [float(v) for v in range(100)]}) == {0: 89.0}


def naive_replay(alarm, datapoints, start, end):
    """Evaluate at every period end, no skipping: the reference for ``replay``."""
    p, r = alarm.period, alarm.evaluation_range
    state, out = INSUF, []
    e = (start // p + 1) * p
    while e <= (end // p + 1) * p:
        window = [(s, datapoints.get(s)) for s in range(e - r * p, e, p)]
        result = evaluate(alarm, window, state)
        if result.state is not None and result.state is not state:
            out.append((e, state, result.state, result.reason))
            state = result.state
        e += p
    return out


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(1, 4),
    m_offset=st.integers(0, 3),
    mode=st.sampled_from(MODES),
    op=st.sampled_from([c.value for c in Comparison]),
    points=st.dictionaries(st.integers(0, 40), st.sampled_from([0.0, 1.0, 2.0]), max_size=12),
)
def test_replay_skipping_matches_naive_evaluation(n, m_offset, mode, op, points):
    alarm = spec(
        "a",
        evaluation_periods=n,
        datapoints_to_alarm=max(1, n - m_offset),
        treat_missing_data=mode,
        comparison=op,
        threshold=1.0,
        period=60,
    )
    data = {T0 + 60 * k: v for k, v in points.items()}
    start, end = T0, T0 + 60 * 45
    fast = [
        (int(t.time.timestamp()), t.old, t.new, t.reason) for t in replay(alarm, data, start, end)
    ]
    assert fast == naive_replay(alarm, data, start, end)
