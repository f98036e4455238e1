"""The filter fold: same result however the frames are split."""

from __future__ import annotations

from kmslog.analyses.base import fold
from kmslog.analyses.filtering import FilterAnalysis
from kmslog.decode.memory import frame_from_records
from kmslog.patterns import parse
from tests.patterns.records import DECRYPT_PENDING, DISABLE_KEY, ENCRYPT_OK, SCHEDULE_DELETION

RECORDS = [
    {**DISABLE_KEY, "eventTime": "2024-05-01T10:00:03Z", "eventID": "a"},
    {**ENCRYPT_OK, "eventTime": "2024-05-01T10:00:01Z", "eventID": "b"},
    {**SCHEDULE_DELETION, "eventTime": "2024-05-01T10:00:00Z", "eventID": "c"},
    {**DECRYPT_PENDING, "eventTime": "2024-05-01T10:00:02Z", "eventID": "d"},
]
CIS = (
    "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey) || "
    "($.eventName=ScheduleKeyDeletion))}"
)


def test_matches_in_time_order_and_split_independent() -> None:
    analysis = FilterAnalysis(parse(CIS))
    whole = fold(analysis, [frame_from_records(RECORDS, "f1")])
    left = analysis.update(analysis.start(), frame_from_records(RECORDS[:2], "f1"))
    right = analysis.update(analysis.start(), frame_from_records(RECORDS[2:], "f2"))
    split = analysis.finish(analysis.combine(left, right))
    assert whole.scanned == split.scanned == 4
    assert whole.matches["event_name"].to_list() == ["ScheduleKeyDeletion", "DisableKey"]
    assert split.matches["event_name"].to_list() == ["ScheduleKeyDeletion", "DisableKey"]


def test_no_match_gives_an_empty_typed_frame() -> None:
    analysis = FilterAnalysis(parse("{ $.eventName = Nothing }"))
    result = fold(analysis, [frame_from_records(RECORDS)])
    assert result.matches.height == 0 and result.scanned == 4
    assert "raw" in result.matches.columns
