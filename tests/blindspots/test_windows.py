"""Trail changes folded into blind-spot windows and attempt incidents."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslog.blindspots import kinds
from kmslog.blindspots.model import Certainty, Coverage, Window
from kmslog.blindspots.windows import windows
from kmslog.findings.model import kind as finding_kind

from . import records as R
from .records import at, external

KMS = "kms.amazonaws.com"


def fold(recs: list[dict[str, Any]], end: Any = None, **kw: Any) -> tuple[list[Window], list]:
    return windows(R.changes(recs), end, **kw)


def only(recs: list[dict[str, Any]], **kw: Any) -> Window:
    made, incidents = fold(recs, **kw)
    assert not incidents
    (w,) = made
    return w


def selectors(when: Any, **changes: Any) -> dict[str, Any]:
    return R.basic_selectors(when, [{**R.ALL_MANAGEMENT[0], **changes}])


RESTORE = R.ALL_MANAGEMENT


@pytest.mark.parametrize(
    ("reduce", "restore", "cause", "coverage"),
    [
        (R.stop, R.start, kinds.STOPPED, Coverage.NONE),
        (R.delete, R.create, kinds.DELETED, Coverage.NONE),
        (
            lambda t: selectors(t, excludeManagementEventSources=[KMS]),
            lambda t: R.basic_selectors(t, RESTORE),
            kinds.KMS_EXCLUDED,
            Coverage.NONE,
        ),
        (
            lambda t: R.advanced_selectors(
                t, [R.management(R.field("eventSource", notEquals=[KMS]))]
            ),
            lambda t: R.advanced_selectors(t, [R.management()]),
            kinds.KMS_EXCLUDED,
            Coverage.NONE,
        ),
        (
            lambda t: selectors(t, includeManagementEvents=False),
            lambda t: R.basic_selectors(t, RESTORE),
            kinds.MANAGEMENT_OFF,
            Coverage.NONE,
        ),
        (
            lambda t: selectors(t, readWriteType="WriteOnly"),
            lambda t: R.basic_selectors(t, RESTORE),
            kinds.NARROWED,
            Coverage.WRITE_ONLY,
        ),
        (
            lambda t: R.advanced_selectors(t, [R.management(R.field("readOnly", equals=["true"]))]),
            lambda t: R.advanced_selectors(t, [R.management()]),
            kinds.NARROWED,
            Coverage.READ_ONLY,
        ),
        (
            lambda t: R.update(t, isMultiRegionTrail=False),
            lambda t: R.update(t, isMultiRegionTrail=True),
            kinds.MULTI_REGION_OFF,
            Coverage.NONE,
        ),
        (
            lambda t: R.update(t, s3BucketName="somewhere-else"),
            lambda t: R.update(t, s3BucketName="audit-logs"),
            kinds.MOVED,
            Coverage.ALL,
        ),
    ],
)
def test_each_cause_opens_and_its_reversal_closes(
    reduce: Any, restore: Any, cause: Any, coverage: Coverage
) -> None:
    recs = [R.create(at(0), multi=True), reduce(at(2, 10)), restore(at(5, 40))]
    w = only(recs)
    assert (w.cause, w.coverage, w.trail, w.account) == (cause.id, coverage, "org-trail", R.A)
    assert (w.start, w.end) == (at(2, 10), at(5, 40))
    assert w.opened_by.event_id == recs[1]["eventID"]
    assert w.closed_by is not None and w.closed_by.event_id == recs[2]["eventID"]
    assert w.region is None  # the trail was created multi-Region
    # The same reduction left alone stays open to the end of the logs.
    still = only(recs[:2])
    assert (still.cause, still.end, still.closed_by) == (cause.id, None, None)
    assert "until the end of the logs" in still.summary


def test_causes_are_registered_blind_spot_kinds() -> None:
    made, incidents = windows(R.changes(SCENARIO), None)
    assert {w.cause for w in made} <= kinds.WINDOW_KINDS
    assert {i.cause for i in incidents} == {kinds.ATTEMPT.id}
    for kind_id in kinds.WINDOW_KINDS | {kinds.ATTEMPT.id}:
        entry = finding_kind(kind_id)
        assert entry.source == "blind_spot" and entry.references and entry.remediation


def test_summary_is_one_plain_line() -> None:
    recs = [
        R.create(at(0), multi=True),
        selectors(at(2, 10), excludeManagementEventSources=[KMS]),
        R.basic_selectors(at(5, 40), RESTORE),
    ]
    assert only(recs).summary == (
        "KMS management events were excluded from trail org-trail (us-east-1, all Regions) "
        "from 2026-09-20T02:10:00Z to 2026-09-20T05:40:00Z: usage in that window is unknown"
    )


def test_hostile_trail_name_stays_on_one_line() -> None:
    w = only([R.stop(at(1), "evil\n[red]trail\x1b[0m")])
    assert "\n" not in w.summary and "\x1b" not in w.summary
    assert w.trail == "evil\n[red]trail\x1b[0m"  # kept as given; renderers escape it


def test_single_region_trail_window_is_in_its_home_region() -> None:
    w = only([R.create(at(0), multi=False, region="eu-west-1"), R.stop(at(1), region="eu-west-1")])
    assert w.region == "eu-west-1"
    assert "(eu-west-1)" in w.summary and "all Regions" not in w.summary


def test_trail_of_unknown_scope_is_taken_as_multi_region() -> None:
    w = only([R.stop(at(1), region="ap-south-1")])
    assert (w.region, w.certainty) == (None, Certainty.UNRECORDED)
    assert "(ap-south-1, all Regions assumed: its scope is not in the logs)" in w.summary


def test_failed_stop_is_an_attempt_not_a_window() -> None:
    rec = R.call(
        "StopLogging", at(1), {"name": "org-trail"}, error=R.denied("StopLogging", "org-trail")
    )
    made, incidents = fold([rec])
    assert made == []
    (i,) = incidents
    assert (i.cause, i.attempt, i.resource, i.account, i.region) == (
        kinds.ATTEMPT.id,
        True,
        "org-trail",
        R.A,
        R.HOME,
    )
    assert i.cite.error_code == "AccessDenied" and i.cite.event_id == rec["eventID"]
    assert "stop logging" in i.summary and "AccessDenied" in i.summary


@pytest.mark.parametrize(
    ("rec", "counted"),
    [
        (R.call("DeleteTrail", at(1), {"name": "t"}, error=("AccessDenied", "no")), True),
        (R.update(at(1), isMultiRegionTrail=False, error=("AccessDenied", "no")), True),
        (
            R.basic_selectors(
                at(1), [{**R.ALL_MANAGEMENT[0], "readWriteType": "ReadOnly"}], error=("X", "no")
            ),
            True,
        ),
        # Failing to make a trail record more is no threat.
        (R.basic_selectors(at(1), RESTORE, error=("AccessDenied", "no")), False),
        (R.call("StartLogging", at(1), {"name": "t"}, error=("AccessDenied", "no")), False),
        (R.update(at(1), isMultiRegionTrail=True, error=("AccessDenied", "no")), False),
    ],
)
def test_which_failed_calls_are_attempts(rec: dict[str, Any], counted: bool) -> None:
    made, incidents = fold([rec])
    assert made == [] and len(incidents) == int(counted)


def test_two_trails_make_it_possibly() -> None:
    recs = [R.create(at(0), "backup-trail"), R.create(at(0), "org-trail"), R.stop(at(1))]
    w = only(recs)
    assert w.certainty is Certainty.POSSIBLY
    assert "may be unknown" in w.summary
    # Trails of another account do not count.
    other = [R.create(at(0), "backup-trail", account=R.B), R.create(at(0)), R.stop(at(1))]
    assert only(other).certainty is Certainty.UNRECORDED


def test_unreadable_selectors_make_it_possibly() -> None:
    rec = R.advanced_selectors(at(1), [R.management(R.field("eventName", equals=["Decrypt"]))])
    w = only([rec])
    assert (w.cause, w.certainty) == (kinds.MANAGEMENT_OFF.id, Certainty.POSSIBLY)


def test_stopped_then_deleted_then_recreated() -> None:
    recs = [R.stop(at(1)), R.delete(at(2)), R.create(at(3)), R.start(at(3, 1))]
    made, _ = fold(recs)
    assert [(w.cause, w.start, w.end) for w in made] == [
        (kinds.STOPPED.id, at(1), at(2)),
        (kinds.DELETED.id, at(2), at(3)),
    ]


def test_stopping_twice_keeps_one_window() -> None:
    w = only([R.stop(at(1)), R.stop(at(2)), R.start(at(3))])
    assert (w.start, w.end) == (at(1), at(3))


def test_narrowed_then_excluded_are_two_windows() -> None:
    recs = [
        selectors(at(1), readWriteType="ReadOnly"),
        selectors(at(2), excludeManagementEventSources=[KMS]),
        R.basic_selectors(at(3), RESTORE),
    ]
    made, _ = fold(recs)
    assert [(w.cause, w.coverage, w.start, w.end) for w in made] == [
        (kinds.NARROWED.id, Coverage.READ_ONLY, at(1), at(2)),
        (kinds.KMS_EXCLUDED.id, Coverage.NONE, at(2), at(3)),
    ]
    assert "key changes in that window are unknown" in made[0].summary


def test_deletion_ends_the_selector_window() -> None:
    recs = [selectors(at(1), readWriteType="ReadOnly"), R.delete(at(2)), R.create(at(3))]
    made, _ = fold(recs)
    assert [(w.cause, w.end) for w in made] == [
        (kinds.NARROWED.id, at(2)),
        (kinds.DELETED.id, at(3)),
    ]


def test_multi_region_off_per_known_region() -> None:
    recs = [R.create(at(0), multi=True), R.update(at(1), isMultiRegionTrail=False)]
    made, _ = fold(recs, regions={R.A: ["us-east-1", "eu-west-1", "ap-south-1"]})
    assert [(w.region, w.certainty) for w in made] == [
        ("ap-south-1", Certainty.UNRECORDED),
        ("eu-west-1", Certainty.UNRECORDED),
    ]
    assert "stopped covering eu-west-1" in made[1].summary
    # Without the Regions: every other Region, possibly.
    w = only(recs)
    assert (w.region, w.certainty) == (None, Certainty.POSSIBLY)
    assert "Regions other than us-east-1" in w.summary


def test_multi_region_off_on_a_single_region_trail_is_nothing() -> None:
    made, _ = fold([R.create(at(0), multi=False), R.update(at(1), isMultiRegionTrail=False)])
    assert made == []


def test_update_of_a_single_region_trail_is_not_turning_it_off() -> None:
    rec = R.update(at(1), s3BucketName="audit-logs")
    rec["responseElements"]["isMultiRegionTrail"] = False  # the whole trail, as AWS answers
    made, _ = fold([rec])
    assert made == []


def test_changes_after_the_end_are_left_out() -> None:
    w = only([R.stop(at(1)), R.start(at(5))], end=at(3))
    assert w.end is None


def test_moved_needs_a_known_bucket() -> None:
    made, _ = fold([R.update(at(1), s3BucketName="elsewhere")])
    assert made == []


def as_tuple(w: Window) -> tuple[Any, ...]:
    return (
        w.account,
        w.region,
        w.trail,
        w.start,
        w.end,
        w.cause,
        w.certainty,
        w.coverage,
        w.summary,
    )


SCENARIO = [
    R.create(at(0), multi=True),
    R.create(at(0), "second", account=R.B, multi=False),
    R.stop(at(1)),
    selectors(at(1), readWriteType="WriteOnly"),
    R.start(at(2)),
    R.stop(at(2), "second", account=R.B),
    R.update(at(3), isMultiRegionTrail=False),
    R.basic_selectors(at(4), RESTORE),
    R.delete(at(5), "second", account=R.B),
    R.call("StopLogging", at(6), None, error=R.denied("StopLogging", "org-trail")),
]


@settings(max_examples=40, deadline=None)
@given(st.permutations(R.changes(SCENARIO)))
def test_order_does_not_matter(shuffled: list[Any]) -> None:
    made, incidents = windows(shuffled, None)
    expected, expected_incidents = windows(R.changes(SCENARIO), None)
    assert [as_tuple(w) for w in made] == [as_tuple(w) for w in expected]
    assert incidents == expected_incidents
    assert len(expected) == 5 and len(expected_incidents) == 1


# The real records: each is a change, an incident or a window.


def corpus(relative: str) -> list[dict[str, Any]]:
    base = external()
    path = base / relative if base is not None else None
    if path is None or not path.is_file():
        pytest.skip(f"../shared/external/{relative} is not present")
    data = json.loads(path.read_text())
    return data["Records"] if isinstance(data, dict) else data


STRATUS = "stratus-red-team-detonation-logs/docs/detonation-logs/aws.defense-evasion."


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("cloudtrail-stop", kinds.STOPPED),
        ("cloudtrail-delete", kinds.DELETED),
        ("cloudtrail-event-selectors", kinds.MANAGEMENT_OFF),
    ],
)
def test_stratus_detonations_open_windows(name: str, cause: Any) -> None:
    recs = corpus(f"{STRATUS}{name}.json")
    w = only(recs)
    assert (w.cause, w.end, w.certainty) == (cause.id, None, Certainty.UNRECORDED)
    # The records do not show the trail's scope: every Region is assumed.
    assert (w.account, w.region) == (recs[0]["recipientAccountId"], None)
    assert w.opened_by.event_id == recs[0]["eventID"]


@pytest.mark.parametrize("name", ["StopLogging", "DeleteTrail", "UpdateTrail"])
def test_traildiscover_attempts_are_incidents(name: str) -> None:
    recs = corpus(f"traildiscover/docs/logExamples/CloudTrail-{name}.json.cloudtrail")
    made, incidents = fold(recs)
    assert made == []
    (i,) = incidents
    assert i.cite.event_id == recs[0]["eventID"] and i.resource.startswith("TrailDiscover")
